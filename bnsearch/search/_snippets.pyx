# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled part of highlighting: a hit's words and the positions of the terms its
highlights look for, read from the segment's word spans and postings, and what
:mod:`bnsearch.search.highlight` makes of them (the reference).

:class:`FieldMarks` holds one query's candidates in one segment field (what
:class:`~bnsearch.search.spans.SpanLookup` gathers). Its :meth:`~FieldMarks.words` and
:meth:`~FieldMarks.positions` do what :meth:`bnsearch.search.spans.SpanLookup.words`
does with numpy (the reference and the fallback), in one pass each: decoding a
document's word spans (:mod:`bnsearch.index.wordspans`, :func:`doc_words`) and finding
the document among the wanted terms' postings. :meth:`~FieldMarks.marks` makes a hit's
marks in one call that converts no array: the same reads, then, with no Python object
a word or a position, the matches in text order (phrases included), and the marks of a
whole text or the snippet's window and its stretch to word and sentence edges.

The postings, positions and span pointers are read as columns of little-endian
unsigned numbers of 1, 2, 4 or 8 bytes (:c:type:`Column`), whatever integer type the
segment wrote them in (doc ids and frequencies are never negative).
"""

from cpython cimport array
from cpython.unicode cimport Py_UNICODE_ISSPACE
from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t, uint8_t, uint16_t, uint32_t
from libc.stdlib cimport qsort

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define BNS_SNIPPET_PREFETCH(p) __builtin_prefetch((const void*)(p), 0, 3)
    #else
    #define BNS_SNIPPET_PREFETCH(p) ((void)0)
    #endif
    """
    # a hint to bring the cache line of ``p`` in (never faults; nothing where unsupported)
    void BNS_SNIPPET_PREFETCH(const void* p) noexcept nogil

import array as _array

import numpy as np

cdef array.array _INT64 = _array.array("q")
cdef array.array _INT8 = _array.array("b")


cdef struct Column:
    const uint8_t *data
    Py_ssize_t size  # numbers
    int width  # bytes a number: 1, 2, 4 or 8


cdef inline int64_t _at(Column column, Py_ssize_t i) noexcept nogil:
    """Number ``i`` of ``column`` (the caller keeps ``i`` below its size)."""
    if column.width == 1:
        return column.data[i]
    if column.width == 2:
        return (<const uint16_t *>column.data)[i]
    if column.width == 4:
        return (<const uint32_t *>column.data)[i]
    return (<const int64_t *>column.data)[i]


def _bytes_of(values):
    """``(bytes, width)``: a 1-d array of integers as its raw bytes and their width (for
    a :c:type:`Column`); ValueError for another kind of array."""
    array = np.asarray(values)
    if array.ndim != 1 or array.dtype.kind not in "ui" or array.dtype.itemsize not in (1, 2, 4, 8):
        raise ValueError(f"a column of integers is needed, not {array.dtype} x {array.shape}")
    if not array.dtype.isnative:
        raise ValueError("a column in the machine's byte order is needed")
    return np.ascontiguousarray(array).view(np.uint8), array.dtype.itemsize


cdef Column _column(const uint8_t[::1] raw, int width) noexcept:
    """A column over ``raw`` (which the caller keeps alive while the column is read)."""
    cdef Column column
    column.width = width
    column.size = raw.shape[0] // width
    column.data = &raw[0] if raw.shape[0] else NULL
    return column


cdef inline int64_t _value(const uint8_t[::1] data, Py_ssize_t at, int width) noexcept:
    """The little-endian number of ``width`` bytes at ``at``."""
    cdef int64_t value = data[at]
    if width >= 2:
        value |= (<int64_t>data[at + 1]) << 8
    if width == 4:
        value |= (<int64_t>data[at + 2]) << 16
        value |= (<int64_t>data[at + 3]) << 24
    return value


cdef Py_ssize_t _word_count(
    const uint8_t[::1] spans, Py_ssize_t begin, Py_ssize_t end, int width
) except -1:
    """How many words ``spans[begin:end]`` encodes at ``width`` bytes a number
    (ValueError if that is not whole words)."""
    if width != 1 and width != 2 and width != 4:
        raise ValueError(f"word span width {width}")
    if begin < 0 or end > spans.shape[0] or begin > end or (end - begin) % (2 * width):
        raise ValueError(f"{end - begin} span bytes at width {width}")
    return (end - begin) // (2 * width)


