"""The token key repository: a directory of Fernet keys, one per file named by its number (as Keystone's).

The highest number is the primary key, which seals new tokens; every key in
the directory opens them. `rotate` writes a new primary and drops the oldest
beyond `max_active`, so a token lives as long as its key is kept: rotate no
more often than expiry / (max_active - 1). The directory is configuration,
kept outside the repository (by default under the gitignored state folder),
readable by its owner only.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet


class NoTokenKeys(RuntimeError):
    """The key directory holds no key: run `novalog token-keys setup`."""


class KeyRepository:
    """The numbered key files of one directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def numbers(self) -> list[int]:
        if not self.path.is_dir():
            return []
        return sorted(int(p.name) for p in self.path.iterdir() if p.name.isdigit() and p.is_file())

    def _write(self, number: int) -> None:
        tmp = self.path / f".{number}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
        os.replace(tmp, self.path / str(number))

    def setup(self) -> bool:
        """Make the directory and its first key unless a key exists; True when a key was made."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.numbers():
            return False
        self._write(1)
        return True

    def rotate(self, max_active: int) -> int:
        """Write a new primary key, keep the newest `max_active` keys in all; the new key's number."""
        if max_active < 2:
            raise ValueError("keep at least two keys, or every token dies at rotation")
        numbers = self.numbers()
        if not numbers:
            raise NoTokenKeys(f"no token keys in {self.path}: run `novalog token-keys setup` first")
        new = numbers[-1] + 1
        self._write(new)
        for old in [*numbers, new][:-max_active]:
            (self.path / str(old)).unlink()
        return new

    def fernet(self) -> MultiFernet:
        """The keys, primary first."""
        numbers = self.numbers()
        if not numbers:
            raise NoTokenKeys(f"no token keys in {self.path}: run `novalog token-keys setup`")
        return MultiFernet([Fernet((self.path / str(n)).read_bytes().strip()) for n in reversed(numbers)])


class KeyRing:
    """The repository's keys, read again whenever the directory changes (a rotation needs no restart)."""

    def __init__(self, repo: KeyRepository) -> None:
        self.repo = repo
        self._lock = threading.Lock()
        self._seen: tuple[int, tuple[int, ...]] | None = None
        self._fernet: MultiFernet | None = None

    def current(self) -> MultiFernet:
        try:
            stamp = (self.repo.path.stat().st_mtime_ns, tuple(self.repo.numbers()))
        except FileNotFoundError:
            raise NoTokenKeys(f"no token key directory {self.repo.path}: run `novalog token-keys setup`") from None
        with self._lock:
            if self._fernet is None or stamp != self._seen:
                self._fernet = self.repo.fernet()
                self._seen = stamp
            return self._fernet
