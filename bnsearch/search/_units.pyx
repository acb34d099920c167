# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""A new unit's record in compiled code: its live document frequency over a snapshot
and the block bounds of its longest slice (:mod:`bnsearch.search.unitstats` holds the
numpy twins and says when each runs).

:meth:`bnsearch.search.engine.Evaluator._live_dfs` asks, for the units a query meets
for the first time, how many live documents hold each in any of its slices (a word in
title and body: a document once). Counted by marking every posting of every slice
(as the kernel once did), a word's first query at 1M read all its body
postings in every segment before scoring (about 0.2 ms of its 0.8). Here the longest
slice of a unit is not walked where the segment has no deletions: it counts as its
length, and each document of the unit's shorter slices (merged in doc order, each
once) is looked up in it by a galloping search (a scan where they are many), counted
when absent. With deletions
the longest slice's live documents are counted in one pass (no marks) and the shorter
slices' documents the same way. A unit of many slices (a prefix's expansions) marks
its documents in the bit table instead, with no branch on a doc.

The rule is the numpy path's (:meth:`Evaluator._combine`: a document counts once,
if live); ``tests/test_search_unitstats.py`` checks both agree on the shared corpora,
with and without deletions.
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t
from libc.stdlib cimport calloc, free, realloc
from libc.string cimport memset
from libc.math cimport NAN

cnp.import_array()

#: Above this many slices a unit's documents are marked in the bit table (a k-way merge
#: picks its next document among k cursors).
DEF MERGE_SLICES = 8
#: The longest slice is searched by galloping when it holds more than this many times
#: the docs of the others, else scanned once (a gallop costs a few mispredicted
#: branches: at a common word's title in its body, 1 in 8, scanning is faster).
DEF GALLOP_RATIO = 64


def _out_of_range():
    from bnsearch.errors import posting_outside_segment

    return posting_outside_segment()


cdef inline Py_ssize_t _at(const void* docs, bint wide, Py_ssize_t i) noexcept nogil:
    if wide:
        return (<const int32_t*>docs)[i]
    return (<const uint16_t*>docs)[i]


cdef inline bint _seek(
    const void* docs, bint wide, Py_ssize_t n, Py_ssize_t* at, Py_ssize_t doc
) noexcept nogil:
    """Whether ``doc`` is in the ascending ``docs``, searched from ``at[0]`` (galloping:
    1, 2, 4, ... postings ahead, then halving); ``at[0]`` moves to the first posting at
    or above ``doc`` (the next, larger doc searches from there)."""
    cdef Py_ssize_t low = at[0], high, step = 1, middle, value
    if low >= n:
        return False
    value = _at(docs, wide, low)
    if value >= doc:
        return value == doc
    # docs[low] < doc
    high = low + 1
    while high < n and _at(docs, wide, high) < doc:
        low = high
        step <<= 1
        high = low + step
    if high > n:
        high = n
    while high - low > 1:  # docs[low] < doc <= docs[high] (or high == n)
        middle = (low + high) >> 1
        if _at(docs, wide, middle) < doc:
            low = middle
        else:
            high = middle
    at[0] = high
    return high < n and _at(docs, wide, high) == doc


cdef inline bint _scan(
    const void* docs, bint wide, Py_ssize_t n, Py_ssize_t* at, Py_ssize_t doc
) noexcept nogil:
    """:func:`_seek` by a linear scan (the docs to find are dense in ``docs``)."""
    cdef Py_ssize_t i = at[0]
    while i < n and _at(docs, wide, i) < doc:
        i += 1
    at[0] = i
    return i < n and _at(docs, wide, i) == doc


ctypedef fused short_t:
    uint16_t
    int32_t

ctypedef fused long_t:
    uint16_t
    int32_t


#: A bit per doc of the largest segment seen (all clear between calls): the docs of a
#: unit's shorter slice are marked here while its longer slice is read (the GIL is held
#: throughout, and every mark is cleared before the call returns or raises).
cdef uint8_t* _bits = NULL
cdef Py_ssize_t _bits_size = 0


