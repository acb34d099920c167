# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled part of highlighting: a hit's words and the positions of the terms its
highlights look for, read from the segment's word spans and postings.

What :meth:`bnsearch.search.spans.SpanLookup.words` does with numpy (the reference and
the fallback), as Python lists, in one pass each: decoding a document's word spans
(:mod:`bnsearch.index.wordspans`) and finding the document among the wanted terms'
postings.
"""

from cpython cimport array
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t

import array as _array

from bnsearch.search._types cimport doc_t, tf_t

cdef array.array _INT64 = _array.array("q")
cdef array.array _INT8 = _array.array("b")

ctypedef fused pos_t:
    uint8_t
    uint16_t
    uint32_t


cdef inline int64_t _value(const uint8_t[::1] data, Py_ssize_t at, int width) noexcept:
    """The little-endian number of ``width`` bytes at ``at``."""
    cdef int64_t value = data[at]
    if width >= 2:
        value |= (<int64_t>data[at + 1]) << 8
    if width == 4:
        value |= (<int64_t>data[at + 2]) << 16
        value |= (<int64_t>data[at + 3]) << 24
    return value


def doc_words(const uint8_t[::1] spans, Py_ssize_t begin, Py_ssize_t end, int width):
    """``(starts, ends, dropped)`` of the words encoded in ``spans[begin:end]`` at
    ``width`` bytes a number (ValueError if that is not whole words): ``array('q')``,
    ``array('q')`` and ``array('b')``, filled in C (no Python object a word)."""
    if width != 1 and width != 2 and width != 4:
        raise ValueError(f"word span width {width}")
    if begin < 0 or end > spans.shape[0] or begin > end or (end - begin) % (2 * width):
        raise ValueError(f"{end - begin} span bytes at width {width}")
    cdef Py_ssize_t count = (end - begin) // (2 * width), k
    cdef array.array starts = array.clone(_INT64, count, False)
    cdef array.array ends = array.clone(_INT64, count, False)
    cdef array.array dropped = array.clone(_INT8, count, False)
    cdef long long *start_at = starts.data.as_longlongs
    cdef long long *end_at = ends.data.as_longlongs
    cdef signed char *dropped_at = dropped.data.as_schars
    cdef int64_t edge = 0, code
    cdef Py_ssize_t at = begin
    for k in range(count):
        edge += _value(spans, at, width)
        code = _value(spans, at + width, width)
        start_at[k] = edge
        edge += code >> 1
        end_at[k] = edge
        dropped_at[k] = code & 1
        at += 2 * width
    return starts, ends, dropped


def doc_positions(
    const doc_t[::1] docs,
    const tf_t[::1] tfs,
    const pos_t[::1] pos,
    const int64_t[::1] begins,
    const int64_t[::1] ends,
    const int64_t[::1] firsts,
    int64_t doc,
):
    """``[(candidate, positions)]`` for the candidates whose postings hold ``doc``:
    candidate ``i``'s postings are ``docs[begins[i]:ends[i]]`` (ascending), their
    positions follow one another in ``pos`` from ``firsts[i]``."""
    cdef Py_ssize_t count = begins.shape[0], i, low, high, middle, j
    cdef int64_t first, size
    cdef list found = [], places
    if ends.shape[0] != count or firsts.shape[0] != count:
        raise ValueError("begins, ends and firsts differ in length")
    for i in range(count):
        low, high = begins[i], ends[i]
        if low < 0 or high > docs.shape[0] or high > tfs.shape[0] or low > high:
            raise ValueError("a candidate's postings lie outside the postings")
        while low < high:  # the first posting with a doc >= doc
            middle = (low + high) >> 1
            if docs[middle] < doc:
                low = middle + 1
            else:
                high = middle
        if low >= ends[i] or docs[low] != doc:
            continue
        first = firsts[i]
        for j in range(begins[i], low):
            first += tfs[j]
        size = tfs[low]
        if first < 0 or first + size > pos.shape[0]:
            raise ValueError("a posting's positions lie outside the positions")
        places = []
        for j in range(size):
            places.append(pos[first + j])
        found.append((i, places))
    return found
