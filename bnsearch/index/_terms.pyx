# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""A field's term dictionary searched in compiled code, over its UTF-8 string table.

:func:`bnsearch.index.segment._ordinal` bisects the decoded terms (a Python list of
tens of thousands of strings: each of its ~16 steps reads a string object somewhere
in the heap, a cache miss once other work has run). A :class:`TermTable` keeps the
first 8 bytes of every :data:`SAMPLE`-th term as big-endian integers (a few KB), finds
the terms that sample range holds by a search over those, and compares the few terms
between two samples in the table's own bytes (contiguous). UTF-8 orders as code points
do, so the ordinal is the one the bisect finds (``tests/test_index_term_table.py``).
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport uint8_t, int32_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcmp

cnp.import_array()

#: One sampled key every this many terms.
DEF SAMPLE = 32


cdef inline uint64_t _key(const uint8_t* text, Py_ssize_t length) noexcept nogil:
    """The first 8 bytes, big-endian (zero-padded): orders as the bytes do, except that
    equal keys say nothing."""
    cdef uint64_t key = 0
    cdef Py_ssize_t i
    for i in range(8):
        key = (key << 8) | (text[i] if i < length else 0)
    return key


cdef class TermTable:
    """The sorted terms of one field of one segment (``blob`` and ``off``: the string
    table as the segment holds it), searched by :meth:`find`."""

    cdef object _blob, _off, _keys, _indptr
    cdef const uint8_t* blob
    cdef const uint32_t* off32
    cdef const int64_t* off64
    cdef const uint64_t* keys
    cdef Py_ssize_t n, n_keys, blob_size
    # the field's postings (:meth:`hold`): term ``i``'s are ``[ptr[i], ptr[i + 1])``
    cdef const uint32_t* ptr32
    cdef const int64_t* ptr64
    cdef object docs, tfs, forms
    cdef bint holds
    # the postings are plain native ndarrays: :func:`word_pieces` makes its views itself
    cdef bint direct
    # the field's position pointers (:meth:`hold_positions`): term ``i``'s first position
    cdef const uint32_t* pos32
    cdef const int64_t* pos64
    cdef object _posptr

    def __init__(self, blob, off):
        cdef cnp.ndarray blob_arr = np.ascontiguousarray(blob, dtype=np.uint8)
        cdef cnp.ndarray off_arr = np.asarray(off)
        if off_arr.dtype != np.uint32:
            off_arr = np.ascontiguousarray(off_arr, dtype=np.int64)
        else:
            off_arr = np.ascontiguousarray(off_arr)
        self._blob, self._off = blob_arr, off_arr
        self.blob = <const uint8_t*>cnp.PyArray_DATA(blob_arr)
        self.blob_size = cnp.PyArray_DIM(blob_arr, 0)
        self.off32 = NULL
        self.off64 = NULL
        if off_arr.dtype == np.uint32:
            self.off32 = <const uint32_t*>cnp.PyArray_DATA(off_arr)
        else:
            self.off64 = <const int64_t*>cnp.PyArray_DATA(off_arr)
        self.n = max(cnp.PyArray_DIM(off_arr, 0) - 1, 0)
        cdef Py_ssize_t i, start, end
        for i in range(self.n + 1 if self.n else 0):  # (a damaged table: found nothing)
            start = self._start(i)
            if start < 0 or start > self.blob_size or (i and start < self._start(i - 1)):
                self.n = 0
                break
        self.n_keys = (self.n + SAMPLE - 1) // SAMPLE
        cdef cnp.ndarray keys = np.empty(self.n_keys, dtype=np.uint64)
        cdef uint64_t* keys_p = <uint64_t*>cnp.PyArray_DATA(keys)
        for i in range(self.n_keys):
            start, end = self._start(i * SAMPLE), self._start(i * SAMPLE + 1)
            keys_p[i] = _key(self.blob + start, end - start)
        self._keys = keys
        self.keys = keys_p
        self.holds = False
        self.direct = False
        self.ptr32 = NULL
        self.ptr64 = NULL
        self.pos32 = NULL
        self.pos64 = NULL

    def hold(self, indptr, docs, tfs, forms):
        """Keeps the field's postings (``indptr``: uint32 or int64, one more than the
        terms; ``docs``, ``tfs`` and ``forms`` or None: per posting) for
        :func:`word_pieces` and :meth:`ordinal_at`; returns whether it holds them (not
        for another ``indptr`` dtype or length, or a pointer outside the postings)."""
        cdef cnp.ndarray ptr = np.asarray(indptr)
        cdef Py_ssize_t i, postings = len(docs)
        self.holds = False
        if ptr.ndim != 1 or cnp.PyArray_DIM(ptr, 0) != self.n + 1:
            return False
        if len(tfs) != postings or (forms is not None and len(forms) != postings):
            return False
        if ptr.dtype == np.uint32 and ptr.flags.c_contiguous:
            self.ptr32, self.ptr64 = <const uint32_t*>cnp.PyArray_DATA(ptr), NULL
        elif ptr.dtype == np.int64 and ptr.flags.c_contiguous:
            self.ptr32, self.ptr64 = NULL, <const int64_t*>cnp.PyArray_DATA(ptr)
        else:
            return False
        for i in range(self.n + 1):  # (a damaged field: its words are found the slow way)
            if self._ptr(i) < 0 or self._ptr(i) > postings or (i and self._ptr(i) < self._ptr(i - 1)):
                self.ptr32 = NULL
                self.ptr64 = NULL
                return False
        self._indptr, self.docs, self.tfs, self.forms = ptr, docs, tfs, forms
        self.direct = _plain(docs) and _plain(tfs) and (forms is None or _plain(forms))
        self.holds = True
        return True

    def hold_positions(self, posptr):
        """Keeps the field's position pointers (``posptr``: uint32 or int64, one per
        term, as the field's ``indptr`` is one more) for :meth:`position_run`, once the
        table holds the postings (:meth:`hold`); returns whether it holds them."""
        cdef cnp.ndarray ptr = np.asarray(posptr)
        if not self.holds or ptr.ndim != 1 or cnp.PyArray_DIM(ptr, 0) < self.n:
            return False
        if not ptr.flags.c_contiguous or (ptr.dtype != np.uint32 and ptr.dtype != np.int64):
            return False
        # (set once checked, the pointers before the array they replace is let go: a
        # reader asking at the same time never sees them unset or dangling)
        cdef object before = self._posptr
        if ptr.dtype == np.uint32:
            self.pos32 = <const uint32_t*>cnp.PyArray_DATA(ptr)
            self.pos64 = NULL
        else:
            self.pos64 = <const int64_t*>cnp.PyArray_DATA(ptr)
            self.pos32 = NULL
        self._posptr = ptr
        before = None  # (the array replaced, let go now)
        return True

    def position_run(self, const uint8_t[::1] term not None):
        """``(docs, tfs, first)`` of ``term`` (UTF-8 bytes): its postings (views) and
        where its first posting's positions start (``SegmentReader.position_run``
        without the position array), or None where the field has no such term. The
        table must hold the postings and position pointers (:meth:`hold_positions`)."""
        if self.pos32 == NULL and self.pos64 == NULL:
            raise ValueError("a term table without its position pointers")
        cdef Py_ssize_t length = term.shape[0]
        cdef Py_ssize_t index = self._find(&term[0] if length else <const uint8_t*>"", length)
        if index < 0:
            return None
        cdef Py_ssize_t start = self._ptr(index), end = self._ptr(index + 1)
        return self.docs[start:end], self.tfs[start:end], self._first(index)

    def position_runs(self, list terms, Py_ssize_t walk):
        """:meth:`position_run` of several terms in one call: per term of ``terms``
        (UTF-8 bytes, or None: a term no table holds) that has postings here, in order,
        its docs (a view), its place and its index in ``terms``; the place is ``(tfs,
        first)`` (a view and where its first posting's positions start) for a term of
        at most ``walk`` postings, else None (the caller builds its offsets). Returns
        ``(docs, places, indices)``, ``indices`` int32: a several-words query's pair
        words in one field (the rerank) or a phrase's words (a ``walk`` above any list:
        every word's tfs)."""
        if self.pos32 == NULL and self.pos64 == NULL:
            raise ValueError("a term table without its position pointers")
        cdef Py_ssize_t n = len(terms), i, found = 0, index, start, end
        cdef list docs = [], places = []
        cdef cnp.npy_intp size = n
        cdef cnp.ndarray indices = cnp.PyArray_EMPTY(1, &size, cnp.NPY_INT32, 0)
        cdef int32_t* at = <int32_t*>cnp.PyArray_DATA(indices)
        for i in range(n):
            index = self._span(terms[i], &start, &end)
            if index < 0:
                continue
            docs.append(_view(self.docs, start, end, self.direct))
            if end - start <= walk:
                places.append((_view(self.tfs, start, end, self.direct), self._first(index)))
            else:
                places.append(None)
            at[found] = <int32_t>i
            found += 1
        if found < n:
            indices = _view(indices, 0, found, True)
        return docs, places, indices

    def position_spans(self, list terms, Py_ssize_t walk):
        """:meth:`position_runs` without a view: the field's whole postings and, per
        term of ``terms`` with postings here, in order, its span ``(start, end, first)``
        in them (int64 rows; ``first`` where its first posting's positions start, or -1
        for a term of more than ``walk`` postings: the caller builds its offsets) and
        its index in ``terms`` (int32). Returns ``(docs, tfs, spans, indices, long)``,
        ``long`` the number of spans with ``first`` -1; None where the postings are not
        plain arrays (:func:`_plain`: take :meth:`position_runs`). The rerank's walk
        reads it (two views a term and a field were a third of its field reads)."""
        if self.pos32 == NULL and self.pos64 == NULL:
            raise ValueError("a term table without its position pointers")
        if not self.direct:
            return None
        cdef Py_ssize_t n = len(terms), i, found = 0, index, start, end, long = 0
        cdef cnp.npy_intp dims[2]
        dims[0] = n
        dims[1] = 3
        cdef cnp.ndarray spans = cnp.PyArray_EMPTY(2, dims, cnp.NPY_INT64, 0)
        cdef cnp.ndarray indices = cnp.PyArray_EMPTY(1, dims, cnp.NPY_INT32, 0)
        cdef int64_t* span = <int64_t*>cnp.PyArray_DATA(spans)
        cdef int32_t* at = <int32_t*>cnp.PyArray_DATA(indices)
        for i in range(n):
            index = self._span(terms[i], &start, &end)
            if index < 0:
                continue
            span[found * 3] = start
            span[found * 3 + 1] = end
            if end - start <= walk:
                span[found * 3 + 2] = self._first(index)
            else:
                span[found * 3 + 2] = -1
                long += 1
            at[found] = <int32_t>i
            found += 1
        if found < n:  # (shrunk in place: no view of a longer array)
            dims[0] = found
            _shrink(spans, dims, 2)
            _shrink(indices, dims, 1)
        return self.docs, self.tfs, spans, indices, long

    cdef inline Py_ssize_t _span(self, object term, Py_ssize_t* start, Py_ssize_t* end) except -2:
        """``term``'s index (UTF-8 bytes, or None: a term no table holds) and its postings'
        span at ``start``/``end``; -1 where it has no postings here (the one rule
        :meth:`position_runs` and :meth:`position_spans` find their terms by)."""
        if term is None:
            return -1
        cdef Py_ssize_t index = self._find(<const uint8_t*>(<char*>term), len(<bytes>term))
        if index < 0:
            return -1
        start[0], end[0] = self._ptr(index), self._ptr(index + 1)
        return index if end[0] > start[0] else -1

    cdef inline Py_ssize_t _first(self, Py_ssize_t index) noexcept nogil:
        """Where term ``index``'s first posting's positions start."""
        return self.pos32[index] if self.pos32 != NULL else <Py_ssize_t>self.pos64[index]

    cdef inline Py_ssize_t _ptr(self, Py_ssize_t i) noexcept nogil:
        if self.ptr32 != NULL:
            return self.ptr32[i]
        return <Py_ssize_t>self.ptr64[i]

    def ordinal_at(self, Py_ssize_t start):
        """The last term whose postings start at ``start`` (the term of a slice that
        :func:`word_pieces` gave), or -1; -2 where the table holds no postings."""
        if not self.holds:
            return -2
        cdef Py_ssize_t low = 0, high = self.n + 1, middle
        while low < high:  # the first pointer above ``start``
            middle = (low + high) >> 1
            if self._ptr(middle) <= start:
                low = middle + 1
            else:
                high = middle
        low -= 1
        if low < 0 or low >= self.n or self._ptr(low) != start:
            return -1
        return low

    cdef inline Py_ssize_t _start(self, Py_ssize_t i) noexcept nogil:
        if self.off32 != NULL:
            return self.off32[i]
        return <Py_ssize_t>self.off64[i]

    cdef inline int _compare(self, Py_ssize_t i, const uint8_t* text, Py_ssize_t length) noexcept nogil:
        """Term ``i`` against ``text``: < 0, 0 or > 0 (bytes, then length)."""
        cdef Py_ssize_t start = self._start(i), size = self._start(i + 1) - start
        cdef int found = memcmp(self.blob + start, text, size if size < length else length)
        if found:
            return found
        return (size > length) - (size < length)

    def __len__(self):
        return self.n

    def postings_count(self, const uint8_t[::1] term not None):
        """How many postings ``term`` (UTF-8 bytes) has (0: not held); -1 where the table
        holds no postings (:meth:`hold`)."""
        if not self.holds:
            return -1
        cdef Py_ssize_t length = term.shape[0]
        cdef Py_ssize_t index = self._find(&term[0] if length else <const uint8_t*>"", length)
        return 0 if index < 0 else self._ptr(index + 1) - self._ptr(index)

    def find(self, const uint8_t[::1] term not None):
        """The ordinal of ``term`` (UTF-8 bytes) among the sorted terms, or -1."""
        cdef Py_ssize_t length = term.shape[0]
        return self._find(&term[0] if length else <const uint8_t*>"", length)

    cdef Py_ssize_t _find(self, const uint8_t* text, Py_ssize_t length) noexcept:
        cdef uint64_t key = _key(text, length)
        cdef Py_ssize_t low = 0, high = self.n_keys, middle, below, above
        while low < high:  # samples with a key below ``key`` (their terms are below)
            middle = (low + high) >> 1
            if self.keys[middle] < key:
                low = middle + 1
            else:
                high = middle
        below = low
        high = self.n_keys
        while low < high:  # ... and at or below it (the samples after are above)
            middle = (low + high) >> 1
            if self.keys[middle] <= key:
                low = middle + 1
            else:
                high = middle
        above = low
        low = (below - 1) * SAMPLE if below else 0
        high = above * SAMPLE if above * SAMPLE < self.n else self.n
        while low < high:  # the first term at or above ``term`` in that range
            middle = (low + high) >> 1
            if self._compare(middle, text, length) < 0:
                low = middle + 1
            else:
                high = middle
        if low < self.n and self._compare(low, text, length) == 0:
            return low
        return -1


