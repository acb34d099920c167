# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled core of query evaluation: BM25F over one segment's posting slices.

Plain arrays in, plain arrays out; the plan (which slices, which weights, the global idf)
stays in Python (:mod:`bnsearch.search.kernel` calls this once per segment and pass).
The arithmetic is the one :class:`bnsearch.search.engine.Evaluator` does with numpy, in
the same precision and order of rounding, so both paths give the same scores:

* a posting's ``x`` is ``float32(tf) * multiplier[doc]`` in float32;
* a unit's ``x`` over several slices is their float64 sum, rounded to float32 once;
* a unit's score is ``float32(x / (x + k1)) * weight`` in float32 (``weight`` when
  ``k1`` is 0);
* a document's score is the float64 sum of its units' scores and exact-form bonuses,
  rounded to float32 once.
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t
from libc.stdlib cimport calloc, free, malloc, qsort, realloc
from libc.math cimport INFINITY
from libc.string cimport memset

from bnsearch.search._types cimport doc_t, tf_t

cnp.import_array()

#: Below one posting in this many docs of the segment, the matching docs are collected
#: as they are first touched and sorted; above, the dense table is scanned.
DEF SPARSE_RATIO = 16


cdef cnp.ndarray _contiguous(object array, int typenum):
    """``array`` as a C-contiguous, aligned, native-order array of its own type
    (``typenum`` < 0) or of ``typenum``; a copy only where needed (a view into a
    compound segment file at an odd offset, say)."""
    cdef cnp.ndarray arr = <cnp.ndarray>cnp.PyArray_FROM_O(array)
    if typenum < 0:
        typenum = cnp.PyArray_TYPE(arr)
    if cnp.PyArray_TYPE(arr) != typenum or not cnp.PyArray_IS_C_CONTIGUOUS(arr) or (
        not cnp.PyArray_ISNOTSWAPPED(arr) or not cnp.PyArray_ISALIGNED(arr)
    ):
        arr = np.ascontiguousarray(arr, dtype=cnp.PyArray_DescrFromType(typenum))
    return arr


cdef inline cnp.ndarray _docs_array(object docs):
    cdef cnp.ndarray arr = _contiguous(docs, -1)
    cdef int kind = cnp.PyArray_TYPE(arr)
    if kind != cnp.NPY_UINT16 and kind != cnp.NPY_INT32:
        arr = _contiguous(arr, cnp.NPY_INT32)
    return arr


cdef inline cnp.ndarray _tfs_array(object tfs):
    cdef cnp.ndarray arr = _contiguous(tfs, -1)
    cdef int kind = cnp.PyArray_TYPE(arr)
    if (
        kind != cnp.NPY_UINT8
        and kind != cnp.NPY_UINT16
        and kind != cnp.NPY_UINT32
        and kind != cnp.NPY_INT64
    ):
        arr = _contiguous(arr, cnp.NPY_INT64)
    return arr


# -- scratch tables, kept between calls ---------------------------------------------------------
# Per-doc tables as large as the largest segment seen, allocated once: a fresh calloc per
# call costs a page fault per 4 KB touched (about a millisecond at 100,000 docs). The
# kernel never releases the GIL, so one set serves every thread; each call leaves acc,
# xbuf and seen all zero (wiped after an error) and the stamp below the next tag.
cdef double* _acc = NULL
cdef double* _xbuf = NULL
cdef uint8_t* _seen = NULL
cdef int32_t* _stamp = NULL
cdef Py_ssize_t _capacity = 0
cdef int32_t _last_tag = 0


cdef int _reserve(Py_ssize_t size) except -1:
    global _acc, _xbuf, _seen, _stamp, _capacity, _last_tag
    if size < 1:
        size = 1
    if size <= _capacity:
        return 0
    free(_acc)
    free(_xbuf)
    free(_seen)
    free(_stamp)
    _acc = <double*>calloc(size, sizeof(double))
    _xbuf = <double*>calloc(size, sizeof(double))
    _seen = <uint8_t*>calloc(size, sizeof(uint8_t))
    _stamp = <int32_t*>calloc(size, sizeof(int32_t))
    _last_tag = 0
    if _acc == NULL or _xbuf == NULL or _seen == NULL or _stamp == NULL:
        free(_acc)
        free(_xbuf)
        free(_seen)
        free(_stamp)
        _acc = _xbuf = NULL
        _seen = NULL
        _stamp = NULL
        _capacity = 0
        raise MemoryError()
    _capacity = size
    return 0


cdef int32_t _tags(Py_ssize_t count):
    """The first of ``count`` stamp tags no doc holds yet."""
    global _last_tag
    if _last_tag > (1 << 30) - count:
        memset(_stamp, 0, _capacity * sizeof(int32_t))
        _last_tag = 0
    cdef int32_t first = _last_tag + 1
    _last_tag += <int32_t>count
    return first


