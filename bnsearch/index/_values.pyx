# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""A handful of docs' fields of values (headlines) made into their arrays in one call.

The compiled twin of :func:`bnsearch.index.builder._value_postings` followed by
:func:`bnsearch.index.builder.postings_fields` (the reference, and the path where this
module is not built): a commit's anchor groups and its one-article segment's related
headlines are a few dozen words, where the Python pass's dicts of lists and the dozen
numpy calls that make them arrays are a fixed cost many times the work. Here the
values are cut into chunks, the analyzer's two calls made (the chunk cache over every
chunk, the inflection split over the distinct surfaces, as the reference's
:func:`~bnsearch.index.builder._value_entries` makes them), each
group's occurrences (term, doc, position, flag) go into C buffers in one pass over the
analyzed chunks, are put in term order by a counting sort over the group's sorted
terms (stable: docs and positions stay ascending), and are written straight into
arrays of the dtypes :func:`~bnsearch.index.builder.sorted_postings_fields` gives
(``tests/test_index_values_compiled.py`` compares them value by value and dtype by
dtype).
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t
from libc.stdlib cimport free, malloc

cnp.import_array()


#: numpy's type number of each dtype the builder's rules give (filled as met)
cdef dict _TYPENUMS = {}


cdef object _narrowed(const int64_t* values, Py_ssize_t n, object dtype):
    """A new array of ``dtype`` (an integer type wide enough for every value, all of
    them non-negative) holding ``values[:n]``."""
    typenum = _TYPENUMS.get(dtype)
    if typenum is None:
        typenum = _TYPENUMS[dtype] = np.dtype(dtype).num
    cdef cnp.npy_intp length = n
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &length, <int>typenum, 0)
    cdef char* data = <char*>cnp.PyArray_DATA(out)
    cdef Py_ssize_t i, size = cnp.PyArray_ITEMSIZE(out)
    if size == 1:
        for i in range(n):
            (<uint8_t*>data)[i] = <uint8_t>values[i]
    elif size == 2:
        for i in range(n):
            (<uint16_t*>data)[i] = <uint16_t>values[i]
    elif size == 4:  # (uint32 or int32: the same bits for a non-negative value)
        for i in range(n):
            (<uint32_t*>data)[i] = <uint32_t>values[i]
    else:
        for i in range(n):
            (<int64_t*>data)[i] = values[i]
    return out


cdef cnp.ndarray _int64s(Py_ssize_t n):
    cdef cnp.npy_intp length = n
    return cnp.PyArray_EMPTY(1, &length, cnp.NPY_INT64, 0)


cdef class _Buffers:
    """The C arrays one call works in (``size`` entries each: at least one per
    occurrence, and per term plus one), freed with it. Per surface of the chunks'
    entries its number among the distinct surfaces; per occurrence (first-seen
    order) its term's number, doc, position and flags; per term its rank and count;
    the occurrences in term order; per posting its doc, frequency and flags."""

    cdef int64_t* slot
    cdef int64_t* term
    cdef int64_t* doc
    cdef int64_t* pos
    cdef int64_t* flag
    cdef int64_t* rank
    cdef int64_t* fill
    cdef int64_t* order
    cdef int64_t* sorted_pos
    cdef int64_t* postings_doc
    cdef int64_t* postings_tf
    cdef uint8_t* postings_flag

    def __cinit__(self, Py_ssize_t size):
        size = max(size, 1) + 1
        self.slot = <int64_t*>malloc(size * sizeof(int64_t))
        self.term = <int64_t*>malloc(size * sizeof(int64_t))
        self.doc = <int64_t*>malloc(size * sizeof(int64_t))
        self.pos = <int64_t*>malloc(size * sizeof(int64_t))
        self.flag = <int64_t*>malloc(size * sizeof(int64_t))
        self.rank = <int64_t*>malloc(size * sizeof(int64_t))
        self.fill = <int64_t*>malloc(size * sizeof(int64_t))
        self.order = <int64_t*>malloc(size * sizeof(int64_t))
        self.sorted_pos = <int64_t*>malloc(size * sizeof(int64_t))
        self.postings_doc = <int64_t*>malloc(size * sizeof(int64_t))
        self.postings_tf = <int64_t*>malloc(size * sizeof(int64_t))
        self.postings_flag = <uint8_t*>malloc(size * sizeof(uint8_t))
        if not (
            self.slot and self.term and self.doc and self.pos and self.flag and self.rank and self.fill
            and self.order and self.sorted_pos and self.postings_doc and self.postings_tf and self.postings_flag
        ):
            raise MemoryError()

    def __dealloc__(self):
        free(self.slot)
        free(self.term)
        free(self.doc)
        free(self.pos)
        free(self.flag)
        free(self.rank)
        free(self.fill)
        free(self.order)
        free(self.sorted_pos)
        free(self.postings_doc)
        free(self.postings_tf)
        free(self.postings_flag)