cdef int _shrink(cnp.ndarray arr, cnp.npy_intp* dims, int ndim) except -1:
    """``arr`` (new, seen by nobody else) cut to ``dims`` in place (numpy's resize)."""
    cdef cnp.PyArray_Dims shape
    shape.ptr = dims
    shape.len = ndim
    cnp.PyArray_Resize(arr, &shape, 0, cnp.NPY_CORDER)
    return 0


cdef bint _plain(object arr):
    """Whether ``arr`` is a plain ndarray of integers, one-dimensional, contiguous,
    aligned and in native byte order: :func:`_view` may make its slices."""
    if type(arr) is not np.ndarray:
        return False
    cdef cnp.ndarray a = <cnp.ndarray>arr
    return (
        cnp.PyArray_NDIM(a) == 1
        and cnp.PyArray_ISINTEGER(a)
        and cnp.PyArray_IS_C_CONTIGUOUS(a)
        and cnp.PyArray_ISALIGNED(a)
        and cnp.PyArray_ISNOTSWAPPED(a)
    )


cdef object _view(object arr, Py_ssize_t start, Py_ssize_t end, bint direct):
    """``arr[start:end]`` (``0 <= start <= end <= len(arr)``): where ``direct`` (``arr``
    is :func:`_plain`) made here, as numpy's slice makes it (the same dtype, memory,
    base and writeability) without a slice object and numpy's indexing (82 against
    25 ns a view, 13x's measurement)."""
    if not direct:
        return arr[start:end]
    cdef cnp.ndarray a = <cnp.ndarray>arr
    cdef cnp.npy_intp n = end - start
    cdef cnp.ndarray view = cnp.PyArray_SimpleNewFromData(
        1, &n, cnp.PyArray_TYPE(a), cnp.PyArray_BYTES(a) + start * cnp.PyArray_ITEMSIZE(a)
    )
    if not cnp.PyArray_ISWRITEABLE(a):
        cnp.PyArray_CLEARFLAGS(view, cnp.NPY_ARRAY_WRITEABLE)
    cnp.set_array_base(view, a)  # (keeps ``arr`` alive; numpy collapses a chain of views)
    return view


