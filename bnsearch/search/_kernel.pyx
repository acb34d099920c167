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
from libc.math cimport INFINITY, NAN, isnan
from libc.string cimport memcpy, memset
from cpython.pyport cimport PY_SSIZE_T_MAX
from cpython.object cimport Py_SIZE
from cpython cimport array as carray
import array as pyarray

from bnsearch.search._types cimport doc_t, tf_t

cnp.import_array()

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define BNS_PREFETCH(p) __builtin_prefetch((const void*)(p), 0, 3)
    #else
    #define BNS_PREFETCH(p) ((void)0)
    #endif
    """
    # a hint to bring the cache line of ``p`` in (never faults; nothing where unsupported)
    void BNS_PREFETCH(const void* p) noexcept nogil

#: Below one posting in this many docs of the segment, the matching docs are collected
#: as they are first touched and sorted; above, the dense table is scanned.
DEF SPARSE_RATIO = 16
#: ... for a lone unit of one or two slices (a word in title and body), whose postings
#: touch docs mostly in order and once (the bookkeeping costs less than a scan: at 100k
#: synthetic a word of 4,300 postings in a segment of 50,000 docs took 68 us dense, 42
#: sparse; a prefix's many expansions touch docs again and again, and stay dense)
DEF LONE_SPARSE_RATIO = 4
#: Docs a dense pass (:func:`_dense_best`) reads at a time, and the docs of a chunk of
#: ``Walk.tops`` (``1 << CHUNK_SHIFT``).
DEF CHUNK_SHIFT = 5
DEF CHUNK = 1 << CHUNK_SHIFT
#: A margin on the score bounds (relative): pruning never rests on the last bits of a sum.
DEF BOUND_MARGIN = 1e-6
#: Postings ahead whose doc's multiplier a lone word's merge asks the cache for
#: (:func:`_merge_blocks`): ``mult[doc]`` is a read at a random place of a per-doc array
#: (1.6 MB for a field of a 415,501-doc segment), a miss most postings once other
#: queries have run; asked for early, the misses of several postings overlap.
DEF PREFETCH_AHEAD = 24
#: ... and of the other slice's (a word's title beside its body: fewer, further apart).
DEF OTHER_AHEAD = 4


cdef cnp.ndarray _contiguous(object array, int typenum):
    """``array`` as a C-contiguous, aligned, native-order array of its own type
    (``typenum`` < 0) or of ``typenum``; a copy only where needed (a view into a
    compound segment file at an odd offset, say)."""
    cdef cnp.ndarray arr
    if cnp.PyArray_CheckExact(array):  # (an array already: no conversion asked of numpy)
        arr = <cnp.ndarray>array
    else:
        arr = <cnp.ndarray>cnp.PyArray_FROM_O(array)
    if typenum < 0:
        typenum = cnp.PyArray_TYPE(arr)
    if cnp.PyArray_TYPE(arr) != typenum or not cnp.PyArray_IS_C_CONTIGUOUS(arr) or (
        not cnp.PyArray_ISNOTSWAPPED(arr) or not cnp.PyArray_ISALIGNED(arr)
    ):
        arr = np.ascontiguousarray(arr, dtype=cnp.PyArray_DescrFromType(typenum))
    return arr


cdef inline cnp.ndarray _empty(Py_ssize_t size, int typenum):
    """A new one-dimensional array of ``size`` items of ``typenum`` (numpy's C call: no
    Python-level ``np.empty`` and its keyword parsing, once or twice a segment)."""
    cdef cnp.npy_intp dims = size
    return cnp.PyArray_EMPTY(1, &dims, typenum, 0)


cdef inline cnp.ndarray _docs_array(object docs):
    cdef cnp.ndarray arr = _contiguous(docs, -1)
    cdef int kind = cnp.PyArray_TYPE(arr)
    if kind != cnp.NPY_UINT16 and kind != cnp.NPY_INT32:
        arr = _contiguous(arr, cnp.NPY_INT32)
    return arr


cdef object _unit_values(
    object values, int typenum, char code, const char* what, const void** data,
    Py_ssize_t* size,
):
    """A per-unit (or per-slice) array of :func:`score_segment` and the address and
    length of its items: a Python ``array`` of typecode ``code`` as it is (what
    :func:`lay_out_units` makes: no buffer nor memoryview acquired, five of them a query
    were 3% of a one-word query's instructions at 100k), else a one-dimensional numpy
    array of ``typenum`` (made contiguous where it is not). Anything else is a
    ValueError naming ``what``. The object returned keeps the items alive."""
    cdef carray.array arr
    cdef cnp.ndarray nd
    if isinstance(values, carray.array):
        arr = <carray.array>values
        if arr.ob_descr.typecode == code:
            data[0] = <const void*>arr.data.as_voidptr
            size[0] = Py_SIZE(arr)
            return arr
    elif isinstance(values, np.ndarray):
        nd = <cnp.ndarray>values
        if cnp.PyArray_NDIM(nd) == 1 and cnp.PyArray_TYPE(nd) == typenum:
            nd = _contiguous(nd, typenum)
            data[0] = <const void*>cnp.PyArray_DATA(nd)
            size[0] = cnp.PyArray_DIM(nd, 0)
            return nd
    raise ValueError(
        f"{what.decode()} must be a one-dimensional {np.dtype(cnp.PyArray_DescrFromType(typenum))}"
        " array"
    )


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
    from bnsearch.errors import posting_outside_segment

    return posting_outside_segment()


# -- a new combination of units: the arguments laid out ------------------------------------
cdef carray.array _FLOATS = pyarray.array("f")
cdef carray.array _BYTES = pyarray.array("B")
cdef carray.array _INTS = pyarray.array("i")


cdef struct Bound:
    double value  # what the unit can add to a score: weight + bonus (float32 each)
    Py_ssize_t at  # its place among the units given


cdef int _compare_bounds(const void* a, const void* b) noexcept nogil:
    """Falling bound, then the order given (a stable sort)."""
    cdef const Bound* x = <const Bound*>a
    cdef const Bound* y = <const Bound*>b
    if x.value != y.value:
        return -1 if x.value > y.value else 1
    return (x.at > y.at) - (x.at < y.at)


def lay_out_units(list pieces, list figures, bint prune, Py_ssize_t n_segments):
    """The arguments of :func:`score_segment` a combination of units shares, laid out
    from what each unit keeps (``engine.UnitArgs``): a new query of units met before
    lays them end to end here, not in Python.

    ``pieces[u][s]`` is unit ``u``'s share in segment ``s`` (of ``n_segments``): ``(parts, docs_parts,
    tfs_parts, mult_parts, forms_parts)``; ``figures[u]`` its ``(weight, bonus, flags)``.
    With ``prune`` (kept only where every weight, as float32, is >= 0) the units go in
    order of falling ``weight + bonus`` (float32 each, summed in double; ties keep the
    order given), the order MaxScore reads them in. Returns ``(weights, flags, bonuses,
    prune, order, per_segment)``: float32, uint8 and float32 arrays in that order, the
    units' order (indices into ``figures``) and per segment ``(docs_parts, tfs_parts,
    mult_parts, forms_parts, owners)``, a unit's form flags given only where its flags
    ask for the bonus (else None per slice), ``owners`` int32."""
    cdef Py_ssize_t n = len(figures), i, u, s, j, count, total
    cdef Bound* bounds = NULL
    cdef carray.array weights = carray.clone(_FLOATS, n, False)
    cdef carray.array bonuses = carray.clone(_FLOATS, n, False)
    cdef carray.array flags = carray.clone(_BYTES, n, False)
    cdef carray.array owners
    cdef tuple figure, share
    cdef list docs_parts, tfs_parts, mult_parts, forms_parts, order, laid = []
    cdef float weight, bonus
    cdef int32_t* owner_p
    if len(pieces) != n:
        raise ValueError("every unit needs its pieces and its figures")
    for u in range(n):  # (checked once: the loops below index without checks)
        figure = figures[u]
        if figure is None or len(figure) != 3:
            raise ValueError("a unit's figures are (weight, bonus, flags)")
        if not isinstance(pieces[u], list) or len(pieces[u]) != n_segments:
            raise ValueError("every unit needs its pieces in every segment")
        for s in range(n_segments):
            share = (<list>pieces[u])[s]
            if share is None or len(share) != 5:
                raise ValueError("a unit's pieces in a segment are five lists")
    bounds = <Bound*>malloc(max(n, 1) * sizeof(Bound))
    if bounds == NULL:
        raise MemoryError()
    try:
        for u in range(n):
            figure = figures[u]
            weight = figure[0]
            bonus = figure[1]
            bounds[u].value = <double>weight + <double>bonus
            bounds[u].at = u
            prune = prune and weight >= 0
        if prune:
            qsort(bounds, n, sizeof(Bound), _compare_bounds)
        order = [bounds[i].at for i in range(n)]
        for i in range(n):
            figure = figures[bounds[i].at]
            weights.data.as_floats[i] = figure[0]
            bonuses.data.as_floats[i] = figure[1]
            flags.data.as_uchars[i] = figure[2]
        for s in range(n_segments):
            total = 0
            for u in range(n):
                total += len((<tuple>(<list>pieces[u])[s])[1])
            docs_parts = []
            tfs_parts = []
            mult_parts = []
            forms_parts = []
            owners = carray.clone(_INTS, total, False)
            owner_p = <int32_t*>owners.data.as_ints
            j = 0
            for i in range(n):
                share = (<list>pieces[bounds[i].at])[s]
                count = len(share[1])
                docs_parts.extend(share[1])
                tfs_parts.extend(share[2])
                mult_parts.extend(share[3])
                if flags.data.as_uchars[i]:
                    forms_parts.extend(share[4])
                else:
                    forms_parts.extend([None] * count)
                for _ in range(count):
                    owner_p[j] = <int32_t>i
                    j += 1
            laid.append((docs_parts, tfs_parts, mult_parts, forms_parts, owners))
    finally:
        free(bounds)
    return weights, flags, bonuses, prune, order, laid


# -- pass two: scores -------------------------------------------------------------------------
cdef inline float _saturate(float x, float k1, float weight) noexcept nogil:
    cdef float s
    if k1 != 0:
        s = x / (x + k1)
        return s * weight
    return weight if x > 0 else 0


#: The slack (relative to the score compared with) :func:`_x_below`'s callers leave: far
#: above ``_saturate``'s float32 rounding (a few units of 2**-24).
DEF X_BELOW_SLACK = 1e-5


cdef inline double _x_below(double t, float k1, float weight) noexcept nogil:
    """An ``x`` below which :func:`_saturate` stays below ``t * (1 + 3e-7)`` (its float32
    rounding covered; the caller leaves its own slack in ``t``): the inverse of
    ``weight * x / (x + k1)``, so that a bound is tested on a posting's ``x`` without a
    division. -inf where none is known (``k1`` or ``weight`` not positive, ``t`` not
    positive or at the ceiling ``weight``): the caller then tests every posting."""
    if k1 > 0 and k1 <= 1e3 and weight >= 1e-20 and t > 0 and t < <double>weight * (1 - 1e-6):
        return <double>k1 * t / (<double>weight - t)
    return -INFINITY


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


cdef struct Other:
    # a slice read in doc order: a lone unit's shorter one (a word's title) beside its
    # longest (:func:`_merge_blocks`), or any of several units' (:func:`_merge_units`,
    # which also keeps ``doc`` and ``unit``); any doc and tf type (read through _doc_at
    # / _position_at)
    const void* docs
    int doc_kind
    const void* tfs
    int tf_kind
    const float* mult
    const uint8_t* forms  # NULL: none, or the unit has no bonus
    const float* xs       # (:func:`_merge_blocks`) each posting's x, tf * mult[doc], made
                          # by the caller (NULL: read tfs and mult): read in order, where
                          # the multipliers of a sparse slice's docs are a cache miss each
    const float* joined   # (:func:`_merge_blocks`, with ``xs``) per posting, its doc's x
                          # summed over both slices as a walked block sums it, where
                          # ``in_walked`` says the walked slice holds the doc (NULL: none)
    const uint16_t* in_walked  # ... per posting: JOINED_HELD if the walked slice holds its
                               # doc, with that posting's form flags in the low byte
    float* memo           # (:func:`_windows`) the slice's part of the unit's memo of
                          # each posting's x (NULL: none kept)
    Py_ssize_t n
    Py_ssize_t at         # the next posting to read
    Py_ssize_t doc        # (_merge_units) the doc of posting ``at`` (max_doc: done)
    Py_ssize_t unit       # (_merge_units) the slice's unit


cdef struct Units:
    # several units' slices read beside the longest slice of the first, which is walked
    # by blocks (:func:`_merge_blocks_units`: a word and its folded spellings)
    Other* cursors     # every slice but the walked one, in the order of their units
    Py_ssize_t n
    const float* weights
    const uint8_t* flags
    const float* bonuses


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
    # block-max pruning of a lone unit's longest slice (block_x NULL: none)
    const float* block_x      # per block of BLOCK postings: no posting's x is larger
    const uint8_t* block_forms  # per block: the OR of its postings' form flags (or NULL)
    float* exact      # per block two floats, filled when first needed (NaN: not yet; NULL:
                      # none kept): the largest x of its postings, and the largest of those
                      # that earn the bonus (-INFINITY: none does)
    float* other      # (a lone unit's other slice, :func:`_merge_blocks`) per block two
                      # floats, filled when its docs are first read (NaN: not yet; NULL:
                      # none kept): the largest x of the other slice's postings in the
                      # block's doc range, and the largest of those earning the bonus
                      # (-INFINITY: none)
    Py_ssize_t n_blocks
    const int32_t* firsts     # per block, the doc of its first posting (NULL: read the slice)
    const uint8_t* mask       # the docs a search may return (NULL: all): a plain walk
                              # (:func:`_walk`) reads no posting of another doc
    Entry* live               # the best ``keep`` of the slice so far (score, then doc)
    Py_ssize_t live_size
    Py_ssize_t keep
    Py_ssize_t live_count     # matches of the slice so far
    Py_ssize_t min_total      # ... needed before a block may be skipped
    bint skipped              # a block was skipped: the count is a lower bound
    bint count_skipped        # a skipped block's postings are counted as matches (each
                              # scores, no mask): blocks may be skipped before ``min_total``
    double floor              # no doc scoring below this is wanted (0: none)
    # dense mode, scores that only grow (weights and bonuses >= 0): per chunk of
    # :data:`CHUNK` docs the largest ``acc`` written there (an upper bound of its docs'
    # scores: passes skip the chunks that cannot matter), and the docs with a score
    # (NULL: not kept, the passes read and count every doc)
    double* tops
    Py_ssize_t n_scored


cdef inline void _touch(Walk* w, Py_ssize_t d) noexcept nogil:
    if w.seen != NULL and not w.seen[d]:
        w.seen[d] = 1
        w.touched[w.n_touched] = <int32_t>d
        w.n_touched += 1


cdef inline void _add(Walk* w, Py_ssize_t d, double value) noexcept nogil:
    """``value`` added to doc ``d``'s score (with ``w.tops``: its chunk's bound raised
    and the doc counted when it first scores; no branch)."""
    cdef double before = w.acc[d]
    cdef double after = before + value
    cdef double top
    w.acc[d] = after
    if w.tops != NULL:
        w.n_scored += (before == 0) & (after != 0)
        top = w.tops[d >> CHUNK_SHIFT]
        w.tops[d >> CHUNK_SHIFT] = after if after > top else top


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


cdef inline Py_ssize_t _candidate(
    const doc_t* docs, Py_ssize_t lo, Py_ssize_t n, Py_ssize_t d
) noexcept nogil:
    """Where a pruned walk's candidate ``d`` stands among the postings from ``lo``: its
    index if a posting holds it, ``n`` when none is left, else ``~index`` of the next
    posting (the search for the next candidate starts there)."""
    cdef Py_ssize_t at = _find(docs, lo, n, d)
    if at >= n or docs[at] == d:
        return at
    return ~at


#: ``Other.in_walked``: the walked slice holds the posting's doc.
DEF JOINED_HELD = 256
JOINED_HELD_ = JOINED_HELD  # (for the engine, which makes ``in_walked``)

#: Postings :func:`_seek` steps over one by one before it halves the rest.
DEF SEEK_STEPS = 8


cdef inline Py_ssize_t _seek(
    const doc_t* docs, Py_ssize_t lo, Py_ssize_t n, Py_ssize_t d
) noexcept nogil:
    """:func:`_find` for a doc near ``lo`` (a word's next title doc in a block of its
    body): a few steps in order, then halving with no branch on the docs read (a binary
    search's compares are as good as random, each a mispredicted branch half the time:
    at 1M a tenth of a one-word query's instructions went to them)."""
    cdef Py_ssize_t stop = min(lo + SEEK_STEPS, n), half
    while lo < stop:
        if docs[lo] >= d:
            return lo
        lo += 1
    n -= lo  # (the first index of [lo, lo + n) whose doc is >= d; lo + n if none)
    if n <= 0:
        return lo
    while n > 1:
        half = n >> 1
        lo = lo + half if docs[lo + half] < d else lo  # (a conditional move)
        n -= half
    return lo + (docs[lo] < d)


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
    unit's exact-form bonus where the posting's flags hold the typed form's. (A pruned
    walk's candidates and a lone unit's blocks, one posting at a time; a slice's
    postings go through :func:`_run_postings`, the same steps on a loop's locals: made
    from one call of it, a posting paid its set-up, 10-15% of a filtered first query at
    1M.)"""
    cdef Py_ssize_t d = docs[i]
    cdef float x = <float>tfs[i] * mult[d]
    cdef double summed
    if mode == ADD_X:
        if w.xbuf[d] == 0 and x != 0:  # (x >= 0: a doc is listed once, when its sum turns > 0)
            w.xdocs[w.n_x] = <int32_t>d
            w.n_x += 1
        w.xbuf[d] += <double>x
    else:
        if mode == FINISH and w.xbuf[d] != 0:
            summed = w.xbuf[d] + <double>x
            w.xbuf[d] = 0
            x = <float>summed
        _touch(w, d)
        _add(w, d, <double>_saturate(x, k1, weight))
    if w.forms != NULL and (w.forms[i] & w.flag) == w.flag and w.stamp[d] != w.tag:
        w.stamp[d] = w.tag
        _touch(w, d)
        _add(w, d, w.bonus)


cdef void _run_postings(
    const doc_t* docs, const tf_t* tfs, Py_ssize_t lo, Py_ssize_t hi, bint check,
    const float* mult, int mode, float k1, float weight, Walk* w,
) noexcept nogil:
    """Postings ``lo`` to ``hi``: each one's ``x`` is ``tf * mult[doc]`` (see
    :data:`SCORE`), and the unit's exact-form bonus where the posting's flags hold the
    typed form's. With ``check``, a posting only where :func:`_readable` reads it (a doc
    outside the segment stops the walk). (One loop a slice: a plain walk made a call a
    posting, a quarter of a new word's scoring at 100k. The walk's fields are read into
    locals once a slice and the counts written back at the end: a store through
    ``seen``'s bytes may alias any field, so read through ``w`` each posting reloaded
    them all; :func:`_touch` and :func:`_add` are the same steps on the locals.)"""
    cdef Py_ssize_t i, d, c
    cdef float x
    cdef double summed, before, after, top, value
    cdef bint filtered = check and (w.only_seen or w.mask != NULL)
    cdef size_t max_doc = <size_t>w.max_doc
    cdef double* acc = w.acc
    cdef double* xbuf = w.xbuf
    cdef uint8_t* seen = w.seen
    cdef int32_t* touched = w.touched
    cdef Py_ssize_t n_touched = w.n_touched
    cdef int32_t* xdocs = w.xdocs
    cdef Py_ssize_t n_x = w.n_x
    cdef double* tops = w.tops
    cdef Py_ssize_t n_scored = w.n_scored
    cdef const uint8_t* forms = w.forms
    cdef uint8_t flag = w.flag
    cdef int32_t* stamp = w.stamp
    cdef int32_t tag = w.tag
    cdef double bonus = w.bonus
    if check and not filtered and forms == NULL and (mode == ADD_X or (seen == NULL and tops != NULL)):
        # the common slices with no test a posting that stays the same over the slice
        # (no mask, not pruned, no bonus; a sum, or dense mode with chunk tops): the
        # general loop below, unswitched
        if mode == ADD_X:
            for i in range(lo, hi):
                d = docs[i]
                if <size_t>d >= max_doc:
                    w.bad = 1
                    break
                x = <float>tfs[i] * mult[d]
                if xbuf[d] == 0 and x != 0:
                    xdocs[n_x] = <int32_t>d
                    n_x += 1
                xbuf[d] += <double>x
            w.n_x = n_x
            return
        for i in range(lo, hi):
            d = docs[i]
            if <size_t>d >= max_doc:
                w.bad = 1
                break
            x = <float>tfs[i] * mult[d]
            if mode == FINISH and xbuf[d] != 0:
                summed = xbuf[d] + <double>x
                xbuf[d] = 0
                x = <float>summed
            value = <double>_saturate(x, k1, weight)
            before = acc[d]
            after = before + value
            acc[d] = after
            n_scored += (before == 0) & (after != 0)
            c = d >> CHUNK_SHIFT
            top = tops[c]
            tops[c] = after if after > top else top
        w.n_scored = n_scored
        return
    for i in range(lo, hi):
        d = docs[i]
        if check:
            if <size_t>d >= max_doc:  # (d < 0 too: :func:`_readable`'s -1)
                w.bad = 1
                break
            if filtered and _readable(w, d) == 0:
                continue
        x = <float>tfs[i] * mult[d]
        if mode == ADD_X:
            if xbuf[d] == 0 and x != 0:  # (x >= 0: a doc is listed once, when its sum turns > 0)
                xdocs[n_x] = <int32_t>d
                n_x += 1
            xbuf[d] += <double>x
        else:
            if mode == FINISH and xbuf[d] != 0:
                summed = xbuf[d] + <double>x
                xbuf[d] = 0
                x = <float>summed
            if seen != NULL and not seen[d]:  # (_touch)
                seen[d] = 1
                touched[n_touched] = <int32_t>d
                n_touched += 1
            value = <double>_saturate(x, k1, weight)
            before = acc[d]  # (_add)
            after = before + value
            acc[d] = after
            if tops != NULL:
                n_scored += (before == 0) & (after != 0)
                c = d >> CHUNK_SHIFT
                top = tops[c]
                tops[c] = after if after > top else top
        if forms != NULL and (forms[i] & flag) == flag and stamp[d] != tag:
            stamp[d] = tag
            if seen != NULL and not seen[d]:  # (_touch)
                seen[d] = 1
                touched[n_touched] = <int32_t>d
                n_touched += 1
            before = acc[d]  # (_add)
            after = before + bonus
            acc[d] = after
            if tops != NULL:
                n_scored += (before == 0) & (after != 0)
                c = d >> CHUNK_SHIFT
                top = tops[c]
                tops[c] = after if after > top else top
    w.n_touched = n_touched
    w.n_x = n_x
    w.n_scored = n_scored


cdef inline int _readable(Walk* w, Py_ssize_t d) noexcept nogil:
    """Whether a plain walk reads doc ``d``'s posting: 1, or 0 where it passes it (not a
    candidate once pruned; a doc the mask drops, the search may not return it), or -1
    for a doc outside the segment (``w.bad`` set: the walk stops)."""
    if d < 0 or d >= w.max_doc:
        w.bad = 1
        return -1
    if w.only_seen and w.mark[d] != 2:
        return 0
    if w.mask != NULL and not w.mask[d]:
        return 0
    return 1


cdef void _walk(
    const doc_t* docs, const tf_t* tfs, Py_ssize_t n, const float* mult, int mode,
    float k1, float weight, Walk* w, Other* o,
) noexcept nogil:
    """Every posting of one slice (only the candidates' when pruned; found by binary
    search when ``w.cands`` is set); with ``o``, a lone unit's longest slice merged with
    its other (:func:`_merge_blocks`)."""
    cdef Py_ssize_t c, at = 0
    if o != NULL:
        _merge_blocks(docs, tfs, n, mult, k1, weight, w, o)
        return
    if w.block_x != NULL:
        _walk_blocks(docs, tfs, n, mult, mode, k1, weight, w)
        return
    if w.cands != NULL:
        for c in range(w.n_cands):
            at = _candidate(docs, at, n, w.cands[c])
            if at >= n:
                return
            if at >= 0:
                _posting(docs, tfs, at, mult, mode, k1, weight, w)
            else:
                at = ~at
        return
    _run_postings(docs, tfs, 0, n, True, mult, mode, k1, weight, w)


#: Postings per block of the per-block maxima (:data:`bnsearch.index.blockmax.BLOCK`).
DEF BLOCK = 128
#: Blocks are skipped only where the unit's other slices hold at most a quarter of the
#: postings of the one walked by blocks.
DEF OTHERS_RATIO = 4
BLOCK_OTHERS_RATIO = OTHERS_RATIO  # (for the caller, which skips computing useless bounds)


cdef inline void _exact_block(
    const doc_t* docs, const tf_t* tfs, Py_ssize_t start, Py_ssize_t end, const float* mult,
    Walk* w, float* out,
) noexcept nogil:
    """Block ``[start, end)``'s exact maxima into ``out`` (see ``Walk.exact``): the same
    float32 ``x`` as :func:`_posting` gives each posting, read only (left unset if a
    posting names a doc outside the segment: the walk then finds it)."""
    cdef Py_ssize_t i, d
    cdef float x, best = -INFINITY, best_form = -INFINITY
    for i in range(start, end):
        d = docs[i]
        if d < 0 or d >= w.max_doc:
            return
        x = <float>tfs[i] * mult[d]
        if x > best:
            best = x
        if w.forms != NULL and (w.forms[i] & w.flag) == w.flag and x > best_form:
            best_form = x
    out[0] = best
    out[1] = best_form


cdef void _walk_blocks(
    const doc_t* docs, const tf_t* tfs, Py_ssize_t n, const float* mult, int mode,
    float k1, float weight, Walk* w,
) noexcept nogil:
    """The longest slice of a lone unit, block by block (the unit's other slices were
    summed into ``xbuf`` before, their docs ascending in ``xdocs``): a posting's score is
    then final, so the best ``keep`` so far are known. Once ``min_total`` matches are
    counted, a block whose bound (its ``x`` bound saturated, plus the bonus where a
    posting may hold the typed form) stays below the ``keep``-th score is skipped, but
    for the docs the other slices hold in its range whose own bound (their ``x`` from
    those slices added) can still reach it: those are looked up in the block (by
    :func:`_seek`, as :func:`_merge_blocks` does: at 1M, four prefixes' cores made 13%
    fewer mispredicted branches than by :func:`_find`, for 0.8% more instructions).

    (:func:`_merge_blocks` does the same for a unit of one or two slices without the
    per-doc tables; this serves more.)"""
    cdef Py_ssize_t b, i, start, end, d, xp = 0, j, at
    cdef double kth, base
    cdef float bx
    cdef bint may_form
    for b in range(w.n_blocks):
        start = b * BLOCK
        end = min(start + BLOCK, n)
        if start >= n:
            break
        kth = _threshold(w)
        if kth >= 0:
            base = _block_bound(docs, tfs, start, end, b, mult, k1, weight, kth, w, &bx, &may_form)
            if base * (1 + BOUND_MARGIN) < kth:
                w.skipped = True
                while xp < w.n_x and w.xdocs[xp] < docs[start]:
                    xp += 1
                j = xp
                at = start
                while j < w.n_x and w.xdocs[j] <= docs[end - 1]:
                    d = w.xdocs[j]
                    j += 1
                    if w.stamp != NULL and (may_form or w.acc[d] != 0):
                        base = w.bonus
                    else:
                        base = 0
                    base += <double>_saturate(<float>(<double>bx + w.xbuf[d]), k1, weight)
                    if base * (1 + BOUND_MARGIN) < kth:
                        continue
                    at = _seek(docs, at, end, d)
                    if at < end and docs[at] == d:
                        _posting(docs, tfs, at, mult, mode, k1, weight, w)
                        _offer_live(w, d)
                continue
        for i in range(start, end):
            d = docs[i]
            if d < 0 or d >= w.max_doc:
                w.bad = 1
                return
            _posting(docs, tfs, i, mult, mode, k1, weight, w)
            _offer_live(w, d)


cdef inline double _threshold(const Walk* w) noexcept nogil:
    """What a block must reach not to be skipped: the ``keep``-th best so far, or the
    floor when that is higher (or the page not yet full); -1 while none may be skipped
    (fewer than ``min_total`` matches counted, or neither known)."""
    cdef double kth
    if w.live_count < w.min_total or (w.live_size < w.keep and w.floor <= 0):
        return -1
    kth = w.floor
    if w.live_size == w.keep and <double>w.live[0].score > kth:
        kth = <double>w.live[0].score
    return kth


cdef inline double _block_bound(
    const doc_t* docs, const tf_t* tfs, Py_ssize_t start, Py_ssize_t end, Py_ssize_t b,
    const float* mult, float k1, float weight, double kth, Walk* w, float* bx,
    bint* may_form,
) noexcept nogil:
    """What a posting of block ``b`` can score (its ``x`` saturated, plus the bonus where
    one of its postings may earn it), with the largest ``x`` it may have in ``bx`` and
    whether a posting may earn the bonus in ``may_form``: by the block's exact maxima
    where ``w.exact`` holds them; else by the loose bound (``block_x``, ``block_forms``),
    and where that reaches ``kth``, by the exact maxima, read now and kept in
    ``w.exact`` for the next search of the same unit."""
    cdef double base, with_form
    if w.exact != NULL and isnan(w.exact[2 * b]):
        may_form[0] = w.forms != NULL and (
            w.block_forms == NULL or (w.block_forms[b] & w.flag) == w.flag
        )
        base = <double>_saturate(w.block_x[b], k1, weight)
        if may_form[0]:
            base += w.bonus
        if base * (1 + BOUND_MARGIN) < kth:
            bx[0] = w.block_x[b]
            return base
        _exact_block(docs, tfs, start, end, mult, w, &w.exact[2 * b])
    if w.exact != NULL and not isnan(w.exact[2 * b]):
        bx[0] = w.exact[2 * b]
        may_form[0] = w.forms != NULL and w.exact[2 * b + 1] != -INFINITY
        base = <double>_saturate(bx[0], k1, weight)
        if may_form[0]:
            with_form = <double>_saturate(w.exact[2 * b + 1], k1, weight) + w.bonus
            if with_form > base:
                base = with_form
        return base
    bx[0] = w.block_x[b]
    may_form[0] = w.forms != NULL and (
        w.block_forms == NULL or (w.block_forms[b] & w.flag) == w.flag
    )
    base = <double>_saturate(bx[0], k1, weight)
    if may_form[0]:
        base += w.bonus
    return base


cdef inline void _emit(Walk* w, Py_ssize_t d, float x, bint form, float k1, float weight) noexcept nogil:
    """Doc ``d`` of a lone unit, its ``x`` summed over its slices: scored (plus the bonus
    where ``form``, the same float64 sum rounded once as the dense table gives), counted
    and offered to the live page (a match only if it scores, and the mask keeps it)."""
    cdef double score = <double>_saturate(x, k1, weight)
    if form:
        score += w.bonus
    _offer_score(w, d, score)


cdef inline void _offer_score(Walk* w, Py_ssize_t d, double score) noexcept nogil:
    """Doc ``d``'s final score (float64, rounded here once): counted and offered to the
    live page (a match only if it scores, and the mask keeps it)."""
    cdef Entry item
    if score != 0 and (w.mask == NULL or w.mask[d]):
        w.live_count += 1
        item.score = <float>score
        item.doc = <int32_t>d
        if w.live_size < w.keep or _worse(w.live[0], item):
            w.live_size = _offer(w.live, w.live_size, w.keep, item)


cdef inline void _prefetch_other(const Other* o) noexcept nogil:
    """Ask the cache for the multiplier of the other slice's doc a few postings ahead."""
    if o.xs == NULL and o.at + OTHER_AHEAD < o.n:
        BNS_PREFETCH(&o.mult[_doc_at(o.docs, o.doc_kind, o.at + OTHER_AHEAD)])


