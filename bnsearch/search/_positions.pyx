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
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t
from libc.stdlib cimport free, malloc

from bnsearch.search._types cimport doc_t, tf_t

cnp.import_array()

ctypedef fused pos_t:
    uint8_t
    uint16_t
    uint32_t
    int64_t


cdef cnp.ndarray _native(object array, tuple kinds):
    """``array`` as a C-contiguous, aligned, native-order array of one of ``kinds``
    (numpy type numbers; its own when it is one, else the last): a copy only where
    needed."""
    cdef cnp.ndarray arr = <cnp.ndarray>cnp.PyArray_FROM_O(array)
    cdef int kind = cnp.PyArray_TYPE(arr)
    if kind not in kinds:
        kind = kinds[-1]
    if cnp.PyArray_TYPE(arr) != kind or not cnp.PyArray_IS_C_CONTIGUOUS(arr) or (
        not cnp.PyArray_ISNOTSWAPPED(arr) or not cnp.PyArray_ISALIGNED(arr)
    ):
        arr = np.ascontiguousarray(arr, dtype=cnp.PyArray_DescrFromType(kind))
    return arr


_DOC_KINDS = (cnp.NPY_UINT16, cnp.NPY_INT32)
_COUNT_KINDS = (cnp.NPY_UINT8, cnp.NPY_UINT16, cnp.NPY_UINT32, cnp.NPY_INT64)


cdef inline int64_t _count_at(const void* values, int kind, Py_ssize_t i) noexcept nogil:
    """Value ``i`` of an array of tfs or positions (one of ``_COUNT_KINDS``)."""
    if kind == cnp.NPY_UINT8:
        return (<const uint8_t*>values)[i]
    if kind == cnp.NPY_UINT16:
        return (<const uint16_t*>values)[i]
    if kind == cnp.NPY_UINT32:
        return (<const uint32_t*>values)[i]
    return (<const int64_t*>values)[i]


cdef inline int64_t _doc_at(const void* docs, int kind, Py_ssize_t i) noexcept nogil:
    if kind == cnp.NPY_UINT16:
        return (<const uint16_t*>docs)[i]
    return (<const int32_t*>docs)[i]


def term_offsets(object tfs, int64_t first):
    """``offsets`` (int64, one more than ``tfs``): ``offsets[0] = first``, then each
    posting's end, ``offsets[j + 1] = offsets[j] + tfs[j]``."""
    cdef cnp.ndarray arr = _native(tfs, _COUNT_KINDS)
    cdef Py_ssize_t n = cnp.PyArray_DIM(arr, 0), i
    cdef int kind = cnp.PyArray_TYPE(arr)
    cdef const void* data = cnp.PyArray_DATA(arr)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, [n + 1], cnp.NPY_INT64, 0)
    cdef int64_t* o = <int64_t*>cnp.PyArray_DATA(out)
    cdef int64_t at = first
    o[0] = at
    for i in range(n):
        at += _count_at(data, kind, i)
        o[i + 1] = at
    return out


cdef struct Term:
    const void* docs
    const void* tfs
    int dkind
    int tkind
    Py_ssize_t length
    Py_ssize_t at        # the posting under the cursor
    int64_t offset       # the first position of that posting in ``pos``
    int64_t shift        # the term's place in the phrase
    Py_ssize_t scan      # a cursor into that posting's positions


