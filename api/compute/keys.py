"""Key pair material as Nova handles it: fingerprints of imported keys, and key pairs made on the server.

An ssh key's fingerprint is the colon-separated MD5 of its key blob (what
`ssh-keygen -l -E md5` prints); an x509 certificate's is the colon-separated
SHA-1 of its DER form. A key made here is RSA 2048 (ssh: the private key in
PEM, the public key in OpenSSH form; x509: a self-signed client certificate
for the user), and its private part goes back to the caller once, never to the log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SSH, X509 = "ssh", "x509"
KEY_TYPES = (SSH, X509)
BITS = 2048
CERT_DAYS = 3650


class InvalidKey(ValueError):
    """Public key material Nova would refuse ("Keypair data is invalid")."""


def _colons(digest: bytes) -> str:
    hexed = binascii.hexlify(digest).decode("ascii")
    return ":".join(hexed[i : i + 2] for i in range(0, len(hexed), 2))


def ssh_fingerprint(public_key: str) -> str:
    """The MD5 fingerprint of an OpenSSH public key line (`ssh-rsa AAAA... comment`); InvalidKey if it is not one."""
    try:
        key = serialization.load_ssh_public_key(public_key.strip().encode())
    except (ValueError, TypeError, UnicodeError, UnsupportedAlgorithm) as exc:
        raise InvalidKey("failed to generate fingerprint") from exc
    blob = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).split()[1]
    return _colons(hashlib.md5(base64.b64decode(blob)).digest())


def x509_fingerprint(certificate: str) -> str:
    """The SHA-1 fingerprint of a PEM certificate; InvalidKey if it is not one."""
    try:
        cert = x509.load_pem_x509_certificate(certificate.encode())
    except (ValueError, TypeError, UnicodeError) as exc:
        raise InvalidKey("failed to generate X509 fingerprint") from exc
    return _colons(cert.fingerprint(hashes.SHA1()))


def fingerprint(public_key: str, key_type: str) -> str:
    return x509_fingerprint(public_key) if key_type == X509 else ssh_fingerprint(public_key)


def generate(key_type: str, user_id: str) -> tuple[str, str]:
    """A new key pair of `key_type`: (private key PEM, public key or certificate)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=BITS)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    if key_type == X509:
        return private, _certificate(key, user_id)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return private, f"{public} Generated-by-Nova"


def _certificate(key: rsa.RSAPrivateKey, user_id: str) -> str:
    """A self-signed client-authentication certificate naming the user (Nova's form for WinRM)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=CERT_DAYS))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()
