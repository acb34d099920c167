"""Positions: a term's position offsets (cached per snapshot), and phrase frequencies.

A phrase matches where its terms stand at their relative offsets; :func:`phrase_frequencies`
finds those documents and counts the matches per document with numpy over the terms'
position arrays (no Python loop per document). Where the compiled core runs, both come
from :mod:`bnsearch.search._positions`: a phrase is read in one call straight from its
terms' posting slices (no offsets built), and a term's offsets cost one pass in C; the
numpy code here is the reference it is tested against (the same arrays).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from bnsearch.arrays import run_positions
from bnsearch.index.segment import SegmentReader, encoded_terms
from bnsearch.search import kernel, unitstats
from bnsearch.search.wordpieces import kept_layout

if TYPE_CHECKING:
    from bnsearch.search.compiler import Unit
    from bnsearch.search.context import Context

IntArray = npt.NDArray[np.int64]
_EMPTY_DOCS = np.empty(0, dtype=np.int32)

#: Terms whose position offsets a :class:`PositionsCache` keeps.
POSITIONS_CACHE_TERMS = 8192
#: Bytes of position offsets a :class:`PositionsCache` keeps (eight a posting: 64 MB hold
#: 8M postings; the docs and positions of an entry are views of the segment).
POSITIONS_CACHE_BYTES = 64 << 20

#: :meth:`SegmentReader.position_runs`'s ``walk`` that gives every term's tfs.
_EVERY = sys.maxsize

PositionsEntry = tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]


#: The compiled position reads; used only while :data:`kernel.core` is set (tests swap
#: that for ``None`` to run the numpy path).
core: ModuleType | None = kernel.companion("_positions")


def _compiled() -> ModuleType | None:
    """The compiled position reads where the compiled path runs, else None."""
    return core if kernel.core is not None else None


class PositionsCache(dict[tuple[int, str, str], "PositionsEntry | None"]):
    """``(segment ordinal, field, term) -> entry`` (see :func:`term_positions`), with
    the bytes of the offsets it holds in :attr:`nbytes`, and :attr:`derived`: what was
    built from its entries and refers to them (the rerank's reads), dropped with them,
    so the byte bound holds for both."""

    nbytes: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.derived: dict[Any, Any] = {}

    def clear(self) -> None:
        super().clear()
        self.nbytes = 0
        self.derived.clear()

    def holds(self, key: tuple[int, str, str], entry: PositionsEntry) -> bool:
        """Whether ``entry`` is the one kept under ``key``."""
        return self.get(key) is entry


def term_positions(
    segment: SegmentReader, field: str, term: str, cache: PositionsCache | None = None
) -> PositionsEntry | None:
    """``(docs, offsets, positions)`` of a term in a segment (offsets into the field's
    whole position array, see :meth:`SegmentReader.term_positions`).

    ``cache`` (one per snapshot: keyed by segment ordinal) keeps the offsets, which cost
    a cumulative sum over the term's postings to build: at most
    :data:`POSITIONS_CACHE_TERMS` terms and :data:`POSITIONS_CACHE_BYTES` of offsets.
    """
    key = (segment.ordinal, field, term)
    if cache is not None and key in cache:
        return cache[key]
    compiled = _compiled()
    value: PositionsEntry | None
    if compiled is None:
        value = segment.term_positions(field, term)
    else:
        run = segment.position_run(field, term)
        value = None if run is None else (run[0], compiled.term_offsets(run[1], run[2]), run[3])
    owned = 0 if value is None else value[1].nbytes
    if cache is not None and owned <= POSITIONS_CACHE_BYTES:
        if len(cache) >= POSITIONS_CACHE_TERMS or cache.nbytes + owned > POSITIONS_CACHE_BYTES:
            cache.clear()
        cache[key] = value
        cache.nbytes += owned
    return value


def shared_positions(entries: list[PositionsEntry]) -> list[PositionsEntry]:
    """``entries`` (of one field) as entries over ONE position array, which the code
    gathering several terms' positions by one index reads (the compiled phrase and pair
    cores): as they are where they share one (a segment's field: every term's positions
    are in its position array), else each entry's positions cut out (its run of the
    array it has) and joined, its offsets moved to match (a refreshed reader's anchor
    field under deferred updates gives a term whose postings changed positions of its
    own: :mod:`bnsearch.index.anchordelta`)."""
    if all(entry[2] is entries[0][2] for entry in entries):
        return entries
    parts, moved, at = [], [], 0
    for docs, offsets, positions in entries:
        first, end = (int(offsets[0]), int(offsets[-1])) if len(offsets) else (0, 0)
        parts.append(positions[first:end])
        moved.append((docs, offsets - (first - at)))
        at += end - first
    joined = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint32)
    return [(docs, offsets, joined) for docs, offsets in moved]


def _positions_keys(
    entry: tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]],
    docs: npt.NDArray[Any],
    shift: int,
) -> IntArray:
    """``doc << 32 | (position - shift)`` for every occurrence of the term in ``docs``."""
    term_docs, offsets, positions = entry
    index = np.searchsorted(term_docs, docs)
    starts = offsets[index]
    counts = offsets[index + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    flat = run_positions(starts, counts)
    pos = positions[flat].astype(np.int64) + (1 << 20) - shift
    keys: IntArray = (np.repeat(docs.astype(np.int64), counts) << 32) | pos
    return keys


def _member(sorted_keys: IntArray, queries: IntArray) -> npt.NDArray[np.bool_]:
    """Which ``queries`` occur in ``sorted_keys`` (one binary search each, no sorting)."""
    if not len(sorted_keys):
        return np.zeros(len(queries), dtype=bool)
    index = np.searchsorted(sorted_keys, queries)
    index[index == len(sorted_keys)] = 0
    hit: npt.NDArray[np.bool_] = sorted_keys[index] == queries
    return hit


def _present(term_docs: npt.NDArray[Any], docs: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Which of the sorted ``docs`` appear in the sorted ``term_docs``."""
    if not len(term_docs):
        return np.zeros(len(docs), dtype=bool)
    index = np.searchsorted(term_docs, docs)
    index[index >= len(term_docs)] = len(term_docs) - 1
    hit: npt.NDArray[np.bool_] = term_docs[index] == docs
    return hit