cdef void _wipe() noexcept:
    """Every table back to zero (after an error left some entries set)."""
    memset(_acc, 0, _capacity * sizeof(double))
    memset(_xbuf, 0, _capacity * sizeof(double))
    memset(_seen, 0, _capacity * sizeof(uint8_t))


# A call holds the GIL throughout, but creating a Python object inside it may run a
# finalizer, and with it another thread's search; that call must not use (or regrow) the
# shared tables meanwhile, so it gets private ones for its duration.
cdef bint _busy = False


cdef struct Tables:
    double* acc
    double* xbuf
    uint8_t* seen
    int32_t* stamp
    int32_t first_tag
    bint private


cdef int _take(Tables* t, Py_ssize_t size, Py_ssize_t tags) except -1:
    """Tables for one call: the shared ones, or private zeroed ones while they are held."""
    global _busy
    if size < 1:
        size = 1
    if _busy:
        t.private = True
        t.acc = <double*>calloc(size, sizeof(double))
        t.xbuf = <double*>calloc(size, sizeof(double))
        t.seen = <uint8_t*>calloc(size, sizeof(uint8_t))
        t.stamp = <int32_t*>calloc(size, sizeof(int32_t))
        t.first_tag = 1
        if t.acc == NULL or t.xbuf == NULL or t.seen == NULL or t.stamp == NULL:
            _give(t, False)
            raise MemoryError()
        return 0
    _reserve(size)
    _busy = True
    t.private = False
    t.acc, t.xbuf, t.seen, t.stamp = _acc, _xbuf, _seen, _stamp
    t.first_tag = _tags(tags)
    return 0


cdef void _give(Tables* t, bint failed) noexcept:
    """Hand the tables back (the shared ones zeroed: wiped if the call failed)."""
    global _busy
    if t.private:
        free(t.acc)
        free(t.xbuf)
        free(t.seen)
        free(t.stamp)
        t.acc = t.xbuf = NULL
        t.seen = NULL
        t.stamp = NULL
        return
    if failed:
        _wipe()
    _busy = False


def _hold_shared_tables(bint held):
    """For tests: mark the shared tables held, so calls take private ones."""
    global _busy
    _busy = held


def _out_of_range():
    from bnsearch.errors import IndexFormatError

    return IndexFormatError("a posting names a document outside its segment (damaged index)")


# -- pass one: live document frequencies ----------------------------------------------------
cdef Py_ssize_t _count_live(
    const doc_t* docs, Py_ssize_t n, const uint8_t* live, Py_ssize_t max_doc, int* bad
) noexcept nogil:
    cdef Py_ssize_t i, d, count = 0
    for i in range(n):
        d = docs[i]
        if d < 0 or d >= max_doc:
            bad[0] = 1
            return 0
        count += live[d] != 0
    return count


cdef Py_ssize_t _count_new(
    const doc_t* docs, Py_ssize_t n, const uint8_t* live, int32_t* stamp, int32_t tag,
    Py_ssize_t max_doc, int* bad,
) noexcept nogil:
    cdef Py_ssize_t i, count = 0
    cdef Py_ssize_t d
    for i in range(n):
        d = docs[i]
        if d < 0 or d >= max_doc:
            bad[0] = 1
            return 0
        if stamp[d] != tag:
            stamp[d] = tag
            if live == NULL or live[d]:
                count += 1
    return count


def unit_doc_freqs(
    list docs_parts, const int32_t[:] owners, Py_ssize_t n_units, object live,
    Py_ssize_t max_doc,
):
    """Per unit, its live documents in this segment (a document once however many of
    the unit's slices hold it). ``owners[p]``: the unit of slice ``p`` (ascending);
    ``live``: a bool array, or None when nothing is deleted."""
    cdef cnp.ndarray[int64_t, ndim=1] out = np.zeros(n_units, dtype=np.int64)
    cdef Py_ssize_t n_parts = len(docs_parts)
    cdef Py_ssize_t p = 0, q, u, n
    cdef int32_t* stamp = NULL
    cdef const uint8_t* live_p = NULL
    cdef cnp.ndarray live_arr, docs
    cdef int bad = 0
    cdef int32_t first_tag = 0
    cdef Tables tables
    cdef bint taken = False
    if live is not None:
        live_arr = _contiguous(live, cnp.NPY_BOOL)
        live_p = <const uint8_t*>cnp.PyArray_DATA(live_arr)
    try:
        while p < n_parts:
            u = owners[p]
            q = p + 1
            while q < n_parts and owners[q] == u:
                q += 1
            if q == p + 1:  # one slice: its docs are unique
                docs = _docs_array(docs_parts[p])
                n = cnp.PyArray_DIM(docs, 0)
                if live_p == NULL:
                    out[u] = n
                elif cnp.PyArray_TYPE(docs) == cnp.NPY_UINT16:
                    out[u] = _count_live(<const uint16_t*>cnp.PyArray_DATA(docs), n, live_p, max_doc, &bad)
                else:
                    out[u] = _count_live(<const int32_t*>cnp.PyArray_DATA(docs), n, live_p, max_doc, &bad)
            else:
                if not taken:
                    _take(&tables, max_doc, n_units)
                    taken = True
                    stamp = tables.stamp
                    first_tag = tables.first_tag
                for p in range(p, q):
                    docs = _docs_array(docs_parts[p])
                    n = cnp.PyArray_DIM(docs, 0)
                    if cnp.PyArray_TYPE(docs) == cnp.NPY_UINT16:
                        out[u] += _count_new(
                            <const uint16_t*>cnp.PyArray_DATA(docs), n, live_p, stamp, first_tag + u, max_doc, &bad
                        )
                    else:
                        out[u] += _count_new(
                            <const int32_t*>cnp.PyArray_DATA(docs), n, live_p, stamp, first_tag + u, max_doc, &bad
                        )
            p = q
            if bad:
                raise _out_of_range()
    finally:
        if taken:
            _give(&tables, False)  # stamps need no wiping
    return out


