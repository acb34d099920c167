# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled reads of positions: a term's position offsets and phrase frequencies.

A segment keeps, per text field with positions, the positions of every posting end to
end (``pos``) and the first position of each term (``posptr``): posting ``j`` of a term
has ``tfs[j]`` positions, after those of the term's postings before it. These
functions read straight from a term's posting slices (doc ids, tfs) and the field's
position array, walking the tfs as they go: no offsets array is built for a phrase, and
a term's offsets (for the rerank) cost one pass in C. The numpy code of
:mod:`bnsearch.search.phrases` is the reference; both give the same arrays.
"""

import numpy as np

cimport numpy as cnp
from cpython.pyport cimport PY_SSIZE_T_MAX
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t
from libc.stdlib cimport free, malloc

from bnsearch.search._types cimport doc_t, tf_t

cnp.import_array()

ctypedef fused pos_t:
    uint8_t
    uint16_t
    uint32_t
    int64_t


cdef inline int _joined_kind(int seen, int kind, int widest) noexcept:
    """The kind of the arrays met so far with one more of ``kind`` (``seen`` -1: none
    met yet): theirs while all share it, else ``widest``."""
    if seen == -1 or seen == kind:
        return kind
    return widest


cdef cnp.ndarray _native(object array, uint32_t kinds, int widest):
    """``array`` as a C-contiguous, aligned, native-order array of one of ``kinds`` (a
    mask of numpy type numbers, ``1 << number``: a bit test, where a tuple's membership
    test made Python ints; its own when it is one, else ``widest``): a copy only where
    needed."""
    cdef cnp.ndarray arr = <cnp.ndarray>cnp.PyArray_FROM_O(array)
    cdef int kind = cnp.PyArray_TYPE(arr)
    if kind < 0 or kind >= 32 or not (kinds >> kind) & 1:
        kind = widest
    if cnp.PyArray_TYPE(arr) != kind or not cnp.PyArray_IS_C_CONTIGUOUS(arr) or (
        not cnp.PyArray_ISNOTSWAPPED(arr) or not cnp.PyArray_ISALIGNED(arr)
    ):
        arr = np.ascontiguousarray(arr, dtype=cnp.PyArray_DescrFromType(kind))
    return arr


#: The kinds the reads are typed for (masks for :func:`_native`), each with its widest.
cdef uint32_t _DOC_KINDS = (1 << cnp.NPY_UINT16) | (1 << cnp.NPY_INT32)
cdef uint32_t _COUNT_KINDS = (
    (1 << cnp.NPY_UINT8) | (1 << cnp.NPY_UINT16) | (1 << cnp.NPY_UINT32) | (1 << cnp.NPY_INT64)
)


cdef inline int64_t _count_at(const void* values, int kind, Py_ssize_t i) noexcept nogil:
    """Value ``i`` of an array of tfs or positions (one of ``_COUNT_KINDS``)."""
    if kind == cnp.NPY_UINT8:
        return (<const uint8_t*>values)[i]
    if kind == cnp.NPY_UINT16:
        return (<const uint16_t*>values)[i]
    if kind == cnp.NPY_UINT32:
        return (<const uint32_t*>values)[i]
    return (<const int64_t*>values)[i]


def term_offsets(object tfs, int64_t first):
    """``offsets`` (int64, one more than ``tfs``): ``offsets[0] = first``, then each
    posting's end, ``offsets[j + 1] = offsets[j] + tfs[j]``."""
    cdef cnp.ndarray arr = _native(tfs, _COUNT_KINDS, cnp.NPY_INT64)
    cdef Py_ssize_t n = cnp.PyArray_DIM(arr, 0)
    cdef int kind = cnp.PyArray_TYPE(arr)
    cdef const void* data = cnp.PyArray_DATA(arr)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, [n + 1], cnp.NPY_INT64, 0)
    cdef int64_t* o = <int64_t*>cnp.PyArray_DATA(out)
    # One loop per kind (a switch a posting cost about half of the loop's instructions).
    if kind == cnp.NPY_UINT8:
        _running_sum(<const uint8_t*>data, n, first, o)
    elif kind == cnp.NPY_UINT16:
        _running_sum(<const uint16_t*>data, n, first, o)
    elif kind == cnp.NPY_UINT32:
        _running_sum(<const uint32_t*>data, n, first, o)
    else:
        _running_sum(<const int64_t*>data, n, first, o)
    return out