def value_groups(
    object groups,
    object chunk_terms,
    object terms_and_flags,
    Py_ssize_t gap,
    bint positions,
    str prefix,
    object encode_lengths,
    object small_uint,
    object doc_id_dtype,
):
    """Per group of ``groups`` (group -> doc -> its values), the arrays by file stem
    (``prefix`` + name) :func:`~bnsearch.index.builder.postings_fields` gives for the
    postings :func:`~bnsearch.index.builder._value_postings` makes of them: every value
    is cut into its whitespace chunks (``str.split``), all the chunks analyzed by one
    call of ``chunk_terms`` (the analyzer's chunk cache: per chunk its surfaces);
    ``terms_and_flags`` gives the distinct surfaces' terms (``None`` for a dropped one)
    and form flags in one call (the inflection split's), ``None`` where the field keeps
    no form flags (a surface is its term); ``gap`` the empty positions between two
    values; ``positions`` whether the field keeps positions. The distinct surfaces are
    gathered here, in first-seen order, as the reference's
    :func:`~bnsearch.index.builder._value_entries` does. The dtypes come from the
    builder's own rules, passed in (``encode_lengths``, ``small_uint``,
    ``doc_id_dtype``)."""
    cdef Py_ssize_t bound = 0, docs_total = 0, values_total = 0, used = 0, entry_count
    cdef Py_ssize_t k = 0, j, at, v = 0
    cdef bint forms = terms_and_flags is not None
    cdef object entry, group, values, chunks, value_text, surface, term, tid, found_slot
    cdef list sizes = []
    for group in groups:
        sizes.append(len(group))
        for values in group:
            values_total += len(values)
    docs_total = sum(sizes)
    # every value's chunks, one after the other, and how many a value
    cdef cnp.ndarray chunk_counts = _int64s(values_total)
    cdef int64_t* chunks_of = <int64_t*>cnp.PyArray_DATA(chunk_counts)
    cdef list flat = []
    for group in groups:
        for values in group:
            for value_text in values:
                chunks = value_text.split()
                chunks_of[v] = len(chunks)
                v += 1
                flat.extend(chunks)
    cdef list entries = chunk_terms(flat)
    entry_count = len(entries)
    for entry in entries:
        bound += len(<tuple?>entry)
    cdef _Buffers work = _Buffers(bound)
    # every surface's number among the distinct ones (-1: a word the chain dropped)
    cdef dict slot_of = {}
    cdef list words = []
    for entry in entries:
        for surface in <tuple>entry:  # (a tuple: checked above)
            if surface is None:
                work.slot[k] = -1
            else:
                found_slot = slot_of.get(surface)
                if found_slot is None:
                    found_slot = len(words)
                    slot_of[surface] = found_slot
                    words.append(surface)
                work.slot[k] = <Py_ssize_t>found_slot
            k += 1
    cdef list stems, flag_list = None
    if forms:
        stems, flag_list = terms_and_flags(words)
        if len(stems) != len(words) or len(flag_list) != len(words):
            raise ValueError("terms and flags of another length than the surfaces")
    else:
        stems = words
    k = 0
    cdef cnp.ndarray lengths = _int64s(docs_total)
    cdef int64_t* length_of = <int64_t*>cnp.PyArray_DATA(lengths)
    cdef Py_ssize_t base = 0, doc, n, value, chunk, count, position, size, number
    cdef dict ids, out
    cdef object ranked, indptr, docs, tfs, flags, pos, posptr
    cdef list names, found = [], bases = []
    v = 0
    for number, group in enumerate(groups):
        size = sizes[number]
        ids = {}
        names = []
        n = 0
        for doc in range(size):
            values = group[doc]
            position = count = 0
            for value in range(len(values)):
                if value:
                    position += gap
                for chunk in range(chunks_of[v]):
                    if used >= entry_count:
                        raise ValueError("fewer chunk entries than chunks")
                    entry = entries[used]
                    used += 1
                    for j in range(len(<tuple>entry)):  # (checked above)
                        at = work.slot[k]
                        k += 1
                        term = None if at < 0 else stems[at]
                        if term is not None:
                            tid = ids.get(term)
                            if tid is None:
                                tid = len(names)
                                ids[term] = tid
                                names.append(term)
                            work.term[n] = <Py_ssize_t>tid
                            work.doc[n] = doc
                            work.pos[n] = position
                            work.flag[n] = <Py_ssize_t>flag_list[at] if forms else 0
                            n += 1
                            count += 1
                        position += 1
                v += 1
            length_of[base + doc] = count
        # the group's occurrences made into its arrays now (the buffers are reused)
        found.append(
            _group_arrays(work, n, size, names, ids, forms, positions, small_uint, doc_id_dtype)
        )
        bases.append(base)
        base += size
    if used != entry_count:
        raise ValueError("more chunk entries than chunks")
    # every doc's length code by one call of the rule, each group's cut out of it
    norms = encode_lengths(lengths)
    lens = lengths.astype(np.uint32)
    cdef list result = []
    for number in range(len(found)):
        ranked, indptr, docs, tfs, flags, pos, posptr = found[number]
        base = bases[number]
        size = sizes[number]
        out = {  # (in the reference's order)
            prefix + "terms": ranked,
            prefix + "indptr": indptr,
            prefix + "docs": docs,
            prefix + "tfs": tfs,
            prefix + "norms": norms[base : base + size],
            prefix + "lens": lens[base : base + size],
        }
        if forms:
            out[prefix + "forms"] = flags
        if positions:
            out[prefix + "pos"] = pos
            out[prefix + "posptr"] = posptr
        result.append(out)
    return result


