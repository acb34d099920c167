"""The compound segment file: every array of a segment in one file, with a table.

A segment written since format 3 is one file ``seg-NNNNNN.cfs`` (Lucene's compound
format in spirit): memory-mapped once, its arrays are read-only views into the mapping,
so an open segment costs one file descriptor whatever its field count (a folder of
``.npy`` files cost one per array, about 72 per segment). Layout, little-endian::

    magic        8 bytes  b"BNSCFS3\\n"
    arrays       each starting at a multiple of 64 bytes (zero padding between)
    table        u32 count, then per array: u16 name length, the name (ASCII),
                 4-byte dtype string (e.g. b"<u4 "), u8 ndim (1 or 2), ndim x u64 shape,
                 u64 offset, u32 CRC-32 of the array's bytes
    footer       u64 table offset, u32 table length, u32 CRC-32 of the table,
                 8 bytes b"BNSCFEND"

Reading checks, before any view is made: the magic and footer, the table's CRC, each
name (plain ASCII, unique), dtype (plain integers, see :data:`ALLOWED_DTYPES`;
no structured or object dtypes), shape and offset (inside the data part, no overlap with
the table): so a damaged or crafted file is an :class:`IndexFormatError` naming the
file, never a numpy error or an allocation the file does not back. The per-array CRC-32
lets :func:`check_crc` check small arrays on open and lets ``verify`` name the array a
flipped byte hit. The whole file's CRC-32 is in the manifest, like every other file's.

Also here: :func:`parse_npy`, a bounded reader of one ``.npy`` file held in memory
(deletion files).
"""

from __future__ import annotations

import ast
import itertools
import struct
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from bnsearch.errors import IndexFormatError

Array = npt.NDArray[Any]

SUFFIX = ".cfs"
MAGIC = b"BNSCFS3\n"
END_MAGIC = b"BNSCFEND"
ALIGN = 64
_FOOTER = struct.Struct("<QII8s")
#: The only dtypes a compound file (or a deletion file) may hold: little-endian integers
#: (a bool array would index by mask where a doc id array is expected).
ALLOWED_DTYPES = frozenset(["|u1", "<u2", "<u4", "<u8", "|i1", "<i2", "<i4", "<i8"])
_MAX_NAME = 200


_COUNT = struct.Struct("<I")
_NAME_LENGTH = struct.Struct("<H")
#: an entry's ndim and shape, by ndim
_SHAPE = {1: struct.Struct("<BQ"), 2: struct.Struct("<BQQ")}
_PLACE = struct.Struct("<QI")
_ZEROS = bytes(ALIGN)
#: arrays smaller than this are copied into one piece with their neighbours (one write
#: and one checksum call for many small arrays); larger ones are yielded as they are
_GATHER = 1 << 16
#: each allowed dtype's 4-byte code in the table
_CODES = {np.dtype(code): code.encode("ascii").ljust(4) for code in ALLOWED_DTYPES}


def _le(array: Array) -> Array:
    """The array as a C-contiguous little-endian array of an allowed dtype."""
    array = np.ascontiguousarray(array)
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and np.little_endian is False):
        array = array.astype(array.dtype.newbyteorder("<"))
    if array.dtype.str not in ALLOWED_DTYPES:
        raise TypeError(f"dtype {array.dtype} cannot be stored in a compound file")
    if array.ndim not in (1, 2):
        raise TypeError(f"{array.ndim}-dimensional arrays cannot be stored in a compound file")
    return array


def encode(arrays: Mapping[str, Array]) -> Iterator[bytes | memoryview]:
    """The bytes of a compound file holding ``arrays`` (name -> array), in pieces: small
    arrays copied, with their padding, into pieces of about :data:`_GATHER` bytes (one
    write and one checksum call for many), a large array's bytes as a view of it.

    A C-contiguous array of an allowed dtype (nearly all) is taken as it is, its table
    entry packed by precompiled structs (a commit's pack of anchor updates holds some
    70-130 small arrays: their Python per array was most of its encoding)."""
    table = bytearray(_COUNT.pack(len(arrays)))
    gathered = bytearray(MAGIC)
    position = len(MAGIC)  # bytes so far, yielded or gathered
    for name, raw in arrays.items():
        array = raw
        code = _CODES.get(raw.dtype) if type(raw) is np.ndarray else None
        shape = _SHAPE.get(raw.ndim) if code is not None else None
        if code is None or shape is None or not raw.flags.c_contiguous:
            array = _le(raw)
            code, shape = _CODES[array.dtype], _SHAPE[array.ndim]
        encoded = name.encode("ascii")
        if not encoded or len(encoded) > _MAX_NAME:
            raise ValueError(f"bad array name {name!r}")
        pad = -position % ALIGN
        gathered += _ZEROS[:pad]
        position += pad
        size = array.nbytes
        data = array.tobytes() if size < _GATHER else array.data.cast("B")
        table += _NAME_LENGTH.pack(len(encoded))
        table += encoded
        table += code
        table += shape.pack(array.ndim, *array.shape)
        table += _PLACE.pack(position, zlib.crc32(data))
        position += size
        if size < _GATHER:
            gathered += data
            if len(gathered) >= _GATHER:
                yield bytes(gathered)
                gathered = bytearray()
        else:
            if gathered:
                yield bytes(gathered)
                gathered = bytearray()
            yield data
    blob = bytes(table)
    gathered += blob
    gathered += _FOOTER.pack(position, len(blob), zlib.crc32(blob), END_MAGIC)
    yield bytes(gathered)