cdef inline float _live_root(const Walk* w) noexcept nogil:
    """The live page's worst kept score, which a later doc (a higher one) must pass to
    enter it; -inf while the page is not full (every match enters)."""
    if w.live_size < w.keep:
        return -INFINITY
    return w.live[0].score


cdef inline bint _other_form(const Other* o, const Walk* w) noexcept nogil:
    return o.forms != NULL and (o.forms[o.at] & w.flag) == w.flag


cdef inline float _other_x(
    const Other* o, Py_ssize_t od, const Walk* w, float* best, float* best_form
) noexcept nogil:
    """The ``x`` of the other slice's posting ``o.at`` (doc ``od``), with the largest so
    far in the block's range (``best``; ``best_form`` of those earning the bonus) raised.
    (Its caller reads the posting's form flag again: handed in, the flag read once, the
    merge of four lone words at 1M took 3% more instructions, 11.78M -> 12.12M.)"""
    cdef float xo
    if o.xs != NULL:
        xo = o.xs[o.at]
    else:
        xo = <float>_position_at(o.tfs, o.tf_kind, o.at) * o.mult[od]
    if xo > best[0]:
        best[0] = xo
    if _other_form(o, w) and xo > best_form[0]:
        best_form[0] = xo
    return xo


cdef inline void _keep_other(Walk* w, Py_ssize_t b, float best, float best_form) noexcept nogil:
    """Block ``b``'s memo of the other slice (see ``Walk.other``), once its docs were read."""
    if w.other != NULL and isnan(w.other[2 * b]):
        w.other[2 * b] = best
        w.other[2 * b + 1] = best_form


cdef inline Py_ssize_t _other_doc(const Other* o) noexcept nogil:
    """The doc of the other slice's next posting, unchecked (past its end: none is
    larger)."""
    if o.at < o.n:
        return _doc_at(o.docs, o.doc_kind, o.at)
    return PY_SSIZE_T_MAX


cdef inline Py_ssize_t _other_below(Other* o, Py_ssize_t hi, Walk* w) noexcept nogil:
    """The doc of the other slice's next posting if it is below ``hi``; else -1 (also
    where it names a doc outside the segment: ``w.bad`` is then set)."""
    cdef Py_ssize_t od
    if o.at >= o.n:
        return -1
    od = _doc_at(o.docs, o.doc_kind, o.at)
    if od >= hi:
        return -1
    if od < 0 or od >= w.max_doc:
        w.bad = 1
        return -1
    return od


cdef inline double _other_bound(
    const float* other, float bx, bint may_form, float k1, float weight, const Walk* w
) noexcept nogil:
    """What a doc of the other slice in a skipped block can score, by the block's memo of
    that slice (``other``: its largest ``x`` in the block's doc range, and the largest of
    those earning the bonus; -inf: none): as each doc's own bound in
    :func:`_merge_blocks`, at its largest (-1: the range holds none of its docs)."""
    cdef double base = -1, with_form
    if other[0] != -INFINITY:
        base = <double>_saturate(<float>(<double>bx + <double>other[0]), k1, weight)
        if may_form:
            base += w.bonus
    if other[1] != -INFINITY:
        with_form = <double>_saturate(<float>(<double>bx + <double>other[1]), k1, weight) + w.bonus
        if with_form > base:
            base = with_form
    return base


cdef inline Py_ssize_t _block_hi(
    const doc_t* docs, Py_ssize_t b, Py_ssize_t end, Py_ssize_t n, const Walk* w
) noexcept nogil:
    """Where block ``b`` (its postings up to ``end``) of a walked slice stops owning
    docs: the next block's first doc (read from ``w.firsts`` where given: a skipped
    block's postings are never read), the segment's end after the last."""
    if end >= n:
        return w.max_doc
    if w.firsts != NULL:
        return w.firsts[b + 1]
    return docs[end]


cdef inline float _offer_walked(Walk* w, Py_ssize_t d, double score, float root) noexcept nogil:
    """A walked posting's doc ``d`` and its final score (a match): offered to the live
    page where it beats the page's worst kept (``root``; docs come in ascending order, so
    a tie is worse); the worst kept after."""
    cdef Entry item
    item.score = <float>score
    if item.score > root:
        item.doc = <int32_t>d
        w.live_size = _offer(w.live, w.live_size, w.keep, item)
        return _live_root(w)
    return root


cdef void _merge_blocks(
    const doc_t* docs, const tf_t* tfs, Py_ssize_t n, const float* mult, float k1,
    float weight, Walk* w, Other* o,
) noexcept nogil:
    """A lone unit of one or two slices, its longest (``docs``) block by block and the
    other (``o``, if any) merged beside it in doc order: each doc's ``x`` is summed over
    both and scored at once (:func:`_emit`), with no per-doc table. Block ``b`` owns the
    docs from its first posting's to the next block's (the first from 0, the last to the
    segment's end), so the other slice's docs each fall in one block. Once
    ``min_total`` matches are counted, a block whose bound (:func:`_block_bound`) stays
    below the ``keep``-th score so far (or the floor) is skipped: of its other-slice
    docs, only those whose own bound (their ``x`` there plus the block's largest) can
    reach it are scored, their posting in the block looked up. Where ``w.other`` keeps
    the other slice's largest ``x`` in the block's range (filled as the block's
    other-slice docs are first read), a skipped block whose bound with it stays below
    the page passes those docs without reading their frequencies or multipliers."""
    cdef Py_ssize_t b, i, start, end, d, od, at, n_blocks = (n + BLOCK - 1) // BLOCK
    cdef Py_ssize_t hi, nod, counted, max_doc = w.max_doc
    cdef double kth, base, score, bonus = w.bonus, below, x_plain, x_none, x_form
    cdef double x_kth = NAN  # (the kth x_none and x_form were made for)
    cdef float bx, xo, x, o_best, o_form, root
    cdef bint may_form, form, oform
    cdef const uint8_t* forms = w.forms
    cdef const uint8_t* mask = w.mask
    cdef uint8_t flag = w.flag
    cdef Entry item
    for b in range(n_blocks):
        start = b * BLOCK
        end = min(start + BLOCK, n)
        hi = _block_hi(docs, b, end, n, w)
        o_best = o_form = -INFINITY  # (the other slice's largest x in the block's range)
        kth = _threshold(w) if w.block_x != NULL else -1
        if kth >= 0:
            base = _block_bound(docs, tfs, start, end, b, mult, k1, weight, kth, w, &bx, &may_form)
            if base * (1 + BOUND_MARGIN) < kth:
                w.skipped = True
                if w.count_skipped:  # (each a match; those scored below are not counted twice)
                    w.live_count += end - start
                if w.other != NULL and not isnan(w.other[2 * b]) and _other_bound(
                    &w.other[2 * b], bx, may_form, k1, weight, w
                ) * (1 + 2 * BOUND_MARGIN) < kth:  # (none of its docs' bounds below can reach)
                    while _other_below(o, hi, w) >= 0:
                        o.at += 1
                    if w.bad:
                        return
                    continue
                at = start
                if kth != x_kth:
                    # (the ``x`` below which a doc's bound, as tested below, stays under
                    # ``kth``, without and with the bonus: most docs are passed by one
                    # compare instead of a division each, the walk's hottest instruction
                    # at 1M; made again only when ``kth`` moves)
                    x_kth = kth
                    below = kth / (1 + BOUND_MARGIN)
                    x_none = _x_below(below - X_BELOW_SLACK * below, k1, weight)
                    x_form = _x_below(below - bonus - X_BELOW_SLACK * below, k1, weight)
                x_plain = x_form if may_form else x_none
                while True:
                    od = _other_below(o, hi, w)
                    if od < 0:
                        break
                    xo = _other_x(o, od, w, &o_best, &o_form)
                    form = _other_form(o, w)
                    o.at += 1
                    if <double>bx + <double>xo < (x_form if form else x_plain):
                        continue  # (the test below would pass it)
                    base = <double>_saturate(<float>(<double>bx + <double>xo), k1, weight)
                    if form or may_form:
                        base += w.bonus
                    if base * (1 + BOUND_MARGIN) < kth:
                        continue
                    x = xo
                    if o.joined != NULL:  # (the sum made ahead: no search in the block)
                        if o.in_walked[o.at - 1] & JOINED_HELD:
                            x = o.joined[o.at - 1]
                            form = form or (w.forms != NULL and (
                                <uint8_t>o.in_walked[o.at - 1] & w.flag) == w.flag)
                            if w.count_skipped:
                                w.live_count -= 1
                        _emit(w, od, x, form, k1, weight)
                        continue
                    at = _seek(docs, at, end, od)
                    if at < end and docs[at] == od:
                        x = <float>(<double>xo + <double>(<float>tfs[at] * mult[od]))
                        form = form or (w.forms != NULL and (w.forms[at] & w.flag) == w.flag)
                        if w.count_skipped:
                            w.live_count -= 1
                    _emit(w, od, x, form, k1, weight)
                if w.bad:
                    return
                _keep_other(w, b, o_best, o_form)
                continue
        # every posting of the block read: what _emit does, with the page's worst kept
        # (its root) and the count in locals (a posting below the root is counted and
        # left; read through ``w``, each was a load the compiler could not keep)
        nod = _other_doc(o)
        root = _live_root(w)
        counted = 0
        for i in range(start, end):
            d = docs[i]
            if d < 0 or d >= max_doc:
                w.bad = 1
                return
            if i + PREFETCH_AHEAD < n:
                BNS_PREFETCH(&mult[docs[i + PREFETCH_AHEAD]])
            x = <float>tfs[i] * mult[d]
            form = forms != NULL and (forms[i] & flag) == flag
            if nod <= d:
                while nod <= d:  # the other slice's docs up to this one
                    od = nod
                    if od < 0:
                        w.bad = 1
                        return
                    xo = _other_x(o, od, w, &o_best, &o_form)
                    oform = _other_form(o, w)
                    if od == d:
                        x = <float>(<double>xo + <double>x)
                        form = form or oform
                    else:
                        _emit(w, od, xo, oform, k1, weight)
                    o.at += 1
                    nod = _other_doc(o)
                    _prefetch_other(o)
                root = _live_root(w)
            score = <double>_saturate(x, k1, weight)
            if form:
                score += bonus
            if score != 0 and (mask == NULL or mask[d]):
                counted += 1
                root = _offer_walked(w, d, score, root)
        w.live_count += counted
        while True:  # the other slice's docs after the block's last, before the next
            od = _other_below(o, hi, w)
            if od < 0:
                break
            xo = _other_x(o, od, w, &o_best, &o_form)
            oform = _other_form(o, w)
            _emit(w, od, xo, oform, k1, weight)
            o.at += 1
        if w.bad:
            return
        _keep_other(w, b, o_best, o_form)
    if o.at < o.n:  # (docs at or past the segment's end)
        w.bad = 1


