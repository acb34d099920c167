"""A hit's words from its segment's word spans and postings, for highlights with no
re-analysis of its text.

A segment written with word spans (:mod:`bnsearch.index.wordspans`) knows where every
word of a document's title, body or caption stands; its postings know the positions of
each term in each document. :class:`SpanLookup` (one per query, segment and field)
gathers once the postings of the terms a highlight may mark (the query's terms, its
phrases' words, and every term of the segment under one of its prefixes), keyed so that
one sorted search finds a hit's postings among them; :meth:`SpanLookup.words` then gives
a hit's :class:`~bnsearch.search.highlight.KeptWords`, which
:mod:`~bnsearch.search.highlight` reads exactly as it reads re-analysed text.

A hit's words are decoded and found by the compiled :mod:`bnsearch.search._snippets`
where it is built (and :mod:`bnsearch.search.kernel` does not run the numpy path), else
by the numpy code here: the reference, giving the same lists. On the compiled path the
snippet's matches, window and stretch are compiled too (:func:`kept_fragment`,
:func:`kept_marks`), giving what :mod:`~bnsearch.search.highlight` gives.
"""

from __future__ import annotations

import bisect
from array import array
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from bnsearch.errors import IndexFormatError
from bnsearch.index import wordspans
from bnsearch.index.segment import SegmentReader
from bnsearch.search import kernel
from bnsearch.search.highlight import (
    MAX_MATCHES,
    SENTENCE_ENDS,
    Fragment,
    KeptWords,
    Match,
    TermMatcher,
    best_kept_fragment,
    fragment_of,
    highlight_all_kept,
)


def _load() -> ModuleType | None:
    if kernel.core is None:  # the numpy path runs (not built, or asked for)
        return None
    try:
        from bnsearch.search import _snippets  # type: ignore[attr-defined]
    except ImportError:  # built with an older setup: the numpy code serves
        return None
    module: ModuleType = _snippets
    return module


#: The compiled highlight code, or None where the numpy code runs (tests swap it).
core: ModuleType | None = _load()

Int64Array = npt.NDArray[np.int64]
#: The sentence ends as one string (what the compiled snippet code looks characters up in).
_SENTENCE_ENDS = "".join(sorted(SENTENCE_ENDS))


def _compiled_words(words: KeptWords) -> ModuleType | None:
    """The compiled code, where it runs and ``words`` are its arrays (from
    :meth:`SpanLookup.words` on the compiled path)."""
    compiled = core
    if compiled is None or not isinstance(words.starts, array):
        return None
    return compiled


def _matches(compiled: ModuleType, words: KeptWords, matcher: TermMatcher) -> list[Match]:
    found: list[Match] = compiled.kept_matches(
        words.keyed(matcher), words.starts, words.ends, MAX_MATCHES
    )
    return words.with_phrases(found, matcher)


def kept_fragment(words: KeptWords, matcher: TermMatcher, *, fragment_chars: int = 200) -> Fragment:
    """:func:`~bnsearch.search.highlight.best_kept_fragment`, by the compiled code where
    it runs (the same window choice and stretch, in one pass each), else by it."""
    compiled = _compiled_words(words)
    if compiled is None or fragment_chars < 1:
        return best_kept_fragment(words, matcher, fragment_chars=fragment_chars)
    matches = _matches(compiled, words, matcher)
    if not matches:  # the start of the text: no window to choose
        return fragment_of(
            words.text, matches, matcher, fragment_chars, words.words_from, words.leading_end
        )
    text = words.text
    start, end, spans, before, after = compiled.kept_fragment(
        text,
        words.starts,
        words.ends,
        words.dropped,
        matches,
        matcher.weights,
        fragment_chars,
        _SENTENCE_ENDS,
    )
    return Fragment(
        text=text[start:end],
        start=start,
        end=end,
        spans=spans,
        truncated_before=before,
        truncated_after=after,
    )


def kept_marks(words: KeptWords, matcher: TermMatcher) -> Fragment:
    """:func:`~bnsearch.search.highlight.highlight_all_kept`, its matches found by the
    compiled code where it runs."""
    compiled = _compiled_words(words)
    if compiled is None:
        return highlight_all_kept(words, matcher)
    spans = tuple((start, end) for start, end, _ in _matches(compiled, words, matcher))
    return Fragment(text=words.text, start=0, end=len(words.text), spans=spans)