def phrase_frequencies(list docs_list, list tfs_list, list firsts, list shifts, object positions):
    """Docs where a phrase occurs (int32, ascending) and how often (int64).

    Term ``i`` of the phrase has postings ``docs_list[i]`` (sorted doc ids) with
    ``tfs_list[i]``, its first posting's positions starting at ``firsts[i]`` in
    ``positions`` (the field's whole position array), and stands ``shifts[i]`` places
    after the phrase's start. A match is a position ``p`` of the first term with every
    term ``i`` at ``p - shifts[0] + shifts[i]``; positions ascend within a posting (as
    :func:`bnsearch.search.phrases.phrase_frequencies` reads them too)."""
    cdef Py_ssize_t n = len(docs_list), i, j, lead = 0, count = 0, found = 0
    cdef Py_ssize_t n_positions
    cdef Term* terms = NULL
    cdef list keep = []
    cdef cnp.ndarray arr, pos_arr = _native(positions, _COUNT_KINDS)
    cdef const void* pos = cnp.PyArray_DATA(pos_arr)
    cdef int pkind = cnp.PyArray_TYPE(pos_arr)
    cdef int64_t d, other, target, value, end_i
    cdef int64_t* hits_docs = NULL
    cdef int64_t* hits_freqs = NULL
    cdef Py_ssize_t p, p_end
    cdef bint all_there, every
    cdef int32_t[:] docs_view
    cdef int64_t[:] freqs_view
    n_positions = cnp.PyArray_DIM(pos_arr, 0)
    if len(tfs_list) != n or len(firsts) != n or len(shifts) != n:
        raise ValueError("every term needs docs, tfs, its first position and its shift")
    if n == 0:
        return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64)
    terms = <Term*>malloc(n * sizeof(Term))
    if terms == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            arr = _native(docs_list[i], _DOC_KINDS)
            keep.append(arr)
            terms[i].docs = cnp.PyArray_DATA(arr)
            terms[i].dkind = cnp.PyArray_TYPE(arr)
            terms[i].length = cnp.PyArray_DIM(arr, 0)
            arr = _native(tfs_list[i], _COUNT_KINDS)
            keep.append(arr)
            if cnp.PyArray_DIM(arr, 0) != terms[i].length:
                raise ValueError("a term needs as many tfs as docs")
            terms[i].tfs = cnp.PyArray_DATA(arr)
            terms[i].tkind = cnp.PyArray_TYPE(arr)
            terms[i].at = 0
            terms[i].offset = firsts[i]
            terms[i].shift = shifts[i]
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
        for j in range(terms[lead].length):
            d = _doc_at(terms[lead].docs, terms[lead].dkind, j)
            # every term's cursor to its first posting at or after d (summing tfs)
            all_there = True
            for i in range(n):
                while terms[i].at < terms[i].length and _doc_at(
                    terms[i].docs, terms[i].dkind, terms[i].at
                ) < d:
                    terms[i].offset += _count_at(terms[i].tfs, terms[i].tkind, terms[i].at)
                    terms[i].at += 1
                if terms[i].at >= terms[i].length or _doc_at(
                    terms[i].docs, terms[i].dkind, terms[i].at
                ) != d:
                    all_there = False
            if not all_there:
                continue
            for i in range(n):
                terms[i].scan = terms[i].offset
            count = 0
            p_end = terms[0].offset + _count_at(terms[0].tfs, terms[0].tkind, terms[0].at)
            for i in range(1, n):  # (a damaged index: never read past the positions)
                if terms[i].offset + _count_at(terms[i].tfs, terms[i].tkind, terms[i].at) > (
                    n_positions
                ):
                    p_end = n_positions + 1
            if p_end > n_positions:
                raise IndexError("a term's positions run outside the position array")
            for p in range(terms[0].offset, p_end):
                target = _count_at(pos, pkind, p) - terms[0].shift
                every = True
                for i in range(1, n):
                    end_i = terms[i].offset + _count_at(terms[i].tfs, terms[i].tkind, terms[i].at)
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
        out_docs = np.empty(found, dtype=np.int32)
        out_freqs = np.empty(found, dtype=np.int64)
        docs_view = out_docs
        freqs_view = out_freqs
        for j in range(found):
            docs_view[j] = <int32_t>hits_docs[j]
            freqs_view[j] = hits_freqs[j]
        return out_docs, out_freqs
    finally:
        free(terms)
        free(hits_docs)
        free(hits_freqs)