cdef inline Py_ssize_t _near_doc(const Units* us) noexcept nogil:
    """The smallest doc the other units' cursors are at (``max_doc``: all done)."""
    cdef Py_ssize_t c, d = PY_SSIZE_T_MAX
    for c in range(us.n):
        if us.cursors[c].doc < d:
            d = us.cursors[c].doc
    return d


cdef double _near(
    Units* us, Py_ssize_t d, float k1, Walk* w, double* xo, bint* form
) noexcept nogil:
    """Doc ``d`` (the smallest the cursors are at) in the slices beside the walked one:
    the walked unit's ``x`` there (the float64 sum over its other slices, into ``xo``)
    and whether one holds its typed form (``form``); returned, the float64 sum of the
    other units' scores (each unit's ``x`` rounded to float32 once and saturated, plus
    its bonus where a slice's flags hold its form): :func:`_merge_units`' arithmetic.
    The cursors at ``d`` move on."""
    cdef Py_ssize_t c, u = -1
    cdef double rest = 0, ux = 0
    cdef bint uform = False, held = False
    cdef Other* cur
    xo[0] = 0
    form[0] = False
    for c in range(us.n + 1):
        cur = &us.cursors[c] if c < us.n else NULL
        if cur == NULL or cur.unit != u:  # (the unit before is complete)
            if u == 0:
                xo[0] = ux
                form[0] = uform
            elif held:
                rest += <double>_saturate(<float>ux, k1, us.weights[u])
                if uform:
                    rest += <double>us.bonuses[u]
            if cur == NULL:
                break
            u = cur.unit
            ux = 0
            uform = held = False
        if cur.doc == d:
            held = True
            ux += <double>(<float>_position_at(cur.tfs, cur.tf_kind, cur.at) * cur.mult[d])
            if cur.forms != NULL and (cur.forms[cur.at] & us.flags[u]) == us.flags[u]:
                uform = True
            _advance(cur, w)
    return rest


cdef inline double _unit_score(
    float x, bint form, double rest, float k1, float weight, double bonus
) noexcept nogil:
    """A doc's score in :func:`_merge_blocks_units`: the walked unit's ``x`` saturated,
    its bonus where ``form``, then the other units' scores (``rest``), in float64."""
    cdef double score = <double>_saturate(x, k1, weight)
    if form:
        score += bonus
    return score + rest


cdef void _merge_blocks_units(
    const doc_t* docs, const tf_t* tfs, Py_ssize_t n, const float* mult, float k1,
    float weight, Walk* w, Units* us,
) noexcept nogil:
    """:func:`_merge_blocks` for several units (a word and its folded spellings), the
    first's longest slice (``docs``) walked block by block and every other slice (of
    any unit: ``us``) merged beside it in doc order, no per-doc table: at each doc the
    first unit's ``x`` is summed over its slices and saturated, its bonus added where a
    posting holds its form, and the other units' scores (:func:`_near`) added, the
    float64 sum rounded once (the arithmetic of the per-doc tables). A doc that only
    the walked slice holds scores at most the block's bound (:func:`_block_bound`): a
    block below the ``keep``-th score so far (or the floor), once ``min_total``
    matches are counted, is skipped, but for the docs the other slices hold in its
    range whose own bound (the walked slice's largest ``x`` there added to theirs, plus
    the other units' exact scores) can reach it: their posting in the block is looked
    up. Block ``b`` owns the docs from its first posting's to the next block's."""
    cdef Py_ssize_t b, i, start, end, d, nd, at, n_blocks = (n + BLOCK - 1) // BLOCK
    cdef Py_ssize_t hi, counted, max_doc = w.max_doc
    cdef double kth, base, score, rest, xo, bonus = w.bonus
    cdef float bx, x, root
    cdef bint may_form, form, near_form
    cdef const uint8_t* forms = w.forms
    cdef const uint8_t* mask = w.mask
    cdef uint8_t flag = w.flag
    cdef Entry item
    for b in range(n_blocks):
        start = b * BLOCK
        end = min(start + BLOCK, n)
        hi = _block_hi(docs, b, end, n, w)
        kth = _threshold(w) if w.block_x != NULL else -1
        if kth >= 0:
            base = _block_bound(docs, tfs, start, end, b, mult, k1, weight, kth, w, &bx, &may_form)
            if base * (1 + BOUND_MARGIN) < kth:
                w.skipped = True
                if w.count_skipped:  # (each a match; those scored below are not counted twice)
                    w.live_count += end - start
                at = start
                while True:
                    nd = _near_doc(us)
                    if nd >= hi:
                        break
                    rest = _near(us, nd, k1, w, &xo, &near_form)
                    base = <double>_saturate(<float>(<double>bx + xo), k1, weight)
                    if near_form or may_form:
                        base += bonus
                    base += rest
                    if base * (1 + BOUND_MARGIN) < kth:
                        continue
                    x = <float>xo
                    form = near_form
                    at = _seek(docs, at, end, nd)
                    if at < end and docs[at] == nd:
                        x = <float>(xo + <double>(<float>tfs[at] * mult[nd]))
                        form = form or (forms != NULL and (forms[at] & flag) == flag)
                        if w.count_skipped:
                            w.live_count -= 1
                    _offer_score(w, nd, _unit_score(x, form, rest, k1, weight, bonus))
                if w.bad:
                    return
                continue
        # every posting of the block read (the page's worst kept and the count in locals,
        # as in _merge_blocks)
        nd = _near_doc(us)
        root = _live_root(w)
        counted = 0
        for i in range(start, end):
            d = docs[i]
            if d < 0 or d >= max_doc:
                w.bad = 1
                return
            if i + PREFETCH_AHEAD < n:
                BNS_PREFETCH(&mult[docs[i + PREFETCH_AHEAD]])
            x = <float>tfs[i] * mult[d]
            form = forms != NULL and (forms[i] & flag) == flag
            rest = 0
            if nd <= d:
                while nd <= d:  # the other slices' docs up to this one
                    if nd < 0:
                        w.bad = 1
                        return
                    if nd == d:
                        rest = _near(us, nd, k1, w, &xo, &near_form)
                        x = <float>(xo + <double>x)
                        form = form or near_form
                    else:
                        rest = _near(us, nd, k1, w, &xo, &near_form)
                        _offer_score(w, nd, _unit_score(<float>xo, near_form, rest, k1, weight, bonus))
                        rest = 0  # (the walked doc's, set where a cursor holds it)
                    nd = _near_doc(us)
                root = _live_root(w)
            score = _unit_score(x, form, rest, k1, weight, bonus)
            if score != 0 and (mask == NULL or mask[d]):
                counted += 1
                root = _offer_walked(w, d, score, root)
        w.live_count += counted
        while True:  # the other slices' docs after the block's last, before the next
            nd = _near_doc(us)
            if nd >= hi:
                break
            rest = _near(us, nd, k1, w, &xo, &near_form)
            _offer_score(w, nd, _unit_score(<float>xo, near_form, rest, k1, weight, bonus))
        if w.bad:
            return


cdef inline void _offer_live(Walk* w, Py_ssize_t d) noexcept nogil:
    """Doc ``d``'s score is final: a match for the count, and offered to the live page."""
    cdef Entry item
    if w.acc[d] != 0 and (w.mask == NULL or w.mask[d]):
        w.live_count += 1
        item.score = <float>w.acc[d]
        item.doc = <int32_t>d
        if w.live_size < w.keep or _worse(w.live[0], item):
            w.live_size = _offer(w.live, w.live_size, w.keep, item)


