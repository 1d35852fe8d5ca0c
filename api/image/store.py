"""The image store: a directory of image files named by image id, written once by the API as uploads arrive.

An upload streams to a temporary file beside the final one, hashing as it
goes (Glance's checksum, md5, and its multihash, sha512), and is linked into
place only when complete: a file under an image's name is always whole, and
a second upload of the same image cannot replace it.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from novalog.api.faults import ApiFault, Conflict

HASH_ALGO = "sha512"  # Glance's default os_hash_algo


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An image's bits as stored: where, how many bytes, and their hashes."""

    path: str
    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str


class ImageStore:
    """Image files under `root`, at most `max_size` bytes each (Glance's image_size_cap)."""

    def __init__(self, root: Path, max_size: int) -> None:
        self.root = Path(root).resolve()
        self.max_size = max_size

    def path(self, image_id: str) -> Path:
        if not image_id or "/" in image_id or image_id in (".", "..") or image_id.startswith("."):
            raise ValueError(f"not usable as a file name: {image_id!r}")
        return self.root / image_id

    async def write(self, image_id: str, chunks: AsyncIterator[bytes]) -> StoredFile:
        """Store the image's bits from `chunks`: 413 past max_size, 409 when the image already has a file."""
        final = self.path(image_id)
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.root / f".{image_id}.{uuid.uuid4().hex}.tmp"
        md5, multihash, size = hashlib.md5(usedforsecurity=False), hashlib.new(HASH_ALGO), 0
        try:
            with temporary.open("wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_size:
                        raise ApiFault(413, f"Image exceeds the storage quota: more than {self.max_size} bytes.")
                    md5.update(chunk)
                    multihash.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temporary, final)
            except FileExistsError:
                raise Conflict(f"Image {image_id} already has data.") from None
        finally:
            temporary.unlink(missing_ok=True)
        return StoredFile(str(final), size, md5.hexdigest(), HASH_ALGO, multihash.hexdigest())

    def remove(self, image_id: str) -> bool:
        """Delete the image's file; True when there was one."""
        try:
            self.path(image_id).unlink()
        except FileNotFoundError:
            return False
        return True
