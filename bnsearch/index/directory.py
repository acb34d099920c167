"""Where index files live: a filesystem folder or memory.

:class:`FSDirectory` writes files durably (write, flush, ``fsync``; the manifest by a
temporary file, ``fsync`` and an atomic ``os.replace``, then an ``fsync`` of the folder)
and opens ``.npy`` arrays memory-mapped. :class:`MemoryDirectory` keeps the same files
in a dict, for tests and small jobs. Every write returns the CRC-32 and size of what was
written, which the manifest records. Names are relative: a plain file name, or (segments
of format 1-2) ``segment/file``; :func:`check_name` refuses anything else (separators,
``..``, absolute paths), so nothing is read or written outside the index folder.
"""

from __future__ import annotations

import io
import mmap
import os
import threading
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.errors import IndexFormatError
from bnsearch.index import faults
from bnsearch.index.compound import ALLOWED_DTYPES

MANIFEST = "meta.json"
#: The next manifest while a commit writes it (renamed over ``meta.json``; a crash leaves it).
MANIFEST_TMP = MANIFEST + ".tmp"
LOCK_FILE = "write.lock"


@attrs.frozen
class FileInfo:
    """Size in bytes and CRC-32 of one written file."""

    size: int
    crc32: int


def _files_under(folder: str, prefix: str) -> Iterator[str]:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_file():
                yield prefix + entry.name
            elif entry.is_dir(follow_symlinks=False):
                yield from _files_under(entry.path, prefix + entry.name + os.sep)


class _CrcWriter:
    """A write-only file object that checksums what passes through it."""

    def __init__(self, raw: io.BufferedWriter | io.BytesIO) -> None:
        self.raw = raw
        self.crc = 0
        self.size = 0

    def write(self, data: bytes | memoryview) -> int:
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        return self.raw.write(data)


def plain_name(name: object) -> bool:
    """True for a plain file name: non-empty, no separator, not ``.``/``..``, no NUL."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= 255
        and name not in (".", "..")
        and not any(bad in name for bad in ("/", "\\", "\x00"))
        and name.isprintable()
    )


def check_name(name: str, where: str = "") -> str:
    """``name`` if it is a plain file name or ``plain/plain`` (a format 1-2 segment
    folder and file), else :class:`IndexFormatError`."""
    parts = name.split("/") if isinstance(name, str) else [name]
    if len(parts) > 2 or not all(plain_name(part) for part in parts):
        raise IndexFormatError(
            f"{where or 'index'}: file name {name!r} is not a plain name inside the index folder"
        )
    return name


def _array_bytes_info(writer: _CrcWriter, array: npt.NDArray[np.generic]) -> None:
    np.lib.format.write_array(writer, np.ascontiguousarray(array), allow_pickle=False)


class Directory(Protocol):
    """The storage an index lives in."""

    def write_bytes(self, name: str, data: bytes) -> FileInfo: ...

    def save_array(self, name: str, array: npt.NDArray[np.generic]) -> FileInfo: ...

    def write_parts(self, name: str, parts: Iterable[bytes | memoryview]) -> FileInfo: ...

    def read_bytes(self, name: str) -> bytes: ...

    def map_file(self, name: str) -> npt.NDArray[np.uint8]: ...

    def load_array(self, name: str) -> npt.NDArray[np.generic]: ...

    def exists(self, name: str) -> bool: ...

    def size(self, name: str) -> int: ...

    def list_names(self) -> list[str]: ...

    def remove(self, name: str) -> None: ...

    def sync(self) -> None: ...

    def read_manifest(self) -> bytes | None: ...

    def write_manifest(self, data: bytes) -> None: ...

    def describe(self, name: str) -> str: ...


@attrs.define
class FSDirectory:
    """An index folder on disk. Reading needs no write access."""

    path: Path = attrs.field(converter=Path)
    _dirty_dirs: set[Path] = attrs.field(init=False, factory=set)

    def describe(self, name: str) -> str:
        return str(self.path / name)

    def _at(self, name: str) -> Path:
        return self.path / check_name(name, str(self.path))

    def _target(self, name: str) -> Path:
        target = self._at(name)
        if target.parent != self.path and not target.parent.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            self._dirty_dirs.add(self.path)
        self._dirty_dirs.add(target.parent)
        return target

    def write_bytes(self, name: str, data: bytes) -> FileInfo:
        return self.write_parts(name, [data])

    def write_parts(self, name: str, parts: Iterable[bytes | memoryview]) -> FileInfo:
        """Write a new file from ``parts`` (fsynced); its size and CRC-32."""
        with _create(self._target(name)) as handle:
            writer = _CrcWriter(handle)
            for part in parts:
                writer.write(part)
            handle.flush()
            os.fsync(handle.fileno())
        return FileInfo(size=writer.size, crc32=writer.crc)

    def save_array(self, name: str, array: npt.NDArray[np.generic]) -> FileInfo:
        target = self._target(name)
        with _create(target) as handle:
            writer = _CrcWriter(handle)
            _array_bytes_info(writer, array)
            handle.flush()
            os.fsync(handle.fileno())
        return FileInfo(size=writer.size, crc32=writer.crc)

    def read_bytes(self, name: str) -> bytes:
        return self._at(name).read_bytes()

    def map_file(self, name: str) -> npt.NDArray[np.uint8]:
        """The whole file memory-mapped read-only, as a uint8 array (one mapping, which
        holds one file descriptor until no view of it is left)."""
        target = self._at(name)
        with open(target, "rb") as handle:
            try:
                mapping = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:
                raise IndexFormatError(f"{target}: file is empty") from None
        return np.frombuffer(mapping, dtype=np.uint8)

    def load_array(self, name: str) -> npt.NDArray[np.generic]:
        target = self._at(name)
        try:
            if target.stat().st_size == 0:
                raise IndexFormatError(f"{target}: file is empty")
            array = np.load(target, mmap_mode="r", allow_pickle=False)
        except OSError:
            raise
        except Exception as error:  # numpy's header parser raises many kinds (tokenize, ...)
            raise IndexFormatError(f"{target}: not a valid array file ({error!r})") from None
        if not isinstance(array, np.ndarray):
            raise IndexFormatError(f"{target}: not a single array")
        if array.dtype.str not in ALLOWED_DTYPES or array.ndim not in (1, 2):
            raise IndexFormatError(
                f"{target}: an array of dtype {array.dtype.str} and {array.ndim} dimensions "
                "(refused: plain integer arrays of one or two dimensions expected)"
            )
        # a plain ndarray view of the mapping (which it keeps alive): np.memmap wraps every
        # slice and ufunc result in Python code, ~2-5 us per posting-list slice at query time
        return array.view(np.ndarray)

    def exists(self, name: str) -> bool:
        return self._at(name).exists()

    def size(self, name: str) -> int:
        return self._at(name).stat().st_size

    def list_names(self) -> list[str]:
        """Every file under the folder (relative names, sorted), as ``Path.rglob`` lists
        them (a file or a link to one; folders entered, links to folders not), by
        ``os.scandir``: each commit lists the folder to remove what no commit references,
        and ``rglob``'s path objects cost some 8 us a file."""
        if not self.path.is_dir():
            return []
        return sorted(_files_under(str(self.path), ""))

    def remove(self, name: str) -> None:
        target = self._at(name)
        try:
            target.unlink()
        except FileNotFoundError:
            return
        parent = target.parent
        if parent != self.path and not any(parent.iterdir()):
            parent.rmdir()

    def sync(self) -> None:
        """fsync every folder that received a new entry (so the entries survive a crash)."""
        for folder in sorted(self._dirty_dirs, key=lambda p: len(p.parts), reverse=True):
            _fsync_dir(folder)
        self._dirty_dirs.clear()

    def read_manifest(self) -> bytes | None:
        try:
            return (self.path / MANIFEST).read_bytes()
        except FileNotFoundError:
            return None

    def write_manifest(self, data: bytes) -> None:
        """The commit point: temp file, fsync, atomic rename over ``meta.json``, fsync dir."""
        self.sync()
        temporary = self.path / MANIFEST_TMP
        with _create(temporary) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        faults.crash_point("manifest-written")
        os.replace(temporary, self.path / MANIFEST)
        _fsync_dir(self.path)