cdef Py_ssize_t _decode_needed(
    const uint8_t[::1] spans,
    Py_ssize_t begin,
    Py_ssize_t count,
    int width,
    Py_ssize_t last_place,
    int64_t reach,
    long long *starts,
    long long *ends,
    signed char *dropped,
) noexcept:
    """The words encoded from ``spans[begin]`` on (see :func:`_word_count`) that a
    highlight reads, and how many: every word up to ``last_place`` (the last matched
    position, -1 for none; ``count`` or more for every word), then on until one starts
    more than ``reach`` characters past the end of that word (past ``reach`` with none),
    or all ``count``. Words start and end in ascending order, so a window and its
    stretch, which end within ``reach`` of their last match, read none further (a body
    of 400 words whose matches stand early decodes only its first tens)."""
    cdef int64_t edge = 0, code, limit = reach if last_place < 0 else -1
    cdef Py_ssize_t at = begin, k
    for k in range(count):
        edge += _value(spans, at, width)
        code = _value(spans, at + width, width)
        starts[k] = edge
        edge += code >> 1
        ends[k] = edge
        dropped[k] = code & 1
        at += 2 * width
        if k == last_place:
            limit = edge + reach
        elif k > last_place and starts[k] > limit:
            return k + 1
    return count


def doc_words(const uint8_t[::1] spans, Py_ssize_t begin, Py_ssize_t end, int width):
    """``(starts, ends, dropped)`` of the words encoded in ``spans[begin:end]`` at
    ``width`` bytes a number (ValueError if that is not whole words): ``array('q')``,
    ``array('q')`` and ``array('b')``, filled in C (no Python object a word)."""
    cdef Py_ssize_t count = _word_count(spans, begin, end, width)
    cdef array.array starts = array.clone(_INT64, count, False)
    cdef array.array ends = array.clone(_INT64, count, False)
    cdef array.array dropped = array.clone(_INT8, count, False)
    _decode_needed(
        spans, begin, count, width, count, 0, starts.data.as_longlongs,
        ends.data.as_longlongs, dropped.data.as_schars,
    )
    return starts, ends, dropped


ctypedef fused number_t:
    uint8_t
    uint16_t
    uint32_t
    int64_t


cdef inline Py_ssize_t _bisect(
    const number_t *numbers, Py_ssize_t low, Py_ssize_t size, int64_t value
) noexcept nogil:
    """:func:`_lower_bound` over ``numbers[low:low + size]``, of one width."""
    cdef Py_ssize_t half
    while size > 1:
        half = size >> 1
        low = low + half if numbers[low + half - 1] < value else low
        size -= half
    return low


cdef inline Py_ssize_t _lower_bound(
    Column column, Py_ssize_t low, Py_ssize_t high, int64_t value
) noexcept nogil:
    """The first of ``column[low:high]`` (ascending, not empty) whose number is not
    below ``value``, or ``high - 1`` where all are: a bisection without branches on the
    numbers (a conditional move a step; the branch a step was mispredicted about half
    the time, and a prefix's snippet searches each of its terms' postings a hit)."""
    if column.width == 1:
        return _bisect(<const uint8_t *>column.data, low, high - low, value)
    if column.width == 2:
        return _bisect(<const uint16_t *>column.data, low, high - low, value)
    if column.width == 4:
        return _bisect(<const uint32_t *>column.data, low, high - low, value)
    return _bisect(<const int64_t *>column.data, low, high - low, value)


#: Postings in a list above which :func:`_seek` guesses where a doc stands.
DEF GUESS_ABOVE = 32