cdef inline void _running_sum(
    const pos_t* values, Py_ssize_t n, int64_t first, int64_t* out
) noexcept nogil:
    """``out[0] = first``, then ``out[i + 1] = out[i] + values[i]``: the offsets of
    :func:`term_offsets`, typed for one kind of tfs."""
    cdef Py_ssize_t i = 0
    cdef int64_t at = first
    out[0] = at
    while i + 4 <= n:  # (four a turn: the loop's own steps were half of a posting's)
        out[i + 1] = at = at + values[i]
        out[i + 2] = at = at + values[i + 1]
        out[i + 3] = at = at + values[i + 2]
        out[i + 4] = at = at + values[i + 3]
        i += 4
    while i < n:
        at += values[i]
        i += 1
        out[i] = at


#: ``TermTable.position_runs``' ``walk`` that gives every term's tfs.
cdef Py_ssize_t _EVERY = PY_SSIZE_T_MAX


def phrase_pieces(object phrases, dict encoded, list layout):
    """A phrase's :data:`~bnsearch.search.engine.Pieces` in every segment from one call
    (:func:`bnsearch.search.phrases.pieces_df`): ``layout`` holds per segment a list of
    ``(field, table, positions, multiplier)`` (the unit's phrase fields with postings,
    each field's term table holding its positions, ``TermTable.position_runs``, and its
    position array) or None (then None in its place); ``phrases`` the unit's phrases by
    field, ``encoded`` their words by field as ``position_runs`` takes them. Per segment
    ``(parts, docs, tfs, multipliers, forms)``: per field where the phrase occurs the
    slice ``(field, docs, freqs, -1)`` (:func:`phrase_frequencies`), its docs and
    frequencies, the field's multiplier and None (a phrase has no form flags). The twin
    of the engine's reads field by field (``Evaluator._read_parts``, the phrase read
    by ``bnsearch.search.phrases.phrase_frequencies``)."""
    cdef list out = [], parts, docs, tfs, mults, forms, docs_of
    cdef tuple runs
    cdef object phrase, found_docs, found_freqs
    for fields in layout:
        if fields is None:  # (a segment the caller reads field by field)
            out.append(None)
            continue
        parts, docs, tfs, mults, forms = [], [], [], [], []
        for field, table, positions, multiplier in fields:
            phrase = phrases[field]
            runs = table.position_runs(encoded[field], _EVERY)
            docs_of = runs[0]
            if len(docs_of) < len(phrase):  # (a word the field does not hold)
                continue
            found_docs, found_freqs = _frequencies(docs_of, runs[1], phrase, positions)
            if not len(found_docs):
                continue
            parts.append((field, found_docs, found_freqs, -1))
            docs.append(found_docs)
            tfs.append(found_freqs)
            mults.append(multiplier)
            forms.append(None)
        out.append((parts, docs, tfs, mults, forms))
    return out


cdef struct Term:
    Py_ssize_t length
    Py_ssize_t at        # the posting under the cursor
    int64_t offset       # the first position of that posting in ``pos``
    int64_t shift        # the term's place in the phrase
    Py_ssize_t scan      # a cursor into that posting's positions


def phrase_frequencies(list docs_list, list places, object phrase, object positions):
    """Docs where a phrase occurs (int32, ascending) and how often (int64).

    Term ``i`` of the phrase has postings ``docs_list[i]`` (sorted doc ids), its place
    ``places[i] = (tfs, first)``: its tfs and its first posting's positions starting at
    ``first`` in ``positions`` (the field's whole position array), and stands
    ``phrase[i][0]`` places after the phrase's start (``phrase``: the unit's ``(shift,
    term)`` pairs; the lists as :meth:`SegmentReader.position_runs` and the unit give
    them, not three lists made a call). A match is a position ``p`` of the first term
    with every term ``i`` at ``p - shift[0] + shift[i]``; positions ascend within a
    posting (as :func:`bnsearch.search.phrases.phrase_frequencies` reads them too)."""
    return _frequencies(docs_list, places, phrase, positions)


#: Terms a phrase's walk keeps on the stack (a longer phrase allocates them).
cdef enum:
    _STACK_TERMS = 8


