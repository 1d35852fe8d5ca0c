"""Tokens and their keys, and password hashes: what opens, what is refused, what is never kept in clear."""

from __future__ import annotations

import base64
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, MultiFernet

from builders import NOW, build_user_created
from novalog.api.identity.passwords import hash_password, verify_password
from novalog.api.identity.token_keys import KeyRepository, KeyRing, NoTokenKeys
from novalog.api.identity.tokens import TokenRefused, new_claims, open_token, seal
from novalog.events.codec import decode, encode

CLAIMS = new_claims("u-alice", "p-demo", ("member", "reader"), ("password",), NOW, 3600)


@pytest.fixture
def repo(tmp_path: Path) -> KeyRepository:
    repo = KeyRepository(tmp_path / "keys")
    assert repo.setup()
    return repo


def test_a_token_opens_to_the_claims_it_sealed(repo: KeyRepository) -> None:
    token = seal(repo.fernet(), CLAIMS)

    assert open_token(repo.fernet(), token, NOW + timedelta(seconds=3599)) == CLAIMS
    assert CLAIMS.expires_at - CLAIMS.issued_at == timedelta(seconds=3600)
    assert len(CLAIMS.audit_id) == 22  # 16 random bytes, URL-safe base64 without padding


def test_a_token_is_refused_from_its_expiry_on(repo: KeyRepository) -> None:
    token = seal(repo.fernet(), CLAIMS)

    with pytest.raises(TokenRefused, match="expired"):
        open_token(repo.fernet(), token, CLAIMS.expires_at)


@pytest.mark.parametrize("position", [0, 10, 60, -5], ids=["version", "timestamp", "ciphertext", "hmac"])
def test_an_altered_token_is_refused(repo: KeyRepository, position: int) -> None:
    # Fernet: version byte, 8-byte timestamp, 16-byte IV, ciphertext, 32-byte HMAC; flip one bit in each part.
    data = bytearray(base64.urlsafe_b64decode(seal(repo.fernet(), CLAIMS)))
    data[position] ^= 0x01
    altered = base64.urlsafe_b64encode(bytes(data)).decode()

    with pytest.raises(TokenRefused, match="not valid"):
        open_token(repo.fernet(), altered, NOW)


@pytest.mark.parametrize("forged", ["admin:admin", "", "gAAAAABnot-a-token", "x" * 300])
def test_strings_that_are_not_tokens_are_refused(repo: KeyRepository, forged: str) -> None:
    with pytest.raises(TokenRefused):
        open_token(repo.fernet(), forged, NOW)


def test_a_token_sealed_with_another_key_is_refused(repo: KeyRepository) -> None:
    # A forger's own Fernet key, with claims of their choosing: the HMAC does not check out under ours.
    forged = seal(MultiFernet([Fernet(Fernet.generate_key())]), new_claims("u-admin", "p-admin", ("admin",), ("password",), NOW, 3600))

    with pytest.raises(TokenRefused, match="not valid"):
        open_token(repo.fernet(), forged, NOW)


def test_rotation_seals_with_the_new_key_and_still_opens_tokens_of_the_old(repo: KeyRepository) -> None:
    old_token = seal(repo.fernet(), CLAIMS)

    assert repo.rotate(max_active=3) == 2
    new_token = seal(repo.fernet(), CLAIMS)

    assert open_token(repo.fernet(), old_token, NOW) == CLAIMS
    assert open_token(repo.fernet(), new_token, NOW) == CLAIMS
    # The new token is sealed by key 2 alone: a ring of key 1 does not open it.
    key_1 = MultiFernet([Fernet((repo.path / "1").read_bytes())])
    with pytest.raises(TokenRefused):
        open_token(key_1, new_token, NOW)


def test_a_token_whose_key_was_rotated_out_is_refused(repo: KeyRepository) -> None:
    old_token = seal(repo.fernet(), CLAIMS)

    repo.rotate(max_active=2)  # keys 1, 2
    assert open_token(repo.fernet(), old_token, NOW) == CLAIMS
    repo.rotate(max_active=2)  # keys 2, 3: key 1 is gone

    assert repo.numbers() == [2, 3]
    with pytest.raises(TokenRefused):
        open_token(repo.fernet(), old_token, NOW)


def test_a_key_removed_by_hand_no_longer_opens_its_tokens(repo: KeyRepository) -> None:
    old_token = seal(repo.fernet(), CLAIMS)
    repo.rotate(max_active=3)
    (repo.path / "1").unlink()

    with pytest.raises(TokenRefused):
        open_token(repo.fernet(), old_token, NOW)


def test_the_key_ring_sees_a_rotation_without_a_restart(repo: KeyRepository) -> None:
    ring = KeyRing(repo)
    before = ring.current()
    repo.rotate(max_active=3)
    token = seal(ring.current(), CLAIMS)

    with pytest.raises(TokenRefused):
        open_token(before, token, NOW)
    assert open_token(ring.current(), token, NOW) == CLAIMS


def test_setup_is_idempotent_and_keys_are_private(repo: KeyRepository) -> None:
    key = (repo.path / "1").read_bytes()

    assert not repo.setup()
    assert (repo.path / "1").read_bytes() == key
    assert stat.S_IMODE((repo.path / "1").stat().st_mode) == 0o600
    assert stat.S_IMODE(repo.path.stat().st_mode) == 0o700


def test_without_keys_nothing_is_sealed_or_opened(tmp_path: Path) -> None:
    repo = KeyRepository(tmp_path / "missing")

    with pytest.raises(NoTokenKeys):
        repo.fernet()
    with pytest.raises(NoTokenKeys):
        KeyRing(repo).current()
    with pytest.raises(NoTokenKeys):
        repo.rotate(3)


def test_a_rotation_keeps_at_least_two_keys(repo: KeyRepository) -> None:
    with pytest.raises(ValueError):
        repo.rotate(max_active=1)


# --- passwords ---


def test_a_password_is_kept_only_as_an_argon2id_hash_that_verifies() -> None:
    hashed = hash_password("correct horse")

    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "correct horsE")
    assert hash_password("correct horse") != hashed  # salted


def test_the_user_created_event_carries_the_hash_and_never_the_password() -> None:
    event = build_user_created(password_hash=hash_password("s3cret-pass"))

    data = encode(event)

    assert b"s3cret-pass" not in data
    assert verify_password(decode(data).password_hash, "s3cret-pass")


@pytest.mark.parametrize("stored", [None, "", "not-a-hash", "$argon2id$v=19$m=65536,t=3,p=4$broken"])
def test_no_stored_hash_or_a_broken_one_never_verifies(stored) -> None:
    assert not verify_password(stored, "anything")