cdef inline Py_ssize_t _guess(
    Py_ssize_t low, Py_ssize_t high, int64_t first, int64_t last, int64_t doc
) noexcept nogil:
    """Where ``doc`` would stand in postings ``low:high`` from ``first`` to ``last``
    (``first <= doc <= last``) were their docs evenly spread."""
    if last == first:
        return low
    return low + <Py_ssize_t>((doc - first) * (high - low - 1) // (last - first))


cdef inline Py_ssize_t _seek(
    Column docs, Py_ssize_t low, Py_ssize_t high, int64_t first, int64_t last, int64_t doc
) noexcept nogil:
    """:func:`_lower_bound` of ``doc`` in ``docs[low:high]``, whose first and last docs
    are ``first <= doc <= last``: a long list is searched near :func:`_guess`, in a
    range widened (doubling) until it holds ``doc``'s place: a bisection of the whole
    list waited on a cache line a step (a prefix's snippet searches each of its terms'
    postings a hit)."""
    cdef Py_ssize_t guess, left, right, step = 8
    if high - low <= GUESS_ABOVE:
        return _lower_bound(docs, low, high, doc)
    guess = _guess(low, high, first, last, doc)
    left = guess - step if guess - step > low else low
    while left > low and _at(docs, left) >= doc:  # until docs[left] < doc (or the first)
        step <<= 1
        left = guess - step if guess - step > low else low
    step = 8
    right = guess + step if guess + step < high - 1 else high - 1
    while right < high - 1 and _at(docs, right) < doc:  # until docs[right] >= doc
        step <<= 1
        right = guess + step if guess + step < high - 1 else high - 1
    return _lower_bound(docs, left, right + 1, doc)


#: Postings between two checkpoints of a candidate's cumulative frequencies (see
#: :meth:`FieldMarks.positions`).
CHECK_EVERY = 64
cdef Py_ssize_t _EVERY = CHECK_EVERY


cdef array.array _spread_of(
    Column docs, Column tfs, const int64_t[::1] begins, const int64_t[::1] ends
):
    """Per candidate its first and last doc (``[first0, last0, first1, ...]``, an
    ``array('q')``): none for an empty list (1, 0), every doc for one that lies outside
    the postings (whose search then raises its error)."""
    cdef Py_ssize_t count = begins.shape[0], i
    cdef array.array spread = array.clone(_INT64, 2 * count, False)
    cdef long long *bounds = spread.data.as_longlongs
    for i in range(count):
        if begins[i] < 0 or ends[i] > docs.size or ends[i] > tfs.size or begins[i] > ends[i]:
            bounds[2 * i], bounds[2 * i + 1] = INT64_MIN, INT64_MAX
        elif begins[i] == ends[i]:
            bounds[2 * i], bounds[2 * i + 1] = 1, 0
        else:
            bounds[2 * i], bounds[2 * i + 1] = _at(docs, begins[i]), _at(docs, ends[i] - 1)
    return spread


cdef int _find_postings(
    Column docs,
    Column tfs,
    Py_ssize_t pos_size,
    const int64_t[::1] begins,
    const int64_t[::1] ends,
    const int64_t[::1] firsts,
    const long long *spread,
    int64_t doc,
    list checkpoints,
    long long *out_first,
    long long *out_size,
) except -1:
    """Per candidate ``i`` (postings ``docs[begins[i]:ends[i]]``, ascending; positions
    from ``firsts[i]`` on; its first and last doc ``spread[2 * i]`` and ``spread[2 * i
    + 1]``, see :func:`_spread_of`), where ``doc``'s positions start in the positions
    and how many there are (``out_size[i]`` 0 where its postings lack ``doc``); see
    :meth:`FieldMarks.positions` for ``checkpoints``."""
    cdef Py_ssize_t count = begins.shape[0], i, low, high, middle, j, k, steps
    cdef int64_t first, size, total
    cdef array.array table
    cdef long long *sums
    if ends.shape[0] != count or firsts.shape[0] != count:
        raise ValueError("begins, ends and firsts differ in length")
    if checkpoints is not None and len(checkpoints) != count:
        raise ValueError("one checkpoint entry a candidate is needed")
    # (most of a prefix's many terms lack the doc: their first and last docs, read
    # once, tell without touching their postings; the others' guessed places are asked
    # for all at once, each on its own cache line)
    for i in range(count):
        out_size[i] = 0
        out_first[i] = 0
        if spread[2 * i] <= doc <= spread[2 * i + 1]:
            low, high = begins[i], ends[i]
            if 0 <= low < high <= docs.size:
                j = _guess(low, high, spread[2 * i], spread[2 * i + 1], doc)
                BNS_SNIPPET_PREFETCH(docs.data + j * docs.width)
    for i in range(count):
        if not spread[2 * i] <= doc <= spread[2 * i + 1]:
            continue
        low, high = begins[i], ends[i]
        if low < 0 or high > docs.size or high > tfs.size or low > high:
            raise ValueError("a candidate's postings lie outside the postings")
        if low == high:
            continue
        low = _seek(docs, low, high, spread[2 * i], spread[2 * i + 1], doc)
        if _at(docs, low) != doc:
            continue
        first = firsts[i]
        j = begins[i]
        if checkpoints is not None and low - begins[i] >= 2 * _EVERY:
            entry = checkpoints[i]
            if entry is None:  # the sums every _EVERY postings, made once
                steps = (ends[i] - begins[i]) // _EVERY + 1
                table = array.clone(_INT64, steps, False)
                sums = table.data.as_longlongs
                total = 0
                for k in range(steps):
                    sums[k] = total
                    if k + 1 < steps:
                        for middle in range(begins[i] + k * _EVERY, begins[i] + (k + 1) * _EVERY):
                            total += _at(tfs, middle)
                checkpoints[i] = entry = table
            table = entry
            k = (low - begins[i]) // _EVERY
            if k >= len(table):
                raise ValueError("a checkpoint table is too short for its postings")
            first += table.data.as_longlongs[k]
            j = begins[i] + k * _EVERY
        while j < low:
            first += _at(tfs, j)
            j += 1
        size = _at(tfs, low)
        if first < 0 or size < 0 or first + size > pos_size:
            raise ValueError("a posting's positions lie outside the positions")
        out_first[i] = first
        out_size[i] = size
    return 0


#: What :class:`FieldMarks` keeps of a match: its characters, its key's number (key
#: numbers rank the keys as strings do), and an order among equal starts.
cdef struct Match:
    int64_t start
    int64_t end
    int64_t key
    int64_t order


cdef int _by_text(const void *a, const void *b) noexcept nogil:
    """Matches in text order: by start, end, key (as Python sorts ``(start, end, key)``)
    and, last, their order (a stable sort)."""
    cdef const Match *x = <const Match *>a
    cdef const Match *y = <const Match *>b
    if x.start != y.start:
        return -1 if x.start < y.start else 1
    if x.end != y.end:
        return -1 if x.end < y.end else 1
    if x.key != y.key:
        return -1 if x.key < y.key else 1
    if x.order != y.order:
        return -1 if x.order < y.order else 1
    return 0


cdef int _by_start(const void *a, const void *b) noexcept nogil:
    """Matches by start alone, then their order (``sort(key=itemgetter(0))``, stable)."""
    cdef const Match *x = <const Match *>a
    cdef const Match *y = <const Match *>b
    if x.start != y.start:
        return -1 if x.start < y.start else 1
    if x.order != y.order:
        return -1 if x.order < y.order else 1
    return 0


cdef inline bint _holds(Column pos, int64_t first, int64_t size, int64_t place) noexcept:
    """Whether the ascending positions ``pos[first:first + size]`` hold ``place``."""
    cdef int64_t low = first, high = first + size, middle
    while low < high:
        middle = (low + high) >> 1
        if _at(pos, middle) < place:
            low = middle + 1
        else:
            high = middle
    return low < first + size and _at(pos, low) == place


cdef class FieldMarks:
    """A query's highlight reads in one segment field, made once (a
    :class:`~bnsearch.search.spans.SpanLookup` makes it): :meth:`marks` gives a hit's
    marks or snippet in one call.

    ``spans``, ``pointers``, ``widths``: the field's word spans (bytes, each doc's first
    byte, each doc's width; :mod:`bnsearch.index.wordspans`); ``docs``, ``tfs``, ``pos``:
    its postings and positions (1-d arrays of integers); per candidate ``i`` (a term a
    highlight may mark) its postings ``docs[begins[i]:ends[i]]``, ascending, their
    positions from ``firsts[i]`` on, ``checkpoints[i]`` (see :meth:`positions`) and
    the key number it answers, ``word_keys[i]`` (-1: only a phrase's word); ``weights``:
    a key number's weight (key numbers must rank the keys as the strings do: ties among
    matches are broken as the Python code breaks them); ``phrases``: ``(key number,
    offsets, candidates)``, an offset from the phrase's first word a word, candidate -1
    for a word the segment lacks; ``sentence_ends``: the characters that end a sentence;
    ``limit``: the most matches kept."""

    cdef const uint8_t[::1] _spans
    cdef const uint8_t[::1] _pointer_raw, _width_raw, _docs_raw, _tfs_raw, _pos_raw
    cdef Column _pointers, _widths, _docs, _tfs, _pos
    cdef const int64_t[::1] _begins, _ends, _firsts, _word_keys
    cdef const double[::1] _weights
    cdef list _checkpoints
    # each candidate's first and last doc (_spread_of)
    cdef array.array _spread
    # the phrases, flat: key number, word count n, n offsets, n candidates; then the next
    cdef array.array _phrase_data
    cdef Py_ssize_t _phrase_count
    cdef str _sentence_ends
    cdef str _blank_edges
    cdef Py_ssize_t _limit

    def __init__(
        self,
        const uint8_t[::1] spans,
        pointers,
        widths,
        docs,
        tfs,
        pos,
        const int64_t[::1] begins,
        const int64_t[::1] ends,
        const int64_t[::1] firsts,
        list checkpoints,
        const int64_t[::1] word_keys,
        const double[::1] weights,
        list phrases,
        str sentence_ends,
        str blank_edges,
        Py_ssize_t limit,
    ):
        cdef Py_ssize_t count = begins.shape[0], keys = weights.shape[0], k
        if ends.shape[0] != count or firsts.shape[0] != count:
            raise ValueError("begins, ends and firsts differ in length")
        if word_keys.shape[0] != count or len(checkpoints) != count:
            raise ValueError("one key and one checkpoint entry a candidate are needed")
        for k in range(count):
            if word_keys[k] >= keys:
                raise ValueError("a key number without a weight")
        self._spans = spans
        self._pointer_raw, width = _bytes_of(pointers)
        self._pointers = _column(self._pointer_raw, width)
        self._width_raw, width = _bytes_of(widths)
        self._widths = _column(self._width_raw, width)
        self._docs_raw, width = _bytes_of(docs)
        self._docs = _column(self._docs_raw, width)
        self._tfs_raw, width = _bytes_of(tfs)
        self._tfs = _column(self._tfs_raw, width)
        self._pos_raw, width = _bytes_of(pos)
        self._pos = _column(self._pos_raw, width)
        self._begins, self._ends, self._firsts = begins, ends, firsts
        self._spread = _spread_of(self._docs, self._tfs, begins, ends)
        self._word_keys, self._weights = word_keys, weights
        self._checkpoints = checkpoints
        flat = _array.array("q")
        self._phrase_count = 0
        for key, offsets, members in phrases:
            offsets = np.asarray(offsets, dtype=np.int64).tolist()
            members = np.asarray(members, dtype=np.int64).tolist()
            if len(offsets) != len(members):
                raise ValueError("a phrase's offsets and words differ in length")
            if not offsets:
                continue
            if key < 0 or key >= keys:
                raise ValueError("a phrase key number without a weight")
            flat.append(key)
            flat.append(len(offsets))
            flat.extend(offsets)
            flat.extend(members)
            self._phrase_count += 1
        self._phrase_data = flat
        self._sentence_ends = sentence_ends
        self._blank_edges = blank_edges
        self._limit = limit

    cdef Py_ssize_t _check_doc(self, int64_t doc) except -1:
        if doc < 0 or doc + 1 >= self._pointers.size or doc >= self._widths.size:
            raise ValueError(f"doc {doc} has no word spans")
        return 0

    def words(self, int64_t doc):
        """``doc``'s ``(starts, ends, dropped)`` (:func:`doc_words` of its spans)."""
        self._check_doc(doc)
        return doc_words(
            self._spans, _at(self._pointers, doc), _at(self._pointers, doc + 1),
            <int>_at(self._widths, doc),
        )

    def positions(self, int64_t doc):
        """``[(candidate, positions)]`` for the candidates whose postings hold ``doc``.

        A posting's positions start after the frequencies of the candidate's postings
        before it: a long list's sums are kept every :data:`CHECK_EVERY` postings
        (``checkpoints[i]``, an ``array('q')``), made the first time a doc deep in it is
        looked up, so a later doc adds at most that many frequencies instead of every one
        before it (a common word at a million docs: hundreds of thousands)."""
        cdef Py_ssize_t count = self._begins.shape[0], i, j
        cdef array.array where = array.clone(_INT64, 2 * count, False)
        cdef long long *at = where.data.as_longlongs
        cdef list found = [], places
        _find_postings(
            self._docs, self._tfs, self._pos.size, self._begins, self._ends, self._firsts,
            self._spread.data.as_longlongs, doc, self._checkpoints, at, at + count,
        )
        for i in range(count):
            if at[count + i] == 0:
                continue
            places = []
            for j in range(at[i], at[i] + at[count + i]):
                places.append(_at(self._pos, j))
            found.append((i, places))
        return found

    def marks(self, int64_t doc, str text, Py_ssize_t fragment_chars):
        """``doc``'s highlight of ``text``: its words from the word spans, the candidates'
        positions in it (as :meth:`positions`), the matches
        (:meth:`bnsearch.search.highlight.KeptWords.matches`), at most ``limit``, then

        * with ``fragment_chars`` 0, the marks of the whole text (a title): the matches'
          ``((start, end), ...)``;
        * else the snippet (:func:`bnsearch.search.highlight.fragment_of`): ``(start,
          end, spans, truncated_before, truncated_after)``, by the same window choice
          (``weights``) and stretch.

        ValueError where the spans, postings or text disagree."""
        if fragment_chars < 0:
            raise ValueError(f"fragment_chars must be >= 0, got {fragment_chars}")
        self._check_doc(doc)
        cdef Py_ssize_t k, i, j, limit = self._limit
        cdef Py_ssize_t count = self._begins.shape[0], size = len(text)
        cdef Py_ssize_t keys = self._weights.shape[0]
        cdef int64_t place, first_offset, span, start_place, key
        cdef Column pos = self._pos
        cdef Py_ssize_t words = _word_count(
            self._spans, _at(self._pointers, doc), _at(self._pointers, doc + 1),
            <int>_at(self._widths, doc),
        )
        cdef array.array word_arrays = array.clone(_INT64, 2 * words + 2 * count, False)
        cdef long long *w_start = word_arrays.data.as_longlongs
        cdef long long *w_end = w_start + words
        cdef long long *c_first = w_end + words
        cdef long long *c_size = c_first + count
        cdef array.array dropped_array = array.clone(_INT8, words, False)
        cdef signed char *w_dropped = dropped_array.data.as_schars
        _find_postings(
            self._docs, self._tfs, pos.size, self._begins, self._ends, self._firsts,
            self._spread.data.as_longlongs, doc, self._checkpoints, c_first, c_size,
        )
        cdef const int64_t[::1] word_keys = self._word_keys
        cdef Py_ssize_t total = 0, last_place = -1
        for i in range(count):
            for j in range(c_first[i], c_first[i] + c_size[i]):
                place = _at(pos, j)
                if place >= words:
                    raise ValueError(f"position {place} past the {words} words")
                if place > last_place:  # (a phrase ends on one of its words' positions)
                    last_place = place
            if word_keys[i] >= 0:
                total += c_size[i]
        # the words read: up to the last match, then as far as a window may stretch
        cdef Py_ssize_t decoded = _decode_needed(
            self._spans, _at(self._pointers, doc), words, <int>_at(self._widths, doc),
            last_place, fragment_chars, w_start, w_end, w_dropped,
        )
        if decoded and w_end[decoded - 1] > size:  # (ends ascend)
            raise ValueError(f"word spans end at {w_end[decoded - 1]}, past the {size} characters")
        # the word matches in text order, at most limit
        cdef array.array word_matches = array.clone(_INT64, 4 * total, False)
        cdef Match *found = <Match *>word_matches.data.as_longlongs
        cdef Py_ssize_t found_count = 0
        for i in range(count):
            if word_keys[i] < 0:
                continue
            for j in range(c_first[i], c_first[i] + c_size[i]):
                place = _at(pos, j)
                found[found_count].start = w_start[place]
                found[found_count].end = w_end[place]
                found[found_count].key = word_keys[i]
                found[found_count].order = found_count
                found_count += 1
        qsort(found, found_count, sizeof(Match), _by_text)
        if found_count > limit:
            found_count = limit
        # phrase occurrences (highlight.phrase_occurrences), then tokens (phrase_tokens):
        # at most limit, and one more a phrase after the limit is reached (as the Python
        # code stops a phrase's loop once its list holds limit)
        cdef array.array occurrence_array = array.clone(
            _INT64, 4 * (limit + self._phrase_count), False
        )
        cdef Match *occurrences = <Match *>occurrence_array.data.as_longlongs
        cdef Py_ssize_t occurrence_count = 0, phrase, length, at = 0, member, first_member
        cdef const long long *phrase_data = self._phrase_data.data.as_longlongs
        cdef const long long *offsets
        cdef const long long *members
        cdef bint whole
        for phrase in range(self._phrase_count):
            key = phrase_data[at]
            length = phrase_data[at + 1]
            offsets = phrase_data + at + 2
            members = offsets + length
            at += 2 + 2 * length
            whole = True
            for k in range(length):
                if members[k] < 0 or members[k] >= count:
                    whole = False
            if not whole:  # a word the segment lacks: the phrase stands nowhere
                continue
            first_offset = offsets[0]
            span = 0
            for k in range(length):
                if offsets[k] - first_offset > span:
                    span = offsets[k] - first_offset
            first_member = members[0]
            for j in range(c_first[first_member], c_first[first_member] + c_size[first_member]):
                place = _at(pos, j)
                start_place = place - first_offset
                if start_place < 0 or place + span >= words:
                    continue
                whole = True
                for k in range(length):
                    member = members[k]
                    if not _holds(pos, c_first[member], c_size[member], start_place + offsets[k]):
                        whole = False
                        break
                if whole:
                    occurrences[occurrence_count].start = place
                    occurrences[occurrence_count].end = place + span
                    occurrences[occurrence_count].key = key
                    occurrences[occurrence_count].order = occurrence_count
                    occurrence_count += 1
                    if occurrence_count >= limit:
                        break
        cdef Py_ssize_t phrase_count = 0, kept
        cdef array.array merged_array
        cdef Match *merged = found
        cdef int64_t end_of_last = -1, p_start, p_end
        if occurrence_count:
            qsort(occurrences, occurrence_count, sizeof(Match), _by_text)
            merged_array = array.clone(_INT64, 4 * (occurrence_count + found_count), False)
            merged = <Match *>merged_array.data.as_longlongs
            for i in range(occurrence_count):
                p_start = w_start[occurrences[i].start]
                p_end = w_end[occurrences[i].end]
                if p_start < end_of_last:
                    continue  # overlaps the previous occurrence: keep the first
                merged[phrase_count].start = p_start
                merged[phrase_count].end = p_end
                merged[phrase_count].key = occurrences[i].key
                merged[phrase_count].order = phrase_count
                phrase_count += 1
                end_of_last = p_end
            kept = phrase_count
            for i in range(found_count):  # the words no phrase covers
                whole = False
                for j in range(phrase_count):
                    if merged[j].start <= found[i].start and found[i].end <= merged[j].end:
                        whole = True
                        break
                if not whole:
                    merged[kept] = found[i]
                    merged[kept].order = kept
                    kept += 1
            qsort(merged, kept, sizeof(Match), _by_start)
            found_count = kept if kept < limit else limit
        if fragment_chars == 0:
            return tuple([(merged[i].start, merged[i].end) for i in range(found_count)])
        if found_count == 0:
            return _leading(text, w_end, decoded, fragment_chars, self._blank_edges)
        return _window(
            text, w_start, w_end, w_dropped, decoded, merged, found_count, &self._weights[0],
            keys, fragment_chars, self._sentence_ends, self._blank_edges,
        )


cdef tuple _leading(
    str text,
    const long long *w_end,
    Py_ssize_t words,
    Py_ssize_t fragment_chars,
    str blank_edges,
):
    """The start of the text up to the end of its last word (dropped ones too) that ends
    within ``fragment_chars`` (``highlight._leading_fragment``)."""
    cdef Py_ssize_t low = 0, high = words, middle, size = len(text), start = 0
    cdef int64_t end = 0
    while low < high:  # bisect_right(ends, fragment_chars)
        middle = (low + high) >> 1
        if w_end[middle] > fragment_chars:
            high = middle
        else:
            low = middle + 1
    if low:
        end = w_end[low - 1]
    if end == 0:
        end = size if size < fragment_chars else fragment_chars
    while start < size and Py_UNICODE_ISSPACE(text[start]):
        start += 1
    if start > end:
        start = end
    return (start, end, (), False, _has_text(text, end, size, blank_edges))


cdef inline bint _has_text(str text, Py_ssize_t begin, Py_ssize_t end, str blank_edges):
    """Whether ``text[begin:end]`` holds a character that shows (not one of
    ``blank_edges``)."""
    cdef Py_ssize_t at
    cdef Py_UCS4 char
    for at in range(begin, end):
        char = text[at]
        if not Py_UNICODE_ISSPACE(char) and char not in blank_edges:
            return True
    return False


cdef inline Py_ssize_t _first_kept(
    const long long *starts, const signed char *dropped, Py_ssize_t words, long long offset
) noexcept:
    """The first word, not dropped, that starts at ``offset`` or later (its number, or
    the word count if none)."""
    cdef Py_ssize_t low = 0, high = words, middle
    while low < high:  # bisect_left
        middle = (low + high) >> 1
        if starts[middle] < offset:
            low = middle + 1
        else:
            high = middle
    while low < words and dropped[low]:
        low += 1
    return low


cdef tuple _window(
    str text,
    const long long *starts,
    const long long *ends,
    const signed char *dropped,
    Py_ssize_t words,
    const Match *matches,
    Py_ssize_t count,
    const double *w,
    Py_ssize_t keys,
    Py_ssize_t fragment_chars,
    str sentence_ends,
    str blank_edges,
):
    """What :func:`bnsearch.search.highlight.fragment_of` makes of a text's kept words
    and its ``matches`` (``count`` > 0): ``(start, end, spans, truncated_before,
    truncated_after)``, by the same window choice and stretch, in one pass each."""
    cdef Py_ssize_t i, j = 0, k, first = 0, last = 0, at, size = len(text)
    cdef double score = 0.0, best = -1.0, window
    cdef long long limit, start, end, spare, lead_limit, new_start, new_end, room, word_end
    cdef array.array seen_of = array.clone(_INT64, keys, True)
    cdef long long *seen = seen_of.data.as_longlongs
    # the best window (highlight._best_window)
    for i in range(count):
        if j < i:
            j = i
            score = 0.0
            for k in range(keys):
                seen[k] = 0
        limit = matches[i].start + fragment_chars
        while j < count and matches[j].end <= limit:
            k = matches[j].key
            score += w[k] * (1.0 if seen[k] == 0 else 0.1)
            seen[k] += 1
            j += 1
        if j == i:  # a single match longer than the window
            window = w[matches[i].key]
            if window > best:
                best, first, last = window, i, i
            continue
        if score > best:
            best, first, last = score, i, j - 1
        k = matches[i].key
        score -= w[k] * (1.0 if seen[k] == 1 else 0.1)
        seen[k] -= 1
    # the window grown to word edges, sentence-aware (highlight._stretch)
    start, end = matches[first].start, matches[last].end
    spare = fragment_chars - (end - start)
    if spare < 0:
        spare = 0
    lead_limit = start - spare // 3
    new_start = -1
    at = start - 1
    while at >= lead_limit and at >= 0:  # the last sentence end before start
        if text[at] in sentence_ends:
            new_start = at + 1
            break
        at -= 1
    if new_start < 0:
        new_start = start
        at = _first_kept(starts, dropped, words, lead_limit)
        if at < words:
            new_start = min(starts[at], start)
    while new_start < start and Py_UNICODE_ISSPACE(text[new_start]):
        new_start += 1
    room = fragment_chars - (end - new_start)
    new_end = end
    at = _first_kept(starts, dropped, words, end)
    while at < words:
        if not dropped[at]:
            word_end = ends[at]
            if word_end - new_start > fragment_chars or word_end - end > room:
                break
            new_end = word_end
        at += 1
    if new_end < size and text[new_end] != "\n" and text[new_end] in sentence_ends:
        new_end += 1
    spans = tuple(
        [(matches[i].start - new_start, matches[i].end - new_start) for i in range(first, last + 1)]
    )
    return (
        new_start,
        new_end,
        spans,
        _has_text(text, 0, new_start, blank_edges),
        _has_text(text, new_end, size, blank_edges),
    )


#: the characters ``html.escape`` replaces (a text holding one is marked up in Python;
#: five searches of the text, each memchr-like, beat one pass reading every character)
cdef tuple _ESCAPED = ("&", "<", ">", '"', "'")


def markup(str text, object spans, str pre, str post, str ellipsis, bint before, bint after):
    """:meth:`bnsearch.search.highlight.Fragment.markup` of a text that needs no HTML
    escaping, with ``spans`` in order inside it: the same pieces joined, without an
    interpreted step a piece. ``None`` where the text holds a character to escape or a
    span is out of order or outside the text (the Python method marks those up)."""
    cdef Py_ssize_t size = len(text), cursor = 0, start, end
    cdef list out = []
    cdef object span
    if type(spans) is not tuple:
        return None
    for character in _ESCAPED:
        if character in text:
            return None
    if before:
        out.append(ellipsis)
    for span in spans:
        if type(span) is not tuple or len(<tuple>span) != 2:
            return None
        start = (<tuple>span)[0]
        end = (<tuple>span)[1]
        if not cursor <= start <= end <= size:
            return None
        out.append(text[cursor:start])
        out.append(pre)
        out.append(text[start:end])
        out.append(post)
        cursor = end
    out.append(text[cursor:])
    if after:
        out.append(ellipsis)
    return "".join(out)