# -- pass two: scores -------------------------------------------------------------------------
cdef inline float _saturate(float x, float k1, float weight) noexcept nogil:
    cdef float s
    if k1 != 0:
        s = x / (x + k1)
        return s * weight
    return weight if x > 0 else 0


cdef struct Walk:
    # the state of one segment's scoring, shared by every slice it walks
    double* acc        # per doc: the float64 sum of its units' scores and bonuses
    double* xbuf       # per doc: a unit's x summed over its slices (zero between units)
    uint8_t* seen      # per doc: touched yet (NULL: dense mode, no list of touched docs)
    uint8_t* mark      # per doc: 2 for a candidate once pruned (the same table as seen)
    int32_t* touched   # the docs touched, in the order first touched
    Py_ssize_t n_touched
    int32_t* xdocs     # the docs of xbuf that are not zero
    Py_ssize_t n_x
    bint only_seen     # pruned: only the candidates' postings are read
    const int32_t* cands  # pruned, a slice long enough: the candidates, ascending, are
    Py_ssize_t n_cands    # found in it by binary search instead (NULL: walk the slice)
    const uint8_t* forms  # the slice's form flags when its unit has an exact-form bonus
    uint8_t flag       # ... the flags a posting must hold for the bonus
    double bonus       # ... the bonus, given once per doc (stamp[doc] = tag)
    int32_t* stamp
    int32_t tag
    Py_ssize_t max_doc
    int bad            # a posting named a doc outside the segment


cdef inline void _touch(Walk* w, Py_ssize_t d) noexcept nogil:
    if w.seen != NULL and not w.seen[d]:
        w.seen[d] = 1
        w.touched[w.n_touched] = <int32_t>d
        w.n_touched += 1


cdef inline Py_ssize_t _find(
    const doc_t* docs, Py_ssize_t lo, Py_ssize_t n, Py_ssize_t d
) noexcept nogil:
    """The first index from ``lo`` whose doc is >= ``d`` (``n`` if none)."""
    cdef Py_ssize_t hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if docs[mid] < d:
            lo = mid + 1
        else:
            hi = mid
    return lo


#: What a walk does with a posting's ``x``: a unit of one slice adds its saturated score
#: to ``acc``; one of a unit's several slices sums it into ``xbuf``; the longest of
#: them adds the sum of the others and saturates at once.
DEF SCORE = 0
DEF ADD_X = 1
DEF FINISH = 2


cdef inline void _posting(
    const doc_t* docs, const tf_t* tfs, Py_ssize_t i, const float* mult, int mode,
    float k1, float weight, Walk* w,
) noexcept nogil:
    """Posting ``i``: its ``x`` is ``tf * mult[doc]`` (see :data:`SCORE`), and the
    unit's exact-form bonus where the posting's flags hold the typed form's."""
    cdef Py_ssize_t d = docs[i]
    cdef float x = <float>tfs[i] * mult[d]
    cdef double summed
    if mode == ADD_X:
        if w.xbuf[d] == 0:
            w.xdocs[w.n_x] = <int32_t>d
            w.n_x += 1
        w.xbuf[d] += <double>x
    else:
        if mode == FINISH and w.xbuf[d] != 0:
            summed = w.xbuf[d] + <double>x
            w.xbuf[d] = 0
            x = <float>summed
        _touch(w, d)
        w.acc[d] += <double>_saturate(x, k1, weight)
    if w.forms != NULL and (w.forms[i] & w.flag) == w.flag and w.stamp[d] != w.tag:
        w.stamp[d] = w.tag
        _touch(w, d)
        w.acc[d] += w.bonus