cdef bint _ascending(const int32_t* values, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(1, n):
        if values[i] < values[i - 1]:
            return False
    return True


cdef int _compare_int32(const void* a, const void* b) noexcept nogil:
    cdef int32_t x = (<const int32_t*>a)[0]
    cdef int32_t y = (<const int32_t*>b)[0]
    return (x > y) - (x < y)


cdef void _dispatch_units(
    cnp.ndarray docs, cnp.ndarray tfs, const float* mult, float k1, float weight, Walk* w,
    Units* us,
):
    """:func:`_merge_blocks_units` by the walked slice's array types (a call of its own,
    not a branch in :func:`_walk`: there it cost a lone word's merge 2.8% more
    instructions at 100k, gcc laying out the fused walk anew)."""
    cdef Py_ssize_t n = cnp.PyArray_DIM(docs, 0)
    cdef void* dp = cnp.PyArray_DATA(docs)
    cdef void* tp = cnp.PyArray_DATA(tfs)
    cdef int tk = cnp.PyArray_TYPE(tfs)
    if cnp.PyArray_TYPE(docs) == cnp.NPY_UINT16:
        if tk == cnp.NPY_UINT8:
            _merge_blocks_units(<uint16_t*>dp, <uint8_t*>tp, n, mult, k1, weight, w, us)
        elif tk == cnp.NPY_UINT16:
            _merge_blocks_units(<uint16_t*>dp, <uint16_t*>tp, n, mult, k1, weight, w, us)
        elif tk == cnp.NPY_UINT32:
            _merge_blocks_units(<uint16_t*>dp, <uint32_t*>tp, n, mult, k1, weight, w, us)
        else:
            _merge_blocks_units(<uint16_t*>dp, <int64_t*>tp, n, mult, k1, weight, w, us)
    else:
        if tk == cnp.NPY_UINT8:
            _merge_blocks_units(<int32_t*>dp, <uint8_t*>tp, n, mult, k1, weight, w, us)
        elif tk == cnp.NPY_UINT16:
            _merge_blocks_units(<int32_t*>dp, <uint16_t*>tp, n, mult, k1, weight, w, us)
        elif tk == cnp.NPY_UINT32:
            _merge_blocks_units(<int32_t*>dp, <uint32_t*>tp, n, mult, k1, weight, w, us)
        else:
            _merge_blocks_units(<int32_t*>dp, <int64_t*>tp, n, mult, k1, weight, w, us)


cdef void _dispatch(
    cnp.ndarray docs, cnp.ndarray tfs, const float* mult, int mode, float k1, float weight,
    Walk* w, Other* o=NULL,
):
    cdef Py_ssize_t n = cnp.PyArray_DIM(docs, 0)
    cdef void* dp = cnp.PyArray_DATA(docs)
    cdef void* tp = cnp.PyArray_DATA(tfs)
    cdef int tk = cnp.PyArray_TYPE(tfs)
    if cnp.PyArray_TYPE(docs) == cnp.NPY_UINT16:
        if tk == cnp.NPY_UINT8:
            _walk(<uint16_t*>dp, <uint8_t*>tp, n, mult, mode, k1, weight, w, o)
        elif tk == cnp.NPY_UINT16:
            _walk(<uint16_t*>dp, <uint16_t*>tp, n, mult, mode, k1, weight, w, o)
        elif tk == cnp.NPY_UINT32:
            _walk(<uint16_t*>dp, <uint32_t*>tp, n, mult, mode, k1, weight, w, o)
        else:
            _walk(<uint16_t*>dp, <int64_t*>tp, n, mult, mode, k1, weight, w, o)
    else:
        if tk == cnp.NPY_UINT8:
            _walk(<int32_t*>dp, <uint8_t*>tp, n, mult, mode, k1, weight, w, o)
        elif tk == cnp.NPY_UINT16:
            _walk(<int32_t*>dp, <uint16_t*>tp, n, mult, mode, k1, weight, w, o)
        elif tk == cnp.NPY_UINT32:
            _walk(<int32_t*>dp, <uint32_t*>tp, n, mult, mode, k1, weight, w, o)
        else:
            _walk(<int32_t*>dp, <int64_t*>tp, n, mult, mode, k1, weight, w, o)


#: Up to this many entries, :func:`_sort_few` sorts by insertion (a page's few).
DEF INSERTION_MAX = 32


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
    if w.seen == NULL:  # dense: every doc, in order
        size = _dense_best(w.acc, w.tops, w.n_scored, mask_p, w.max_doc, k, 0, heap, &count)
    else:
        for i in range(w.n_touched):
            d = w.touched[i]
            if w.acc[d] != 0 and (mask_p == NULL or mask_p[d]):
                count += 1
                item.score = <float>w.acc[d]
                item.doc = <int32_t>d
                size = _offer(heap, size, k, item)
    if size == k and k > 0:
        kth[0] = heap[0].score
    return count




cdef Py_ssize_t _dense_best(
    const double* acc, const double* tops, Py_ssize_t n_scored, const uint8_t* mask_p,
    Py_ssize_t n, Py_ssize_t k, float floor, Entry* heap, Py_ssize_t* count
) noexcept nogil:
    """The best ``k`` of docs ``0..n-1`` with a score (kept by the mask) scoring at least
    ``floor`` into ``heap`` (its size returned), and how many have a score in ``count``.
    One pass in doc order, :data:`CHUNK` docs at a time: a chunk's largest score is
    taken from ``tops`` (``Walk.tops``; the count is then ``n_scored``) or, without
    it, found and the chunk counted without a branch that is hard to predict; its
    docs are offered only when that score can enter the heap (a later doc tied with
    the heap's worst is never better, so once the heap is full only a score beating
    the worst's can; float32 rounding keeps the order of scores)."""
    cdef Py_ssize_t d, j, end, size = 0, matched = 0, c = 0, before
    cdef double a, top
    cdef float f
    cdef bint scored
    cdef Entry item
    d = 0
    while d < n:
        end = min(d + CHUNK, n)
        top = 0
        if tops != NULL:  # (scores only grow: 0 is a chunk without one)
            top = tops[c]
            c += 1
            scored = top != 0
        else:  # (0 is in ``top`` too: still a bound with scores below it)
            before = matched
            if mask_p != NULL:
                for j in range(d, end):
                    a = acc[j] if mask_p[j] else 0.0
                    matched += a != 0
                    top = a if a > top else top
            else:
                for j in range(d, end):
                    a = acc[j]
                    matched += a != 0
                    top = a if a > top else top
            scored = matched != before
        f = <float>top
        if not scored or f < floor or (size == k and f <= heap[0].score):
            d = end
            continue
        for j in range(d, end):
            a = acc[j]
            f = <float>a
            if size == k:
                if f <= heap[0].score:
                    continue
            elif a == 0:
                continue
            if f >= floor and (mask_p == NULL or mask_p[j]):
                item.score = f
                item.doc = <int32_t>j
                size = _offer(heap, size, k, item)
        d = end
    count[0] = n_scored if tops != NULL else matched
    return size


cdef bint _growing(const float* weights, const float* bonuses, Py_ssize_t n_units) noexcept nogil:
    """Whether every unit's weight and bonus is >= 0 (a doc's score only grows)."""
    cdef Py_ssize_t u
    for u in range(n_units):
        if weights[u] < 0 or bonuses[u] < 0:
            return False
    return True


cdef Py_ssize_t _candidates(
    Walk* w, const uint8_t* mask_p, double remaining, double kth, int32_t* cands,
    bint tally, Py_ssize_t* count,
) noexcept nogil:
    """MaxScore's candidates, ascending into ``cands`` (their number returned) and
    marked 2 in ``w.mark``: the docs with a score (kept by the mask) that ``remaining``
    could still lift to ``kth``. ``tally``: the docs with a score are counted into
    ``count`` too (in dense mode with ``w.tops``: ``w.n_scored``; a chunk whose bound
    cannot reach ``kth`` is not read)."""
    cdef Py_ssize_t i, d, n = 0, end, c
    cdef Py_ssize_t length = w.n_touched if w.seen != NULL else w.max_doc
    cdef const double* acc = w.acc
    cdef double a
    cdef int taken
    if w.seen == NULL and w.tops != NULL:
        if tally:  # (every doc scored was kept by the mask: the walks read no other)
            count[0] += w.n_scored
        for c in range((w.max_doc + CHUNK - 1) >> CHUNK_SHIFT):
            if (w.tops[c] + remaining) * (1 + BOUND_MARGIN) < kth:
                continue
            end = min((c + 1) << CHUNK_SHIFT, w.max_doc)
            # (no branch on a doc: in a chunk that may hold one, about as many pass
            # as not; a candidate is written at ``n`` and kept by counting it)
            for d in range(c << CHUNK_SHIFT, end):
                a = acc[d]
                taken = ((a + remaining) * (1 + BOUND_MARGIN) >= kth) & (a != 0)
                if mask_p != NULL:
                    taken = taken & (mask_p[d] != 0)
                w.mark[d] = 2 * taken
                cands[n] = <int32_t>d
                n += taken
        return n
    for i in range(length):
        d = w.touched[i] if w.seen != NULL else i
        if tally:  # (branch-free: every doc is counted)
            if mask_p == NULL:
                count[0] += acc[d] != 0
            else:
                count[0] += (acc[d] != 0) & (mask_p[d] != 0)
        # (the bound first: false for most docs, and for every doc without a score, as
        # ``remaining`` is below ``kth``)
        if (acc[d] + remaining) * (1 + BOUND_MARGIN) >= kth and (
            acc[d] != 0 and (mask_p == NULL or mask_p[d])
        ):
            w.mark[d] = 2
            cands[n] = <int32_t>d
            n += 1
    if w.seen != NULL:  # (a dense scan finds them in order)
        qsort(cands, n, sizeof(int32_t), _compare_int32)
    return n


cdef Py_ssize_t _narrow(
    Walk* w, int32_t* cands, Py_ssize_t n, Entry* heap, Py_ssize_t k, double remaining,
    float* kth,
) noexcept nogil:
    """MaxScore's candidates (ascending, ``n`` of them) after one more unit was read
    for them: ``kth`` raised to the ``k``-th best of their scores so far (a lower bound
    of the final ``k``-th: scores only grow; ``heap`` is scratch), then those that
    ``remaining`` (what the units left can add) cannot lift to it dropped (unmarked in
    ``w.mark``), in order; how many stay is returned. The bound is
    :func:`_candidates`' own."""
    cdef Py_ssize_t i, j = 0, size = 0, d
    cdef Entry item
    cdef float limit = kth[0]
    cdef const double* acc = w.acc
    for i in range(n):
        d = cands[i]
        item.score = <float>acc[d]
        if size == k and item.score <= heap[0].score:
            continue
        item.doc = <int32_t>d
        size = _offer(heap, size, k, item)
    if size == k and k > 0 and heap[0].score > limit:
        limit = kth[0] = heap[0].score
    for i in range(n):
        d = cands[i]
        if (acc[d] + remaining) * (1 + BOUND_MARGIN) >= limit:
            cands[j] = <int32_t>d
            j += 1
        else:
            w.mark[d] = 0
    return j


#: Docs of the mask read to estimate the share it keeps (:func:`_density`).
DEF DENSITY_SAMPLES = 1024


cdef double _density(const uint8_t* mask_p, Py_ssize_t max_doc) noexcept nogil:
    """About the share of the segment's docs the mask keeps (every doc of a small
    segment read, else :data:`DENSITY_SAMPLES` evenly spaced): a filter's postings are
    read but only those of kept docs scored, so it decides the per-doc bookkeeping."""
    cdef Py_ssize_t i = 0, step, kept = 0, seen = 0
    if max_doc <= 0:
        return 1
    step = max(max_doc // DENSITY_SAMPLES, 1)
    while i < max_doc:
        kept += mask_p[i] != 0
        seen += 1
        i += step
    return <double>kept / <double>seen


#: Pruned, a slice this many times longer than the candidates is searched (a binary
#: search per candidate) rather than walked.
DEF LOOKUP_RATIO = 16
#: Pruning is tried only while the postings left to read are at least this many times
#: those read (else reading them all costs less than finding the candidates).
DEF PRUNE_LEFT_RATIO = 1
#: ... and, in dense mode, while those postings times this are at least the docs of the
#: chunks holding a scored doc (the passes that find the keep-th and the candidates read
#: them: with a count held for certain, pruning may begin where few postings are left).
DEF DENSE_PRUNE_RATIO = 4
#: ... and, before ``min_total`` matches are counted (``at_least`` holding them), while
#: those postings are at least this many times the docs scored so far.
DEF HELD_PRUNE_RATIO = 8


cdef inline void _lookup_or_walk(
    Walk* w, const int32_t* cands, Py_ssize_t n_cands, Py_ssize_t length
) noexcept nogil:
    if w.only_seen and n_cands * LOOKUP_RATIO < length:
        w.cands = cands
        w.n_cands = n_cands
    else:
        w.cands = NULL


cdef void _blocks_on(Walk* w, cnp.ndarray block_x, object block_forms):
    """Walk the next slice block by block (``block_forms``: an array, or False)."""
    w.block_x = <const float*>cnp.PyArray_DATA(block_x)
    w.block_forms = NULL
    if block_forms is not False:
        w.block_forms = <const uint8_t*>cnp.PyArray_DATA(<cnp.ndarray>block_forms)


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


cdef int _check_joined(object memo) except -1:
    """That ``memo`` is a unit's joined memo (:func:`join_unit`'s three arrays)."""
    cdef Py_ssize_t n
    if not isinstance(memo, tuple) or len(memo) != 3:
        raise ValueError("a joined memo is (docs, scores, held or None)")
    for i, typenum in ((0, cnp.NPY_INT32), (1, cnp.NPY_FLOAT32), (2, cnp.NPY_UINT8)):
        array = memo[i]
        if i == 2 and array is None:
            continue
        if (
            not isinstance(array, np.ndarray)
            or cnp.PyArray_TYPE(<cnp.ndarray>array) != typenum
            or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>array)
            or cnp.PyArray_NDIM(<cnp.ndarray>array) != 1
            or cnp.PyArray_DIM(<cnp.ndarray>array, 0) != cnp.PyArray_DIM(<cnp.ndarray>memo[0], 0)
        ):
            raise ValueError("a joined memo's arrays must be int32, float32 and uint8 of one length")
    return 0


cdef inline void _joined_doc(
    Walk* w, Py_ssize_t d, float score, bint earns, double bonus
) noexcept nogil:
    """A doc of a joined memo: its saturated score, and the bonus where it earns it."""
    _touch(w, d)
    _add(w, d, <double>score)
    if earns:
        _add(w, d, bonus)


cdef void _walk_joined(
    Walk* w, tuple joined, double bonus, const int32_t* cands, Py_ssize_t n_cands
):
    """A unit's postings from its joined memo (:func:`join_unit`): per doc its
    saturated score, added as the walk of its slices adds it (and its exact-form bonus
    where a posting of the doc earns it), one read in doc order instead of each
    slice's ``tf`` and the doc's multiplier, and no per-doc ``x`` sum between slices
    (only the candidates' when pruned; found by binary search when ``w.cands`` is set)."""
    cdef cnp.ndarray docs_arr = <cnp.ndarray>joined[0]
    cdef const int32_t* docs = <const int32_t*>cnp.PyArray_DATA(docs_arr)
    cdef const float* scores = <const float*>cnp.PyArray_DATA(<cnp.ndarray>joined[1])
    cdef const uint8_t* held = NULL
    cdef Py_ssize_t n = cnp.PyArray_DIM(docs_arr, 0), i, c, at = 0
    cdef int read
    if joined[2] is not None and bonus != 0:
        held = <const uint8_t*>cnp.PyArray_DATA(<cnp.ndarray>joined[2])
    _lookup_or_walk(w, cands, n_cands, n)
    if w.cands != NULL:
        for c in range(w.n_cands):
            at = _candidate(docs, at, n, w.cands[c])
            if at >= n:
                return
            if at < 0:
                at = ~at
            else:
                _joined_doc(w, docs[at], scores[at], held != NULL and held[at], bonus)
        return
    for i in range(n):  # (every doc of the memo, as a plain walk reads its postings)
        read = _readable(w, docs[i])
        if read > 0:
            _joined_doc(w, docs[i], scores[i], held != NULL and held[i], bonus)
        elif read < 0:
            return


cdef void _walked_forms(
    Walk* w, Py_ssize_t p, list forms_arrays, uint8_t flag, float bonus
):
    """The bonus of the unit whose slice ``p`` is walked by blocks (its flag, and that
    slice's form flags), where it has one."""
    w.forms = NULL
    if bonus != 0 and flag != 0:
        w.flag, w.bonus = flag, <double>bonus
        if forms_arrays[p] is not None:
            w.forms = <const uint8_t*>cnp.PyArray_DATA(<cnp.ndarray>forms_arrays[p])


cdef void _merge_lone(
    Walk* w, Py_ssize_t longest, list docs_arrays, list tfs_arrays, list mult_arrays,
    list forms_arrays, uint8_t flag, float bonus, float k1, float weight, const float* other_xs,
    const float* joined, const uint16_t* in_walked,
):
    """Set up and run :func:`_merge_blocks` for a lone unit's slices (one or two; the
    other's ``x`` per posting in ``other_xs`` where the caller made it, else NULL)."""
    cdef Other o
    memset(&o, 0, sizeof(Other))
    _walked_forms(w, longest, forms_arrays, flag, bonus)
    if len(docs_arrays) == 2:
        _cursor(&o, 1 - longest, docs_arrays, tfs_arrays, mult_arrays, forms_arrays,
                bonus != 0 and flag != 0)
        o.xs = other_xs
        if other_xs != NULL:
            o.joined, o.in_walked = joined, in_walked
    _dispatch(
        <cnp.ndarray>docs_arrays[longest], <cnp.ndarray>tfs_arrays[longest],
        <const float*>cnp.PyArray_DATA(<cnp.ndarray>mult_arrays[longest]), SCORE, k1, weight,
        w, &o,
    )


cdef int _merge_units_blocks(
    Walk* w, Py_ssize_t longest, list docs_arrays, list tfs_arrays, list mult_arrays,
    list forms_arrays, const int32_t* owners, const float* weights,
    const uint8_t* flags, const float* bonuses, float k1,
) except -1:
    """Set up and run :func:`_merge_blocks_units`: the first unit's slice ``longest``
    walked by blocks, every other slice a cursor beside it."""
    cdef Py_ssize_t n = len(docs_arrays), p, c = 0, u
    cdef Units us
    us.cursors = <Other*>calloc(n, sizeof(Other))
    if us.cursors == NULL:
        raise MemoryError()
    try:
        for p in range(n):
            if p == longest:
                continue
            u = owners[p]
            _cursor(&us.cursors[c], p, docs_arrays, tfs_arrays, mult_arrays, forms_arrays,
                    bonuses[u] != 0 and flags[u] != 0)
            us.cursors[c].unit = u
            _start(&us.cursors[c], w)
            c += 1
        us.n = c
        us.weights, us.flags, us.bonuses = weights, flags, bonuses
        _walked_forms(w, longest, forms_arrays, flags[0], bonuses[0])
        if not w.bad:
            _dispatch_units(
                <cnp.ndarray>docs_arrays[longest], <cnp.ndarray>tfs_arrays[longest],
                <const float*>cnp.PyArray_DATA(<cnp.ndarray>mult_arrays[longest]), k1,
                weights[0], w, &us,
            )
    finally:
        free(us.cursors)
    return 0


#: Several units (a word and its folded spellings; a few rare words) are merged in doc
#: order (:func:`_merge_units`) when they hold at most this many slices ...
DEF MERGE_MAX_SLICES = 4
#: ... and their postings are fewer than one in this many docs of the segment ...
DEF MERGE_SPARSE_RATIO = 4
#: ... of at least this many docs (its per-doc tables then outgrow the caches and cost
#: a miss a posting: 1M synthetic, দুর্ঘটনায় in a segment of 415,501 docs, 8,833
#: postings in 4 slices, 0.22 ms of core CPU against 0.125 merged; in a segment of
#: 53,120 docs the tables stay cached and the merge was slower, as it was for 8 slices)
DEF MERGE_MIN_DOCS = 1 << 18
MERGE_MIN_DOCS_ = MERGE_MIN_DOCS  # (for the tests, which must reach the merge)


cdef inline void _start(Other* c, Walk* w) noexcept nogil:
    """Cursor ``c`` (set up by :func:`_cursor`) at its first posting, its doc checked
    (:func:`_advance`)."""
    c.at = -1
    _advance(c, w)


cdef inline void _advance(Other* c, Walk* w) noexcept nogil:
    """The cursor's next posting (a doc outside the segment sets ``w.bad``)."""
    c.at += 1
    if c.at < c.n:
        c.doc = _doc_at(c.docs, c.doc_kind, c.at)
        if c.doc < 0 or c.doc >= w.max_doc:
            w.bad = 1
            c.doc = w.max_doc
    else:
        c.doc = w.max_doc


cdef void _merge_units(
    Other* cursors, Py_ssize_t n_cursors, const float* weights, const uint8_t* flags,
    const float* bonuses, float k1, Walk* w,
) noexcept nogil:
    """Several units' slices (``cursors``, in the order of their units) merged in doc
    order with no per-doc table: at each doc, a unit's ``x`` is its slices' float64 sum
    rounded to float32 once and saturated, its bonus added once where a slice's flags
    hold the unit's, and the doc's float64 sum of these is offered to the live page
    (:func:`_offer_score`): the arithmetic of the per-doc tables, every posting read."""
    cdef Py_ssize_t c, d, u
    cdef double score, ux
    cdef bint form, held
    while True:
        d = w.max_doc
        for c in range(n_cursors):
            if cursors[c].doc < d:
                d = cursors[c].doc
        if d >= w.max_doc or w.bad:
            return
        score = 0
        u = -1
        ux = 0
        form = held = False
        for c in range(n_cursors):
            if cursors[c].unit != u:
                if held:
                    score += <double>_saturate(<float>ux, k1, weights[u])
                    if form:
                        score += <double>bonuses[u]
                u = cursors[c].unit
                ux = 0
                form = held = False
            if cursors[c].doc == d:
                held = True
                ux += <double>(
                    <float>_position_at(cursors[c].tfs, cursors[c].tf_kind, cursors[c].at)
                    * cursors[c].mult[d]
                )
                if cursors[c].forms != NULL and (
                    cursors[c].forms[cursors[c].at] & flags[u]
                ) == flags[u]:
                    form = True
                _advance(&cursors[c], w)
        if held:
            score += <double>_saturate(<float>ux, k1, weights[u])
            if form:
                score += <double>bonuses[u]
        _offer_score(w, d, score)


cdef int _merge_all(
    Walk* w, list docs_arrays, list tfs_arrays, list mult_arrays, list forms_arrays,
    const int32_t* owners, const float* weights, const uint8_t* flags,
    const float* bonuses, float k1,
) except -1:
    """Set up and run :func:`_merge_units` over every slice."""
    cdef Py_ssize_t n = len(docs_arrays), p
    cdef Other* cursors
    if n == 0:
        return 0
    cursors = <Other*>calloc(n, sizeof(Other))
    if cursors == NULL:
        raise MemoryError()
    try:
        for p in range(n):
            _cursor(&cursors[p], p, docs_arrays, tfs_arrays, mult_arrays, forms_arrays,
                    bonuses[owners[p]] != 0 and flags[owners[p]] != 0)
            cursors[p].unit = owners[p]
            _start(&cursors[p], w)
        if not w.bad:
            _merge_units(cursors, n, weights, flags, bonuses, k1, w)
    finally:
        free(cursors)
    return 0


# Docs per window of a lone unit of many slices (:func:`_windows`): its window tables
# (a float64 sum and a flag byte a doc, the docs touched) stay in the L2 cache, where
# the per-doc tables of a large segment (3.3 MB of sums at 415,501 docs) do not.
cdef Py_ssize_t _window = 1 << 14


def _set_window(Py_ssize_t size):
    """For tests (small segments must cross a window's edge) and measurements: the
    window's size from now on (>= 1); the size it had."""
    global _window
    if size < 1:
        raise ValueError("a window holds at least one doc")
    old, _window = _window, size
    return old


#: A window's flag byte per doc: touched in this window, and holds the typed form.
DEF W_TOUCHED = 1
DEF W_FORM = 2
cdef Py_ssize_t _window_add(
    const doc_t* docs, const tf_t* tfs, Py_ssize_t at, Py_ssize_t n, const float* mult,
    const uint8_t* forms, uint8_t flag, Py_ssize_t base, Py_ssize_t end, double* xw,
    uint8_t* fw, int32_t* touched, Py_ssize_t* n_touched, int* bad, float* xs, bint xs_known,
) noexcept nogil:
    """Slice postings from ``at`` whose docs lie in the window ``[base, end)``: each
    ``x`` (``tf * mult[doc]`` in float32) summed in float64 at ``xw[doc - base]``, the doc
    listed in ``touched`` when first touched, its form flag set where its posting's
    flags hold ``flag`` (``forms`` NULL: none); the next posting to read. A doc below
    ``base`` (negative, or out of order) sets ``bad``. ``xs`` (or NULL): the slice's memo
    of each posting's ``x``, read where ``xs_known``, else written."""
    cdef Py_ssize_t d, j, listed = n_touched[0]
    cdef float x
    cdef uint8_t f
    # (no branch on whether a doc is new here: its place in ``touched`` is written
    # every time and kept only when it was; whether a doc was met before is as good as
    # random, and each wrong guess cost more than the store)
    while at < n:
        d = docs[at]
        if d >= end:
            break
        if d < base:
            bad[0] = 1
            break
        j = d - base
        if xs_known:
            x = xs[at]
        else:
            x = <float>tfs[at] * mult[d]
            if xs != NULL:
                xs[at] = x
        f = fw[j]
        touched[listed] = <int32_t>j
        listed += f == 0
        if forms != NULL:
            f |= W_FORM * ((forms[at] & flag) == flag)
        fw[j] = f | W_TOUCHED
        xw[j] += <double>x
        at += 1
    n_touched[0] = listed
    return at


cdef inline Py_ssize_t _window_tfs(
    const doc_t* docs, Other* c, uint8_t flag, Py_ssize_t base, Py_ssize_t end, double* xw,
    uint8_t* fw, int32_t* touched, Py_ssize_t* n_touched, int* bad, bint known,
) noexcept nogil:
    """:func:`_window_add` on cursor ``c`` (its docs typed), by its tfs' type (its
    memo of ``x``, ``c.memo``, read where ``known``)."""
    if c.tf_kind == cnp.NPY_UINT8:
        return _window_add(docs, <const uint8_t*>c.tfs, c.at, c.n, c.mult, c.forms, flag,
                           base, end, xw, fw, touched, n_touched, bad, c.memo, known)
    if c.tf_kind == cnp.NPY_UINT16:
        return _window_add(docs, <const uint16_t*>c.tfs, c.at, c.n, c.mult, c.forms, flag,
                           base, end, xw, fw, touched, n_touched, bad, c.memo, known)
    if c.tf_kind == cnp.NPY_UINT32:
        return _window_add(docs, <const uint32_t*>c.tfs, c.at, c.n, c.mult, c.forms, flag,
                           base, end, xw, fw, touched, n_touched, bad, c.memo, known)
    return _window_add(docs, <const int64_t*>c.tfs, c.at, c.n, c.mult, c.forms, flag,
                       base, end, xw, fw, touched, n_touched, bad, c.memo, known)


cdef void _window_slice(
    Other* c, uint8_t flag, Py_ssize_t base, Py_ssize_t end, double* xw, uint8_t* fw,
    int32_t* touched, Py_ssize_t* n_touched, int* bad, bint known,
) noexcept nogil:
    """:func:`_window_add` on cursor ``c``, by its arrays' types."""
    if c.doc_kind == cnp.NPY_UINT16:
        c.at = _window_tfs(<const uint16_t*>c.docs, c, flag, base, end, xw, fw, touched,
                           n_touched, bad, known)
    else:
        c.at = _window_tfs(<const int32_t*>c.docs, c, flag, base, end, xw, fw, touched,
                           n_touched, bad, known)


cdef void _cursor(
    Other* c, Py_ssize_t p, list docs_arrays, list tfs_arrays, list mult_arrays,
    list forms_arrays, bint with_forms,
):
    """Cursor ``c`` at the first posting of slice ``p`` (its forms read ``with_forms``)."""
    cdef cnp.ndarray arr = <cnp.ndarray>docs_arrays[p]
    c.docs, c.doc_kind, c.n = cnp.PyArray_DATA(arr), cnp.PyArray_TYPE(arr), cnp.PyArray_DIM(arr, 0)
    arr = <cnp.ndarray>tfs_arrays[p]
    c.tfs, c.tf_kind = cnp.PyArray_DATA(arr), cnp.PyArray_TYPE(arr)
    c.mult = <const float*>cnp.PyArray_DATA(<cnp.ndarray>mult_arrays[p])
    c.xs = NULL
    c.joined = NULL
    c.in_walked = NULL
    c.memo = NULL
    c.forms = NULL
    if with_forms and forms_arrays[p] is not None:
        c.forms = <const uint8_t*>cnp.PyArray_DATA(<cnp.ndarray>forms_arrays[p])
    c.at = 0
    c.doc = _other_doc(c)



cdef int _windows(
    Walk* w, Tables* tables, list docs_arrays, list tfs_arrays, list mult_arrays,
    list forms_arrays, Py_ssize_t longest, uint8_t flag, float bonus, float k1, float weight,
    float* memo,
) except -1:
    """A lone unit of many slices (a prefix's expansions in title and body) for the best
    ``keep``, window by window of ``_window`` docs: every slice's postings in the
    window summed into window-sized tables (the shared ``xbuf`` and ``seen``, left zero),
    then each doc touched there scored (its ``x`` rounded to float32 once and saturated,
    plus the bonus where a posting held the typed form) and offered to the live page
    (:func:`_offer_score`). The slices are summed in the order of the per-doc tables
    (the others in order, the longest last), so every score is theirs; every posting is
    read, so the count is exact. The tables a window reads stay cached: at 1M docs the
    per-doc tables missed the cache at nearly every posting, and the collection scanned
    them whole.

    ``memo`` (or NULL): each posting's ``x``, the slices' end to end, and after them a
    float that is 1 once they are all written: written by the first call, read in
    posting order by the next instead of each doc's multiplier (at 1M the multipliers'
    loads were the largest cost of the window's adds)."""
    cdef Py_ssize_t n = len(docs_arrays), p, c, i, j, base = 0, end, size, n_touched
    cdef Py_ssize_t offset = 0
    cdef bint known = memo != NULL and memo[_postings(docs_arrays)] == 1
    cdef Other* cursors = NULL
    cdef int32_t* touched = NULL
    cdef double* xw = tables.xbuf
    cdef uint8_t* fw = tables.seen
    cdef double score
    cdef bint with_bonus = bonus != 0 and flag != 0
    size = min(_window, w.max_doc)
    cursors = <Other*>calloc(n, sizeof(Other))
    touched = <int32_t*>malloc((size + 1) * sizeof(int32_t))
    try:
        if cursors == NULL or touched == NULL:
            raise MemoryError()
        c = 0
        for p in range(n):  # the others in order, the longest last
            if p == longest:
                continue
            _cursor(&cursors[c], p, docs_arrays, tfs_arrays, mult_arrays, forms_arrays, with_bonus)
            c += 1
        _cursor(&cursors[c], longest, docs_arrays, tfs_arrays, mult_arrays, forms_arrays, with_bonus)
        if memo != NULL:  # (each slice's part of the memo, in the slices' order)
            for p in range(n):
                c = p - (p > longest) if p != longest else n - 1
                cursors[c].memo = memo + offset
                offset += cnp.PyArray_DIM(<cnp.ndarray>docs_arrays[p], 0)
        while base < w.max_doc and not w.bad:
            end = min(base + size, w.max_doc)
            n_touched = 0
            for c in range(n):
                if cursors[c].doc < end:  # (a slice without postings here costs a compare)
                    _window_slice(&cursors[c], flag, base, end, xw, fw, touched, &n_touched,
                                  &w.bad, known)
                    if w.bad:
                        return 0
                    cursors[c].doc = _other_doc(&cursors[c])
            for i in range(n_touched):
                j = touched[i]
                score = <double>_saturate(<float>xw[j], k1, weight)
                if fw[j] & W_FORM:
                    score += <double>bonus
                xw[j] = 0
                fw[j] = 0
                _offer_score(w, base + j, score)
            base = end
        for c in range(n):  # (docs at or past the segment's end)
            if cursors[c].at < cursors[c].n:
                w.bad = 1
        if memo != NULL and not w.bad:
            memo[offset] = 1  # (every posting's x written)
    finally:
        free(cursors)
        free(touched)
    return 0


cdef float* _memo_of(object xs, Py_ssize_t total) except? NULL:
    """The data of a memo of ``total`` postings' ``x`` (see :func:`score_segment`), or
    NULL for None."""
    cdef cnp.ndarray arr
    if xs is None:
        return NULL
    if not isinstance(xs, np.ndarray):
        raise ValueError("the memo of x must be a numpy array")
    arr = <cnp.ndarray>xs
    if (
        cnp.PyArray_TYPE(arr) != cnp.NPY_FLOAT32
        or cnp.PyArray_NDIM(arr) != 1
        or cnp.PyArray_DIM(arr, 0) != total + 1
        or not cnp.PyArray_IS_C_CONTIGUOUS(arr)
        or not cnp.PyArray_ISWRITEABLE(arr)
        or not cnp.PyArray_ISNOTSWAPPED(arr)
        or not cnp.PyArray_ISALIGNED(arr)
    ):
        raise ValueError(
            "the memo of x must be a writable float32 array, one more than the postings"
        )
    return <float*>cnp.PyArray_DATA(arr)


cdef Py_ssize_t _postings(list docs_arrays):
    """The postings of every slice."""
    cdef Py_ssize_t total = 0, p
    for p in range(len(docs_arrays)):
        total += cnp.PyArray_DIM(<cnp.ndarray>docs_arrays[p], 0)
    return total


cdef Py_ssize_t _longest(list docs_arrays, Py_ssize_t p, Py_ssize_t q):
    """The first of slices ``p .. q - 1`` with the most postings."""
    cdef Py_ssize_t i, longest = p
    for i in range(p + 1, q):
        if cnp.PyArray_DIM(<cnp.ndarray>docs_arrays[i], 0) > cnp.PyArray_DIM(
            <cnp.ndarray>docs_arrays[longest], 0
        ):
            longest = i
    return longest


cpdef tuple score_segment(
    list docs_parts,
    list tfs_parts,
    list mult_parts,
    list forms_parts,
    object owners_in,
    object weights_in,
    object flags_in,
    object bonuses_in,
    float k1,
    object mask,
    Py_ssize_t max_doc,
    Py_ssize_t keep=0,
    bint prune=False,
    Py_ssize_t min_total=0,
    object blocks=None,
    double floor=0,
    object xs=None,
    Py_ssize_t at_least=0,
    list joined=None,
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

    ``blocks`` (with ``keep`` and one unit): ``(slice, block_x, block_forms[, exact[,
    firsts[, positive[, other_x[, joined, in_walked]]]]]])``,
    per block of :data:`BLOCK` postings of that slice (the unit's longest) a bound on its
    postings' ``x`` (float32) and the OR of their form flags (uint8, or None): once
    ``min_total`` matches are counted, a block that cannot reach the ``keep``-th score so
    far is skipped (block-max pruning); the count is then a lower bound. ``exact``
    (float32, two per block, NaN where not known; or None) is a memo of each block's
    exact maxima for these slices, multipliers and flag: the largest ``x`` of its
    postings and the largest of those that earn the bonus (-inf: none). Where the loose
    bound cannot skip a block, its exact maxima are read and written there; a later
    call with the same memo uses them at once. Four per block (the first two as above):
    a lone unit of two slices also keeps, per block, the largest ``x`` of its other
    slice's postings in the block's doc range and the largest of those earning the
    bonus, written when the block's docs of that slice are first read; a skipped block
    whose bound with them stays below the page then passes those docs unread (their
    own bounds could not reach it either: the same pages, scores and count).
    ``firsts`` (int32 per block, or None):
    the slice's doc ids at every :data:`BLOCK`-th posting (``docs[::BLOCK]``), so that
    skipping a block reads none of its postings. ``positive`` (True, or absent): every
    posting of that slice has an ``x`` above zero (term frequencies >= 1, multipliers
    > 0), so with no ``mask`` and a unit of one or two slices each posting is a match:
    a skipped block's postings are then counted without being read, and blocks may be
    skipped from the first full page where that slice alone holds ``min_total``
    postings (the count, a lower bound, still reaches ``min_total``). ``other_x``
    (float32 per posting of a lone unit's other slice, or None): that slice's ``x``,
    ``tf * mult[doc]`` in float32 as the core computes it, read in posting order instead
    of each doc's multiplier (a word's title docs are sparse in its body's blocks: at 1M
    each such read was a cache miss, the largest cost of a heavy word's walk).
    ``joined``, ``in_walked`` (with ``other_x``; float32 and uint16 per posting of the
    other slice, or None): per posting, whether the walked slice holds its doc
    (``in_walked & JOINED_HELD_``, the walked posting's form flags in the low byte) and
    then its doc's ``x`` summed over both slices (float64, rounded to float32 once, as a
    walked block sums it): a skipped block's docs of the other slice whose bound can
    reach the page are scored from them instead of searched for in the block (whose
    postings are otherwise unread: a cache miss or more each at 1M).

    ``floor`` (with ``keep``; 0: none): the caller wants no doc scoring below it (the
    ``keep``-th best of the segments searched before: a doc below it cannot reach the
    best ``keep`` of them all). Pruning and block skipping then start from it rather
    than from this segment's own ``keep``-th (while the count allows, as above), and the
    docs returned are the best ``keep`` of those scoring at least ``floor`` (maybe
    fewer than ``keep``, maybe none).

    Several units (with ``keep``) holding at most :data:`MERGE_MAX_SLICES` slices whose
    postings are sparse in a large segment (a word and its folded spellings) are merged
    in doc order instead (:func:`_merge_units`): every posting read, the count exact, no
    pruning (``prune`` is then moot), the same scores. A lone unit of more than two
    slices (a prefix's expansions) with ``keep`` and no blocks to skip is summed window
    by window of docs (:func:`_windows`): every posting read, the count exact, the same
    scores. ``xs`` (None, or a writable float32 array of one more than the slices'
    postings, zeros when made) is then its memo of each posting's ``x``: written by the
    first such call, read by the next (the same ``x``, so the same scores).

    ``at_least`` (with ``prune``; ignored with a ``mask``): how many docs the segment is
    known to match before any posting is read (the longest slice of a unit whose every
    posting scores, say: a common word's body). Once it reaches ``min_total`` pruning
    need not count first: a query with a common word starts MaxScore after its rare
    words instead of after reading that word's whole list, and the count returned,
    pruned, is at least ``at_least`` (still a lower bound).

    ``joined`` (None, or per unit None or its memo from :func:`join_unit`, made with
    the same slices, multipliers, ``k1``, ``weights[u]`` and, where ``bonuses[u]`` is
    not 0, ``flags[u]``): where several units are scored slice by slice (neither merged
    nor walked by blocks), a unit with a memo is read from it (the same scores).
    """
    cdef Py_ssize_t n_parts = len(docs_parts)
    cdef Py_ssize_t block_slice = -1
    cdef cnp.ndarray block_x_arr, block_forms_arr, exact_arr
    cdef float* exact_p = NULL
    cdef float* other_p = NULL
    cdef cnp.ndarray firsts_arr
    cdef const int32_t* firsts_p = NULL
    cdef cnp.ndarray other_xs_arr, joined_arr, in_walked_arr
    cdef const float* other_xs_p = NULL
    cdef const float* joined_p = NULL
    cdef const uint16_t* in_walked_p = NULL
    # (the per-unit arrays read through pointers: see _unit_values)
    cdef const int32_t* owners
    cdef const float* weights
    cdef const uint8_t* flags
    cdef const float* bonuses
    cdef Py_ssize_t n_owners, n_units, n_flags, n_bonuses
    cdef object owners_kept = _unit_values(
        owners_in, cnp.NPY_INT32, b"i", b"owners", <const void**>&owners, &n_owners
    )
    cdef object weights_kept = _unit_values(
        weights_in, cnp.NPY_FLOAT32, b"f", b"weights", <const void**>&weights, &n_units
    )
    cdef object flags_kept = _unit_values(
        flags_in, cnp.NPY_UINT8, b"B", b"flags", <const void**>&flags, &n_flags
    )
    cdef object bonuses_kept = _unit_values(
        bonuses_in, cnp.NPY_FLOAT32, b"f", b"bonuses", <const void**>&bonuses, &n_bonuses
    )
    cdef Py_ssize_t total = 0, p, q, u, i, d, n_out = 0, count = 0, heap_size = 0, reach
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
    cdef Py_ssize_t need = min_total  # (the matches MaxScore must count before it prunes)
    cdef bint pruned = False, by_floor = False
    cdef bint failed = False
    cdef bint merging = False, merging_units = False, skipping = True, count_skipped = False
    cdef bint merging_blocks = False
    cdef bint windowed = False
    cdef Tables tables
    cdef int32_t first_tag
    # (plain arrays written through pointers: typed buffers cost a buffer acquisition
    # and its checks each, two a segment)
    cdef cnp.ndarray out_docs, out_scores
    cdef int32_t* out_docs_p = NULL
    cdef float* out_scores_p = NULL
    if len(tfs_parts) != n_parts or len(mult_parts) != n_parts or len(forms_parts) != n_parts:
        raise ValueError("every slice needs docs, tfs, multipliers and forms (or None)")
    if n_owners != n_parts:
        raise ValueError("every slice needs an owner")
    if n_bonuses != n_units or n_flags != n_units:
        raise ValueError("every unit needs a weight, a flag and a bonus")
    if keep < 0 or min_total < 0 or not floor >= 0:
        raise ValueError("keep, min_total and floor must be >= 0")
    if keep == 0:
        floor = 0
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
    if at_least < 0:
        raise ValueError("at_least must be >= 0")
    if joined is not None:
        if len(joined) != n_units:
            raise ValueError("joined needs an entry (or None) for every unit")
        for u in range(n_units):
            if joined[u] is not None:
                _check_joined(joined[u])
    if prune and mask is None and at_least >= min_total:
        need = 0  # (the segment holds that many matches whatever is pruned)
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
    memset(&w, 0, sizeof(Walk))
    w.mask = mask_p
    reach = total
    if mask_p != NULL:  # the postings a walk scores: those of the docs the mask keeps
        reach = <Py_ssize_t>(<double>total * _density(mask_p, max_doc))
    if blocks is not None and keep > 0 and (
        not prune if n_units == 1 else _growing(weights, bonuses, n_units)
    ):
        block_slice = blocks[0]
        if not 0 <= block_slice < n_parts or owners[block_slice] != 0:
            raise ValueError("the blocks name no slice of the first unit")
        block_x_arr = _contiguous(blocks[1], cnp.NPY_FLOAT32)
        if cnp.PyArray_DIM(block_x_arr, 0) != (
            cnp.PyArray_DIM(<cnp.ndarray>docs_arrays[block_slice], 0) + BLOCK - 1
        ) // BLOCK:
            raise ValueError("block bounds do not match the slice's postings")
        w.n_blocks = cnp.PyArray_DIM(block_x_arr, 0)
        longest = cnp.PyArray_DIM(<cnp.ndarray>docs_arrays[block_slice], 0)
        if blocks[2] is not None:
            block_forms_arr = _contiguous(blocks[2], cnp.NPY_UINT8)
            if cnp.PyArray_DIM(block_forms_arr, 0) != w.n_blocks:
                raise ValueError("block flags do not match the slice's postings")
        if len(blocks) > 3 and blocks[3] is not None:  # (written here: no copy may stand in)
            exact_arr = blocks[3]
            if (
                not isinstance(exact_arr, np.ndarray)
                or cnp.PyArray_TYPE(exact_arr) != cnp.NPY_FLOAT32
                or not cnp.PyArray_IS_C_CONTIGUOUS(exact_arr)
                or not cnp.PyArray_ISWRITEABLE(exact_arr)
                or not cnp.PyArray_ISNOTSWAPPED(exact_arr)
                or not cnp.PyArray_ISALIGNED(exact_arr)
                or cnp.PyArray_DIM(exact_arr, 0) not in (2 * w.n_blocks, 4 * w.n_blocks)
                or cnp.PyArray_NDIM(exact_arr) != 1
            ):
                raise ValueError(
                    "the exact block maxima must be a writable float32 array, two or four per block"
                )
            exact_p = <float*>cnp.PyArray_DATA(exact_arr)
            if cnp.PyArray_DIM(exact_arr, 0) == 4 * w.n_blocks:  # (and the other slice's)
                other_p = exact_p + 2 * w.n_blocks
        if len(blocks) > 4 and blocks[4] is not None:
            firsts_arr = _contiguous(blocks[4], cnp.NPY_INT32)
            if cnp.PyArray_DIM(firsts_arr, 0) != w.n_blocks:
                raise ValueError("block first docs do not match the slice's postings")
            firsts_p = <const int32_t*>cnp.PyArray_DATA(firsts_arr)
        if len(blocks) > 6 and blocks[6] is not None and n_parts == 2:
            other_xs_arr = _contiguous(blocks[6], cnp.NPY_FLOAT32)
            if cnp.PyArray_DIM(other_xs_arr, 0) != cnp.PyArray_DIM(
                <cnp.ndarray>docs_arrays[1 - block_slice], 0
            ):
                raise ValueError("the other slice's x do not match its postings")
            other_xs_p = <const float*>cnp.PyArray_DATA(other_xs_arr)
            if len(blocks) > 8 and blocks[7] is not None:
                joined_arr = _contiguous(blocks[7], cnp.NPY_FLOAT32)
                in_walked_arr = _contiguous(blocks[8], cnp.NPY_UINT16)
                if cnp.PyArray_DIM(joined_arr, 0) != cnp.PyArray_DIM(
                    other_xs_arr, 0
                ) or cnp.PyArray_DIM(in_walked_arr, 0) != cnp.PyArray_DIM(other_xs_arr, 0):
                    raise ValueError("the other slice's joined x do not match its postings")
                joined_p = <const float*>cnp.PyArray_DATA(joined_arr)
                in_walked_p = <const uint16_t*>cnp.PyArray_DATA(in_walked_arr)
        # every posting of the slice scores (``positive``: its x is > 0) and no mask drops
        # one: a skipped block's postings are counted unread, so blocks may be skipped
        # from the first full page when the slice alone holds ``min_total`` postings
        count_skipped = (
            len(blocks) > 5 and blocks[5] is True and mask_p == NULL and weights[0] > 0
            and longest >= min_total
        )
        if weights[0] < 0 or bonuses[0] < 0 or total <= min_total:
            block_slice = -1  # (bounds need scores that only grow; too few to skip any)
        elif (total - longest) * OTHERS_RATIO > longest:
            # the other slices must be summed and sorted first: worth it only when they
            # are short beside this one (a word's title beside its body, not a prefix's
            # many expansions)
            block_slice = -1
    # a lone unit of one or two slices (a word in title and body) for the best ``keep``:
    # merged in doc order without the per-doc tables (_merge_blocks), by blocks if given
    merging = (
        n_units == 1 and 1 <= n_parts <= 2 and keep > 0 and not prune and weights[0] >= 0
        and bonuses[0] >= 0
    )
    # several units, the first's longest slice walked by blocks and the others (short
    # beside it: a word's folded spellings) merged beside it (_merge_blocks_units)
    merging_blocks = n_units >= 2 and block_slice >= 0
    # several units of a few sparse slices (a word and its folded spellings): merged in
    # doc order, every posting read (the count exact), no per-doc tables (_merge_units)
    merging_units = (
        not merging_blocks and n_units >= 2 and keep > 0 and n_parts <= MERGE_MAX_SLICES
        and total * MERGE_SPARSE_RATIO < max_doc and max_doc >= MERGE_MIN_DOCS
    )
    if merging_units:
        block_slice = -1
    # a lone unit of many slices (a prefix's expansions in title and body) for the best
    # ``keep``, no block to skip: window by window, in cached tables (_windows)
    windowed = n_units == 1 and n_parts > 2 and keep > 0 and block_slice < 0
    if windowed:
        longest = _longest(docs_arrays, 0, n_parts)
    if merging and block_slice < 0:  # (no blocks: the longest is walked, never skipped)
        block_slice = _longest(docs_arrays, 0, n_parts)
        skipping = False
    _take(&tables, max_doc, n_units)
    w.acc = tables.acc
    w.xbuf = tables.xbuf
    w.max_doc = max_doc
    first_tag = tables.first_tag
    try:
        w.mark = tables.seen
        if not merging and not merging_blocks and not merging_units and not windowed and (
            reach * (LONE_SPARSE_RATIO if n_units == 1 and n_parts <= 2 else SPARSE_RATIO) < max_doc
            or block_slice >= 0
        ):  # a list of the docs touched
            w.touched = <int32_t*>malloc((min(total, max_doc) + 1) * sizeof(int32_t))
            w.seen = tables.seen
            if w.touched == NULL:
                raise MemoryError()
        elif (
            not merging and not merging_blocks and not merging_units and not windowed
            and keep > 0 and _growing(weights, bonuses, n_units)
        ):
            # dense, the best ``keep``: chunk bounds let its passes skip most docs
            w.tops = <double*>calloc((max_doc >> CHUNK_SHIFT) + 1, sizeof(double))
            if w.tops == NULL:
                raise MemoryError()
        if keep > 0:
            heap = <Entry*>malloc(keep * sizeof(Entry))
            if heap == NULL:
                raise MemoryError()
        if block_slice >= 0 or merging_units or windowed:
            w.live = <Entry*>malloc(keep * sizeof(Entry))
            if w.live == NULL:
                raise MemoryError()
            w.keep, w.min_total, w.mask = keep, min_total, mask_p
            if skipping and not windowed:
                w.exact = exact_p
                w.firsts = firsts_p
                if merging and n_parts == 2:  # (a word's title beside its body)
                    w.other = other_p
                if count_skipped and (merging or merging_blocks):
                    w.count_skipped = True
                    w.min_total = 0
        w.floor = floor
        if merging or merging_blocks or merging_units or windowed:  # no per-doc tables, no collection pass
            if merging_blocks:
                _blocks_on(&w, block_x_arr, blocks[2] is not None and block_forms_arr)
                _merge_units_blocks(&w, block_slice, docs_arrays, tfs_arrays, mult_arrays,
                                    forms_arrays, owners, weights, flags, bonuses, k1)
            elif merging_units:
                w.keep, w.mask = keep, mask_p
                _merge_all(&w, docs_arrays, tfs_arrays, mult_arrays, forms_arrays, owners,
                           weights, flags, bonuses, k1)
            elif windowed:
                _windows(&w, &tables, docs_arrays, tfs_arrays, mult_arrays, forms_arrays,
                         longest, flags[0], bonuses[0], k1, weights[0], _memo_of(xs, total))
            else:  # one or two slices by blocks (_merge_blocks)
                if skipping:
                    _blocks_on(&w, block_x_arr, blocks[2] is not None and block_forms_arr)
                _merge_lone(&w, block_slice, docs_arrays, tfs_arrays, mult_arrays, forms_arrays,
                            flags[0], bonuses[0], k1, weights[0],
                            other_xs_p if skipping and n_parts == 2 else NULL, joined_p,
                            in_walked_p)
            if w.bad:
                raise _out_of_range()
            count = w.live_count
            for i in range(w.live_size):
                if w.live[i].score >= floor:
                    heap[heap_size] = w.live[i]
                    heap_size += 1
        else:
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
                if joined is not None and joined[u] is not None and block_slice < 0:
                    _walk_joined(&w, <tuple>joined[u], <double>bonuses[u] if flags[u] != 0 else 0,
                                 cands, n_cands)
                elif q == p + 1:
                    if p == block_slice:
                        _blocks_on(&w, block_x_arr, blocks[2] is not None and block_forms_arr)
                    _slice(&w, p, docs_arrays, tfs_arrays, mult_arrays, forms_arrays, SCORE,
                           k1, weights[u], cands, n_cands)
                    w.block_x = NULL
                else:  # several slices: x summed per doc first (BM25F), then saturated
                    if w.xdocs == NULL:
                        w.xdocs = <int32_t*>malloc((min(total, max_doc) + 1) * sizeof(int32_t))
                        if w.xdocs == NULL:
                            raise MemoryError()
                    w.n_x = 0
                    longest = _longest(docs_arrays, p, q)
                    for i in range(p, q):
                        if i != longest:
                            _slice(&w, i, docs_arrays, tfs_arrays, mult_arrays, forms_arrays,
                                   ADD_X, k1, weights[u], cands, n_cands)
                    if longest == block_slice:  # (its bounds read the other slices' docs in order)
                        if not _ascending(w.xdocs, w.n_x):  # (one other slice: they are)
                            qsort(w.xdocs, w.n_x, sizeof(int32_t), _compare_int32)
                        _blocks_on(&w, block_x_arr, blocks[2] is not None and block_forms_arr)
                    _slice(&w, longest, docs_arrays, tfs_arrays, mult_arrays, forms_arrays,
                           FINISH, k1, weights[u], cands, n_cands)
                    w.block_x = NULL
                    for i in range(w.n_x):  # the docs the longest slice lacks
                        d = w.xdocs[i]
                        if w.xbuf[d] != 0:
                            x = <float>w.xbuf[d]
                            w.xbuf[d] = 0
                            _touch(&w, d)
                            _add(&w, d, <double>_saturate(x, k1, weights[u]))
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
                    # (with a floor the threshold is at least the floor, even before
                    # ``keep`` docs match here)
                    if (
                        p < n_parts
                        and remaining * (1 + BOUND_MARGIN) < max(
                            min(reached, kth_cap) if could_match >= keep else 0, floor
                        )
                        and could_match >= need
                        # (before the count is reached, where ``at_least`` stands in for
                        # it: only while the postings left are many beside the docs
                        # scored, the candidates' most; else pruning reads as much)
                        and (
                            could_match >= min_total
                            or (total - read) >= HELD_PRUNE_RATIO * (
                                w.n_scored if w.seen == NULL else w.n_touched
                            )
                        )
                        # finding the keep-th costs a pass over the docs touched: worth it
                        # only while much more is left to read than has been
                        and (total - read) >= PRUNE_LEFT_RATIO * read
                        # in dense mode those passes read every chunk a scored doc lies
                        # in: worth it only while the postings left are many beside them
                        and (
                            w.tops == NULL
                            or (total - read) * DENSE_PRUNE_RATIO
                            >= min(w.n_scored * CHUNK, max_doc)
                        )
                    ):
                        kth = 0
                        # no count to reach first and the floor alone lets no untouched
                        # doc in: this segment's keep-th (a pass over the docs touched) is
                        # not needed, and the candidates' scan below counts the matches
                        by_floor = need == 0 and remaining * (1 + BOUND_MARGIN) < <float>floor
                        if by_floor:
                            count = 0
                        else:
                            count = _kth_best(&w, mask_p, keep, heap, &kth)
                            could_match = count
                            if count >= keep:
                                kth_cap = kth
                            else:
                                kth = 0
                        if floor > kth:
                            kth = <float>floor
                        if count >= need and remaining * (1 + BOUND_MARGIN) < kth:
                            # MaxScore: no doc not touched yet can reach the best ``keep``,
                            # nor can a touched one whose score and ``remaining`` stay
                            # below the keep-th so far: the rest only read the others
                            pruned = True
                            w.only_seen = True
                            n_out = w.n_touched if w.seen != NULL else max_doc
                            cands = <int32_t*>malloc((n_out + 1) * sizeof(int32_t))
                            if cands == NULL:
                                raise MemoryError()
                            n_cands = _candidates(&w, mask_p, remaining, kth, cands, by_floor, &count)
                            counted = count
                            if need == 0 and mask_p == NULL and at_least > counted:
                                counted = at_least
                elif pruned and p < n_parts:
                    # the units left can add less now, and the keep-th best of the
                    # candidates (whose scores only grow) may have risen: those that can
                    # no longer reach it leave, so the later units read fewer
                    remaining -= <double>weights[u] + <double>bonuses[u]
                    n_cands = _narrow(&w, cands, n_cands, heap, keep, remaining, &kth)
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
                out_docs = _empty(count, cnp.NPY_INT32)
                out_scores = _empty(count, cnp.NPY_FLOAT32)
                out_docs_p = <int32_t*>cnp.PyArray_DATA(out_docs)
                out_scores_p = <float*>cnp.PyArray_DATA(out_scores)
            heap_size = 0
            if pruned:  # the matches were counted when pruning began; the best are candidates
                count = counted
                for i in range(n_cands):
                    d = cands[i]
                    item.score = <float>w.acc[d]
                    item.doc = <int32_t>d
                    if item.score >= floor:
                        heap_size = _offer(heap, heap_size, keep, item)
                    w.mark[d] = 0
            else:
                count = 0
            if w.seen == NULL and keep > 0:  # dense: one pass in order, then the table zeroed
                if not pruned:
                    heap_size = _dense_best(
                        w.acc, w.tops, w.n_scored, mask_p, max_doc, keep, <float>floor, heap,
                        &count,
                    )
                memset(w.acc, 0, max_doc * sizeof(double))
                n_out = 0
            for i in range(n_out):
                d = w.touched[i] if w.seen != NULL else i
                if w.acc[d] != 0:
                    if not pruned and (mask_p == NULL or mask_p[d]):
                        if keep == 0:
                            out_docs_p[count] = <int32_t>d
                            out_scores_p[count] = <float>w.acc[d]
                        else:
                            item.score = <float>w.acc[d]
                            item.doc = <int32_t>d
                            if item.score >= floor:
                                heap_size = _offer(heap, heap_size, keep, item)
                        count += 1
                    w.acc[d] = 0
                if w.seen != NULL:
                    w.seen[d] = 0
        if keep > 0:
            _sort_few(heap, heap_size)
            out_docs = _empty(heap_size, cnp.NPY_INT32)
            out_scores = _empty(heap_size, cnp.NPY_FLOAT32)
            out_docs_p = <int32_t*>cnp.PyArray_DATA(out_docs)
            out_scores_p = <float*>cnp.PyArray_DATA(out_scores)
            for i in range(heap_size):
                out_docs_p[i] = heap[i].doc
                out_scores_p[i] = heap[i].score
    except BaseException:
        failed = True
        raise
    finally:
        _give(&tables, failed)
        free(w.xdocs)
        free(w.touched)
        free(heap)
        free(cands)
        free(w.live)
        free(w.tops)
    return out_docs, out_scores, count, pruned or w.skipped


def score_segments(
    list calls, object masks, list max_docs, Py_ssize_t keep, object track_total,
    bint skip_blocks,
):
    """:func:`score_segment` over every segment of a snapshot in one call: per segment
    the docs and scores it returns, every segment's count summed, and whether the count
    is exact (no segment pruned or skipped a block).

    ``calls[s]`` is ``(arrays, prune, blocks[, xs[, at_least[, joined]]]])``: the
    arguments of segment ``s`` before the mask (slices, multipliers, forms, owners,
    weights, flags, bonuses, k1), whether it may prune, its block bounds (used with
    ``skip_blocks``), a memo of its postings' ``x`` (:func:`score_segment`'s ``xs``),
    the matches it holds for certain (``at_least``) and its units' joined memos
    (``joined``); ``masks`` is None or
    one mask (or None) per segment; ``max_docs[s]`` its size. With ``track_total`` (not
    None) a segment must count ``track_total`` less the matches of the segments before
    it, and the ``keep``-th best score of the segments before it is its floor (a doc
    below it cannot be among the best ``keep`` of them all): the same calls, counts and
    floors as one :func:`score_segment` call a segment (the per-call checks of the
    per-unit arrays, shared by every segment, made once).
    """
    cdef Py_ssize_t n = len(calls), s, i, total = 0, size = 0, count, tracked = 0
    cdef Py_ssize_t fill = 0
    cdef Entry* best = NULL  # (the best ``keep`` scores so far: :func:`_offer`'s heap)
    cdef Entry item
    cdef bint exact = True
    cdef double floor = 0
    cdef list result = []
    cdef tuple call, arrays, found
    cdef cnp.ndarray scores
    cdef const float* sp
    if len(max_docs) != n or (masks is not None and len(masks) != n):
        raise ValueError("every segment needs a size (and a mask, or None)")
    if track_total is not None:
        tracked = track_total
        if n > 1 and keep > 0:
            fill = keep
            best = <Entry*>malloc(fill * sizeof(Entry))
            if best == NULL:
                raise MemoryError()
    try:
        for s in range(n):
            call = calls[s]
            arrays = call[0]
            if len(arrays) != 9:
                raise ValueError("a segment's call needs nine arrays and figures")
            found = score_segment(
                arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5], arrays[6],
                arrays[7],
                arrays[8], None if masks is None else masks[s], max_docs[s], keep, call[1],
                max(tracked - total, 0), call[2] if skip_blocks else None, floor,
                call[3] if len(call) > 3 else None, call[4] if len(call) > 4 else 0,
                call[5] if len(call) > 5 else None,
            )
            count = found[2]
            total += count
            exact = exact and not found[3]
            result.append((found[0], found[1]))
            if fill and s + 1 < n:  # the floor of the next segment
                scores = <cnp.ndarray>found[1]
                sp = <const float*>cnp.PyArray_DATA(scores)
                item.doc = 0  # (scores only: the heap's root is the smallest kept)
                for i in range(cnp.PyArray_DIM(scores, 0)):
                    item.score = sp[i]
                    size = _offer(best, size, fill, item)
                if size == fill:
                    floor = <double>best[0].score
    finally:
        free(best)
    return result, total, exact


cdef struct Ranked:
    float score
    int32_t ordinal
    int32_t doc
    int32_t at  # (its place in the segments' matches laid end to end)


cdef inline int _rank_order(const Ranked* x, const Ranked* y) noexcept nogil:
    """Rank order: higher score first, then lower segment ordinal, then lower doc."""
    if x.score != y.score:
        return -1 if x.score > y.score else 1
    if x.ordinal != y.ordinal:
        return -1 if x.ordinal < y.ordinal else 1
    return (x.doc > y.doc) - (x.doc < y.doc)


cdef int _compare_ranked(const void* a, const void* b) noexcept nogil:
    return _rank_order(<const Ranked*>a, <const Ranked*>b)


cdef list _ranked_arrays(list matched, bint any_docs):
    """Per segment of ``matched``, its docs (int32) and its scores (float32) laid end to
    end in one list, or None where a segment's scores are not float32 or (without
    ``any_docs``, which converts docs of every type) its docs neither int32 nor uint16."""
    cdef list arrays = []
    cdef cnp.ndarray docs, scores
    cdef tuple pair
    cdef int kind
    for pair in matched:
        docs = _contiguous(pair[0], -1)
        scores = _contiguous(pair[1], -1)
        if cnp.PyArray_TYPE(scores) != cnp.NPY_FLOAT32:
            return None
        kind = cnp.PyArray_TYPE(docs)
        if kind != cnp.NPY_INT32:
            if not any_docs and kind != cnp.NPY_UINT16:
                return None
            docs = _contiguous(docs, cnp.NPY_INT32)
        if cnp.PyArray_DIM(docs, 0) != cnp.PyArray_DIM(scores, 0):
            raise ValueError("a segment's docs and scores differ in length")
        arrays.append(docs)
        arrays.append(scores)
    return arrays


cdef Ranked* _ranked(list arrays, list picks, Py_ssize_t n, bint ordered) except NULL:
    """The ``n`` matches of :func:`_ranked_arrays`' ``arrays`` (with ``picks``, per
    segment its indices into them: those only) as entries (``at``: the place in their
    concatenation), in rank order when ``ordered``: a new array of at least one entry,
    freed by the caller. The one gathering and sort of :func:`best_few` and
    :func:`best_indices`."""
    cdef Ranked* entries = <Ranked*>malloc((n if n > 0 else 1) * sizeof(Ranked))
    cdef Py_ssize_t s, i, size, count, place, j = 0
    cdef const int32_t* docs
    cdef const float* scores
    cdef const cnp.npy_intp* chosen = NULL
    if entries == NULL:
        raise MemoryError()
    for s in range(len(arrays) // 2):
        size = cnp.PyArray_DIM(<cnp.ndarray>arrays[2 * s], 0)
        docs = <const int32_t*>cnp.PyArray_DATA(<cnp.ndarray>arrays[2 * s])
        scores = <const float*>cnp.PyArray_DATA(<cnp.ndarray>arrays[2 * s + 1])
        count = size
        if picks is not None:
            chosen = <const cnp.npy_intp*>cnp.PyArray_DATA(<cnp.ndarray>picks[s])
            count = cnp.PyArray_DIM(<cnp.ndarray>picks[s], 0)
        for i in range(count):
            place = i if picks is None else chosen[i]
            if place < 0 or place >= size or j >= n:
                free(entries)
                raise IndexError("a chosen index outside its segment's matches")
            entries[j].score = scores[place]
            entries[j].ordinal = <int32_t>s
            entries[j].doc = docs[place]
            entries[j].at = <int32_t>j
            j += 1
    if ordered:
        _sort_few(entries, n)
    return entries


ctypedef fused sorted_t:
    Entry   # sorted by doc (each doc once)
    Ranked  # sorted in rank order (:func:`_rank_order`)


cdef inline bint _goes_after(const sorted_t* x, const sorted_t* y) noexcept nogil:
    if sorted_t is Entry:
        return x.doc > y.doc
    else:
        return _rank_order(x, y) > 0


cdef void _sort_few(sorted_t* entries, Py_ssize_t n) noexcept nogil:
    """``entries`` in their order (a heap's docs ascending; matches in rank order): by
    insertion for a page's few (qsort's calls through a compare pointer cost more there:
    they were 1% of a kept one-word ids query's instructions at 100k, in
    :func:`best_few`), else qsort. One sort for both entry types."""
    cdef Py_ssize_t i, j
    cdef sorted_t item
    if n > INSERTION_MAX:
        if sorted_t is Entry:
            qsort(entries, n, sizeof(Entry), _compare_entry_doc)
        else:
            qsort(entries, n, sizeof(Ranked), _compare_ranked)
        return
    for i in range(1, n):
        item = entries[i]
        j = i
        while j > 0 and _goes_after(&entries[j - 1], &item):
            entries[j] = entries[j - 1]
            j -= 1
        entries[j] = item


cdef Py_ssize_t _gallop(const void* docs, int kind, Py_ssize_t lo, Py_ssize_t n, Py_ssize_t d) noexcept nogil:
    """The first index from ``lo`` whose doc is >= ``d`` (``n`` if none), by steps that
    double from ``lo`` then halving (the docs ascending)."""
    cdef Py_ssize_t hi = lo, step = 1, mid
    while hi < n and _doc_at(docs, kind, hi) < d:
        lo = hi + 1
        hi += step
        step <<= 1
    if hi > n:
        hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if _doc_at(docs, kind, mid) < d:
            lo = mid + 1
        else:
            hi = mid
    return lo


def join_unit(
    list docs_parts, list tfs_parts, list mult_parts, list forms_parts, int flag,
    float k1, float weight, Py_ssize_t max_doc,
):
    """One unit's slices in one segment joined into its memo for :func:`score_segment`'s
    ``joined``: the docs any slice holds (ascending, int32), per doc its saturated score
    (float32: the ``x`` of its postings, ``tf * mult[doc]`` in float32 each, summed in
    float64 and rounded once, then saturated with ``k1`` and ``weight``: what a walk of
    the slices adds) and, with ``flag`` (non-zero: the unit has a bonus), whether a
    posting of the doc holds every flag of ``flag`` in its slice's form flags (uint8;
    else None). The slices are merged two at a time, in order (no per-doc table)."""
    cdef Py_ssize_t n_parts = len(docs_parts), p, i, j, k, n_a = 0, n_b
    cdef int32_t* a_docs = NULL
    cdef double* a_x = NULL
    cdef uint8_t* a_held = NULL
    cdef int32_t* b_docs = NULL
    cdef double* b_x = NULL
    cdef uint8_t* b_held = NULL
    cdef cnp.ndarray docs, tfs, mult, forms_arr, out_docs, out_scores, out_held
    cdef const void* dp
    cdef const void* tp
    cdef const float* mp
    cdef const uint8_t* fp
    cdef int dk, tk
    cdef Py_ssize_t d, bad = 0
    cdef float x
    cdef uint8_t h
    cdef object held_result = None
    if len(tfs_parts) != n_parts or len(mult_parts) != n_parts or len(forms_parts) != n_parts:
        raise ValueError("every slice needs docs, tfs, multipliers and forms (or None)")
    try:
        for p in range(n_parts):
            docs = _docs_array(docs_parts[p])
            tfs = _tfs_array(tfs_parts[p])
            mult = _contiguous(mult_parts[p], cnp.NPY_FLOAT32)
            n_b = cnp.PyArray_DIM(docs, 0)
            if cnp.PyArray_DIM(tfs, 0) != n_b:
                raise ValueError("a slice's docs and tfs differ in length")
            if cnp.PyArray_DIM(mult, 0) < max_doc:
                raise ValueError("a multiplier array is shorter than the segment")
            fp = NULL
            if flag != 0 and forms_parts[p] is not None:
                forms_arr = _contiguous(forms_parts[p], cnp.NPY_UINT8)
                if cnp.PyArray_DIM(forms_arr, 0) != n_b:
                    raise ValueError("a slice's docs and forms differ in length")
                fp = <const uint8_t*>cnp.PyArray_DATA(forms_arr)
            dp = cnp.PyArray_DATA(docs)
            tp = cnp.PyArray_DATA(tfs)
            mp = <const float*>cnp.PyArray_DATA(mult)
            dk = cnp.PyArray_TYPE(docs)
            tk = cnp.PyArray_TYPE(tfs)
            b_docs = <int32_t*>malloc((n_a + n_b + 1) * sizeof(int32_t))
            b_x = <double*>malloc((n_a + n_b + 1) * sizeof(double))
            b_held = <uint8_t*>malloc(n_a + n_b + 1)
            if b_docs == NULL or b_x == NULL or b_held == NULL:
                raise MemoryError()
            with nogil:
                i = j = k = 0
                while j < n_b:
                    d = _doc_at(dp, dk, j)
                    if d < 0 or d >= max_doc or (j and d <= _doc_at(dp, dk, j - 1)):
                        bad = 1
                        break
                    while i < n_a and a_docs[i] < d:
                        b_docs[k], b_x[k], b_held[k] = a_docs[i], a_x[i], a_held[i]
                        i += 1
                        k += 1
                    x = <float>_position_at(tp, tk, j) * mp[d]  # (the walk's own product; any tf width)
                    h = fp != NULL and (fp[j] & flag) == flag
                    if i < n_a and a_docs[i] == d:
                        b_docs[k], b_x[k], b_held[k] = <int32_t>d, a_x[i] + <double>x, a_held[i] | h
                        i += 1
                    else:
                        b_docs[k], b_x[k], b_held[k] = <int32_t>d, <double>x, h
                    k += 1
                    j += 1
                while i < n_a:
                    b_docs[k], b_x[k], b_held[k] = a_docs[i], a_x[i], a_held[i]
                    i += 1
                    k += 1
            if bad:
                raise ValueError("a slice's docs must ascend within the segment")
            free(a_docs)
            free(a_x)
            free(a_held)
            a_docs, a_x, a_held, n_a = b_docs, b_x, b_held, k
            b_docs = b_x = b_held = NULL
        out_docs = _empty(n_a, cnp.NPY_INT32)
        out_scores = _empty(n_a, cnp.NPY_FLOAT32)
        if n_a:
            memcpy(cnp.PyArray_DATA(out_docs), a_docs, n_a * sizeof(int32_t))
        for i in range(n_a):
            (<float*>cnp.PyArray_DATA(out_scores))[i] = _saturate(<float>a_x[i], k1, weight)
        if flag != 0:
            out_held = _empty(n_a, cnp.NPY_UINT8)
            if n_a:
                memcpy(cnp.PyArray_DATA(out_held), a_held, n_a)
            held_result = out_held
    finally:
        free(a_docs)
        free(a_x)
        free(a_held)
        free(b_docs)
        free(b_x)
        free(b_held)
    return out_docs, out_scores, held_result


def join_other(
    object docs, object tfs, object mult, object walked_docs, object walked_tfs,
    object walked_mult, object walked_forms,
):
    """For a lone unit's other slice beside the slice walked by blocks (a word's title
    beside its body): per posting its ``x`` (``tf * mult[doc]`` in float32), its doc's
    ``x`` summed over both slices (float64, rounded once, as a walked block sums it)
    and whether the walked slice holds the doc, ``JOINED_HELD_`` plus that posting's
    form flags (``walked_forms``, or None: none): ``score_segment``'s ``other_x``,
    ``joined`` and ``in_walked``. None where a doc lies outside the multipliers (the
    search then finds and reports it). The docs of each slice ascending."""
    cdef cnp.ndarray d_arr = _docs_array(docs), t_arr = _tfs_array(tfs)
    cdef cnp.ndarray wd_arr = _docs_array(walked_docs), wt_arr = _tfs_array(walked_tfs)
    cdef cnp.ndarray m_arr = _contiguous(mult, cnp.NPY_FLOAT32)
    cdef cnp.ndarray wm_arr = _contiguous(walked_mult, cnp.NPY_FLOAT32)
    cdef cnp.ndarray f_arr
    cdef Py_ssize_t n = cnp.PyArray_DIM(d_arr, 0), nw = cnp.PyArray_DIM(wd_arr, 0)
    cdef Py_ssize_t size = min(cnp.PyArray_DIM(m_arr, 0), cnp.PyArray_DIM(wm_arr, 0))
    cdef Py_ssize_t i, j = 0, d
    cdef const void* dp = cnp.PyArray_DATA(d_arr)
    cdef const void* tp = cnp.PyArray_DATA(t_arr)
    cdef const void* wdp = cnp.PyArray_DATA(wd_arr)
    cdef const void* wtp = cnp.PyArray_DATA(wt_arr)
    cdef int dk = cnp.PyArray_TYPE(d_arr), tk = cnp.PyArray_TYPE(t_arr)
    cdef int wdk = cnp.PyArray_TYPE(wd_arr), wtk = cnp.PyArray_TYPE(wt_arr)
    cdef const float* mp = <const float*>cnp.PyArray_DATA(m_arr)
    cdef const float* wmp = <const float*>cnp.PyArray_DATA(wm_arr)
    cdef const uint8_t* fp = NULL
    cdef float xo
    if cnp.PyArray_DIM(t_arr, 0) != n or cnp.PyArray_DIM(wt_arr, 0) != nw:
        raise ValueError("a slice's docs and tfs differ in length")
    if walked_forms is not None:
        f_arr = _contiguous(walked_forms, cnp.NPY_UINT8)
        if cnp.PyArray_DIM(f_arr, 0) != nw:
            raise ValueError("a slice's docs and forms differ in length")
        fp = <const uint8_t*>cnp.PyArray_DATA(f_arr)
    cdef cnp.ndarray x_arr = _empty(n, cnp.NPY_FLOAT32)
    cdef cnp.ndarray joined_arr = _empty(n, cnp.NPY_FLOAT32)
    cdef cnp.ndarray held_arr = _empty(n, cnp.NPY_UINT16)
    cdef float* xp = <float*>cnp.PyArray_DATA(x_arr)
    cdef float* jp = <float*>cnp.PyArray_DATA(joined_arr)
    cdef uint16_t* hp = <uint16_t*>cnp.PyArray_DATA(held_arr)
    with nogil:
        for i in range(n):
            d = _doc_at(dp, dk, i)
            if d < 0 or d >= size:
                break
            xo = <float>_position_at(tp, tk, i) * mp[d]
            xp[i] = xo
            jp[i] = xo
            hp[i] = 0
            j = _gallop(wdp, wdk, j, nw, d)
            if j < nw and _doc_at(wdp, wdk, j) == d:
                jp[i] = <float>(<double>xo + <double>(<float>_position_at(wtp, wtk, j) * wmp[d]))
                hp[i] = JOINED_HELD | (fp[j] if fp != NULL else 0)
        else:
            i = n
    if i < n:
        return None
    return x_arr, joined_arr, held_arr


def best_few(list matched, Py_ssize_t k, object within=None):
    """The first ``k`` of a few matches over all segments by score (ties: segment, then
    doc) as ``(segment ordinal, doc, score)``: what ``collect.top`` gives for the compiled
    core's best of each segment (``matched[s]``: docs and float32 scores), sorted here
    instead of as Python tuples; with ``within`` (per segment, indices into its arrays)
    among those matches only. None where a segment's scores are not float32 (the caller
    sorts those)."""
    cdef Py_ssize_t n = 0, i
    cdef Ranked* entries = NULL
    cdef list arrays
    cdef list picks = None
    cdef list out = []
    cdef tuple pair
    if within is None:
        for pair in matched:
            n += len(pair[0])
    else:
        picks = [_contiguous(at, cnp.NPY_INTP) for at in within]
        if len(picks) != len(matched):
            raise ValueError("within needs indices for every segment")
        for i in range(len(picks)):
            n += cnp.PyArray_DIM(<cnp.ndarray>picks[i], 0)
    if k <= 0 or n == 0:
        return out
    arrays = _ranked_arrays(matched, True)
    if arrays is None:
        return None
    entries = _ranked(arrays, picks, n, True)
    try:
        for i in range(min(k, n)):
            out.append((entries[i].ordinal, entries[i].doc, <double>entries[i].score))
    finally:
        free(entries)
    return out


#: Up to this many matches over all segments, ``best_indices`` sorts them in C.
BEST_INDICES_MAX = 4096


def best_indices(list matched, Py_ssize_t k):
    """Per segment, the indices (ascending) into its arrays of its matches among the
    best ``k`` over all segments by score (ties: segment, then doc): the set
    ``collect.best`` gives, for a few matches (``matched[s]``: int32 or uint16 docs,
    float32 scores) chosen by one C sort instead of numpy's calls a segment. None where
    a segment's arrays are of other types or there are more than
    :data:`BEST_INDICES_MAX` matches (the caller's numpy code serves)."""
    cdef Py_ssize_t n = 0, s, i, j, size, taken, start, segments
    cdef cnp.ndarray found
    cdef Ranked* entries = NULL
    cdef unsigned char* chosen = NULL
    cdef Py_ssize_t* counts = NULL
    cdef cnp.npy_intp* out_at
    cdef tuple pair
    cdef list arrays
    cdef list out = []
    segments = len(matched)
    for pair in matched:
        n += len(pair[0])
    if n > BEST_INDICES_MAX:
        return None
    arrays = _ranked_arrays(matched, False)
    if arrays is None:
        return None
    taken = min(max(k, 0), n)
    chosen = <unsigned char*>calloc(n if n > 0 else 1, 1)
    counts = <Py_ssize_t*>calloc(segments if segments > 0 else 1, sizeof(Py_ssize_t))
    if chosen == NULL or counts == NULL:
        free(chosen)
        free(counts)
        raise MemoryError()
    try:
        entries = _ranked(arrays, None, n, taken < n)
        for i in range(taken):
            chosen[entries[i].at] = 1
            counts[entries[i].ordinal] += 1
        start = 0
        for s in range(segments):
            size = cnp.PyArray_DIM(<cnp.ndarray>arrays[2 * s], 0)
            found = _empty(counts[s], cnp.NPY_INTP)
            out_at = <cnp.npy_intp*>cnp.PyArray_DATA(found)
            j = 0
            for i in range(size):
                if chosen[start + i]:
                    out_at[j] = i
                    j += 1
            out.append(found)
            start += size
    finally:
        free(entries)
        free(chosen)
        free(counts)
    return out


# -- the proximity rerank: word pairs side by side in a few docs --------------------------------
cdef struct Occurrence:
    int64_t position
    int32_t label


cdef int _compare_occurrence(const void* a, const void* b) noexcept nogil:
    cdef int64_t x = (<const Occurrence*>a).position
    cdef int64_t y = (<const Occurrence*>b).position
    return (x > y) - (x < y)


cdef inline Py_ssize_t _doc_at(const void* docs, int kind, Py_ssize_t i) noexcept nogil:
    if kind == cnp.NPY_UINT16:
        return (<const uint16_t*>docs)[i]
    return (<const int32_t*>docs)[i]


cdef inline int64_t _position_at(const void* positions, int kind, Py_ssize_t i) noexcept nogil:
    """Item ``i`` of a positions array, or of a tfs array (:func:`_tfs_array`: the
    same kinds)."""
    if kind == cnp.NPY_UINT8:
        return (<const uint8_t*>positions)[i]
    if kind == cnp.NPY_UINT16:
        return (<const uint16_t*>positions)[i]
    if kind == cnp.NPY_UINT32:
        return (<const uint32_t*>positions)[i]
    return (<const int64_t*>positions)[i]


#: A doc's pair words are looked up in a table indexed by position when their positions
#: span at most this many (else its occurrences are sorted).
DEF SLOT_SPAN = 1 << 16


# The position table, allocated once (a fresh 512 KB per call costs page faults); a
# call made while another holds it (a finalizer running a search) gets a private one.
cdef int32_t* _slot_label = NULL
cdef int32_t* _slot_tag = NULL
cdef int32_t _slot_last = 0
cdef bint _slots_busy = False


cdef struct Pairs:
    # one field's pair counting, shared by its columns
    const void* positions
    int pkind
    Py_ssize_t pitem          # bytes a position
    const int64_t* pair_row   # [first label, second label, gap] -> pair, C-contiguous
    Py_ssize_t n_labels
    Py_ssize_t n_pairs
    Py_ssize_t n_docs
    int64_t* counts           # [pair, column]
    int32_t* slot_label       # per position - base: the label there (slot_tag says if set)
    int32_t* slot_tag
    int32_t tag
    bint private_slots
    Occurrence* occ           # the sorted fallback
    Py_ssize_t occ_cap


cdef int _take_slots(Pairs* s) except -1:
    """The position table for one call: the shared one, or a private one while held."""
    global _slot_label, _slot_tag, _slot_last, _slots_busy
    s.private_slots = _slots_busy
    if _slots_busy:
        s.slot_label = <int32_t*>malloc(SLOT_SPAN * sizeof(int32_t))
        s.slot_tag = <int32_t*>calloc(SLOT_SPAN, sizeof(int32_t))
        s.tag = 0
    else:
        if _slot_tag == NULL:
            _slot_label = <int32_t*>malloc(SLOT_SPAN * sizeof(int32_t))
            _slot_tag = <int32_t*>calloc(SLOT_SPAN, sizeof(int32_t))
            _slot_last = 0
            if _slot_label == NULL or _slot_tag == NULL:
                free(_slot_label)
                free(_slot_tag)
                _slot_label = _slot_tag = NULL
                raise MemoryError()
        if _slot_last > (1 << 30):
            memset(_slot_tag, 0, SLOT_SPAN * sizeof(int32_t))
            _slot_last = 0
        s.slot_label, s.slot_tag, s.tag = _slot_label, _slot_tag, _slot_last
        _slots_busy = True
    if s.slot_label == NULL or s.slot_tag == NULL:
        _give_slots(s)
        raise MemoryError()
    return 0


cdef void _give_slots(Pairs* s) noexcept:
    global _slot_last, _slots_busy
    if s.private_slots:
        free(s.slot_label)
        free(s.slot_tag)
    elif s.slot_tag != NULL:
        _slot_last = s.tag
        _slots_busy = False
    s.slot_label = s.slot_tag = NULL


cdef inline void _count_pair(Pairs* s, int32_t first, int32_t second, int64_t gap, Py_ssize_t c) noexcept nogil:
    cdef int64_t row = s.pair_row[(first * s.n_labels + second) * 3 + gap]
    if 0 <= row < s.n_pairs:
        s.counts[row * s.n_docs + c] += 1


cdef int _column_pairs(
    Pairs* s, const tf_t* positions, Py_ssize_t c, const int64_t* begins, const int64_t* ends,
    const int32_t* labels, Py_ssize_t n_entries,
) except -1:
    """Count the pairs in column ``c``: every occurrence one or two positions after
    another (positions are unique, one word each, and ascend within a posting)."""
    cdef Py_ssize_t e, at, n = 0, i, j
    cdef int64_t low = 0, high = -1, p, q, span
    cdef int32_t label, other
    cdef bint first = True
    cdef Occurrence* grown
    for e in range(n_entries):
        if begins[e] >= 0 and ends[e] > begins[e]:
            if first or positions[begins[e]] < low:
                low = positions[begins[e]]
            if first or positions[ends[e] - 1] > high:
                high = positions[ends[e] - 1]
            first = False
            n += ends[e] - begins[e]
    if n < 2:
        return 0
    span = high - low
    if 0 <= span < SLOT_SPAN:
        # each occurrence, as it is laid in the table, meets those laid before it
        s.tag += 1
        for e in range(n_entries):
            if begins[e] < 0:
                continue
            label = labels[e]
            for at in range(begins[e], ends[e]):
                p = positions[at] - low
                if p < 0 or p > span:  # positions out of order (a damaged index)
                    continue
                for q in range(1, 3):
                    if p >= q and s.slot_tag[p - q] == s.tag:
                        _count_pair(s, s.slot_label[p - q], label, q, c)
                    if p + q <= span and s.slot_tag[p + q] == s.tag:
                        _count_pair(s, label, s.slot_label[p + q], q, c)
                s.slot_tag[p] = s.tag
                s.slot_label[p] = label
        return 0
    if n > s.occ_cap:  # positions spread far apart: sort the column's occurrences
        grown = <Occurrence*>realloc(s.occ, n * sizeof(Occurrence))
        if grown == NULL:
            raise MemoryError()
        s.occ, s.occ_cap = grown, n
    n = 0
    for e in range(n_entries):
        if begins[e] >= 0:
            for at in range(begins[e], ends[e]):
                s.occ[n].position = positions[at]
                s.occ[n].label = labels[e]
                n += 1
    qsort(s.occ, n, sizeof(Occurrence), _compare_occurrence)
    for i in range(n):
        for j in range(i + 1, min(i + 3, n)):
            q = s.occ[j].position - s.occ[i].position
            if 1 <= q <= 2:
                _count_pair(s, s.occ[i].label, s.occ[j].label, q, c)
    return 0


#: A pair word's postings this many times longer than the reranked docs are searched
#: (from where the docs' spread puts each, see :func:`_spread_seek`); shorter ones are
#: merged with the docs in one walk.
DEF SEEK_RATIO = 4


cdef inline Py_ssize_t _spread_seek(
    const doc_t* term_docs, Py_ssize_t lo, Py_ssize_t length, Py_ssize_t d
) noexcept nogil:
    """The first index from ``lo`` whose doc is >= ``d`` (``length`` if none), for a
    few ``d`` ascending through long postings: the guess is where ``d`` falls between
    ``term_docs[lo]`` and the last doc if the docs between are evenly spread (reranked
    docs and a word's postings are spread over the segment), then a gallop from the
    guess in the direction it is wrong and a binary search in the last step. A gallop
    from ``lo`` alone took about twice as many reads (``2 log2`` of the docs skipped)."""
    cdef Py_ssize_t guess, step, hi
    cdef Py_ssize_t first, last
    if lo >= length or term_docs[lo] >= d:
        return lo
    last = term_docs[length - 1]
    if last < d:
        return length
    # term_docs[lo] < d <= last: the answer is in (lo, length - 1]
    first = term_docs[lo]
    guess = lo + 1 + <Py_ssize_t>(
        (<double>(d - first) / <double>(last - first)) * <double>(length - 2 - lo)
    )
    if guess > length - 1:
        guess = length - 1
    if term_docs[guess] >= d:  # the answer is in (lo, guess]: gallop down
        hi = guess
        step = 1
        while guess - step > lo and term_docs[guess - step] >= d:
            hi = guess - step
            step <<= 1
        return _find(term_docs, max(lo + 1, guess - step), hi, d)
    step = 1  # the answer is in (guess, length - 1]: gallop up
    while guess + step < length - 1 and term_docs[guess + step] < d:
        guess += step
        step <<= 1
    return _find(term_docs, guess + 1, min(guess + step, length - 1), d)


cdef void _locate(
    const doc_t* term_docs, Py_ssize_t length, const int64_t* offsets, Py_ssize_t n_positions,
    const int32_t* docs, Py_ssize_t n_docs, Py_ssize_t e, Py_ssize_t n_entries,
    int64_t* begins, int64_t* ends, int* bad,
) noexcept nogil:
    """Where entry ``e``'s postings hold each of ``docs`` (ascending): its position
    offsets in ``begins`` and ``ends`` (``begins`` -1: not there).

    Two passes: the postings found first (their index kept in ``ends``, ``begins`` -2),
    each one's offsets asked of the memory as it is found, then the offsets read. The
    offsets (8 bytes a posting, never read by the scoring core) and the positions they
    point to are mostly out of the cache: asked for together, their fetches overlap
    instead of waiting one after another."""
    cdef Py_ssize_t c, k, lo = 0
    cdef Py_ssize_t d
    cdef bint seek = length > SEEK_RATIO * n_docs
    for c in range(n_docs):
        begins[c * n_entries + e] = -1
    for c in range(n_docs):
        d = docs[c]
        if seek:
            lo = _spread_seek(term_docs, lo, length, d)
        else:
            while lo < length and term_docs[lo] < d:
                lo += 1
        if lo >= length:
            break
        if term_docs[lo] == d:
            k = c * n_entries + e
            begins[k] = -2
            ends[k] = lo
            BNS_PREFETCH(&offsets[lo])
    for c in range(n_docs):
        k = c * n_entries + e
        if begins[k] == -2:
            lo = ends[k]
            if offsets[lo] < 0 or offsets[lo + 1] < offsets[lo] or offsets[lo + 1] > n_positions:
                bad[0] = 1
                return
            begins[k] = offsets[lo]
            ends[k] = offsets[lo + 1]


cdef void _locate_walking(
    const doc_t* term_docs, Py_ssize_t length, const tf_t* tfs, int64_t first,
    Py_ssize_t n_positions, const int32_t* docs, Py_ssize_t n_docs, Py_ssize_t e,
    Py_ssize_t n_entries, int64_t* begins, int64_t* ends, int* bad,
) noexcept nogil:
    """:func:`_locate` for an entry given by its tfs and where its first posting's
    positions start (no offsets array): its postings walked summing the tfs (a short
    list's, where building and keeping offsets costs more than the walk). Postings
    many times more than the docs are searched as :func:`_locate` searches them
    (:func:`_spread_seek`), the tfs between summed in a loop of adds alone; fewer are
    merged with the docs. (Typed per tfs kind: a kind switch a posting cost as much as
    the walk.)"""
    cdef Py_ssize_t c, k, lo = 0
    cdef int64_t at = first, end
    for c in range(n_docs):
        begins[c * n_entries + e] = -1
    for c in range(n_docs):
        while lo < length and term_docs[lo] < docs[c]:
            at += tfs[lo]
            lo += 1
        if lo >= length:
            break
        if term_docs[lo] == docs[c]:
            end = at + tfs[lo]
            if at < 0 or end < at or end > n_positions:
                bad[0] = 1
                return
            k = c * n_entries + e
            begins[k] = at
            ends[k] = end


cdef void _locate_walking_tfs(
    const doc_t* term_docs, Py_ssize_t length, const void* tfs, int tkind,
    int64_t first, Py_ssize_t n_positions, const int32_t* docs, Py_ssize_t n_docs,
    Py_ssize_t e, Py_ssize_t n_entries, int64_t* begins, int64_t* ends, int* bad,
) noexcept nogil:
    """:func:`_locate_walking` of the tfs kind given (:func:`_tfs_array`), for one docs
    kind."""
    if tkind == cnp.NPY_UINT8:
        _locate_walking(term_docs, length, <const uint8_t*>tfs, first, n_positions, docs,
                        n_docs, e, n_entries, begins, ends, bad)
    elif tkind == cnp.NPY_UINT16:
        _locate_walking(term_docs, length, <const uint16_t*>tfs, first, n_positions, docs,
                        n_docs, e, n_entries, begins, ends, bad)
    elif tkind == cnp.NPY_UINT32:
        _locate_walking(term_docs, length, <const uint32_t*>tfs, first, n_positions, docs,
                        n_docs, e, n_entries, begins, ends, bad)
    else:
        _locate_walking(term_docs, length, <const int64_t*>tfs, first, n_positions, docs,
                        n_docs, e, n_entries, begins, ends, bad)


cdef void _locate_walking_kinds(
    const void* term_docs, int dkind, Py_ssize_t length, const void* tfs, int tkind,
    int64_t first, Py_ssize_t n_positions, const int32_t* docs, Py_ssize_t n_docs,
    Py_ssize_t e, Py_ssize_t n_entries, int64_t* begins, int64_t* ends, int* bad,
) noexcept nogil:
    """:func:`_locate_walking` of the docs and tfs kinds given (:func:`_docs_array`,
    :func:`_tfs_array`)."""
    if dkind == cnp.NPY_UINT16:
        _locate_walking_tfs(<const uint16_t*>term_docs, length, tfs, tkind, first,
                            n_positions, docs, n_docs, e, n_entries, begins, ends, bad)
    else:
        _locate_walking_tfs(<const int32_t*>term_docs, length, tfs, tkind, first,
                            n_positions, docs, n_docs, e, n_entries, begins, ends, bad)


cdef int _field_pairs(
    Pairs* s, object entry_docs, object entry_offsets, object label_array,
    const int32_t* docs, Py_ssize_t n_docs, Py_ssize_t n_positions, int64_t* begins,
    int64_t* ends,
) except -1:
    """Count one field's pairs in every column (``s.counts`` zeroed first). The entries
    are a list of docs arrays, or spans of the field's whole postings (``(docs, tfs,
    spans)``, :func:`proximity_scores`)."""
    cdef Py_ssize_t e, c, length, n_entries, total = 0
    cdef cnp.ndarray term_docs, offsets, tfs_arr
    cdef cnp.ndarray all_docs = None, all_tfs = None, span_arr = None
    cdef const int64_t* span = NULL
    cdef object walked
    cdef int64_t first
    cdef cnp.ndarray label_arr = _contiguous(label_array, cnp.NPY_INT32)
    cdef const int32_t* labels = <const int32_t*>cnp.PyArray_DATA(label_arr)
    cdef const void* dp
    cdef const int64_t* op
    cdef int dkind, bad = 0
    if cnp.PyArray_NDIM(label_arr) != 1:
        raise ValueError("labels must be one-dimensional")
    if type(entry_docs) is tuple:  # (docs, tfs, spans): slices of the whole postings
        all_docs = _docs_array(entry_docs[0])
        all_tfs = _tfs_array(entry_docs[1])
        span_arr = _contiguous(entry_docs[2], cnp.NPY_INT64)
        total = cnp.PyArray_DIM(all_docs, 0)
        if cnp.PyArray_NDIM(all_docs) != 1 or cnp.PyArray_NDIM(all_tfs) != 1 or (
            cnp.PyArray_DIM(all_tfs, 0) != total
        ):
            raise ValueError("an entry needs one tf a doc")
        if cnp.PyArray_NDIM(span_arr) != 2 or cnp.PyArray_DIM(span_arr, 1) != 3:
            raise ValueError("spans must be rows of (start, end, first)")
        n_entries = cnp.PyArray_DIM(span_arr, 0)
        span = <const int64_t*>cnp.PyArray_DATA(span_arr)
    else:
        n_entries = len(entry_docs)
    if cnp.PyArray_DIM(label_arr, 0) != n_entries or (
        entry_offsets is not None and len(entry_offsets) != n_entries
    ):
        raise ValueError("every entry needs docs, offsets and a label")
    for e in range(n_entries):
        if labels[e] < 0 or labels[e] >= s.n_labels:
            raise ValueError("a label outside pair_row")
        if span != NULL:
            if span[e * 3] < 0 or span[e * 3] > span[e * 3 + 1] or span[e * 3 + 1] > total:
                raise ValueError("a span outside the postings")
            length = span[e * 3 + 1] - span[e * 3]
            dkind = cnp.PyArray_TYPE(all_docs)
            dp = cnp.PyArray_BYTES(all_docs) + span[e * 3] * cnp.PyArray_ITEMSIZE(all_docs)
            if span[e * 3 + 2] >= 0:  # (walked: its tfs from the span's start)
                _locate_walking_kinds(
                    dp, dkind, length,
                    cnp.PyArray_BYTES(all_tfs) + span[e * 3] * cnp.PyArray_ITEMSIZE(all_tfs),
                    cnp.PyArray_TYPE(all_tfs), span[e * 3 + 2], n_positions, docs, n_docs,
                    e, n_entries, begins, ends, &bad)
                if bad:
                    raise _out_of_range()
                continue
            if entry_offsets is None:
                raise ValueError("a span without its first position needs offsets")
        else:
            term_docs = _docs_array(entry_docs[e])
            length = cnp.PyArray_DIM(term_docs, 0)
            dp = cnp.PyArray_DATA(term_docs)
            dkind = cnp.PyArray_TYPE(term_docs)
            if entry_offsets is None:
                raise ValueError("every entry needs docs, offsets and a label")
        walked = entry_offsets[e]
        if type(walked) is tuple:  # (tfs, first): walked, no offsets
            tfs_arr = _tfs_array(walked[0])
            first = walked[1]
            if cnp.PyArray_NDIM(tfs_arr) != 1 or cnp.PyArray_DIM(tfs_arr, 0) != length:
                raise ValueError("an entry needs one tf a doc")
            _locate_walking_kinds(dp, dkind, length, cnp.PyArray_DATA(tfs_arr),
                                  cnp.PyArray_TYPE(tfs_arr), first, n_positions, docs, n_docs,
                                  e, n_entries, begins, ends, &bad)
            if bad:
                raise _out_of_range()
            continue
        offsets = _contiguous(walked, cnp.NPY_INT64)
        if cnp.PyArray_DIM(offsets, 0) != length + 1:
            raise ValueError("an entry needs one offset more than it has docs")
        op = <const int64_t*>cnp.PyArray_DATA(offsets)
        if dkind == cnp.NPY_UINT16:
            _locate(<const uint16_t*>dp, length, op, n_positions, docs, n_docs, e, n_entries,
                    begins, ends, &bad)
        else:
            _locate(<const int32_t*>dp, length, op, n_positions, docs, n_docs, e, n_entries,
                    begins, ends, &bad)
        if bad:
            raise _out_of_range()
    for c in range(n_docs * n_entries):  # (the positions each column reads, asked for at once)
        if begins[c] >= 0:
            BNS_PREFETCH(<const char*>s.positions + begins[c] * s.pitem)
    for c in range(n_docs):
        if s.pkind == cnp.NPY_UINT8:
            _column_pairs(s, <const uint8_t*>s.positions, c, begins + c * n_entries,
                          ends + c * n_entries, labels, n_entries)
        elif s.pkind == cnp.NPY_UINT16:
            _column_pairs(s, <const uint16_t*>s.positions, c, begins + c * n_entries,
                          ends + c * n_entries, labels, n_entries)
        elif s.pkind == cnp.NPY_UINT32:
            _column_pairs(s, <const uint32_t*>s.positions, c, begins + c * n_entries,
                          ends + c * n_entries, labels, n_entries)
        else:
            _column_pairs(s, <const int64_t*>s.positions, c, begins + c * n_entries,
                          ends + c * n_entries, labels, n_entries)
    return 0


def proximity_scores(
    list fields,
    object doc_array,
    object pair_row,
    object weight_array,
    float k1,
    object at=None,
    object base=None,
):
    """The proximity bonus of each of ``docs`` (sorted, unique): float32.

    ``fields`` holds, per field with pair words, ``(entry_docs, entry_offsets,
    positions, labels, multiplier)``: entry ``e`` is a pair word's postings
    (``entry_docs[e]``, sorted) with their offsets into ``positions`` (the field's whole
    position array; or a tuple ``(tfs, first)``: the postings' tfs and where the first
    one's positions start, the others' following, found by a walk summing the tfs).
    ``entry_docs`` may instead be ``(docs, tfs, spans)``: the field's whole postings and
    one int64 row ``(start, end, first)`` an entry, its postings ``[start, end)`` of
    them, walked from ``first`` (where ``first`` is -1, ``entry_offsets[e]`` holds its
    offsets; ``entry_offsets`` None: none is -1); no view a word (what
    ``TermTable.position_spans`` gives).
    ``labels[e]`` (int32) its row in ``pair_row[first, second, gap]``
    (the pair's number, or -1), ``multiplier`` the field's float32 ``x`` multiplier per
    doc of the segment. Two occurrences make a pair when one stands one or two positions
    after the other. A pair's ``x`` in a doc is its count times the multiplier summed
    over fields in float64 (rounded to float32 once), saturated in float32 like a unit's
    score; the bonus is the float64 sum over pairs of ``weights[pair]`` times that,
    rounded to float32 once (:func:`bnsearch.search.rerank.proximity_bonus` does the
    same with numpy).

    ``at`` (indices into ``doc_array``, whose docs they pick ascend): the bonus of those
    docs only. ``base`` (float32 scores, one a doc of ``doc_array``): a copy of it with
    each bonus added to its doc's score in float32, what ``base[at] += bonus`` gives
    (the rerank's add without its numpy calls).
    """
    # (arrays taken as pointers: a typed memoryview a call costs more than a small rerank)
    cdef cnp.ndarray all_docs = _docs_array(doc_array)
    cdef cnp.ndarray weights_arr = _contiguous(weight_array, cnp.NPY_FLOAT32)
    cdef cnp.ndarray at_arr = None
    if cnp.PyArray_NDIM(all_docs) != 1 or cnp.PyArray_NDIM(weights_arr) != 1:
        raise ValueError("docs and weights must be one-dimensional")
    cdef Py_ssize_t n_all = cnp.PyArray_DIM(all_docs, 0)
    cdef const cnp.npy_intp* picks = NULL
    if at is not None:
        at_arr = _contiguous(at, cnp.NPY_INTP)
        if cnp.PyArray_NDIM(at_arr) != 1:
            raise ValueError("at must be one-dimensional")
        picks = <const cnp.npy_intp*>cnp.PyArray_DATA(at_arr)
    cdef Py_ssize_t n_docs = n_all if at_arr is None else cnp.PyArray_DIM(at_arr, 0)
    cdef const float* weights = <const float*>cnp.PyArray_DATA(weights_arr)
    cdef Py_ssize_t n_pairs = cnp.PyArray_DIM(weights_arr, 0)
    cdef Py_ssize_t c, place
    cdef cnp.ndarray rows = _contiguous(pair_row, cnp.NPY_INT64)
    cdef cnp.npy_intp out_size = n_docs
    cdef cnp.ndarray out
    cdef float* out_at
    cdef int32_t* docs = NULL
    if base is None:
        out = cnp.PyArray_ZEROS(1, &out_size, cnp.NPY_FLOAT32, 0)
    else:
        out = <cnp.ndarray>cnp.PyArray_NewCopy(_contiguous(base, cnp.NPY_FLOAT32), cnp.NPY_CORDER)
        if cnp.PyArray_NDIM(out) != 1 or cnp.PyArray_DIM(out, 0) != n_all:
            raise ValueError("base needs one score a doc")
    out_at = <float*>cnp.PyArray_DATA(out)
    docs = <int32_t*>malloc((n_docs if n_docs > 0 else 1) * sizeof(int32_t))
    if docs == NULL:
        raise MemoryError()
    try:
        for c in range(n_docs):
            place = c if picks == NULL else picks[c]
            if place < 0 or place >= n_all:
                raise IndexError("at holds an index outside the docs")
            docs[c] = <int32_t>_doc_at(cnp.PyArray_DATA(all_docs), cnp.PyArray_TYPE(all_docs), place)
        _proximity_into(
            fields, docs, n_docs, rows, weights, n_pairs, k1, out_at, picks, base is not None
        )
    finally:
        free(docs)
    return out


cdef int _proximity_into(
    list fields, const int32_t* docs, Py_ssize_t n_docs, cnp.ndarray rows,
    const float* weights, Py_ssize_t n_pairs, float k1, float* out_at,
    const cnp.npy_intp* picks, bint add,
) except -1:
    """:func:`proximity_scores` once its docs are laid out: each bonus written to
    ``out_at[c]``, or with ``add`` added (float32) to ``out_at[picks[c]]`` (``picks``
    NULL: ``out_at[c]``)."""
    cdef Py_ssize_t f, c, r, most = 1, max_doc
    cdef cnp.ndarray pos_arr, mult_arr
    cdef const float* mult
    cdef double* xs = NULL
    cdef int64_t* begins = NULL
    cdef int64_t* ends = NULL
    cdef Pairs s
    cdef double summed
    cdef float x, saturated, bonus
    if cnp.PyArray_NDIM(rows) != 3 or cnp.PyArray_DIM(rows, 1) != cnp.PyArray_DIM(rows, 0) or (
        cnp.PyArray_DIM(rows, 2) < 3
    ):
        raise ValueError("pair_row must be labels x labels x 3")
    for c in range(1, n_docs):
        if docs[c] <= docs[c - 1]:
            raise ValueError("docs must be sorted and unique")
    memset(&s, 0, sizeof(Pairs))
    s.pair_row = <const int64_t*>cnp.PyArray_DATA(rows)
    s.n_labels = cnp.PyArray_DIM(rows, 0)
    s.n_pairs = n_pairs
    s.n_docs = n_docs
    if cnp.PyArray_DIM(rows, 2) != 3:
        rows = np.ascontiguousarray(rows[:, :, :3])
        s.pair_row = <const int64_t*>cnp.PyArray_DATA(rows)
    if n_docs == 0 or n_pairs == 0:
        return 0
    for f in range(len(fields)):  # (entries: one label each, in either form)
        most = max(most, len(fields[f][3]))
    try:
        xs = <double*>calloc(n_pairs * n_docs, sizeof(double))
        s.counts = <int64_t*>malloc(n_pairs * n_docs * sizeof(int64_t))
        begins = <int64_t*>malloc(most * n_docs * sizeof(int64_t))
        ends = <int64_t*>malloc(most * n_docs * sizeof(int64_t))
        if xs == NULL or s.counts == NULL or begins == NULL or ends == NULL:
            raise MemoryError()
        _take_slots(&s)
        for f in range(len(fields)):
            entry_docs, entry_offsets, positions, labels, multiplier = fields[f]
            pos_arr = _contiguous(positions, -1)
            s.pkind = cnp.PyArray_TYPE(pos_arr)
            if s.pkind not in (cnp.NPY_UINT8, cnp.NPY_UINT16, cnp.NPY_UINT32, cnp.NPY_INT64):
                pos_arr = _contiguous(pos_arr, cnp.NPY_INT64)
                s.pkind = cnp.NPY_INT64
            s.positions = cnp.PyArray_DATA(pos_arr)
            s.pitem = cnp.PyArray_ITEMSIZE(pos_arr)
            mult_arr = _contiguous(multiplier, cnp.NPY_FLOAT32)
            max_doc = cnp.PyArray_DIM(mult_arr, 0)
            if n_docs and (docs[0] < 0 or docs[n_docs - 1] >= max_doc):
                raise _out_of_range()
            mult = <const float*>cnp.PyArray_DATA(mult_arr)
            memset(s.counts, 0, n_pairs * n_docs * sizeof(int64_t))
            _field_pairs(
                &s, entry_docs, entry_offsets, labels, docs, n_docs, cnp.PyArray_DIM(pos_arr, 0),
                begins, ends,
            )
            for r in range(n_pairs):
                for c in range(n_docs):
                    xs[r * n_docs + c] += <double>s.counts[r * n_docs + c] * <double>mult[docs[c]]
        for c in range(n_docs):
            summed = 0
            for r in range(n_pairs):
                x = <float>xs[r * n_docs + c]
                if k1 != 0:
                    saturated = x / (x + k1)
                else:
                    saturated = 1 if x > 0 else 0
                summed += <double>weights[r] * <double>saturated
            bonus = <float>summed
            if not add:
                out_at[c] = bonus
            elif picks == NULL:
                out_at[c] = out_at[c] + bonus
            else:
                out_at[picks[c]] = out_at[picks[c]] + bonus
    finally:
        free(xs)
        free(s.counts)
        free(begins)
        free(ends)
        _give_slots(&s)
        free(s.occ)
    return 0


def rerank_tables(tuple pairs):
    """A rerank plan's tables from its pairs (``(gap, first, second)``, gap 0-2), in one
    call: ``(label, terms, pair_row)``, the twin of :func:`.rerank._tables` (the
    reference): every word of a pair -> its row, first seen first; those words in that
    order; ``pair_row[first row, second row, gap]`` -> the pair's index, or -1 (int64)."""
    cdef dict label = {}
    cdef Py_ssize_t n = len(pairs), size, row, a, b, i, gap
    cdef tuple pair
    cdef object first, second
    for pair in pairs:
        first = pair[1]
        second = pair[2]
        if first not in label:
            label[first] = len(label)
        if second not in label:
            label[second] = len(label)
    size = len(label)
    cdef cnp.npy_intp dims[3]
    dims[0] = size
    dims[1] = size
    dims[2] = 3
    cdef cnp.ndarray table = cnp.PyArray_EMPTY(3, dims, cnp.NPY_INT64, 0)
    cdef int64_t* cells = <int64_t*>cnp.PyArray_DATA(table)
    for i in range(size * size * 3):
        cells[i] = -1
    for row in range(n):
        pair = pairs[row]
        gap = pair[0]
        if gap < 0 or gap > 2:
            raise ValueError("a pair's gap must be 0, 1 or 2")
        a = label[pair[1]]
        b = label[pair[2]]
        cells[(a * size + b) * 3 + gap] = row
    return label, tuple(label), table


def pair_weights(
    tuple pairs, dict label, tuple terms, list fields, object doc_freq, object idf,
    float proximity,
):
    """Per pair, its weight (float32), in one call: the twin of
    :func:`.rerank._pair_weights` (the reference). Each word of ``terms`` (by row of
    ``label``) takes its largest ``doc_freq(field, word)`` over ``fields`` (as
    :meth:`.Context.max_doc_freqs`) and its ``idf`` of that; a pair's distinct words'
    idfs are summed in float64, rounded to float32 and multiplied by ``proximity`` in
    float32."""
    cdef Py_ssize_t n = len(pairs), n_terms = len(terms), row, t
    cdef list term_idf = []
    cdef object best, found
    for t in range(n_terms):
        best = 0
        for field in fields:
            found = doc_freq(field, terms[t])
            if found > best:
                best = found
        term_idf.append(idf(best))
    cdef cnp.npy_intp dims = n
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &dims, cnp.NPY_FLOAT32, 0)
    cdef float* at = <float*>cnp.PyArray_DATA(out)
    cdef tuple pair
    cdef double summed
    for row in range(n):
        pair = pairs[row]
        summed = <double>term_idf[<Py_ssize_t>label[pair[1]]]
        if pair[2] != pair[1]:
            summed = summed + <double>term_idf[<Py_ssize_t>label[pair[2]]]
        at[row] = (<float>summed) * proximity
    return out


def proximity_pairs(list sequence):
    """The adjacent word pairs of a query's term sequence (one entry a word position:
    its term, or None where the analyzer dropped it), each once, in one call: the twin
    of :func:`.rerank.proximity_pairs`' loop (the reference)."""
    cdef dict pairs = {}
    cdef Py_ssize_t at = -3, position = 0
    cdef object last = "", term
    for term in sequence:
        if term is not None:
            if position - at <= 2:
                pairs[(position - at, last, term)] = None
            at = position
            last = term
        position += 1
    return tuple(pairs)