class Entry:
    """Where one array lies in a compound file."""

    __slots__ = ("crc32", "dtype", "nbytes", "nested", "offset", "shape")

    def __init__(
        self, dtype: np.dtype[Any], shape: tuple[int, ...], offset: int, crc32: int
    ) -> None:
        self.dtype = dtype
        self.shape = shape
        self.offset = offset
        self.crc32 = crc32
        #: a uint8 array holding a compound file of its own: its bytes and checked
        #: table, once read (:func:`nested`)
        self.nested: tuple[npt.NDArray[np.uint8], dict[str, Entry]] | None = None
        count = 1
        for dim in shape:
            count *= dim
        self.nbytes = count * dtype.itemsize


#: each allowed dtype by its code in the table (a table's read makes no dtype an entry)
_DTYPES = {code: np.dtype(code) for code in ALLOWED_DTYPES}
#: an entry's shape, by ndim
_DIMS = {1: struct.Struct("<Q"), 2: struct.Struct("<QQ")}


def _cut_short(where: str) -> IndexFormatError:
    return IndexFormatError(f"{where}: the table of arrays is cut short")


def read_table(buffer: npt.NDArray[np.uint8], where: str) -> dict[str, Entry]:
    """The checked table of a compound file held in ``buffer`` (mapped or in memory).

    Its entries are read by precompiled structs, each field's bounds checked before it
    is read (a segment's table holds some 110 entries and every commit and refresh
    opens a segment: a format string parsed and a dtype made per field cost ~3 us an
    entry)."""
    size = len(buffer)
    if size < len(MAGIC) + _FOOTER.size or bytes(buffer[: len(MAGIC)]) != MAGIC:
        raise IndexFormatError(f"{where}: not a bnsearch compound segment file")
    table_at, table_len, table_crc, end = _FOOTER.unpack(bytes(buffer[size - _FOOTER.size :]))
    if end != END_MAGIC:
        raise IndexFormatError(f"{where}: the file's end marker is missing (cut short?)")
    if table_at < len(MAGIC) or table_at + table_len != size - _FOOTER.size:
        raise IndexFormatError(f"{where}: the table of arrays is out of the file's bounds")
    blob = bytes(buffer[table_at : table_at + table_len])
    if zlib.crc32(blob) != table_crc:
        raise IndexFormatError(f"{where}: the table of arrays is damaged (checksum mismatch)")
    total = len(blob)
    if _COUNT.size > total:
        raise _cut_short(where)
    (count,) = _COUNT.unpack_from(blob, 0)
    at = _COUNT.size
    if count > table_len // 24:  # each entry takes at least 24 bytes
        raise IndexFormatError(f"{where}: the table claims {count} arrays")
    entries: dict[str, Entry] = {}
    spans: list[tuple[int, int]] = []
    for _ in range(count):
        if at + 2 > total:
            raise _cut_short(where)
        (length,) = _NAME_LENGTH.unpack_from(blob, at)
        at += 2
        if at + length > total:
            raise _cut_short(where)
        try:
            name = blob[at : at + length].decode("ascii")
        except UnicodeDecodeError:
            raise IndexFormatError(f"{where}: an array name is not ASCII") from None
        at += length
        if not name or name in entries or not name.isprintable():
            raise IndexFormatError(f"{where}: bad or repeated array name {name!r}")
        if at + 4 > total:
            raise _cut_short(where)
        code = blob[at : at + 4].decode("ascii", "replace").strip()
        at += 4
        dtype = _DTYPES.get(code)
        if dtype is None:
            raise IndexFormatError(f"{where}: array {name!r} has dtype {code!r} (refused)")
        if at + 1 > total:
            raise _cut_short(where)
        ndim = blob[at]
        at += 1
        dims = _DIMS.get(ndim)
        if dims is None:
            raise IndexFormatError(f"{where}: array {name!r} has {ndim} dimensions")
        if at + dims.size > total:
            raise _cut_short(where)
        shape = dims.unpack_from(blob, at)
        at += dims.size
        if at + _PLACE.size > total:
            raise _cut_short(where)
        offset, crc = _PLACE.unpack_from(blob, at)
        at += _PLACE.size
        entry = Entry(dtype, shape, offset, crc)
        if entry.offset < len(MAGIC) or entry.offset + entry.nbytes > table_at:
            raise IndexFormatError(
                f"{where}: array {name!r} ({entry.nbytes} bytes at {entry.offset}) lies "
                f"outside the data part (bytes {len(MAGIC)}..{table_at})"
            )
        entries[name] = entry
        spans.append((entry.offset, entry.offset + entry.nbytes))
    if at != total:
        raise IndexFormatError(f"{where}: the table of arrays has trailing bytes")
    spans.sort()
    for (_, end_a), (start_b, _) in itertools.pairwise(spans):
        if start_b < end_a:
            raise IndexFormatError(f"{where}: two arrays overlap")
    return entries