def word_pieces(bytes term, list layout):
    """A word's share of the compiled core's arguments in every segment, from one call:
    ``layout`` holds per segment a list of ``(field, table, multiplier)`` (the unit's
    fields with postings, each :class:`TermTable` holding its postings: :meth:`TermTable.hold`)
    or None (then None in its place); per segment ``(parts, docs, tfs, multipliers, forms)`` (the engine's ``Pieces``:
    per field holding ``term`` (UTF-8) with postings, the slice ``(field, docs, tfs,
    start)``, its docs and tfs (views), the field's multiplier and the slice's form
    flags, None where the field keeps none). The twin of the engine's lookups slice by
    slice (``Evaluator._unit_pieces`` over ``SegmentReader.term_slices``)."""
    cdef Py_ssize_t length = len(term), index, start, end
    cdef const uint8_t* text = <const uint8_t*>(<char*>term)
    cdef TermTable table
    cdef list out = [], parts, docs, tfs, mults, forms
    cdef object field, multiplier, found_docs, found_tfs, found_forms
    for fields in layout:
        if fields is None:  # (a segment the caller reads slice by slice)
            out.append(None)
            continue
        parts, docs, tfs, mults, forms = [], [], [], [], []
        for field, table, multiplier in fields:
            if not table.holds:
                raise ValueError("a term table without its postings")
            index = table._find(text, length)
            if index < 0:
                continue
            start, end = table._ptr(index), table._ptr(index + 1)
            if end <= start:
                continue
            found_docs = _view(table.docs, start, end, table.direct)
            found_tfs = _view(table.tfs, start, end, table.direct)
            found_forms = None if table.forms is None else _view(table.forms, start, end, table.direct)
            parts.append((field, found_docs, found_tfs, start))
            docs.append(found_docs)
            tfs.append(found_tfs)
            mults.append(multiplier)
            forms.append(found_forms)
        out.append((parts, docs, tfs, mults, forms))
    return out