cdef void _walk(
    const doc_t* docs, const tf_t* tfs, Py_ssize_t n, const float* mult, int mode,
    float k1, float weight, Walk* w,
) noexcept nogil:
    """Every posting of one slice (only the candidates' when pruned; found by binary
    search when ``w.cands`` is set)."""
    cdef Py_ssize_t i, d, c, at = 0
    if w.cands != NULL:
        for c in range(w.n_cands):
            at = _find(docs, at, n, w.cands[c])
            if at >= n:
                return
            if docs[at] == w.cands[c]:
                _posting(docs, tfs, at, mult, mode, k1, weight, w)
        return
    for i in range(n):
        d = docs[i]
        if d < 0 or d >= w.max_doc:
            w.bad = 1
            return
        if w.only_seen and w.mark[d] != 2:
            continue
        _posting(docs, tfs, i, mult, mode, k1, weight, w)


cdef int _compare_int32(const void* a, const void* b) noexcept nogil:
    cdef int32_t x = (<const int32_t*>a)[0]
    cdef int32_t y = (<const int32_t*>b)[0]
    return (x > y) - (x < y)


cdef void _dispatch(
    cnp.ndarray docs, cnp.ndarray tfs, const float* mult, int mode, float k1, float weight,
    Walk* w,
):
    cdef Py_ssize_t n = cnp.PyArray_DIM(docs, 0)
    cdef void* dp = cnp.PyArray_DATA(docs)
    cdef void* tp = cnp.PyArray_DATA(tfs)
    cdef int tk = cnp.PyArray_TYPE(tfs)
    if cnp.PyArray_TYPE(docs) == cnp.NPY_UINT16:
        if tk == cnp.NPY_UINT8:
            _walk(<uint16_t*>dp, <uint8_t*>tp, n, mult, mode, k1, weight, w)
        elif tk == cnp.NPY_UINT16:
            _walk(<uint16_t*>dp, <uint16_t*>tp, n, mult, mode, k1, weight, w)
        elif tk == cnp.NPY_UINT32:
            _walk(<uint16_t*>dp, <uint32_t*>tp, n, mult, mode, k1, weight, w)
        else:
            _walk(<uint16_t*>dp, <int64_t*>tp, n, mult, mode, k1, weight, w)
    else:
        if tk == cnp.NPY_UINT8:
            _walk(<int32_t*>dp, <uint8_t*>tp, n, mult, mode, k1, weight, w)
        elif tk == cnp.NPY_UINT16:
            _walk(<int32_t*>dp, <uint16_t*>tp, n, mult, mode, k1, weight, w)
        elif tk == cnp.NPY_UINT32:
            _walk(<int32_t*>dp, <uint32_t*>tp, n, mult, mode, k1, weight, w)
        else:
            _walk(<int32_t*>dp, <int64_t*>tp, n, mult, mode, k1, weight, w)


# -- the best k: a heap whose root is the worst kept (score, then doc: higher doc is worse) ----
cdef struct Entry:
    float score
    int32_t doc


cdef inline bint _worse(Entry a, Entry b) noexcept nogil:
    return a.score < b.score or (a.score == b.score and a.doc > b.doc)


cdef Py_ssize_t _offer(Entry* heap, Py_ssize_t size, Py_ssize_t k, Entry item) noexcept nogil:
    """Keep ``item`` if it is among the best ``k`` seen; the heap's new size."""
    cdef Py_ssize_t i, child, parent
    if size < k:
        i = size
        while i > 0:
            parent = (i - 1) >> 1
            if not _worse(item, heap[parent]):
                break
            heap[i] = heap[parent]
            i = parent
        heap[i] = item
        return size + 1
    if not _worse(heap[0], item):
        return size
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and _worse(heap[child + 1], heap[child]):
            child += 1
        if not _worse(heap[child], item):
            break
        heap[i] = heap[child]
        i = child
    heap[i] = item
    return size


cdef int _compare_entry_doc(const void* a, const void* b) noexcept nogil:
    cdef int32_t x = (<const Entry*>a).doc
    cdef int32_t y = (<const Entry*>b).doc
    return (x > y) - (x < y)


cdef Py_ssize_t _kth_best(
    const Walk* w, const uint8_t* mask_p, Py_ssize_t k, Entry* heap, float* kth
) noexcept nogil:
    """How many touched docs match (a score, kept by the mask), and the ``k``-th best of
    their scores so far (rounded to float32) in ``kth`` when there are ``k``."""
    cdef Py_ssize_t i, d, size = 0, count = 0
    cdef Entry item
    for i in range(w.n_touched if w.seen != NULL else w.max_doc):
        d = w.touched[i] if w.seen != NULL else i
        if w.acc[d] != 0 and (mask_p == NULL or mask_p[d]):
            count += 1
            item.score = <float>w.acc[d]
            item.doc = <int32_t>d
            size = _offer(heap, size, k, item)
    if size == k and k > 0:
        kth[0] = heap[0].score
    return count


