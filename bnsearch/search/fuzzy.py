"""Edit distance in letters, and the term dictionary lookups built on it.

A *letter* is a base character with the combining marks that follow it (vowel signs,
nukta, virama, chandrabindu), so ``কি`` -> ``কী`` is one edit, not a change inside a code
point sequence, and a mark never counts as a letter of its own. Distances are computed on
normalized, unstemmed forms (stemming first would turn small typos into nonsense matches).

:class:`TermDictionary` holds one field's sorted terms with their document frequencies and
answers prefix ranges and fuzzy candidates; a letter-bigram index (built on first use)
keeps fuzzy lookups fast: ``d`` edits destroy at most ``2d`` bigrams, so only terms sharing
enough bigrams with the query word are compared.
"""

from __future__ import annotations

import bisect
import threading
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

_MARK_CATEGORIES = frozenset({"Mn", "Mc", "Me"})
_BOUNDARY = "\x02"


def letters(word: str) -> tuple[str, ...]:
    """``word`` cut into letters: each base character with its following combining marks."""
    units: list[str] = []
    for char in word:
        if units and unicodedata.category(char) in _MARK_CATEGORIES:
            units[-1] += char
        else:
            units.append(char)
    return tuple(units)


def edit_distance(a: Sequence[str], b: Sequence[str], limit: int | None = None) -> int:
    """Levenshtein distance between two letter sequences.

    With ``limit``, stop early and return ``limit + 1`` once the distance must exceed it.
    """
    if len(a) < len(b):
        a, b = b, a
    if limit is not None and len(a) - len(b) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        best = i
        for j, char_b in enumerate(b, 1):
            cost = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (char_a != char_b),
            )
            current.append(cost)
            best = min(best, cost)
        if limit is not None and best > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _bigrams(units: tuple[str, ...]) -> set[str]:
    padded = (_BOUNDARY, *units, _BOUNDARY)
    return {padded[i] + "\x01" + padded[i + 1] for i in range(len(padded) - 1)}


class TermDictionary:
    """The terms of one field, sorted, with document frequencies (summed over segments)."""

    def __init__(self, terms: Iterable[str], doc_freqs: Iterable[int]) -> None:
        pairs = sorted(zip(terms, doc_freqs, strict=True))
        merged_terms: list[str] = []
        merged_dfs: list[int] = []
        for term, df in pairs:
            if merged_terms and merged_terms[-1] == term:
                merged_dfs[-1] += int(df)
            else:
                merged_terms.append(term)
                merged_dfs.append(int(df))
        self.terms: list[str] = merged_terms
        self.doc_freqs: npt.NDArray[np.int64] = np.asarray(merged_dfs, dtype=np.int64)
        self._bigram_index: dict[str, npt.NDArray[np.int32]] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.terms)

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.index_of(term) is not None

    def index_of(self, term: str) -> int | None:
        i = bisect.bisect_left(self.terms, term)
        return i if i < len(self.terms) and self.terms[i] == term else None

    def doc_freq(self, term: str) -> int:
        i = self.index_of(term)
        return 0 if i is None else int(self.doc_freqs[i])

    def prefix_range(self, prefix: str) -> range:
        """Indices of the terms that start with ``prefix`` (code points, so ``প্র`` works)."""
        lo = bisect.bisect_left(self.terms, prefix)
        hi = bisect.bisect_left(self.terms, prefix + "\U0010ffff")
        return range(lo, hi)

    def top_prefixed(self, prefix: str, limit: int) -> list[str]:
        """Up to ``limit`` terms starting with ``prefix``, most frequent first."""
        span = self.prefix_range(prefix)
        if not span:
            return []
        dfs = self.doc_freqs[span.start : span.stop]
        order = np.lexsort((np.arange(len(dfs)), -dfs))[:limit]
        return [self.terms[span.start + int(i)] for i in order]

    def _bigrams(self) -> dict[str, npt.NDArray[np.int32]]:
        with self._lock:
            if self._bigram_index is None:
                lists: dict[str, list[int]] = {}
                for term_id, term in enumerate(self.terms):
                    for gram in _bigrams(letters(term)):
                        lists.setdefault(gram, []).append(term_id)
                self._bigram_index = {
                    g: np.asarray(ids, dtype=np.int32) for g, ids in lists.items()
                }
            return self._bigram_index

    def fuzzy(self, word: str, distance: int, *, limit: int = 50) -> list[tuple[str, int]]:
        """Terms within ``distance`` letter edits of ``word``: ``(term, edits)``.

        Sorted by edits, then by document frequency (most frequent first); at most ``limit``.
        A word of ``n`` letters allows at most ``n // 2`` edits (a one-letter word: none).
        """
        units = letters(word)
        distance = min(distance, len(units) // 2)
        if distance <= 0:
            return [(word, 0)] if word in self else []
        index = self._bigrams()
        postings = [index[g] for g in _bigrams(units) if g in index]
        threshold = len(units) + 1 - 2 * distance  # >= 1 because distance <= len // 2
        if not postings:
            return []
        counts = np.bincount(np.concatenate(postings), minlength=len(self.terms))
        candidates = np.flatnonzero(counts >= threshold)
        found: list[tuple[int, int, str]] = []
        max_len = len(word) + 3 * distance
        for term_id in candidates.tolist():
            term = self.terms[term_id]
            if len(term) > max_len:
                continue
            edits = edit_distance(units, letters(term), distance)
            if edits <= distance:
                found.append((edits, -int(self.doc_freqs[term_id]), term))
        found.sort()
        return [(term, edits) for edits, _, term in found[:limit]]