cdef tuple _group_arrays(
    _Buffers work,
    Py_ssize_t n,
    Py_ssize_t size,
    list names,
    dict ids,
    bint forms,
    bint positions,
    object small_uint,
    object doc_id_dtype,
):
    """One group's ``n`` occurrences in ``work`` (first-seen term numbers, docs and
    positions ascending) as its arrays but the norms and lengths: (terms sorted,
    indptr, docs, tfs, flags or ``None``, positions or ``None``, posptr), the
    occurrences put in their terms' order by a counting sort (stable: docs and positions
    stay ascending), each run of one (term, doc) a posting."""
    cdef list ranked = sorted(names)
    cdef Py_ssize_t terms_count = len(names), i, t, k, postings = 0
    cdef int64_t largest_tf = 0, largest_pos = 0, at, p, previous_doc
    for i in range(terms_count):
        work.rank[<Py_ssize_t>ids[ranked[i]]] = i
    cdef cnp.ndarray posptr = _int64s(terms_count + 1)
    cdef int64_t* starts = <int64_t*>cnp.PyArray_DATA(posptr)
    for t in range(terms_count + 1):
        starts[t] = 0
    for i in range(n):
        starts[work.rank[work.term[i]] + 1] += 1
    for t in range(terms_count):
        starts[t + 1] += starts[t]
    # starts (posptr): each term's first occurrence, so its first position
    for t in range(terms_count):
        work.fill[t] = starts[t]
    for i in range(n):
        t = work.rank[work.term[i]]
        work.order[work.fill[t]] = i
        work.fill[t] += 1
    cdef cnp.ndarray indptr = _int64s(terms_count + 1)
    cdef int64_t* indptr_of = <int64_t*>cnp.PyArray_DATA(indptr)
    cdef int64_t* pos_of = work.sorted_pos
    for t in range(terms_count):
        indptr_of[t] = postings
        previous_doc = -1
        for k in range(starts[t], starts[t + 1]):
            at = work.order[k]
            p = work.pos[at]
            pos_of[k] = p
            if p > largest_pos:
                largest_pos = p
            if work.doc[at] != previous_doc:
                previous_doc = work.doc[at]
                work.postings_doc[postings] = previous_doc
                work.postings_tf[postings] = 0
                work.postings_flag[postings] = 0
                postings += 1
            work.postings_tf[postings - 1] += 1
            work.postings_flag[postings - 1] |= <uint8_t>work.flag[at]
            if work.postings_tf[postings - 1] > largest_tf:
                largest_tf = work.postings_tf[postings - 1]
    indptr_of[terms_count] = postings
    cdef cnp.npy_intp length = postings
    cdef cnp.ndarray flags = None
    if forms:
        flags = cnp.PyArray_EMPTY(1, &length, cnp.NPY_UINT8, 0)
        for i in range(postings):
            (<uint8_t*>cnp.PyArray_DATA(flags))[i] = work.postings_flag[i]
    return (
        ranked,
        indptr,
        _narrowed(work.postings_doc, postings, doc_id_dtype(size)),
        _narrowed(work.postings_tf, postings, small_uint(largest_tf)),
        flags,
        _narrowed(pos_of, n, small_uint(largest_pos)) if positions else None,
        posptr,
    )
