"""A lock every process on this machine sees: an exclusive `flock` on a file (released when the block ends or
the process dies, so a crash leaves no stale lock)."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path, wait: bool = True) -> Iterator[bool]:
    """Hold the lock on `path` for the block; yields True. With `wait=False` a lock held elsewhere is not waited
    for: the block runs without it and gets False (the caller skips its work)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