#: A margin on the score bounds (relative): pruning never rests on the last bits of a sum.
DEF BOUND_MARGIN = 1e-6
#: Pruned, a slice this many times longer than the candidates is searched (a binary
#: search per candidate) rather than walked.
DEF LOOKUP_RATIO = 16
#: Pruning is tried only while the postings left to read are at least this many times
#: those read (else reading them all costs less than finding the candidates).
DEF PRUNE_LEFT_RATIO = 1


cdef inline void _lookup_or_walk(
    Walk* w, const int32_t* cands, Py_ssize_t n_cands, Py_ssize_t length
) noexcept nogil:
    if w.only_seen and n_cands * LOOKUP_RATIO < length:
        w.cands = cands
        w.n_cands = n_cands
    else:
        w.cands = NULL


cdef void _slice(
    Walk* w, Py_ssize_t p, list docs_arrays, list tfs_arrays, list mult_arrays,
    list forms_arrays, int mode, float k1, float weight, const int32_t* cands,
    Py_ssize_t n_cands,
):
    """Walk slice ``p`` (see :data:`SCORE`; its form flags read when its unit has a bonus)."""
    cdef cnp.ndarray docs = <cnp.ndarray>docs_arrays[p]
    cdef object forms = forms_arrays[p]
    w.forms = NULL
    if w.stamp != NULL and forms is not None:
        w.forms = <const uint8_t*>cnp.PyArray_DATA(<cnp.ndarray>forms)
    _lookup_or_walk(w, cands, n_cands, cnp.PyArray_DIM(docs, 0))
    _dispatch(
        docs, <cnp.ndarray>tfs_arrays[p],
        <const float*>cnp.PyArray_DATA(<cnp.ndarray>mult_arrays[p]), mode, k1, weight, w,
    )


