"""A hit's words from its segment's word spans and postings, for highlights with no
re-analysis of its text.

A segment written with word spans (:mod:`bnsearch.index.wordspans`) knows where every
word of a document's title, body or caption stands; its postings know the positions of
each term in each document. :class:`SpanLookup` (one per query, segment and field)
gathers once the postings of the terms a highlight may mark (the query's terms, its
phrases' words, and every term of the segment under one of its prefixes), keyed so that
one sorted search finds a hit's postings among them; :meth:`SpanLookup.words` then gives
a hit's :class:`~bnsearch.search.highlight.KeptWords`, which
:mod:`~bnsearch.search.highlight` reads exactly as it reads re-analysed text, and
:meth:`SpanLookup.fragment` / :meth:`SpanLookup.marks` the hit's snippet and marks.

Where the compiled :mod:`bnsearch.search._snippets` is built (and
:mod:`bnsearch.search.kernel` does not run the numpy path), a hit's snippet or marks are
one compiled call (words, positions, matches, phrases, window and stretch; no Python
object a word); else the numpy code here finds the words and
:mod:`~bnsearch.search.highlight` makes the fragment: the reference, giving the same
fragments.
"""

from __future__ import annotations

import bisect
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from bnsearch.arrays import run_positions
from bnsearch.errors import IndexFormatError
from bnsearch.index import wordspans
from bnsearch.index.segment import SegmentReader
from bnsearch.search import kernel
from bnsearch.search.highlight import (
    BLANK_EDGES,
    MAX_MATCHES,
    SENTENCE_ENDS,
    Fragment,
    KeptWords,
    TermMatcher,
    best_kept_fragment,
    highlight_all_kept,
    phrase_key,
)

#: The compiled highlight code, or None where the numpy code runs (tests swap it).
core: ModuleType | None = kernel.companion("_snippets")

Int64Array = npt.NDArray[np.int64]
#: The sentence ends as one string (what the compiled snippet code looks characters up in).
_SENTENCE_ENDS = "".join(sorted(SENTENCE_ENDS))


#: The array types the compiled code is built for, as (kind, bytes) (what a dtype's
#: name says: uint16 is ("u", 2); numpy's ``name`` is a Python property, 5 us a lookup).
_DOC_KINDS = frozenset({("u", 2), ("i", 4)})
_TF_KINDS = frozenset({("u", 1), ("u", 2), ("u", 4), ("i", 8)})
_POS_KINDS = frozenset({("u", 1), ("u", 2), ("u", 4)})