def _create(target: Path) -> io.BufferedWriter:
    """Open a new file for writing; a symbolic link in its place is not followed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    return open(os.open(target, flags, 0o666), "wb")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@attrs.define
class MemoryDirectory:
    """Index files kept in memory (arrays as read-only numpy arrays)."""

    _files: dict[str, bytes] = attrs.field(factory=dict)
    _arrays: dict[str, npt.NDArray[np.generic]] = attrs.field(factory=dict)
    _manifest: bytes | None = None
    write_lock: threading.Lock = attrs.field(factory=threading.Lock)

    def describe(self, name: str) -> str:
        return f"<memory>/{name}"

    def write_bytes(self, name: str, data: bytes) -> FileInfo:
        self._files[check_name(name)] = bytes(data)
        return FileInfo(size=len(data), crc32=zlib.crc32(data))

    def write_parts(self, name: str, parts: Iterable[bytes | memoryview]) -> FileInfo:
        return self.write_bytes(name, b"".join(parts))

    def map_file(self, name: str) -> npt.NDArray[np.uint8]:
        data = self.read_bytes(name)
        if not data:
            raise IndexFormatError(f"{self.describe(name)}: file is empty")
        aligned = np.empty(len(data), dtype=np.uint8)  # aligned for the views made of it
        aligned[:] = np.frombuffer(data, dtype=np.uint8)
        aligned.setflags(write=False)
        return aligned

    def save_array(self, name: str, array: npt.NDArray[np.generic]) -> FileInfo:
        check_name(name)
        buffer = io.BytesIO()
        writer = _CrcWriter(buffer)
        _array_bytes_info(writer, array)
        buffer.seek(0)
        stored = np.load(buffer, allow_pickle=False)
        stored.setflags(write=False)
        self._arrays[name] = stored
        self._files[name] = buffer.getvalue()
        return FileInfo(size=writer.size, crc32=writer.crc)

    def read_bytes(self, name: str) -> bytes:
        try:
            return self._files[name]
        except KeyError:
            raise FileNotFoundError(name) from None

    def load_array(self, name: str) -> npt.NDArray[np.generic]:
        try:
            return self._arrays[name]
        except KeyError:
            raise FileNotFoundError(name) from None

    def exists(self, name: str) -> bool:
        return name in self._files

    def size(self, name: str) -> int:
        return len(self.read_bytes(name))

    def list_names(self) -> list[str]:
        return sorted(self._files)

    def remove(self, name: str) -> None:
        self._files.pop(name, None)
        self._arrays.pop(name, None)

    def sync(self) -> None:
        return None

    def read_manifest(self) -> bytes | None:
        return self._manifest

    def write_manifest(self, data: bytes) -> None:
        self._manifest = bytes(data)