cdef uint8_t* _clear_bits(Py_ssize_t max_doc) except NULL:
    global _bits, _bits_size
    cdef Py_ssize_t size = (max_doc >> 3) + 1
    cdef uint8_t* grown
    if size > _bits_size:
        grown = <uint8_t*>realloc(_bits, size)
        if grown == NULL:
            raise MemoryError()
        memset(grown + _bits_size, 0, size - _bits_size)
        _bits, _bits_size = grown, size
    return _bits


cdef Py_ssize_t _pair_count(
    const short_t* few, Py_ssize_t n_few, const long_t* many, Py_ssize_t n_many,
    const uint8_t* live, Py_ssize_t max_doc,
) except -1:
    """Live documents of ``few`` not in ``many`` (both ascending, unique): galloping
    in ``many`` when it is much the longer; else ``few``'s docs marked in a bit table
    and ``many`` read once against it (independent reads: no merge's chain of
    compares)."""
    cdef Py_ssize_t i, j = 0, doc, count = 0, common = 0
    cdef uint8_t* bits
    cdef bint outside = False
    for i in range(n_few):  # (the docs of ``few``: in range, and how many live)
        doc = few[i]
        if doc < 0 or doc >= max_doc:
            raise _out_of_range()
        count += live == NULL or live[doc] != 0
    if n_many > GALLOP_RATIO * n_few:
        if many[0] < 0 or many[n_many - 1] >= max_doc:  # (searched: its ends checked)
            raise _out_of_range()
        for i in range(n_few):
            doc = few[i]
            if (live == NULL or live[doc] != 0) and _seek(
                many, True if long_t is int32_t else False, n_many, &j, doc
            ):
                count -= 1
        return count
    bits = _clear_bits(max_doc)
    for i in range(n_few):
        doc = few[i]
        bits[doc >> 3] |= 1 << (doc & 7)
    if live == NULL:  # (no deletions: a loop with no branch on the docs read)
        common = _bits_common(many, n_many, bits, max_doc, &outside)
    else:
        for j in range(n_many):
            doc = many[j]
            if doc < 0 or doc >= max_doc:
                outside = True
                break
            if (bits[doc >> 3] >> (doc & 7)) & 1:
                common += live[doc] != 0
    for i in range(n_few):
        bits[few[i] >> 3] = 0
    if outside:
        raise _out_of_range()
    return count - common


cdef Py_ssize_t _bits_common(
    const long_t* many, Py_ssize_t n_many, const uint8_t* bits, Py_ssize_t max_doc,
    bint* outside,
) noexcept nogil:
    """How many of ``many`` have their bit set in ``bits`` (``max_doc`` bits): every
    doc read with no branch on it (a bit set for about one doc in ten of a common
    word's body, a branch on it was mispredicted that often); a doc outside the
    segment reads bit 0 instead and sets ``outside[0]`` (the caller raises)."""
    cdef Py_ssize_t j, doc, common = 0
    cdef size_t limit = <size_t>max_doc
    cdef bint bad = False, out
    for j in range(n_many):
        doc = many[j]
        out = <size_t>doc >= limit
        bad |= out
        doc = 0 if out else doc  # (a conditional move: never a read outside ``bits``)
        common += (bits[doc >> 3] >> (doc & 7)) & 1
    outside[0] = bad
    return common


cdef inline cnp.ndarray _docs(object docs):
    """``docs`` as a C-contiguous native uint16 or int32 array (a copy only if needed)."""
    cdef cnp.ndarray arr = <cnp.ndarray>cnp.PyArray_FROM_O(docs)
    cdef int kind = cnp.PyArray_TYPE(arr)
    if (kind != cnp.NPY_UINT16 and kind != cnp.NPY_INT32) or not (
        cnp.PyArray_IS_C_CONTIGUOUS(arr)
        and cnp.PyArray_ISNOTSWAPPED(arr)
        and cnp.PyArray_ISALIGNED(arr)
    ):
        arr = np.ascontiguousarray(arr, dtype=np.int32 if kind != cnp.NPY_UINT16 else np.uint16)
    return arr