def _kind(array: Any) -> tuple[str, int]:
    """``array``'s element type as (kind, bytes)."""
    dtype = np.dtype(array.dtype)
    return dtype.kind, dtype.itemsize


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
        prefixes = matcher.prefixes
        # (a term under one of the prefixes is in the prefix's range below if the
        # segment has it: not looked up alone; a prefix's expansions all are)
        ids = {
            segment.term_id(field, term)
            for term in wanted
            if not prefixes or not term.startswith(prefixes)
        }
        ids.discard(-1)
        for prefix in prefixes:
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
        self._matcher = matcher
        # for the compiled marks: each candidate's key (what it answers, -1: only a
        # phrase's word), numbered in the order of the keys as strings (the Python code
        # breaks ties among matches by the key string), and the phrases by candidate
        phrases = [phrase for phrase in matcher.phrases if phrase]
        answers = matcher.answers(self._terms)
        names = sorted({key for key in answers if key is not None}.union(map(phrase_key, phrases)))
        number = {name: at for at, name in enumerate(names)}
        candidate = {term: at for at, term in enumerate(self._terms)}
        self._word_keys = np.array(
            [-1 if key is None else number[key] for key in answers], dtype=np.int64
        )
        self._weights = np.array([matcher.weight(name) for name in names], dtype=np.float64)
        self._phrases = [
            (
                number[phrase_key(phrase)],
                np.array([offset for offset, _ in phrase], dtype=np.int64),
                np.array([candidate.get(term, -1) for _, term in phrase], dtype=np.int64),
            )
            for phrase in phrases
        ]
        # the types the compiled code is built for (what every segment writer writes)
        self._typed = (
            _kind(self._docs) in _DOC_KINDS
            and _kind(self._tfs_all) in _TF_KINDS
            and _kind(self._pos) in _POS_KINDS
        )
        #: the compiled marks, holding these arrays once (a call converting nine arrays
        #: cost more than its work on a title: 1.4 us a call, 2026-12-06)
        self._field_marks: Any = None
        if core is not None and self._typed:
            self._field_marks = core.FieldMarks(
                *spans,
                self._docs,
                self._tfs_all,
                self._pos,
                self._begins,
                self._ends,
                self._firsts,
                self._checkpoints,
                self._word_keys,
                self._weights,
                self._phrases,
                _SENTENCE_ENDS,
                BLANK_EDGES,
                MAX_MATCHES,
            )

    def _key(self) -> None:
        """For the numpy path: every posting of the candidates keyed by (candidate, doc),
        ascending, so that one sorted search finds a doc's postings among all of them
        (marked done last: a second thread meanwhile keys them again, never reads half)."""
        begin, sizes = self._begins, self._ends - self._begins
        # every posting of those terms, as (candidate number, doc): ascending
        where = run_positions(begin, sizes)
        count = len(begin)
        owner = np.repeat(np.arange(count, dtype=np.int64), sizes)
        self._keys = owner * self._max_doc + np.asarray(self._docs)[where]
        tfs = np.asarray(self._tfs_all)[where].astype(np.int64)
        self._tfs = tfs
        # where each of those postings' positions start in the field's positions
        within = np.cumsum(tfs) - tfs
        # (a candidate without postings, a term a segment's table keeps for none of its
        # docs, starts where the next would: past the end when it is the last)
        firsts = np.append(within, 0)[np.cumsum(sizes) - sizes]
        self._starts = np.repeat(self._firsts - firsts, sizes) + within
        self._targets = np.arange(count, dtype=np.int64) * self._max_doc
        self._keyed = True

    def fragment(self, doc: int, text: str, *, fragment_chars: int = 200) -> Fragment:
        """``doc``'s snippet of ``text`` for the lookup's matcher
        (:func:`~bnsearch.search.highlight.best_kept_fragment` of :meth:`words`)."""
        if fragment_chars < 1:
            raise ValueError(f"fragment_chars must be >= 1, got {fragment_chars}")
        if core is None or self._field_marks is None:
            return best_kept_fragment(
                self.words(doc, text), self._matcher, fragment_chars=fragment_chars
            )
        start, end, marks, before, after = self._compiled(doc, text, fragment_chars)
        return Fragment(
            text=text[start:end],
            start=start,
            end=end,
            spans=marks,
            truncated_before=before,
            truncated_after=after,
        )

    def marks(self, doc: int, text: str) -> Fragment:
        """The whole of ``text`` with ``doc``'s matches marked
        (:func:`~bnsearch.search.highlight.highlight_all_kept` of :meth:`words`)."""
        if core is None or self._field_marks is None:
            return highlight_all_kept(self.words(doc, text), self._matcher)
        return Fragment(text=text, start=0, end=len(text), spans=self._compiled(doc, text, 0))

    def _compiled(self, doc: int, text: str, fragment_chars: int) -> Any:
        """The compiled marks (``fragment_chars`` 0) or snippet of ``doc``'s ``text``."""
        try:
            return self._field_marks.marks(doc, text, fragment_chars)
        except (ValueError, IndexError, OverflowError) as error:
            raise IndexFormatError(
                f"{self._where}: the word spans of doc {doc} are damaged ({error}); "
                "run bnsearch verify"
            ) from None

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
        marks = self._field_marks
        if core is None or marks is None:
            return self._words(doc, text)
        starts, ends, dropped = marks.words(doc)
        terms = self._terms
        positions = {terms[number]: places for number, places in marks.positions(doc)}
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