def view(buffer: npt.NDArray[np.uint8], entry: Entry) -> Array:
    """The array ``entry`` describes, as a read-only view into ``buffer`` (no copy)."""
    part = buffer[entry.offset : entry.offset + entry.nbytes]
    array = part.view(entry.dtype).reshape(entry.shape)
    array.setflags(write=False)
    return array


def nested(
    buffer: npt.NDArray[np.uint8], entry: Entry, where: str
) -> tuple[npt.NDArray[np.uint8], dict[str, Entry]]:
    """The compound file held as the array ``entry`` of the compound file in ``buffer``
    (one array packing many small ones, e.g. a commit's anchor updates): its bytes and
    its checked table (:func:`read_table`), read once per ``entry`` and kept on it, so
    the readers sharing one table (a refresh's segments) parse it once."""
    if entry.nested is None:
        if entry.dtype != np.uint8 or len(entry.shape) != 1:
            raise IndexFormatError(f"{where}: a packed array is {entry.dtype}, {entry.shape}")
        inner = view(buffer, entry)
        entry.nested = (inner, read_table(inner, where))
    return entry.nested


def check_crc(buffer: npt.NDArray[np.uint8], entry: Entry) -> bool:
    """True if the array's bytes still have the CRC-32 written in the table."""
    return zlib.crc32(buffer[entry.offset : entry.offset + entry.nbytes].data) == entry.crc32


def parse_npy(data: bytes, where: str) -> Array:
    """One ``.npy`` file held in memory, with its header bounded by the data (a crafted
    shape cannot make numpy allocate what the file does not hold), an allowed dtype and
    one dimension; anything else is an :class:`IndexFormatError`."""
    try:
        if data[:6] != b"\x93NUMPY" or len(data) < 10:
            raise ValueError("not a .npy file")
        major = data[6]
        if major == 1:
            (length,), start = struct.unpack_from("<H", data, 8), 10
        elif major in (2, 3):
            (length,), start = struct.unpack_from("<I", data, 8), 12
        else:
            raise ValueError(f"unknown .npy version {major}")
        if length > 4096 or start + length > len(data):
            raise ValueError("header out of bounds")
        header = ast.literal_eval(data[start : start + length].decode("latin-1"))
        if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
            raise ValueError("malformed header")
        descr, shape = header["descr"], header["shape"]
        if not isinstance(descr, str) or descr not in ALLOWED_DTYPES:
            raise ValueError(f"dtype {descr!r} refused")
        if not (isinstance(shape, tuple) and len(shape) == 1 and isinstance(shape[0], int)):
            raise ValueError(f"shape {shape!r}: one dimension expected")
        dtype = np.dtype(descr)
        body = start + length
        if shape[0] < 0 or shape[0] * dtype.itemsize != len(data) - body:
            raise ValueError(f"{shape[0]} items do not fill the {len(data) - body} bytes held")
        array = np.frombuffer(data, dtype=dtype, count=shape[0], offset=body)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError, struct.error) as error:
        raise IndexFormatError(f"{where}: not a valid array file ({error})") from None
    return array