cdef Py_ssize_t _live_count(
    const void* docs, bint wide, Py_ssize_t n, const uint8_t* live, Py_ssize_t max_doc
) except -1:
    cdef Py_ssize_t i, d, count = 0
    if live == NULL:
        return n
    for i in range(n):
        d = _at(docs, wide, i)
        if d < 0 or d >= max_doc:
            raise _out_of_range()
        count += live[d] != 0
    return count


cdef Py_ssize_t _marked_count(
    list slices, const uint8_t* live, Py_ssize_t max_doc
) except -1:
    """Distinct live documents of many slices (a prefix's expansions), marked in the
    bit table (:func:`_clear_bits`; an eighth of a byte table's room: at 1M, a
    segment's bits stay in the first-level cache) with no branch on a doc read (a doc
    is new about as often as not: a branch on it was mispredicted that often); the
    table cleared whole afterwards."""
    cdef uint8_t* bits = _clear_bits(max_doc)
    cdef cnp.ndarray arr
    cdef Py_ssize_t n, count = 0
    cdef bint outside = False
    try:
        for item in slices:
            arr = _docs(item)
            n = cnp.PyArray_DIM(arr, 0)
            if cnp.PyArray_TYPE(arr) == cnp.NPY_INT32:
                count += _mark(<const int32_t*>cnp.PyArray_DATA(arr), n, bits, live, max_doc, &outside)
            else:
                count += _mark(<const uint16_t*>cnp.PyArray_DATA(arr), n, bits, live, max_doc, &outside)
            if outside:
                raise _out_of_range()
    finally:
        memset(bits, 0, (max_doc >> 3) + 1)
    return count


cdef Py_ssize_t _mark(
    const long_t* docs, Py_ssize_t n, uint8_t* bits, const uint8_t* live,
    Py_ssize_t max_doc, bint* outside,
) noexcept nogil:
    """Marks ``docs`` in ``bits``; how many were not marked before (and are live). A
    doc outside the segment marks bit 0 instead and sets ``outside[0]`` (the caller
    raises)."""
    cdef Py_ssize_t i, doc, count = 0
    cdef size_t limit = <size_t>max_doc
    cdef bint bad = False, out
    cdef uint8_t mask, byte
    for i in range(n):
        doc = docs[i]
        out = <size_t>doc >= limit
        bad |= out
        doc = 0 if out else doc
        byte = bits[doc >> 3]
        mask = <uint8_t>(1 << (doc & 7))
        bits[doc >> 3] = byte | mask
        if live == NULL:
            count += (byte & mask) == 0
        else:
            count += ((byte & mask) == 0) & (live[doc] != 0)
    outside[0] = bad
    return count