def phrase_frequencies(
    segment: SegmentReader,
    field: str,
    phrase: Sequence[tuple[int, str]],
    *,
    within: npt.NDArray[Any] | None = None,
    cache: PositionsCache | None = None,
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Docs of ``segment`` where the phrase occurs in ``field``, and how often.

    ``within`` (sorted unique doc ids, usually few) restricts the search to those docs.
    On the compiled path a phrase over the whole segment is one call that reads the
    terms' postings and positions as they are (``cache`` is not needed there).
    """
    compiled = _compiled()
    if compiled is not None and within is None:
        return _compiled_frequencies(compiled, segment, field, phrase)
    entries = []
    for _, term in phrase:
        entry = term_positions(segment, field, term, cache)
        if entry is None:
            return _EMPTY_DOCS, _EMPTY_DOCS
        entries.append(entry)
    if within is not None:
        keep = np.ones(len(within), dtype=bool)
        for entry in entries:
            keep &= _present(entry[0], within)
        candidates = within[keep]
    else:
        candidates = entries[0][0]
        for entry in sorted(entries[1:], key=lambda e: len(e[0])):
            candidates = np.intersect1d(candidates, entry[0], assume_unique=True)
            if not len(candidates):
                break
    if not len(candidates):
        return _EMPTY_DOCS, _EMPTY_DOCS
    keys: IntArray | None = None
    for (shift, _), entry in zip(phrase, entries, strict=True):
        term_keys = _positions_keys(entry, candidates, shift)
        # keys are sorted: docs ascend, and positions ascend within a doc
        keys = term_keys if keys is None else keys[_member(term_keys, keys)]
        if not len(keys):
            return _EMPTY_DOCS, _EMPTY_DOCS
    assert keys is not None
    freqs = np.bincount(np.searchsorted(candidates, keys >> 32), minlength=len(candidates))
    found = freqs > 0
    return candidates[found].astype(np.int32), freqs[found]


def layout(ctx: Context, unit: Unit) -> list[Any]:
    """Per segment of the snapshot, ``(field, table, positions, multiplier)`` of each of
    the phrase unit's fields with postings (the field's term table holding its positions
    and its position array, which :meth:`SegmentReader.position_runs` reads), or None
    for a segment where a field's held table does not serve (read field by field); made
    once per fields and weights (kept beside a word's layouts,
    :func:`.wordpieces.kept_layout`, by a key of three items where theirs have two)."""
    weights = unit.weights
    return kept_layout(ctx, (tuple(unit.phrases), id(weights), "phrase"), weights, _phrase_entry)


def _phrase_entry(ctx: Context, segment: Any, field: str, weight: float) -> tuple[Any, ...] | None:
    held = segment.position_table(field)  # (None where its table does not serve)
    if held is None:
        return None
    table, positions = held
    return (field, table, positions, ctx.multiplier(segment, field, weight))


def pieces_df(ctx: Context, unit: Unit) -> tuple[list[Any] | None, int]:
    """Per segment, a phrase unit's :data:`~.engine.Pieces` (None for a segment the
    caller reads field by field; None for all: not a phrase, or the compiled reads or
    count are not running) and its live documents over the snapshot, from one compiled
    call (``_units.phrase_pieces_df`` over ``_positions.phrase_pieces``: the twin of
    :meth:`~.engine.Evaluator._read_parts` and :func:`.unitstats.live_doc_freqs`); the
    count is -1 where not counted here (the caller counts it)."""
    compiled = _compiled()
    counts = unitstats.core
    if compiled is None or counts is None or not unit.phrases:
        return None, -1
    encoded: dict[str, list[bytes | None]] = {}
    last: Any = None
    words: list[bytes | None] = []
    for field, phrase in unit.phrases.items():  # (a loop: a phrase has a few fields)
        if phrase is not last:  # (the fields sharing an analyzer share the tuple: once)
            words = encoded_terms([term for _, term in phrase])
            last = phrase
        encoded[field] = words
    lives, max_docs = ctx.lives()
    found: tuple[list[Any], int] = counts.phrase_pieces_df(
        compiled.phrase_pieces, unit.phrases, encoded, layout(ctx, unit), lives, max_docs
    )
    return found


def _compiled_frequencies(
    compiled: ModuleType, segment: SegmentReader, field: str, phrase: Sequence[tuple[int, str]]
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """:func:`phrase_frequencies` over the whole segment, on the compiled core: every
    word's run from the field's held table in one call, else word by word."""
    runs = segment.position_runs(field, encoded_terms([term for _, term in phrase]), _EVERY)
    if runs is None:
        runs = _runs_one_by_one(segment, field, phrase)
    docs_of, places, _, positions = runs
    if len(docs_of) < len(phrase):  # (a word the field does not hold)
        return _EMPTY_DOCS, _EMPTY_DOCS
    # (the places as the table gives them, the shifts as the unit holds them)
    docs, freqs = compiled.phrase_frequencies(docs_of, places, phrase, positions)
    if not len(docs):
        return _EMPTY_DOCS, _EMPTY_DOCS
    return docs, freqs


def _runs_one_by_one(
    segment: SegmentReader, field: str, phrase: Sequence[tuple[int, str]]
) -> tuple[list[Any], list[Any], Any, Any]:
    """:meth:`SegmentReader.position_runs` of the phrase's words (each place ``(tfs,
    first)``) looked up one by one, for a field whose held table does not serve (a
    refreshed reader's deferred anchors): their positions joined into one array where
    they are not in one (see :func:`shared_positions`)."""
    runs: list[tuple[Any, Any, int, Any]] = []
    for _, term in phrase:  # (a loop, not comprehensions: a phrase has a few terms)
        run = segment.position_run(field, term)
        if run is None or not len(run[0]):
            return [], [], None, None
        runs.append(run)
    if any(run[3] is not runs[0][3] for run in runs):
        parts, at = [], 0
        for run in runs:
            count = int(np.sum(run[1], dtype=np.int64))
            parts.append((run[0], run[1], at, run[3][run[2] : run[2] + count]))
            at += count
        joined = np.concatenate([part[3] for part in parts])
        runs = [(part[0], part[1], part[2], joined) for part in parts]
    return [run[0] for run in runs], [(run[1], run[2]) for run in runs], None, runs[0][3]
