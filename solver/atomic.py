"""Files written whole or not at all, by any number of processes at once: each writer
fills a temporary name of its own beside the target, then renames it over the target.

The temporary name is hidden (a leading dot: a glob for the target's prefix never sees
it), unique (pid and random bits, created exclusively) and ends in `.tmp`.
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


def temp_name(path: str | os.PathLike, suffix: str = ".tmp") -> Path:
    """A name beside PATH that no other writer uses."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{suffix}")


@contextmanager
def replacing(path: str | os.PathLike, mode: str = "wb", durable: bool = False) -> Iterator[IO]:
    """An open file that becomes PATH when the block ends without error (DURABLE: synced
    to disk first); on an error PATH is left as it was and the temporary file removed."""
    tmp = temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_atomic(path: str | os.PathLike, data: bytes | str, durable: bool = False) -> Path:
    """PATH holds DATA, whole: readers see the old content or the new, never a part."""
    with replacing(path, "w" if isinstance(data, str) else "wb", durable) as f:
        f.write(data)
    return Path(path)