cdef Py_ssize_t _merged_count(
    list slices, const uint8_t* live, Py_ssize_t max_doc
) except -1:
    """Distinct live documents of a few ascending slices: the longest counted (its
    length, or its live documents in one pass), the others merged in doc order and
    each document looked up in it."""
    cdef Py_ssize_t k = len(slices), j, longest = 0, d, low, count
    cdef list arrays = [_docs(item) for item in slices]
    cdef const void* data[MERGE_SLICES]
    cdef bint wide[MERGE_SLICES]
    cdef Py_ssize_t size[MERGE_SLICES]
    cdef Py_ssize_t cursor[MERGE_SLICES]
    cdef cnp.ndarray arr
    cdef Py_ssize_t at = 0
    for j in range(k):
        arr = <cnp.ndarray>arrays[j]
        data[j] = cnp.PyArray_DATA(arr)
        wide[j] = cnp.PyArray_TYPE(arr) == cnp.NPY_INT32
        size[j] = cnp.PyArray_DIM(arr, 0)
        cursor[j] = 0
        if size[j] > size[longest]:
            longest = j
    count = _live_count(data[longest], wide[longest], size[longest], live, max_doc)
    if size[longest] and (  # (searched, never an index: its ends checked)
        _at(data[longest], wide[longest], 0) < 0
        or _at(data[longest], wide[longest], size[longest] - 1) >= max_doc
    ):
        raise _out_of_range()
    cursor[longest] = size[longest]  # (not merged: searched)
    cdef Py_ssize_t others = 0
    for j in range(k):
        if j != longest:
            others += size[j]
    # few docs to find: gallop; many (a common word's title in its body): scan
    cdef bint gallop = size[longest] > GALLOP_RATIO * others
    cdef bint more
    while True:
        more = False
        for j in range(k):  # the smallest next doc of the other slices
            if cursor[j] < size[j]:
                d = _at(data[j], wide[j], cursor[j])
                if not more or d < low:
                    low = d
                    more = True
        if not more:
            break
        if low < 0 or low >= max_doc:
            raise _out_of_range()
        for j in range(k):  # (every slice holding it moves past it: counted once)
            if cursor[j] < size[j] and _at(data[j], wide[j], cursor[j]) == low:
                cursor[j] += 1
        if live != NULL and live[low] == 0:
            continue
        if gallop:
            if not _seek(data[longest], wide[longest], size[longest], &at, low):
                count += 1
        elif not _scan(data[longest], wide[longest], size[longest], &at, low):
            count += 1
    return count


cdef Py_ssize_t _two_count(list slices, const uint8_t* live, Py_ssize_t max_doc) except -1:
    """Distinct live documents of two ascending slices (a word in title and body)."""
    cdef cnp.ndarray first = _docs(slices[0]), second = _docs(slices[1]), few, many
    if cnp.PyArray_DIM(second, 0) > cnp.PyArray_DIM(first, 0):
        few, many = first, second
    else:
        few, many = second, first
    cdef Py_ssize_t n_few = cnp.PyArray_DIM(few, 0), n_many = cnp.PyArray_DIM(many, 0)
    cdef bint wide_few = cnp.PyArray_TYPE(few) == cnp.NPY_INT32
    cdef bint wide_many = cnp.PyArray_TYPE(many) == cnp.NPY_INT32
    cdef const void* f = cnp.PyArray_DATA(few)
    cdef const void* m = cnp.PyArray_DATA(many)
    cdef Py_ssize_t count = _live_count(m, wide_many, n_many, live, max_doc)
    if wide_few and wide_many:
        return count + _pair_count(<const int32_t*>f, n_few, <const int32_t*>m, n_many, live, max_doc)
    if wide_few:
        return count + _pair_count(<const int32_t*>f, n_few, <const uint16_t*>m, n_many, live, max_doc)
    if wide_many:
        return count + _pair_count(<const uint16_t*>f, n_few, <const int32_t*>m, n_many, live, max_doc)
    return count + _pair_count(<const uint16_t*>f, n_few, <const uint16_t*>m, n_many, live, max_doc)


cdef list _live_arrays(list lives):
    """Per segment, its live docs as a contiguous bool array, or None (nothing deleted)."""
    cdef list live_arrays = []
    for found in lives:
        if found is None:
            live_arrays.append(None)
        else:
            live_arrays.append(np.ascontiguousarray(found, dtype=np.bool_))
    return live_arrays