def score_segment(
    list docs_parts,
    list tfs_parts,
    list mult_parts,
    list forms_parts,
    const int32_t[:] owners,
    const float[:] weights,
    const uint8_t[:] flags,
    const float[:] bonuses,
    float k1,
    object mask,
    Py_ssize_t max_doc,
    Py_ssize_t keep=0,
    bint prune=False,
    Py_ssize_t min_total=0,
):
    """The matching docs of one segment (ascending, int32), their scores (float32), how
    many docs match, and whether the segment was pruned.

    Slice ``p`` (``docs_parts[p]``, ``tfs_parts[p]``) belongs to unit ``owners[p]``
    (ascending) and is weighted by ``mult_parts[p]`` (float32 per doc of the segment);
    ``forms_parts[p]`` is its form flags (uint8 per posting) or None. Unit ``u`` scores
    ``weights[u]`` at saturation and adds ``bonuses[u]`` once to a doc where a slice's
    flags hold all of ``flags[u]`` (``bonuses[u]`` 0: no bonus). ``mask`` (bool per doc
    or None) keeps the docs a search may return.

    ``keep`` > 0 returns only the best ``keep`` matches (score, then doc; still in doc
    order) with their exact scores; the count is still of every match. ``prune`` (with
    ``keep``; units given in order of falling ``weights + bonuses``, which bound what a
    unit can add, all >= 0) stops reading whole posting lists once the units left could
    not lift a doc not yet seen above the ``keep``-th score so far and at least
    ``min_total`` docs were seen to match (MaxScore): the later units then only add to
    the docs already seen. The best ``keep`` and their scores are those of the exhaustive
    pass; the count is then a lower bound (at least ``min_total``).
    """
    cdef Py_ssize_t n_parts = len(docs_parts)
    cdef Py_ssize_t n_units = weights.shape[0]
    cdef Py_ssize_t total = 0, p, q, u, i, d, n_out = 0, count = 0, heap_size = 0
    cdef Walk w
    cdef Entry* heap = NULL
    cdef int32_t* cands = NULL
    cdef Py_ssize_t n_cands = 0
    cdef Entry item
    cdef const uint8_t* mask_p = NULL
    cdef cnp.ndarray mask_arr, docs, tfs, mult, forms
    cdef list docs_arrays = [], tfs_arrays = [], mult_arrays = [], forms_arrays = []
    cdef Py_ssize_t longest
    cdef float x, kth = 0
    cdef double remaining = 0, reached = 0, bound, kth_cap = INFINITY
    cdef Py_ssize_t could_match = 0, p_unit = 0, counted = 0, read = 0
    cdef bint pruned = False
    cdef bint failed = False
    cdef Tables tables
    cdef int32_t first_tag
    cdef cnp.ndarray[int32_t, ndim=1] out_docs
    cdef cnp.ndarray[float, ndim=1] out_scores
    if len(tfs_parts) != n_parts or len(mult_parts) != n_parts or len(forms_parts) != n_parts:
        raise ValueError("every slice needs docs, tfs, multipliers and forms (or None)")
    if owners.shape[0] != n_parts:
        raise ValueError("every slice needs an owner")
    if bonuses.shape[0] != n_units or flags.shape[0] != n_units:
        raise ValueError("every unit needs a weight, a flag and a bonus")
    if keep < 0 or min_total < 0:
        raise ValueError("keep and min_total must be >= 0")
    if keep > max_doc:  # no more can match (a deep offset: the heap's size must not overflow)
        keep = max_doc
    for p in range(n_parts):
        docs = _docs_array(docs_parts[p])
        tfs = _tfs_array(tfs_parts[p])
        mult = _contiguous(mult_parts[p], cnp.NPY_FLOAT32)
        if cnp.PyArray_DIM(tfs, 0) != cnp.PyArray_DIM(docs, 0):
            raise ValueError("a slice's docs and tfs differ in length")
        if cnp.PyArray_DIM(mult, 0) < max_doc:
            raise ValueError("a multiplier array is shorter than the segment")
        if owners[p] < 0 or owners[p] >= n_units or (p and owners[p] < owners[p - 1]):
            raise ValueError("owners must be ascending unit numbers")
        total += cnp.PyArray_DIM(docs, 0)
        forms = None
        if forms_parts[p] is not None:
            forms = _contiguous(forms_parts[p], cnp.NPY_UINT8)
            if cnp.PyArray_DIM(forms, 0) != cnp.PyArray_DIM(docs, 0):
                raise ValueError("a slice's docs and forms differ in length")
        forms_arrays.append(forms)
        docs_arrays.append(docs)
        tfs_arrays.append(tfs)
        mult_arrays.append(mult)
    prune = prune and keep > 0
    if prune:
        for u in range(n_units):
            bound = <double>weights[u] + <double>bonuses[u]
            if weights[u] < 0 or bonuses[u] < 0 or (u and bound > reached):
                raise ValueError("pruning needs units in order of falling bounds, all >= 0")
            reached = bound
            remaining += bound
        reached = 0
    if mask is not None:
        mask_arr = _contiguous(mask, cnp.NPY_BOOL)
        if cnp.PyArray_DIM(mask_arr, 0) < max_doc:
            raise ValueError("the mask is shorter than the segment")
        mask_p = <const uint8_t*>cnp.PyArray_DATA(mask_arr)
    _take(&tables, max_doc, n_units)
    memset(&w, 0, sizeof(Walk))
    w.acc = tables.acc
    w.xbuf = tables.xbuf
    w.max_doc = max_doc
    first_tag = tables.first_tag
    try:
        w.mark = tables.seen
        if total * SPARSE_RATIO < max_doc:  # a list of the docs touched
            w.touched = <int32_t*>malloc((min(total, max_doc) + 1) * sizeof(int32_t))
            w.seen = tables.seen
            if w.touched == NULL:
                raise MemoryError()
        if keep > 0:
            heap = <Entry*>malloc(keep * sizeof(Entry))
            if heap == NULL:
                raise MemoryError()
        p = 0
        while p < n_parts:
            u = owners[p]
            p_unit = p
            q = p + 1
            while q < n_parts and owners[q] == u:
                q += 1
            if bonuses[u] != 0 and flags[u] != 0:
                w.flag, w.bonus, w.tag = flags[u], <double>bonuses[u], first_tag + <int32_t>u
                w.stamp = tables.stamp
            if q == p + 1:
                _slice(&w, p, docs_arrays, tfs_arrays, mult_arrays, forms_arrays, SCORE,
                       k1, weights[u], cands, n_cands)
            else:  # several slices: x summed per doc first (BM25F), then saturated
                if w.xdocs == NULL:
                    w.xdocs = <int32_t*>malloc((min(total, max_doc) + 1) * sizeof(int32_t))
                    if w.xdocs == NULL:
                        raise MemoryError()
                w.n_x = 0
                longest = p
                for i in range(p + 1, q):
                    if cnp.PyArray_DIM(<cnp.ndarray>docs_arrays[i], 0) > cnp.PyArray_DIM(
                        <cnp.ndarray>docs_arrays[longest], 0
                    ):
                        longest = i
                for i in range(p, q):
                    if i != longest:
                        _slice(&w, i, docs_arrays, tfs_arrays, mult_arrays, forms_arrays,
                               ADD_X, k1, weights[u], cands, n_cands)
                _slice(&w, longest, docs_arrays, tfs_arrays, mult_arrays, forms_arrays,
                       FINISH, k1, weights[u], cands, n_cands)
                for i in range(w.n_x):  # the docs the longest slice lacks
                    d = w.xdocs[i]
                    if w.xbuf[d] != 0:
                        x = <float>w.xbuf[d]
                        w.xbuf[d] = 0
                        _touch(&w, d)
                        w.acc[d] += <double>_saturate(x, k1, weights[u])
            w.stamp = NULL
            if w.bad:
                raise _out_of_range()
            p = q
            if prune and not pruned:
                bound = <double>weights[u] + <double>bonuses[u]
                remaining -= bound
                reached += bound
                kth_cap += bound
                for i in range(p_unit, p):
                    could_match += cnp.PyArray_DIM(<cnp.ndarray>docs_arrays[i], 0)
                    read += cnp.PyArray_DIM(<cnp.ndarray>docs_arrays[i], 0)
                # a doc not seen yet scores at most ``remaining``; the keep-th best so far
                # is at most ``reached``, and at most the last keep-th found plus the
                # bounds read since; matches are at most the last count plus the postings
                # read since: only when pruning could begin is the keep-th worth finding
                if (
                    p < n_parts
                    and remaining * (1 + BOUND_MARGIN) < min(reached, kth_cap)
                    and could_match >= min_total and could_match >= keep
                    # finding the keep-th costs a pass over the docs touched: worth it
                    # only while much more is left to read than has been
                    and (total - read) >= PRUNE_LEFT_RATIO * read
                ):
                    kth = 0
                    count = _kth_best(&w, mask_p, keep, heap, &kth)
                    could_match = count
                    if count >= keep:
                        kth_cap = kth
                    if count >= keep and count >= min_total and remaining * (1 + BOUND_MARGIN) < kth:
                        # MaxScore: no doc not touched yet can reach the best ``keep``,
                        # nor can a touched one whose score and ``remaining`` stay
                        # below the keep-th so far: the rest only read the others
                        pruned = True
                        w.only_seen = True
                        counted = count
                        n_out = w.n_touched if w.seen != NULL else max_doc
                        cands = <int32_t*>malloc((n_out + 1) * sizeof(int32_t))
                        if cands == NULL:
                            raise MemoryError()
                        for i in range(n_out):
                            d = w.touched[i] if w.seen != NULL else i
                            if w.acc[d] != 0 and (mask_p == NULL or mask_p[d]) and (
                                (w.acc[d] + remaining) * (1 + BOUND_MARGIN) >= kth
                            ):
                                w.mark[d] = 2
                                cands[n_cands] = <int32_t>d
                                n_cands += 1
                        if w.seen != NULL:  # (a dense scan finds them in order)
                            qsort(cands, n_cands, sizeof(int32_t), _compare_int32)
        # collect: ascending docs with a score, kept by the mask (the best ``keep``)
        count = 0
        if w.seen != NULL:
            if keep == 0:  # (the best ``keep`` are put in doc order at the end)
                qsort(w.touched, w.n_touched, sizeof(int32_t), _compare_int32)
            n_out = w.n_touched
        else:
            n_out = max_doc
        if keep == 0:
            for i in range(n_out):
                d = w.touched[i] if w.seen != NULL else i
                if w.acc[d] != 0 and (mask_p == NULL or mask_p[d]):
                    count += 1
            out_docs = np.empty(count, dtype=np.int32)
            out_scores = np.empty(count, dtype=np.float32)
        heap_size = 0
        if pruned:  # the matches were counted when pruning began; the best are candidates
            count = counted
            for i in range(n_cands):
                d = cands[i]
                item.score = <float>w.acc[d]
                item.doc = <int32_t>d
                heap_size = _offer(heap, heap_size, keep, item)
                w.mark[d] = 0
        else:
            count = 0
        for i in range(n_out):
            d = w.touched[i] if w.seen != NULL else i
            if w.acc[d] != 0:
                if not pruned and (mask_p == NULL or mask_p[d]):
                    if keep == 0:
                        out_docs[count] = <int32_t>d
                        out_scores[count] = <float>w.acc[d]
                    else:
                        item.score = <float>w.acc[d]
                        item.doc = <int32_t>d
                        heap_size = _offer(heap, heap_size, keep, item)
                    count += 1
                w.acc[d] = 0
            if w.seen != NULL:
                w.seen[d] = 0
        if keep > 0:
            qsort(heap, heap_size, sizeof(Entry), _compare_entry_doc)
            out_docs = np.empty(heap_size, dtype=np.int32)
            out_scores = np.empty(heap_size, dtype=np.float32)
            for i in range(heap_size):
                out_docs[i] = heap[i].doc
                out_scores[i] = heap[i].score
    except BaseException:
        failed = True
        raise
    finally:
        _give(&tables, failed)
        free(w.xdocs)
        free(w.touched)
        free(heap)
        free(cands)
    return out_docs, out_scores, count, pruned