cdef tuple _frequencies(list docs_list, list places, object phrase, object positions):
    """:func:`phrase_frequencies` (what :func:`phrase_pieces` calls: no Python call a
    field, its cursors on the stack for a phrase of up to ``_STACK_TERMS`` words)."""
    cdef tuple words = tuple(phrase)  # (the unit's tuple itself)
    cdef Py_ssize_t n = len(docs_list), i, lead = 0, found = 0, j
    cdef Term* terms = NULL
    cdef const void** docs_at = NULL
    cdef const void** tfs_at = NULL
    cdef Term stack_terms[_STACK_TERMS]
    cdef const void* stack_docs[_STACK_TERMS]
    cdef const void* stack_tfs[_STACK_TERMS]
    cdef bint on_heap = False
    cdef list keep = []
    cdef tuple place, word
    cdef cnp.ndarray arr, pos_arr = _native(positions, _COUNT_KINDS, cnp.NPY_INT64)
    cdef int dkind = -1, tkind = -1
    cdef int64_t* hits_docs = NULL
    cdef int64_t* hits_freqs = NULL
    cdef cnp.npy_intp size
    cdef int32_t* docs_out
    cdef int64_t* freqs_out
    if len(places) != n or len(words) != n:
        raise ValueError("every term needs docs, its place (tfs, first position) and its shift")
    if n == 0:
        return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64)
    # every term's docs (and tfs) of one kind, the merge typed by it: a field's terms are
    # views of its arrays, so they share theirs (else all are read as the widest)
    for i in range(n):
        arr = _native(docs_list[i], _DOC_KINDS, cnp.NPY_INT32)
        keep.append(arr)
        dkind = _joined_kind(dkind, cnp.PyArray_TYPE(arr), cnp.NPY_INT32)
        place = places[i]
        arr = _native(place[0], _COUNT_KINDS, cnp.NPY_INT64)
        keep.append(arr)
        tkind = _joined_kind(tkind, cnp.PyArray_TYPE(arr), cnp.NPY_INT64)
    if n <= _STACK_TERMS:
        terms, docs_at, tfs_at = stack_terms, stack_docs, stack_tfs
    else:
        on_heap = True
        terms = <Term*>malloc(n * sizeof(Term))
        docs_at = <const void**>malloc(n * sizeof(void*))
        tfs_at = <const void**>malloc(n * sizeof(void*))
    try:
        if terms == NULL or docs_at == NULL or tfs_at == NULL:
            raise MemoryError()
        for i in range(n):
            arr = keep[2 * i]
            if cnp.PyArray_TYPE(arr) != dkind:
                arr = keep[2 * i] = _native(arr, 1u << dkind, dkind)
            docs_at[i] = cnp.PyArray_DATA(arr)
            terms[i].length = cnp.PyArray_DIM(arr, 0)
            arr = keep[2 * i + 1]
            if cnp.PyArray_TYPE(arr) != tkind:
                arr = keep[2 * i + 1] = _native(arr, 1u << tkind, tkind)
            if cnp.PyArray_DIM(arr, 0) != terms[i].length:
                raise ValueError("a term needs as many tfs as docs")
            tfs_at[i] = cnp.PyArray_DATA(arr)
            terms[i].at = 0
            place = places[i]
            terms[i].offset = place[1]
            word = words[i]
            terms[i].shift = word[0]
            if terms[i].offset < 0:
                raise IndexError("a term's positions run outside the position array")
            if terms[i].length < terms[lead].length:
                lead = i
        hits_docs = <int64_t*>malloc((terms[lead].length + 1) * sizeof(int64_t))
        hits_freqs = <int64_t*>malloc((terms[lead].length + 1) * sizeof(int64_t))
        if hits_docs == NULL or hits_freqs == NULL:
            raise MemoryError()
        # (the GIL is kept, as the core keeps it: the arrays may be views of a
        # segment's mapped files, which another thread must not close meanwhile)
        if dkind == cnp.NPY_UINT16:
            found = _merge_tfs(terms, n, lead, <const uint16_t**>docs_at, tfs_at, tkind,
                               pos_arr, hits_docs, hits_freqs)
        else:
            found = _merge_tfs(terms, n, lead, <const int32_t**>docs_at, tfs_at, tkind,
                               pos_arr, hits_docs, hits_freqs)
        # (the arrays made in C: numpy's Python calls and typed memoryviews cost a
        # quarter of a 2-word phrase's call at 4k)
        size = found
        out_docs = cnp.PyArray_EMPTY(1, &size, cnp.NPY_INT32, 0)
        out_freqs = cnp.PyArray_EMPTY(1, &size, cnp.NPY_INT64, 0)
        docs_out = <int32_t*>cnp.PyArray_DATA(out_docs)
        freqs_out = <int64_t*>cnp.PyArray_DATA(out_freqs)
        for j in range(found):
            docs_out[j] = <int32_t>hits_docs[j]
            freqs_out[j] = hits_freqs[j]
        return out_docs, out_freqs
    finally:
        if on_heap:
            free(terms)
            free(docs_at)
            free(tfs_at)
        free(hits_docs)
        free(hits_freqs)