cdef Py_ssize_t _unit_count(
    list per_segment, list live_arrays, list max_docs, Py_ssize_t at
) except -1:
    """One unit's live documents over the segments (:func:`live_doc_freqs`' count of a
    unit, the one rule :func:`word_unit_pieces_df` counts by too)."""
    cdef Py_ssize_t s, max_doc, total = 0
    cdef list slices
    cdef cnp.ndarray live_arr, arr
    cdef const uint8_t* live
    for s in range(len(live_arrays)):
        slices = per_segment[s] if at < 0 else per_segment[s][at]
        max_doc = max_docs[s]
        live = NULL
        if live_arrays[s] is not None:
            live_arr = <cnp.ndarray>live_arrays[s]
            if cnp.PyArray_DIM(live_arr, 0) < max_doc:
                raise _out_of_range()
            live = <const uint8_t*>cnp.PyArray_DATA(live_arr)
        if len(slices) == 1:
            arr = _docs(slices[0])
            total += _live_count(
                cnp.PyArray_DATA(arr),
                cnp.PyArray_TYPE(arr) == cnp.NPY_INT32,
                cnp.PyArray_DIM(arr, 0),
                live,
                max_doc,
            )
        elif len(slices) > MERGE_SLICES:
            total += _marked_count(slices, live, max_doc)
        elif len(slices) == 2:
            total += _two_count(slices, live, max_doc)
        elif slices:
            total += _merged_count(slices, live, max_doc)
    return total


def live_doc_freqs(list units, list lives, list max_docs, Py_ssize_t at=-1):
    """Per unit, its live documents over a snapshot: ``units[u][s]`` is the list of
    doc arrays (ascending, unique within each) of unit ``u`` in segment ``s`` (with
    ``at >= 0``, that list is ``units[u][s][at]``: the engine's ``Pieces`` read in
    place, no lists made for the call);
    ``lives[s]`` a bool array of segment ``s``'s live docs, or None when nothing is
    deleted; ``max_docs[s]`` its doc count. A document counts once however many of a
    unit's slices hold it."""
    cdef list out = []
    cdef list live_arrays = _live_arrays(lives)
    for per_segment in units:
        out.append(_unit_count(per_segment, live_arrays, max_docs, at))
    return out


def word_unit_pieces_df(object word_pieces, object terms, list layout, list lives, list max_docs):
    """A word's :data:`~bnsearch.search.engine.Pieces` in every segment
    (``word_pieces(term, layout)``: :func:`bnsearch.index._terms.word_pieces`, passed in:
    the index's module does not import the search package's) and its live documents
    over the snapshot (:func:`live_doc_freqs`' count of them), from one call a new word,
    when the unit's ``terms`` (field -> its terms) are one term in every field (a word's
    or a spelling variant's unit: the term found and encoded here,
    :func:`bnsearch.search.wordpieces.single_term`'s rule); ``(None, -1)`` otherwise and
    for a term UTF-8 cannot hold (a lone surrogate: the engine's lookups find nothing).
    The count is -1 where a segment's pieces are None (read slice by slice: the caller
    counts them)."""
    cdef object first = None
    cdef object each
    for each in terms.values():  # (the same tuple in every field)
        if first is None:
            first = each
        elif each is not first and each != first:
            return None, -1
    if first is None or type(first) is not tuple or len(<tuple>first) != 1:
        return None, -1
    term = (<tuple>first)[0]
    if type(term) is not str:
        return None, -1
    try:
        encoded = (<str>term).encode("utf-8")
    except UnicodeEncodeError:
        return None, -1
    return _pieces_df(word_pieces(encoded, layout), lives, max_docs)


def phrase_pieces_df(
    object phrase_pieces, object phrases, dict encoded, list layout, list lives, list max_docs
):
    """A phrase's :data:`~bnsearch.search.engine.Pieces` in every segment
    (``phrase_pieces(phrases, encoded, layout)``: :func:`bnsearch.search._positions.phrase_pieces`,
    passed in) and its live documents over the snapshot, from one call a new phrase, as
    :func:`word_unit_pieces_df` gives a word's."""
    return _pieces_df(phrase_pieces(phrases, encoded, layout), lives, max_docs)


cdef tuple _pieces_df(list pieces, list lives, list max_docs):
    """``pieces`` (one entry a segment) and the unit's live documents over the snapshot
    (-1 where a segment's pieces are None: the caller counts them)."""
    if len(pieces) != len(lives):
        raise ValueError("one layout entry a segment")
    for found in pieces:
        if found is None:
            return pieces, -1
    return pieces, _unit_count(pieces, _live_arrays(lives), max_docs, 1)