# -- the proximity rerank: word pairs side by side in a few docs --------------------------------
cdef struct Occurrence:
    int64_t key  # column << 32 | position
    int64_t label


cdef int _compare_occurrence(const void* a, const void* b) noexcept nogil:
    cdef int64_t x = (<const Occurrence*>a).key
    cdef int64_t y = (<const Occurrence*>b).key
    return (x > y) - (x < y)


cdef inline Py_ssize_t _doc_at(const void* docs, int kind, Py_ssize_t i) noexcept nogil:
    if kind == cnp.NPY_UINT16:
        return (<const uint16_t*>docs)[i]
    return (<const int32_t*>docs)[i]


cdef inline int64_t _position_at(const void* positions, int kind, Py_ssize_t i) noexcept nogil:
    if kind == cnp.NPY_UINT8:
        return (<const uint8_t*>positions)[i]
    if kind == cnp.NPY_UINT16:
        return (<const uint16_t*>positions)[i]
    if kind == cnp.NPY_UINT32:
        return (<const uint32_t*>positions)[i]
    return (<const int64_t*>positions)[i]


def pair_counts(
    list entry_docs,
    list entry_offsets,
    object positions,
    const int64_t[:] labels,
    const int32_t[:] docs,
    const int64_t[:, :, :] pair_row,
    Py_ssize_t n_pairs,
):
    """How often each query word pair stands at its distance in each of ``docs``, in one
    field: ``counts[pair, column]`` (int64).

    Entry ``e`` is a pair word's postings (``entry_docs[e]``, sorted) with their position
    offsets into ``positions`` (the field's whole position array); ``labels[e]`` is its
    row in ``pair_row[first, second, distance]`` (the pair's number, or -1). ``docs`` are
    sorted and unique. Two occurrences count as a pair when one stands one or two
    positions after the other (one word per position: no word between counts twice).
    """
    cdef Py_ssize_t n_docs = docs.shape[0], n_entries = len(entry_docs)
    cdef Py_ssize_t e, c, lo, hi, mid, n_occ = 0, cap = 0, i, j, k
    cdef Py_ssize_t at, begin, end
    cdef int64_t diff, row, d, labels_count = pair_row.shape[0]
    cdef cnp.ndarray term_docs, offsets, pos_arr
    cdef cnp.ndarray[int64_t, ndim=2] counts = np.zeros((n_pairs, n_docs), dtype=np.int64)
    cdef Occurrence* occ = NULL
    cdef Occurrence* grown
    cdef const void* dp
    cdef const int64_t* op
    cdef const void* pp
    cdef int dkind, pkind
    cdef Py_ssize_t n_positions
    if len(entry_offsets) != n_entries or labels.shape[0] != n_entries:
        raise ValueError("every entry needs docs, offsets and a label")
    if pair_row.shape[1] != labels_count or pair_row.shape[2] < 3:
        raise ValueError("pair_row must be labels x labels x 3")
    pos_arr = _contiguous(positions, -1)
    pkind = cnp.PyArray_TYPE(pos_arr)
    if pkind not in (cnp.NPY_UINT8, cnp.NPY_UINT16, cnp.NPY_UINT32, cnp.NPY_INT64):
        pos_arr = _contiguous(pos_arr, cnp.NPY_INT64)
        pkind = cnp.NPY_INT64
    pp = cnp.PyArray_DATA(pos_arr)
    n_positions = cnp.PyArray_DIM(pos_arr, 0)
    try:
        for e in range(n_entries):
            if labels[e] < 0 or labels[e] >= labels_count:
                raise ValueError("a label outside pair_row")
            term_docs = _docs_array(entry_docs[e])
            offsets = _contiguous(entry_offsets[e], cnp.NPY_INT64)
            if cnp.PyArray_DIM(offsets, 0) != cnp.PyArray_DIM(term_docs, 0) + 1:
                raise ValueError("an entry needs one offset more than it has docs")
            dp = cnp.PyArray_DATA(term_docs)
            dkind = cnp.PyArray_TYPE(term_docs)
            op = <const int64_t*>cnp.PyArray_DATA(offsets)
            lo = 0
            for c in range(n_docs):  # docs ascend: each search starts where the last ended
                d = docs[c]
                hi = cnp.PyArray_DIM(term_docs, 0)
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if _doc_at(dp, dkind, mid) < d:
                        lo = mid + 1
                    else:
                        hi = mid
                if lo >= cnp.PyArray_DIM(term_docs, 0):
                    break
                if _doc_at(dp, dkind, lo) != d:
                    continue
                begin, end = op[lo], op[lo + 1]
                if begin < 0 or end < begin or end > n_positions:
                    raise _out_of_range()
                if n_occ + (end - begin) > cap:
                    cap = 2 * (n_occ + (end - begin)) + 64
                    grown = <Occurrence*>realloc(occ, cap * sizeof(Occurrence))
                    if grown == NULL:
                        raise MemoryError()
                    occ = grown
                for at in range(begin, end):
                    occ[n_occ].key = (<int64_t>c << 32) | _position_at(pp, pkind, at)
                    occ[n_occ].label = labels[e]
                    n_occ += 1
        if n_occ > 1:
            qsort(occ, n_occ, sizeof(Occurrence), _compare_occurrence)
        for i in range(n_occ):
            for k in range(1, 3):
                j = i + k
                if j >= n_occ:
                    break
                diff = occ[j].key - occ[i].key
                if diff <= 2:
                    row = pair_row[occ[i].label, occ[j].label, diff]
                    if 0 <= row < n_pairs:
                        counts[row, occ[i].key >> 32] += 1
    finally:
        free(occ)
    return counts