class SpanLookup:
    """The postings of the terms a highlight of ``field`` may mark, in one segment."""

    def __init__(self, segment: SegmentReader, field: str, matcher: TermMatcher) -> None:
        spans = segment.word_spans(field)
        if spans is None:
            raise ValueError(f"{segment.name} keeps no word spans for {field!r}")
        self._spans = spans
        self._where = f"{segment.name} field {field!r}"
        arrays = segment._field(field)
        if arrays.pos is None or arrays.posptr is None:
            raise ValueError(f"{segment.name} keeps no positions for {field!r}")
        vocabulary = segment.terms(field)
        wanted = set(matcher.terms)
        wanted.update(term for phrase in matcher.phrases for _, term in phrase)
        ids = {segment.term_id(field, term) for term in wanted}
        ids.discard(-1)
        for prefix in matcher.prefixes:
            low = bisect.bisect_left(vocabulary, prefix)
            high = bisect.bisect_left(vocabulary, prefix + "\U0010ffff")
            ids.update(range(low, high))
        self._max_doc = segment.max_doc
        term_ids = np.array(sorted(ids), dtype=np.int64)
        self._terms = [vocabulary[t] for t in term_ids.tolist()]
        indptr = np.asarray(arrays.indptr)
        begin = indptr[term_ids].astype(np.int64)
        self._pos: Any = arrays.pos
        self._docs: Any = arrays.docs
        self._tfs_all: Any = arrays.tfs
        # each candidate's postings, and where its positions start
        self._begins = begin
        self._ends = indptr[term_ids + 1].astype(np.int64)
        self._firsts = np.asarray(arrays.posptr)[term_ids].astype(np.int64)
        #: per candidate, the compiled code's sums of frequencies along its postings
        self._checkpoints: list[Any] = [None] * len(term_ids)
        self._keyed = False
        # the types the compiled code is built for (what every segment writer writes)
        self._typed = (
            np.dtype(self._docs.dtype).name in ("uint16", "int32")
            and np.dtype(self._tfs_all.dtype).name in ("uint8", "uint16", "uint32", "int64")
            and np.dtype(self._pos.dtype).name in ("uint8", "uint16", "uint32")
        )

    def _key(self) -> None:
        """For the numpy path: every posting of the candidates keyed by (candidate, doc),
        ascending, so that one sorted search finds a doc's postings among all of them
        (marked done last: a second thread meanwhile keys them again, never reads half)."""
        begin, sizes = self._begins, self._ends - self._begins
        total = int(sizes.sum())
        # every posting of those terms, as (candidate number, doc): ascending
        where = np.repeat(begin - (np.cumsum(sizes) - sizes), sizes)
        where += np.arange(total, dtype=np.int64)
        count = len(begin)
        owner = np.repeat(np.arange(count, dtype=np.int64), sizes)
        self._keys = owner * self._max_doc + np.asarray(self._docs)[where]
        tfs = np.asarray(self._tfs_all)[where].astype(np.int64)
        self._tfs = tfs
        # where each of those postings' positions start in the field's positions
        within = np.cumsum(tfs) - tfs
        self._starts = np.repeat(self._firsts - within[np.cumsum(sizes) - sizes], sizes) + within
        self._targets = np.arange(count, dtype=np.int64) * self._max_doc
        self._keyed = True

    def words(self, doc: int, text: str) -> KeptWords:
        """``doc``'s words, with the positions of the wanted terms it holds
        (:class:`IndexFormatError` where the segment's spans and postings disagree)."""
        try:
            words = self._read(doc, text)
        except (ValueError, IndexError) as error:
            raise IndexFormatError(
                f"{self._where}: the word spans of doc {doc} are damaged ({error}); "
                "run bnsearch verify"
            ) from None
        count = len(words.starts)
        if any(max(places) >= count for places in words.positions.values() if places):
            raise IndexFormatError(
                f"{self._where}: doc {doc} has positions past its {count} word spans "
                "(the index is damaged; run bnsearch verify)"
            )
        return words

    def _read(self, doc: int, text: str) -> KeptWords:
        compiled = core
        if compiled is None or not self._typed:
            return self._words(doc, text)
        spans, ptr, width = self._spans
        starts, ends, dropped = compiled.doc_words(
            spans, int(ptr[doc]), int(ptr[doc + 1]), int(width[doc])
        )
        terms = self._terms
        found = compiled.doc_positions(
            self._docs,
            self._tfs_all,
            self._pos,
            self._begins,
            self._ends,
            self._firsts,
            doc,
            self._checkpoints,
        )
        positions = {terms[number]: places for number, places in found}
        return KeptWords(text=text, starts=starts, ends=ends, dropped=dropped, positions=positions)

    def _words(self, doc: int, text: str) -> KeptWords:
        """:meth:`words` with numpy (the reference of the compiled code)."""
        starts, ends, dropped = wordspans.decode(*self._spans, doc)
        if not self._keyed:
            self._key()
        positions: dict[str, list[int]] = {}
        if len(self._keys):
            targets = self._targets + doc
            found = np.searchsorted(self._keys, targets)
            hit = found < len(self._keys)
            hit[hit] = self._keys[found[hit]] == targets[hit]
            terms = self._terms
            pos = self._pos
            for number, posting in zip(
                np.flatnonzero(hit).tolist(), found[hit].tolist(), strict=True
            ):
                start = int(self._starts[posting])
                positions[terms[number]] = pos[start : start + int(self._tfs[posting])].tolist()
        return KeptWords(
            text=text,
            starts=starts.tolist(),
            ends=ends.tolist(),
            dropped=dropped.tolist(),
            positions=positions,
        )