def block_bounds(object block_tfs, object block_norms, object highest, object docs, Py_ssize_t step):
    """``(bound, exact, firsts)`` as :func:`bnsearch.search.unitstats.numpy_block_bounds`
    gives them (the same float32 products), or None where an array is not of the type
    the writers write (uint8 tfs and codes, 256 float32 multipliers, uint16 or int32
    docs): numpy serves those."""
    cdef cnp.ndarray tfs_arr = <cnp.ndarray>cnp.PyArray_FROM_O(block_tfs)
    cdef cnp.ndarray norms_arr = <cnp.ndarray>cnp.PyArray_FROM_O(block_norms)
    cdef cnp.ndarray high_arr = <cnp.ndarray>cnp.PyArray_FROM_O(highest)
    cdef cnp.ndarray docs_arr = <cnp.ndarray>cnp.PyArray_FROM_O(docs)
    cdef int kind = cnp.PyArray_TYPE(docs_arr)
    if (
        cnp.PyArray_TYPE(tfs_arr) != cnp.NPY_UINT8
        or cnp.PyArray_TYPE(norms_arr) != cnp.NPY_UINT8
        or cnp.PyArray_TYPE(high_arr) != cnp.NPY_FLOAT32
        or (kind != cnp.NPY_UINT16 and kind != cnp.NPY_INT32)
        or cnp.PyArray_NDIM(tfs_arr) != 1
        or cnp.PyArray_NDIM(docs_arr) != 1
        or cnp.PyArray_DIM(high_arr, 0) != 256
        or cnp.PyArray_DIM(norms_arr, 0) != cnp.PyArray_DIM(tfs_arr, 0)
        or not cnp.PyArray_IS_C_CONTIGUOUS(tfs_arr)
        or not cnp.PyArray_IS_C_CONTIGUOUS(norms_arr)
        or not cnp.PyArray_IS_C_CONTIGUOUS(high_arr)
        or not cnp.PyArray_ISALIGNED(high_arr)
        or not cnp.PyArray_ISNOTSWAPPED(high_arr)
        or not cnp.PyArray_IS_C_CONTIGUOUS(docs_arr)
        or not cnp.PyArray_ISALIGNED(docs_arr)
        or not cnp.PyArray_ISNOTSWAPPED(docs_arr)
        or step <= 0
    ):
        return None
    cdef Py_ssize_t n = cnp.PyArray_DIM(tfs_arr, 0), n_docs = cnp.PyArray_DIM(docs_arr, 0)
    cdef Py_ssize_t n_firsts = (n_docs + step - 1) // step, i
    cdef const uint8_t* tfs = <const uint8_t*>cnp.PyArray_DATA(tfs_arr)
    cdef const uint8_t* norms = <const uint8_t*>cnp.PyArray_DATA(norms_arr)
    cdef const float* high = <const float*>cnp.PyArray_DATA(high_arr)
    cdef const void* doc_p = cnp.PyArray_DATA(docs_arr)
    cdef bint wide = kind == cnp.NPY_INT32
    cdef cnp.ndarray bound = cnp.PyArray_EMPTY(1, [n], cnp.NPY_FLOAT32, 0)
    cdef cnp.ndarray exact = cnp.PyArray_EMPTY(1, [4 * n], cnp.NPY_FLOAT32, 0)
    cdef cnp.ndarray firsts = cnp.PyArray_EMPTY(1, [n_firsts], cnp.NPY_INT32, 0)
    cdef float* bound_p = <float*>cnp.PyArray_DATA(bound)
    cdef float* exact_p = <float*>cnp.PyArray_DATA(exact)
    cdef int32_t* firsts_p = <int32_t*>cnp.PyArray_DATA(firsts)
    for i in range(n):
        bound_p[i] = <float>tfs[i] * high[norms[i]]
    for i in range(4 * n):
        exact_p[i] = NAN
    for i in range(n_firsts):
        firsts_p[i] = <int32_t>_at(doc_p, wide, i * step)
    return bound, exact, firsts
