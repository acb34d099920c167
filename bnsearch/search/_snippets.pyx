# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled part of highlighting: a hit's words and the positions of the terms its
highlights look for, read from the segment's word spans and postings.

What :meth:`bnsearch.search.spans.SpanLookup.words` does with numpy (the reference and
the fallback), as Python lists, in one pass each: decoding a document's word spans
(:mod:`bnsearch.index.wordspans`) and finding the document among the wanted terms'
postings. Then what :mod:`bnsearch.search.highlight` makes of those words (the
reference): the matches in text order (:func:`kept_matches`), and the snippet's window
and its stretch to word and sentence edges (:func:`kept_fragment`).
"""

from cpython cimport array
from cpython.unicode cimport Py_UNICODE_ISSPACE
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


#: Postings between two checkpoints of a candidate's cumulative frequencies (see
#: :func:`doc_positions`).
CHECK_EVERY = 64
cdef Py_ssize_t _EVERY = CHECK_EVERY


def doc_positions(
    const doc_t[::1] docs,
    const tf_t[::1] tfs,
    const pos_t[::1] pos,
    const int64_t[::1] begins,
    const int64_t[::1] ends,
    const int64_t[::1] firsts,
    int64_t doc,
    list checkpoints=None,
):
    """``[(candidate, positions)]`` for the candidates whose postings hold ``doc``:
    candidate ``i``'s postings are ``docs[begins[i]:ends[i]]`` (ascending), their
    positions follow one another in ``pos`` from ``firsts[i]``.

    A posting's positions start after the frequencies of the candidate's postings before
    it. With ``checkpoints`` (one entry a candidate, None until made) a long list's sums
    are kept every :data:`CHECK_EVERY` postings, made the first time a doc deep in it is
    looked up (``checkpoints[i]``, an ``array('q')``), so a later doc adds at most that
    many frequencies instead of every one before it (a common word at a million docs:
    hundreds of thousands)."""
    cdef Py_ssize_t count = begins.shape[0], i, low, high, middle, j, k, steps
    cdef int64_t first, size, total
    cdef list found = [], places
    cdef array.array table
    cdef long long *sums
    if ends.shape[0] != count or firsts.shape[0] != count:
        raise ValueError("begins, ends and firsts differ in length")
    if checkpoints is not None and len(checkpoints) != count:
        raise ValueError("one checkpoint entry a candidate is needed")
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
                            total += tfs[middle]
                checkpoints[i] = entry = table
            table = entry
            k = (low - begins[i]) // _EVERY
            if k >= len(table):
                raise ValueError("a checkpoint table is too short for its postings")
            first += table.data.as_longlongs[k]
            j = begins[i] + k * _EVERY
        while j < low:
            first += tfs[j]
            j += 1
        size = tfs[low]
        if first < 0 or first + size > pos.shape[0]:
            raise ValueError("a posting's positions lie outside the positions")
        places = []
        for j in range(size):
            places.append(pos[first + j])
        found.append((i, places))
    return found


def kept_matches(list keyed, const long long[::1] starts, const long long[::1] ends, Py_ssize_t limit):
    """The word matches of :meth:`bnsearch.search.highlight.KeptWords.matches` (its
    phrases aside): ``(start, end, key)`` of every position of ``keyed`` (``[(key,
    positions)]``), in text order, at most ``limit`` (ValueError for a position past
    the words)."""
    cdef list words = []
    cdef Py_ssize_t count = starts.shape[0], p
    if ends.shape[0] != count:
        raise ValueError("starts and ends differ in length")
    for key, places in keyed:
        for place in places:
            p = place
            if p < 0 or p >= count:
                raise ValueError(f"position {p} past the {count} words")
            words.append((starts[p], ends[p], key))
    words.sort()
    del words[limit:]
    return words


cdef inline bint _has_text(str text, Py_ssize_t begin, Py_ssize_t end):
    """Whether ``text[begin:end]`` holds a character that is not whitespace."""
    cdef Py_ssize_t at
    for at in range(begin, end):
        if not Py_UNICODE_ISSPACE(text[at]):
            return True
    return False


cdef inline Py_ssize_t _first_kept(
    const long long[::1] starts, const signed char[::1] dropped, long long offset
) noexcept:
    """The first word, not dropped, that starts at ``offset`` or later (its number, or
    the word count if none)."""
    cdef Py_ssize_t low = 0, high = starts.shape[0], middle
    while low < high:  # bisect_left
        middle = (low + high) >> 1
        if starts[middle] < offset:
            low = middle + 1
        else:
            high = middle
    while low < starts.shape[0] and dropped[low]:
        low += 1
    return low


def kept_fragment(
    str text,
    const long long[::1] starts,
    const long long[::1] ends,
    const signed char[::1] dropped,
    list matches,
    object weights,
    Py_ssize_t fragment_chars,
    str sentence_ends,
):
    """What :func:`bnsearch.search.highlight.fragment_of` makes of a text's kept words
    and its ``matches`` (not empty; ``weights``: a key's weight, 1.0 if absent):
    ``(start, end, spans, truncated_before, truncated_after)``, by the same window
    choice and stretch, in one pass each with no Python object a word."""
    cdef Py_ssize_t count = len(matches), words = starts.shape[0], size = len(text)
    cdef Py_ssize_t i, j, k, keys = 0, first = 0, last = 0, at
    cdef double score = 0.0, best = -1.0, window
    cdef long long limit, start, end, spare, lead_limit, new_start, new_end, room, word_end
    if count == 0:
        raise ValueError("no matches")
    if ends.shape[0] != words or dropped.shape[0] != words:
        raise ValueError("starts, ends and dropped differ in length")
    cdef array.array starts_at = array.clone(_INT64, count, False)
    cdef array.array ends_at = array.clone(_INT64, count, False)
    cdef array.array key_at = array.clone(_INT64, count, False)
    cdef long long *m_start = starts_at.data.as_longlongs
    cdef long long *m_end = ends_at.data.as_longlongs
    cdef long long *m_key = key_at.data.as_longlongs
    cdef dict numbers = {}
    cdef list key_weights = []
    for i in range(count):
        match = matches[i]
        m_start[i] = match[0]
        m_end[i] = match[1]
        key = match[2]
        number = numbers.get(key)
        if number is None:
            number = numbers[key] = keys
            key_weights.append(float(weights.get(key, 1.0)))
            keys += 1
        m_key[i] = number
    cdef array.array weight_of = array.array("d", key_weights)
    cdef double *w = weight_of.data.as_doubles
    cdef array.array seen_of = array.clone(_INT64, keys, True)
    cdef long long *seen = seen_of.data.as_longlongs
    # the best window (highlight._best_window)
    j = 0
    for i in range(count):
        if j < i:
            j = i
            score = 0.0
            for k in range(keys):
                seen[k] = 0
        limit = m_start[i] + fragment_chars
        while j < count and m_end[j] <= limit:
            k = m_key[j]
            score += w[k] * (1.0 if seen[k] == 0 else 0.1)
            seen[k] += 1
            j += 1
        if j == i:  # a single match longer than the window
            window = w[m_key[i]]
            if window > best:
                best, first, last = window, i, i
            continue
        if score > best:
            best, first, last = score, i, j - 1
        k = m_key[i]
        score -= w[k] * (1.0 if seen[k] == 1 else 0.1)
        seen[k] -= 1
    # the window grown to word edges, sentence-aware (highlight._stretch)
    start, end = m_start[first], m_end[last]
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
        at = _first_kept(starts, dropped, lead_limit)
        if at < words:
            new_start = min(starts[at], start)
    while new_start < start and Py_UNICODE_ISSPACE(text[new_start]):
        new_start += 1
    room = fragment_chars - (end - new_start)
    new_end = end
    at = _first_kept(starts, dropped, end)
    while at < words:
        if not dropped[at]:
            word_end = ends[at]
            if word_end - new_start > fragment_chars or word_end - end > room:
                break
            new_end = word_end
        at += 1
    if new_end < size and text[new_end] != "\n" and text[new_end] in sentence_ends:
        new_end += 1
    spans = tuple([(m_start[i] - new_start, m_end[i] - new_start) for i in range(first, last + 1)])
    return (
        new_start,
        new_end,
        spans,
        _has_text(text, 0, new_start),
        _has_text(text, new_end, size),
    )