cdef Py_ssize_t _merge_tfs(
    Term* terms, Py_ssize_t n, Py_ssize_t lead, const doc_t** docs, const void** tfs,
    int tkind, cnp.ndarray pos_arr, int64_t* hits_docs, int64_t* hits_freqs,
) except -1:
    """:func:`_merge` of the tfs kind given (one of ``_COUNT_KINDS``), for one docs kind."""
    if tkind == cnp.NPY_UINT8:
        return _merge(terms, n, lead, docs, <const uint8_t**>tfs, pos_arr, hits_docs, hits_freqs)
    if tkind == cnp.NPY_UINT16:
        return _merge(terms, n, lead, docs, <const uint16_t**>tfs, pos_arr, hits_docs, hits_freqs)
    if tkind == cnp.NPY_UINT32:
        return _merge(terms, n, lead, docs, <const uint32_t**>tfs, pos_arr, hits_docs, hits_freqs)
    return _merge(terms, n, lead, docs, <const int64_t**>tfs, pos_arr, hits_docs, hits_freqs)


cdef Py_ssize_t _merge(
    Term* terms, Py_ssize_t n, Py_ssize_t lead, const doc_t** docs, const tf_t** tfs,
    cnp.ndarray pos_arr, int64_t* hits_docs, int64_t* hits_freqs,
) except -1:
    """:func:`phrase_frequencies`' walk, typed by its docs and tfs kinds: per doc of the
    lead (the shortest) term, every term's cursor moved to it summing the tfs, then the
    positions matched; the docs found and their counts into ``hits_*``, how many
    returned."""
    cdef const void* pos = cnp.PyArray_DATA(pos_arr)
    cdef int pkind = cnp.PyArray_TYPE(pos_arr)
    cdef Py_ssize_t n_positions = cnp.PyArray_DIM(pos_arr, 0)
    cdef Py_ssize_t i, j, count, found = 0, p, p_end, at, length
    cdef int64_t d, target, value, end_i, offset
    cdef bint all_there, every
    for j in range(terms[lead].length):
        d = docs[lead][j]
        # every term's cursor to its first posting at or after d (summing tfs); a term
        # whose last doc is before d ends the walk (the lead's docs ascend: no match
        # after it), so a cursor stops at that doc at the latest: no bound test a step.
        # A term without d ends the doc: the cursors after it catch up later, summing
        # the same tfs.
        all_there = True
        for i in range(n):
            length = terms[i].length
            if docs[i][length - 1] < d:
                return found
            at, offset = terms[i].at, terms[i].offset
            while docs[i][at] < d:
                offset += tfs[i][at]
                at += 1
            terms[i].at, terms[i].offset = at, offset
            if docs[i][at] != d:
                all_there = False
                break
        if not all_there:
            continue
        for i in range(n):
            terms[i].scan = terms[i].offset
        count = 0
        p_end = terms[0].offset + tfs[0][terms[0].at]
        for i in range(1, n):  # (a damaged index: never read past the positions)
            if terms[i].offset + tfs[i][terms[i].at] > n_positions:
                p_end = n_positions + 1
        if p_end > n_positions:
            raise IndexError("a term's positions run outside the position array")
        for p in range(terms[0].offset, p_end):
            target = _count_at(pos, pkind, p) - terms[0].shift
            every = True
            for i in range(1, n):
                end_i = terms[i].offset + tfs[i][terms[i].at]
                value = target + 1  # (past the end: not found)
                while terms[i].scan < end_i:
                    value = _count_at(pos, pkind, terms[i].scan) - terms[i].shift
                    if value >= target:
                        break
                    terms[i].scan += 1
                if terms[i].scan >= end_i or value != target:
                    every = False
                    break
            if every:
                count += 1
        if count:
            hits_docs[found] = d
            hits_freqs[found] = count
            found += 1
    return found
