# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled part of highlighting: a hit's words and the positions of the terms its
highlights look for, read from the segment's word spans and postings.

What :meth:`bnsearch.search.spans.SpanLookup.words` does with numpy (the reference and
the fallback), as Python lists, in one pass each: decoding a document's word spans
(:mod:`bnsearch.index.wordspans`) and finding the document among the wanted terms'
postings.
"""

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t

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
    """``(starts, ends, dropped)`` lists of the words encoded in ``spans[begin:end]``
    at ``width`` bytes a number (ValueError if that is not whole words)."""
    if width != 1 and width != 2 and width != 4:
        raise ValueError(f"word span width {width}")
    if begin < 0 or end > spans.shape[0] or begin > end or (end - begin) % (2 * width):
        raise ValueError(f"{end - begin} span bytes at width {width}")
    cdef list starts = [], ends = [], dropped = []
    cdef int64_t edge = 0, gap, code
    cdef Py_ssize_t at = begin
    while at < end:
        gap = _value(spans, at, width)
        code = _value(spans, at + width, width)
        edge += gap
        starts.append(edge)
        edge += code >> 1
        ends.append(edge)
        dropped.append(bool(code & 1))
        at += 2 * width
    return starts, ends, dropped


def doc_positions(
    const int64_t[::1] keys,
    const int64_t[::1] starts,
    const int64_t[::1] tfs,
    const pos_t[::1] pos,
    int64_t max_doc,
    Py_ssize_t candidates,
    int64_t doc,
):
    """``[(candidate, positions)]`` for the candidates whose postings hold ``doc``:
    ``keys`` (ascending) is ``candidate * max_doc + doc`` of every posting of the
    candidates, ``starts``/``tfs`` where its positions lie in ``pos``."""
    cdef Py_ssize_t count = keys.shape[0], low = 0, high, middle, i, k
    cdef int64_t target, first, size
    cdef list found = [], places
    if starts.shape[0] != count or tfs.shape[0] != count:
        raise ValueError("keys, starts and tfs differ in length")
    for i in range(candidates):
        target = i * max_doc + doc
        high = count
        while low < high:  # the first key >= target (targets ascend: low only grows)
            middle = (low + high) >> 1
            if keys[middle] < target:
                low = middle + 1
            else:
                high = middle
        if low >= count:
            break
        if keys[low] != target:
            continue
        first, size = starts[low], tfs[low]
        if first < 0 or size < 0 or first + size > pos.shape[0]:
            raise ValueError("a posting's positions lie outside the positions")
        places = []
        for k in range(size):
            places.append(pos[first + k])
        found.append((i, places))
    return found
