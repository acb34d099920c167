# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled reading of a stored block (:mod:`bnsearch.index.store`): a format-2 LZ4
block made into its rows in one call.

:class:`Blocks` holds a segment's ``store.bin``; :meth:`Blocks.rows` checks one block's
CRC-32 (zlib's), decodes its LZ4 block (a bounded decoder of the public block format,
below), reads the UTF-16 text's header (the JSON a writer makes:
``json.dumps(..., ensure_ascii=False, separators=(",", ":"))``) and cuts the long
texts, giving the rows :func:`bnsearch.index.store._rows_v2` gives, already checked as
:func:`~bnsearch.index.store._check_rows` checks them. The Python code does fifteen
calls a block for the same (about 9 us a 1,250-byte synthetic block in a loop, twice
that between two queries' cores).

It takes only the blocks a writer makes and nothing it would have to judge: a zlib or
format-1 block, a CRC or LZ4 stream that does not check out, an odd byte count, a
surrogate code unit, a JSON escape, whitespace, a float or any value the Python reader
would refuse or read differently give ``None``, and the caller reads the block with
:mod:`bnsearch.index.store`'s Python code, the reference, which gives the rows or the
index's own error. So the two readers agree by construction on every block this one
answers; the tests compare them on written and damaged blocks.

The LZ4 block format (``lz4/doc/lz4_Block_format.md`` in the LZ4 repository): a run of
sequences, each a token (literal length in its high four bits, match length less 4 in
its low four; 15 continues in bytes of 255 and a last smaller one), the literals, then
a two-byte little-endian offset back into the output and the match; the last sequence
is literals only. As LZ4's safe decoder does, a stream is refused where a literal run
near either end does not end the block, or a match reaches into the last five bytes.
"""

cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport (
    PyUnicode_1BYTE_KIND,
    PyUnicode_2BYTE_KIND,
    PyUnicode_DATA,
    PyUnicode_FromKindAndData,
    PyUnicode_GET_LENGTH,
    PyUnicode_KIND,
)
from libc.stdint cimport int32_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

import datetime as _dt
import sys as _sys

cdef extern from "zlib.h":
    unsigned long crc32(unsigned long crc, const unsigned char *buf, unsigned int len) nogil

#: the block's head: "L", the CRC-32 of the rest, the text's length in bytes (u32 LE)
cdef enum:
    HEAD = 9
    LZ4_MARK = 0x4C
    MAX_RATIO = 255  # the most an LZ4 block can expand (its format's bound)
    MFLIMIT = 12  # a match starts at least this many bytes before the output's end
    LAST_LITERALS = 5  # the output's last bytes are always literals
    META_WIDTH = 11  # a header entry: eight short fields, three text lengths
    MAX_DIGITS = 9  # a text length of more digits is left to the Python reader

#: the byte order the UTF-16-LE text can be read in place (elsewhere: always None)
cdef bint _LITTLE = _sys.byteorder == "little"
cdef object _FROMISO = _dt.datetime.fromisoformat


cdef enum:
    WILD = 16  # a copy in pieces of this many bytes may write up to this far past its end


cdef inline void _wild_copy(uint8_t *op, const uint8_t *ip, Py_ssize_t length) noexcept nogil:
    """``length`` bytes from ``ip`` to ``op`` in pieces of :data:`WILD` (one inlined move
    each, not a call to ``memcpy`` a sequence): reads and writes up to ``WILD - 1`` bytes
    past their ends, which the caller keeps within its buffers; ``ip`` at least
    :data:`WILD` bytes behind ``op`` where they overlap."""
    cdef uint8_t *end = op + length
    while op < end:
        memcpy(op, ip, WILD)
        op += WILD
        ip += WILD


cdef inline Py_ssize_t _length(
    const uint8_t **ip, const uint8_t *iend, Py_ssize_t length
) noexcept nogil:
    """A sequence's literal or match length from its token's four bits: 15 goes on in
    the bytes at ``*ip`` (each 255 but the last, all added; ``*ip`` moved past them); -1
    where the block ends first."""
    cdef unsigned int extra
    if length == 15:
        while True:
            if ip[0] >= iend:
                return -1
            extra = ip[0][0]
            ip[0] += 1
            length += extra
            if extra != 255:
                break
    return length


cdef Py_ssize_t _lz4(
    const uint8_t *src, Py_ssize_t src_size, uint8_t *dst, Py_ssize_t dst_size
) noexcept nogil:
    """Decode the LZ4 block ``src`` into exactly ``dst_size`` bytes at ``dst`` (which has
    room for :data:`WILD` more): 0, or -1 for a stream that is damaged, ends short or
    long, or breaks the format's end rules."""
    cdef const uint8_t *ip = src
    cdef const uint8_t *iend = src + src_size
    cdef uint8_t *op = dst
    cdef uint8_t *oend = dst + dst_size
    cdef const uint8_t *match
    cdef Py_ssize_t length, offset, i
    cdef unsigned int token
    while True:
        if ip >= iend:
            return -1
        token = ip[0]
        ip += 1
        length = _length(&ip, iend, token >> 4)
        if length < 0:
            return -1
        if length > iend - ip or length > oend - op:
            return -1
        if iend - ip >= length + WILD:
            _wild_copy(op, ip, length)
        else:  # (the block's end: read no byte past it)
            memcpy(op, ip, length)
        op += length
        ip += length
        if ip == iend:  # the last sequence: literals only, and the output full
            return 0 if op == oend else -1
        if oend - op < MFLIMIT or iend - ip < 2 + 1 + LAST_LITERALS:
            return -1  # (LZ4's safe decoder: such a literal run must end the block)
        offset = ip[0] | (ip[1] << 8)
        ip += 2
        if offset == 0 or offset > op - dst:
            return -1
        length = _length(&ip, iend, token & 15)
        if length < 0:
            return -1
        length += 4
        if length > oend - op - LAST_LITERALS:
            return -1
        match = op - offset
        if offset >= WILD:
            _wild_copy(op, match, length)
        else:  # a short repeating pattern, copied a byte at a time
            for i in range(length):
                op[i] = match[i]
        op += length


@cython.final
cdef class _Header:
    """A cursor over a block's UTF-16 code units while its header is read."""

    cdef const uint16_t *units
    cdef Py_ssize_t size
    cdef Py_ssize_t at
    cdef bint failed  # something the Python reader must judge

    cdef inline bint _take(self, uint16_t unit) noexcept:
        if self.at < self.size and self.units[self.at] == unit:
            self.at += 1
            return True
        return False

    cdef inline bint _null(self) noexcept:
        """``null`` at the cursor (taken if so)."""
        cdef const uint16_t *at = self.units + self.at
        if (
            self.size - self.at >= 4
            and at[0] == 0x6E and at[1] == 0x75 and at[2] == 0x6C and at[3] == 0x6C
        ):
            self.at += 4
            return True
        return False

    cdef object text(self):
        """A JSON string without escapes or control characters at the cursor, else
        ``None`` with :attr:`failed` set."""
        cdef Py_ssize_t start, i
        cdef uint16_t unit
        if not self._take(0x22):
            self.failed = True
            return None
        start = self.at
        i = start
        while i < self.size:
            unit = self.units[i]
            if unit == 0x22:
                self.at = i + 1
                return PyUnicode_FromKindAndData(
                    PyUnicode_2BYTE_KIND, self.units + start, i - start
                )
            if unit == 0x5C or unit < 0x20:  # an escape, a control character
                break
            i += 1
        self.failed = True
        return None

    cdef object optional_text(self):
        """A string or ``null`` (``None``)."""
        if self._null():
            return None
        return self.text()

    cdef inline bint _items(self) noexcept:
        """Opens a list: True where an item follows, False for ``[]`` (or no list:
        failed)."""
        if not self._take(0x5B):
            self.failed = True
            return False
        return not self._take(0x5D)

    cdef inline bint _more(self) noexcept:
        """After an item: True where another follows, False at the list's end (or
        anything else: failed)."""
        if self.failed or self._take(0x5D):
            return False
        return self._expect(0x2C)

    cdef inline bint _expect(self, uint16_t unit) noexcept:
        """Takes ``unit`` after an item: True where it is there, else False with
        :attr:`failed` set (also where the item failed)."""
        if self.failed or not self._take(unit):
            self.failed = True
            return False
        return True

    cdef list texts(self):
        """A list of strings."""
        cdef list found = []
        if self._items():
            while True:
                found.append(self.text())
                if not self._more():
                    break
        return found

    cdef list links(self):
        """A list of related links: ``[headline, url or null, target or null]`` each."""
        cdef list found = []
        cdef object headline, url, target
        if self._items():
            while True:
                if not self._expect(0x5B):
                    break
                headline = self.text()
                if not self._expect(0x2C):
                    break
                url = self.optional_text()
                if not self._expect(0x2C):
                    break
                target = self.optional_text()
                if not self._expect(0x5D):
                    break
                found.append([headline, url, target])
                if not self._more():
                    break
        return found

    cdef Py_ssize_t length(self, bint may_be_none) noexcept:
        """A text length: digits without a leading zero (``-1`` too where
        ``may_be_none``), else -2 with :attr:`failed` set."""
        cdef Py_ssize_t value = 0, digits = 0
        cdef uint16_t unit
        if may_be_none and self.size - self.at >= 2 and self.units[self.at] == 0x2D:
            if self.units[self.at + 1] == 0x31:
                self.at += 2
                if self.at < self.size and 0x30 <= self.units[self.at] <= 0x39:
                    self.failed = True
                    return -2
                return -1
            self.failed = True
            return -2
        while self.at < self.size:
            unit = self.units[self.at]
            if not 0x30 <= unit <= 0x39:
                break
            if digits == 1 and value == 0:  # a leading zero
                self.failed = True
                return -2
            value = value * 10 + (unit - 0x30)
            digits += 1
            self.at += 1
        if digits == 0 or digits > MAX_DIGITS:
            self.failed = True
            return -2
        return value


cdef object _published(_Header header):
    """``published``: ``null``, or a string ``datetime.fromisoformat`` reads (else
    :attr:`_Header.failed`)."""
    cdef object value = header.optional_text()
    if value is not None:
        try:
            _FROMISO(value)
        except (TypeError, ValueError):
            header.failed = True
    return value


#: What each value of a header entry is, in the order of ``store.META_FIELDS`` and the
#: three text lengths: id, section, photo_credit, related, url, published, source,
#: anchors, title, body, caption (a caption's length may be -1: none)
cdef enum Kind:
    TEXT, TEXTS, OPTIONAL, LINKS, PUBLISHED, LENGTH, LENGTH_OR_NONE

cdef Kind[META_WIDTH] _ENTRY = [
    TEXT, TEXTS, OPTIONAL, LINKS, OPTIONAL, PUBLISHED, OPTIONAL, TEXTS,
    LENGTH, LENGTH, LENGTH_OR_NONE,
]


cdef object _value(_Header header, Kind kind):
    """The header value of ``kind`` at the cursor (:attr:`_Header.failed` if not)."""
    if kind == TEXT:
        return header.text()
    if kind == TEXTS:
        return header.texts()
    if kind == OPTIONAL:
        return header.optional_text()
    if kind == LINKS:
        return header.links()
    if kind == PUBLISHED:
        return _published(header)
    return header.length(kind == LENGTH_OR_NONE)


cdef list _entry(_Header header):
    """One header entry, ``[...]`` of :data:`_ENTRY`'s values, or None."""
    cdef list values = []
    cdef Py_ssize_t i
    if not header._take(0x5B):
        return None
    for i in range(META_WIDTH):
        if i and not header._take(0x2C):
            return None
        values.append(_value(header, _ENTRY[i]))
        if header.failed:
            return None
    return values if header._take(0x5D) else None


cdef object _rows(const uint16_t *units, Py_ssize_t size, tuple keys):
    """The rows of a format-2 block's text (``units``: its UTF-16 code units, none a
    surrogate), each a dict of ``keys`` (``store.ROW_KEYS``), or None where the Python
    reader must judge it."""
    cdef _Header header = _Header.__new__(_Header)
    cdef list metas = []
    cdef list rows = []
    cdef list meta
    cdef dict row
    cdef Py_ssize_t position, title_end, body_end, caption_end
    cdef Py_ssize_t title_length, body_length, caption_length, i
    cdef tuple values
    header.units = units
    header.size = size
    header.at = 1  # after the block's "\x02"
    if size < 1 or units[0] != 0x02 or not header._take(0x5B) or len(keys) != META_WIDTH:
        return None
    if not header._take(0x5D):
        while True:
            meta = _entry(header)
            if meta is None:
                return None
            metas.append(meta)
            if header._take(0x5D):
                break
            if not header._take(0x2C):
                return None
    if not header._take(0x00):  # the header ends at the block's "\x00"
        return None
    position = header.at
    for meta in metas:
        title_length, body_length, caption_length = meta[8], meta[9], meta[10]
        title_end = position + title_length
        body_end = title_end + body_length
        caption_end = body_end + caption_length if caption_length > 0 else body_end
        if caption_end > size:
            return None
        values = (  # in the order of store.ROW_KEYS
            meta[0],
            PyUnicode_FromKindAndData(PyUnicode_2BYTE_KIND, units + position, title_length),
            PyUnicode_FromKindAndData(PyUnicode_2BYTE_KIND, units + title_end, body_length),
            meta[1],
            PyUnicode_FromKindAndData(
                PyUnicode_2BYTE_KIND, units + body_end, caption_end - body_end
            ) if caption_length >= 0 else None,
            meta[2],
            meta[3],
            meta[4],
            meta[5],
            meta[6],
            meta[7],
        )
        row = {}
        for i in range(META_WIDTH):  # (indexed: no iterator objects)
            row[keys[i]] = values[i]
        rows.append(row)
        position = caption_end
    if position != size:
        return None
    return rows


cdef class Blocks:
    """The stored blocks of one segment (its ``store.bin``, any buffer of bytes)."""

    cdef const uint8_t[::1] _data

    def __init__(self, data):
        self._data = data

    def text(self, Py_ssize_t start, Py_ssize_t end):
        """The UTF-16-LE text (bytes) of the LZ4 block in bytes ``start..end``, its CRC
        and stream checked, or ``None`` where the Python reader must read the block
        (another codec, damage: see the module docstring)."""
        cdef Py_ssize_t size
        cdef const uint8_t *block
        cdef uint32_t crc, length
        cdef uint8_t *text
        cdef int decoded
        if not _LITTLE or start < 0 or end > self._data.shape[0] or end - start < HEAD + 1:
            return None
        block = &self._data[start]
        size = end - start
        if block[0] != LZ4_MARK:
            return None
        crc = block[1] | (block[2] << 8) | (block[3] << 16) | (<uint32_t>block[4] << 24)
        length = block[5] | (block[6] << 8) | (block[7] << 16) | (<uint32_t>block[8] << 24)
        if length == 0 or length % 2 or length > <Py_ssize_t>(size - HEAD) * MAX_RATIO:
            return None
        if size - 5 > 0xFFFFFFFF or crc32(0, block + 5, <unsigned int>(size - 5)) != crc:
            return None
        text = <uint8_t *>PyMem_Malloc(length + WILD)
        if text == NULL:
            raise MemoryError()
        try:
            with nogil:
                decoded = _lz4(block + HEAD, size - HEAD, text, length)
            if decoded != 0:
                return None
            return PyBytes_FromStringAndSize(<char *>text, length)
        finally:
            PyMem_Free(text)

    def rows(self, Py_ssize_t start, Py_ssize_t end, tuple keys):
        """:func:`rows` of :meth:`text` (``None`` where either is)."""
        text = self.text(start, end)
        return None if text is None else rows(text, keys)


def rows(bytes text, tuple keys):
    """The checked rows of a format-2 block's UTF-16-LE ``text`` (:meth:`Blocks.text`),
    each a dict of ``keys`` (``store.ROW_KEYS``: the Python reader's key order), new
    objects every call, or ``None`` where the Python reader must judge it."""
    cdef Py_ssize_t count = len(text) // 2, i
    cdef const uint16_t *units = <const uint16_t *><const char *>text
    cdef uint16_t surrogates = 0
    if not _LITTLE or len(text) % 2:
        return None
    for i in range(count):  # (branch-free: the compiler vectorizes it)
        surrogates |= (units[i] & 0xF800) == 0xD800
    if surrogates:  # code units that are not characters each
        return None
    return _rows(units, count, keys)


# --- A string table encoded (bnsearch/index/segment.py's encode_strings) -------------
#
# Here because it is the other compiled half of the same on-disk text (a segment's
# string tables beside its stored rows), and a module of its own would need its own
# build entry. The Python encoder, the reference, makes the joined text, its UTF-8 bytes
# and their NUL-less copy (three buffers of a table's size, at 100k links some 1.2M
# strings); this one counts each string's UTF-8 length, then writes every string into
# ONE array of the exact size.

cdef extern from "Python.h":
    int PyUnicode_READY(object o) except -1
    bint PyUnicode_IS_ASCII(object o)


ctypedef fused _unit_t:
    uint8_t
    uint16_t
    uint32_t


cdef inline Py_ssize_t _units_length(const _unit_t *units, Py_ssize_t length) noexcept nogil:
    """The UTF-8 length of ``length`` code units of one kind; -1 where one is a
    surrogate. (One loop compiled per kind: a kind read a character costs ninefold.)"""
    cdef Py_ssize_t i, total = length
    cdef uint32_t unit
    for i in range(length):
        unit = units[i]
        if (unit >> 11) == 0x1B:  # (0xD800-0xDFFF)
            return -1
        total += (unit >= 0x80) + (unit >= 0x800) + (unit >= 0x10000)
    return total


cdef inline Py_ssize_t _units_write(
    const _unit_t *units, Py_ssize_t length, uint8_t *out
) noexcept nogil:
    """Write ``length`` code units of one kind (no surrogate) as UTF-8 at ``out``;
    the bytes written."""
    cdef Py_ssize_t i, at = 0
    cdef uint32_t unit
    for i in range(length):
        unit = units[i]
        if unit < 0x80:
            out[at] = unit
            at += 1
        elif unit < 0x800:
            out[at] = 0xC0 | (unit >> 6)
            out[at + 1] = 0x80 | (unit & 0x3F)
            at += 2
        elif unit < 0x10000:
            out[at] = 0xE0 | (unit >> 12)
            out[at + 1] = 0x80 | ((unit >> 6) & 0x3F)
            out[at + 2] = 0x80 | (unit & 0x3F)
            at += 3
        else:
            out[at] = 0xF0 | (unit >> 18)
            out[at + 1] = 0x80 | ((unit >> 12) & 0x3F)
            out[at + 2] = 0x80 | ((unit >> 6) & 0x3F)
            out[at + 3] = 0x80 | (unit & 0x3F)
            at += 4
    return at


cdef inline Py_ssize_t _utf8_length(object value) except -2:
    """``value``'s UTF-8 length in bytes; -1 where it holds a surrogate (not encodable:
    the Python encoder raises) or is not a str."""
    cdef Py_ssize_t length
    cdef int kind
    if not isinstance(value, str):
        return -1
    PyUnicode_READY(value)
    length = PyUnicode_GET_LENGTH(value)
    if PyUnicode_IS_ASCII(value):
        return length
    kind = PyUnicode_KIND(value)
    if kind == PyUnicode_1BYTE_KIND:
        return _units_length(<const uint8_t *>PyUnicode_DATA(value), length)
    if kind == PyUnicode_2BYTE_KIND:
        return _units_length(<const uint16_t *>PyUnicode_DATA(value), length)
    return _units_length(<const uint32_t *>PyUnicode_DATA(value), length)


cdef inline Py_ssize_t _utf8_write(object value, uint8_t *out) noexcept:
    """Write ``value`` (a str :func:`_utf8_length` took) as UTF-8 at ``out``; its bytes."""
    cdef Py_ssize_t length = PyUnicode_GET_LENGTH(value)
    cdef int kind
    if PyUnicode_IS_ASCII(value):
        memcpy(out, PyUnicode_DATA(value), length)
        return length
    kind = PyUnicode_KIND(value)
    if kind == PyUnicode_1BYTE_KIND:
        return _units_write(<const uint8_t *>PyUnicode_DATA(value), length, out)
    if kind == PyUnicode_2BYTE_KIND:
        return _units_write(<const uint16_t *>PyUnicode_DATA(value), length, out)
    return _units_write(<const uint32_t *>PyUnicode_DATA(value), length, out)


def string_table(values, blob_of, offsets_of):
    """``(blob, offsets)`` of ``values`` (a sequence of str) as
    :func:`bnsearch.index.segment.encode_strings` gives them, the blob written once
    into ``blob_of(size)`` (a new uint8 array) and the ``len + 1`` offsets into
    ``offsets_of(count, size)`` (a new uint32 or int64 array); ``None`` where a value is
    not a str or holds a surrogate (the Python encoder judges it: it raises)."""
    # a snapshot: blob_of and offsets_of run Python code, during which another thread
    # could change a list, and the second pass writes as many bytes as the first counted
    cdef tuple items = tuple(values)
    cdef Py_ssize_t count = len(items), i, size = 0, at = 0, length
    cdef uint8_t[::1] blob
    cdef uint32_t[::1] narrow
    cdef long long[::1] wide
    cdef bint is_narrow
    for i in range(count):
        length = _utf8_length(items[i])
        if length < 0:
            return None
        size += length
    blob_array = blob_of(size)
    offsets_array = offsets_of(count, size)
    blob = blob_array
    is_narrow = offsets_array.dtype.itemsize == 4
    if is_narrow:
        narrow = offsets_array
        narrow[0] = 0
    else:
        wide = offsets_array
        wide[0] = 0
    for i in range(count):
        value = items[i]
        if PyUnicode_GET_LENGTH(value) > 0:
            at += _utf8_write(value, &blob[at])
        if is_narrow:
            narrow[i + 1] = <uint32_t>at
        else:
            wide[i + 1] = at
    return blob_array, offsets_array


# The key maps' lookups (:class:`bnsearch.index.linkmaps.KeyMap`): a binary search of a
# sorted hash array without numpy's per-call overhead (about 1-2 us a scalar
# ``searchsorted`` and the scalar reads after it; a link commit into 100k asks a few
# dozen). They give what ``searchsorted`` left and right give.

cdef inline Py_ssize_t _lower(const uint64_t[:] hashes, uint64_t wanted) noexcept nogil:
    cdef Py_ssize_t low = 0, high = hashes.shape[0], mid
    while low < high:
        mid = (low + high) >> 1
        if hashes[mid] < wanted:
            low = mid + 1
        else:
            high = mid
    return low


cdef list _run(const uint64_t[:] hashes, const int32_t[:] items, uint64_t wanted):
    """The items of the run of ``hashes`` equal to ``wanted``, in order."""
    cdef Py_ssize_t at = _lower(hashes, wanted), end = hashes.shape[0]
    found = []
    while at < end and hashes[at] == wanted:
        found.append(items[at])
        at += 1
    return found


def key_items(const uint64_t[:] hashes, const int32_t[:] items, uint64_t wanted):
    """The items (a list of ints) of the run of ``hashes`` equal to ``wanted``, in order:
    ``items[searchsorted(wanted, "left"):searchsorted(wanted, "right")].tolist()``."""
    return _run(hashes, items, wanted)


def keys_items(const uint64_t[:] hashes, const int32_t[:] items, wanted):
    """:func:`key_items` of each hash of ``wanted`` (ints), the arrays taken once."""
    return [_run(hashes, items, value) for value in wanted]
