"""The single-writer lock: ``fcntl.flock`` on ``write.lock``, released by the OS on death.

The lock file's existence means nothing; only the OS lock counts, so a writer killed by
SIGKILL or a power cut never leaves a stale lock. A second writer waits up to ``timeout``
seconds (polling) and then gets :class:`IndexLockedError`. Readers never lock. On systems
without ``fcntl`` (Windows), ``msvcrt.locking`` gives the same guarantee.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import IO

from bnsearch.errors import IndexFormatError, IndexLockedError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_POLL_SECONDS = 0.05


def _try_lock(handle: IO[bytes]) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    import msvcrt  # pragma: no cover - Windows

    try:  # pragma: no cover - Windows
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:  # pragma: no cover - Windows
        return False
    return True  # pragma: no cover - Windows


class WriteLock:
    """An acquired writer lock; :meth:`release` (or process death) frees it."""

    def release(self) -> None:
        raise NotImplementedError


class FileWriteLock(WriteLock):
    """The OS lock on ``<index>/write.lock``."""

    def __init__(self, path: Path, *, timeout: float = 0.0) -> None:
        self.path = path
        try:  # a symbolic link in its place is not followed: nothing written outside
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except OSError as error:
            if os.path.islink(path):
                raise IndexFormatError(
                    f"{path}: the lock file is a symbolic link (refused); remove it"
                ) from None
            raise error
        handle = open(fd, "r+b")  # noqa: SIM115 - held until release()
        deadline = time.monotonic() + max(0.0, timeout)
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                handle.close()
                raise IndexLockedError(
                    f"{path}: another writer holds this index (waited {timeout:g} s). Only one "
                    "writer at a time: wait for it to commit, or pass writer(timeout=...) to wait "
                    "longer. Readers need no lock."
                )
            time.sleep(_POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._handle: IO[bytes] | None = handle

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()  # closing the descriptor drops the flock


class MemoryWriteLock(WriteLock):
    """The writer lock of an in-memory index (a thread lock)."""

    def __init__(self, lock: threading.Lock, *, timeout: float = 0.0) -> None:
        acquired = lock.acquire(timeout=timeout) if timeout > 0 else lock.acquire(blocking=False)
        if not acquired:
            raise IndexLockedError(
                f"<memory>: another writer holds this index (waited {timeout:g} s)"
            )
        self._lock: threading.Lock | None = lock

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()
