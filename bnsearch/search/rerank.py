"""The rerank bonuses of a plain-words query: proximity of word pairs, and exact forms.

Both are too costly for every match and cheap for a few, so a search adds them to its best
``rerank_depth`` matches only (and :meth:`~bnsearch.search.searcher.Searcher.explain` to
the one document it explains):

* **proximity**: query words next to each other in the query (``gap`` 1, or 2 across a
  dropped stopword) found at the same distance in a document; each pair scores as a BM25F
  phrase, times ``BM25FParams.proximity``.
* **exact forms**: a query word typed in an inflected form (মামলাটি) that the document
  uses in that form too (every ending kind of the word's form flag set in the posting's
  flags, see :mod:`bnsearch.analysis.forms`) adds ``BM25FParams.exact_forms`` times the
  word's idf.

Every (field, term) the bonuses need is looked up once; the reranked documents are then
found in all those postings together (one scan through a doc -> column map when the
postings are few, a binary search per term when they are long), their positions laid end
to end and sorted once, and every pair of every field is found among neighbours of that
one sorted array. The number of numpy calls hardly grows with the number of query words
or fields: at a few thousand documents, call overhead is the whole cost.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.analysis import Analyzer
from bnsearch.analysis.forms import inflection_split
from bnsearch.index.segment import SegmentReader
from bnsearch.search.engine import Context, PositionsEntry, _term_positions
from bnsearch.search.scoring import BM25FParams, idf

FloatArray = npt.NDArray[np.float32]
#: A query word pair: ``(gap, first, second)``, ``gap`` 1 (side by side) or 2.
Pair = tuple[int, str, str]


def proximity_pairs(analyzer: Analyzer, text: str) -> list[Pair]:
    """Adjacent word pairs of a query: ``(gap, first, second)``; ``gap`` counts dropped
    stopwords between them plus one (so ``1`` means side by side)."""
    pairs: list[Pair] = []
    previous: tuple[int, str] | None = None
    for position, term in enumerate(analyzer.term_sequence(text)):
        if term is None:
            continue
        if previous is not None and position - previous[0] <= 2:
            pairs.append((position - previous[0], previous[1], term))
        previous = (position, term)
    return list(dict.fromkeys(pairs))


@attrs.frozen
class RerankPlan:
    """What the rerank looks for: word pairs, and the form flags typed per term."""

    pairs: tuple[Pair, ...] = ()
    flags: Mapping[str, int] = attrs.field(factory=dict)

    @property
    def empty(self) -> bool:
        return not self.pairs and not any(self.flags.values())

    @functools.cached_property
    def label(self) -> dict[str, int]:
        """Every term the plan looks up (pair words, then flagged words) -> its row."""
        terms = [*(t for _, a, b in self.pairs for t in (a, b)), *self.flags]
        return {term: number for number, term in enumerate(dict.fromkeys(terms))}

    @functools.cached_property
    def pair_labels(self) -> frozenset[int]:
        """Rows of the terms that occur in a pair."""
        return frozenset(self.label[t] for _, a, b in self.pairs for t in (a, b))

    @functools.cached_property
    def in_pairs(self) -> npt.NDArray[np.bool_]:
        """Per row of :attr:`label`: whether the term occurs in a pair."""
        table = np.zeros(len(self.label), dtype=bool)
        table[list(self.pair_labels)] = True
        return table

    @functools.cached_property
    def pair_row(self) -> npt.NDArray[np.int64]:
        """``[first row, second row, gap]`` -> the pair's index in :attr:`pairs`, or -1."""
        size = len(self.label)
        table = np.full((size, size, 3), -1, dtype=np.int64)
        for row, (gap, first, second) in enumerate(self.pairs):
            table[self.label[first], self.label[second], gap] = row
        return table


def plan_rerank(analyzer: Analyzer, text: str, params: BM25FParams) -> RerankPlan:
    """The rerank plan of a plain-words query (empty when both bonuses are off)."""
    pairs = tuple(proximity_pairs(analyzer, text)) if params.proximity > 0 else ()
    split = inflection_split(analyzer) if params.exact_forms > 0 else None
    flags = {t: f for t, f in split.query_flags(text).items() if f} if split else {}
    return RerankPlan(pairs=pairs, flags=flags)


def rerank_bonus(
    ctx: Context,
    segment: SegmentReader,
    docs: npt.NDArray[Any],
    plan: RerankPlan,
    weights: Mapping[str, float],
) -> tuple[FloatArray, FloatArray]:
    """``(proximity, exact forms)`` bonuses of ``docs`` (sorted, unique, few)."""
    if not len(docs) or plan.empty:
        return np.zeros(len(docs), dtype=np.float32), np.zeros(len(docs), dtype=np.float32)
    # both bonuses read the postings with positions (every text field keeps them)
    fields = [f for f in weights if ctx.has_postings(f) and ctx.schema[f].positions]
    label = plan.label
    xs = np.zeros((len(plan.pairs), len(docs)), dtype=np.float32)
    typed = np.zeros((len(label), len(docs)), dtype=bool)  # the typed form is in the doc
    wanted = _Wanted.collect(ctx, segment, fields, plan)
    if wanted.entries:
        found = _find_postings(segment, docs, wanted)
        labels = np.array(wanted.numbers)[found.rows]
        flags = np.array(wanted.flags, dtype=np.uint8)[found.rows]
        has_form = (flags > 0) & ((found.forms & flags) == flags)
        # a (term, doc) found in several fields: any of them counts
        typed[labels[has_form], found.columns[has_form]] = True
        if plan.pairs:
            field_of = np.array(wanted.field_numbers)[found.rows]
            multipliers = np.stack([ctx.multiplier(segment, f, weights[f])[docs] for f in fields])
            _pair_frequencies(found, labels, field_of, plan, multipliers, xs)
    df = _doc_freqs(ctx, list(label), fields or list(weights))
    n = ctx.total_docs
    # a pair weighs as a phrase: its distinct words' idf summed
    pair_idf = [
        sum(float(idf(n, df[t])) for t in {first, second}) for _, first, second in plan.pairs
    ]
    weight = np.array(pair_idf, dtype=np.float32) * np.float32(ctx.params.proximity)
    k1 = np.float32(ctx.params.k1)
    saturated = xs / (xs + k1) if k1 else (xs > 0).astype(np.float32)
    proximity: FloatArray = weight @ saturated
    flag_idf = [float(idf(n, df[term])) for term in plan.flags]
    bonus = np.array(flag_idf, dtype=np.float32) * np.float32(ctx.params.exact_forms)
    exact: FloatArray = bonus @ typed[[label[term] for term in plan.flags]]
    return proximity.astype(np.float32), exact.astype(np.float32)


def _doc_freqs(ctx: Context, terms: list[str], fields: list[str]) -> dict[str, int]:
    """Each term's df as the pair/exact-form idf uses it: the largest over the fields."""
    return {term: max(ctx.reader.doc_freq(f, term) for f in fields) for term in terms}


@attrs.define
class _Wanted:
    """The (field, term) postings the bonuses read in one segment."""

    numbers: list[int] = attrs.field(factory=list)  # the term's row in the plan's label
    field_numbers: list[int] = attrs.field(factory=list)
    flags: list[int] = attrs.field(factory=list)  # the typed form's flag (0: none)
    entries: list[PositionsEntry] = attrs.field(factory=list)  # (docs, offsets, positions)
    forms: list[npt.NDArray[np.uint8]] = attrs.field(factory=list)  # aligned with docs

    @classmethod
    def collect(
        cls, ctx: Context, segment: SegmentReader, fields: list[str], plan: RerankPlan
    ) -> _Wanted:
        wanted = cls()
        for field_number, field in enumerate(fields):
            all_forms = segment.forms(field)  # None in a field without form flags
            for term, number in plan.label.items():
                flag = plan.flags.get(term, 0) if all_forms is not None else 0
                if not flag and number not in plan.pair_labels:
                    continue
                entry = _term_positions(segment, field, term, ctx.positions)
                if entry is None or not len(entry[0]):
                    continue
                if all_forms is None:
                    forms = np.zeros(len(entry[0]), dtype=np.uint8)
                else:
                    base = segment.posting_start(field, term)
                    forms = all_forms[base : base + len(entry[0])]
                wanted.numbers.append(number)
                wanted.field_numbers.append(field_number)
                wanted.flags.append(flag)
                wanted.entries.append(entry)
                wanted.forms.append(forms)
        return wanted


@attrs.frozen
class _Found:
    """The postings of the wanted terms in the reranked docs, one row per one found."""

    rows: npt.NDArray[np.intp]  # index into the wanted entries
    columns: npt.NDArray[np.intp]  # the doc's index in ``docs``
    forms: npt.NDArray[np.uint8]  # the posting's form flags
    counts: npt.NDArray[np.int64]  # its number of positions
    positions: npt.NDArray[np.int64]  # all their positions, posting after posting


#: Finding ``docs`` in a term's postings by binary search costs a few numpy calls per term
#: (about this many ns); scanning all the terms' postings at once costs per posting
#: (:data:`SCAN_NS_PER_POSTING`) and per doc of the segment (a column map).
SEARCH_NS_PER_TERM = 10_000
SCAN_NS_PER_POSTING = 5


def _find_postings(segment: SegmentReader, docs: npt.NDArray[Any], wanted: _Wanted) -> _Found:
    """Where each wanted term has a posting for one of ``docs`` (sorted, unique)."""
    entries = wanted.entries
    lengths = [len(entry[0]) for entry in entries]
    total = sum(lengths)
    if total * SCAN_NS_PER_POSTING + segment.max_doc < SEARCH_NS_PER_TERM * len(entries):
        # few postings: scan them all at once through a doc -> column map
        column_of = np.full(segment.max_doc, -1, dtype=np.intp)
        column_of[docs] = np.arange(len(docs))
        columns = column_of[np.concatenate([entry[0] for entry in entries])]
        found = np.flatnonzero(columns >= 0)
        ends = np.cumsum(lengths)
        rows = np.searchsorted(ends, found, side="right")
        forms = np.concatenate(wanted.forms)[found]
        starts = np.concatenate([entry[1][:-1] for entry in entries])[found]
        counts = np.concatenate([entry[1][1:] for entry in entries])[found] - starts
        # each term's positions, cut from its field's array and laid end to end
        cuts = [entry[2][entry[1][0] : entry[1][-1]] for entry in entries]
        shift = np.cumsum([0, *(len(cut) for cut in cuts[:-1])]) - [e[1][0] for e in entries]
        starts += shift[rows]
        return _Found(
            rows, columns[found], forms, counts, _runs(np.concatenate(cuts), starts, counts)
        )
    parts: list[tuple[Any, ...]] = []
    for row, (term_docs, offsets, positions) in enumerate(entries):
        at = np.searchsorted(term_docs, docs)
        # past the end, "clip" gives the last doc, which is smaller: not found
        hit = np.flatnonzero(np.take(term_docs, at, mode="clip") == docs)
        local = at[hit]
        starts = offsets[local]
        counts = offsets[local + 1] - starts
        parts.append(
            (
                np.full(len(hit), row),
                hit,
                wanted.forms[row][local],
                counts,
                _runs(positions, starts, counts),
            )
        )
    return _Found(*(np.concatenate([part[i] for part in parts]) for i in range(5)))


def _runs(
    values: npt.NDArray[Any], starts: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """``values[starts[0]:starts[0] + counts[0]]``, then the next run, ... in one array."""
    total = int(counts.sum())
    run_start = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return values[run_start + np.arange(total, dtype=np.int64)].astype(np.int64)


def _pair_frequencies(
    found: _Found,
    labels: npt.NDArray[np.intp],
    field_of: npt.NDArray[np.intp],
    plan: RerankPlan,
    multipliers: FloatArray,
    xs: FloatArray,
) -> None:
    """Add each pair's field-weighted frequency in each doc to ``xs`` (pairs x docs)."""
    in_pairs = np.repeat(plan.in_pairs[labels], found.counts)
    n_docs = xs.shape[1]
    # one key per occurrence: field and doc, then position (one term per position)
    group = np.repeat(field_of * n_docs + found.columns, found.counts)[in_pairs]
    keys = (group.astype(np.int64) << 32) | found.positions[in_pairs]
    term_of = np.repeat(labels, found.counts)[in_pairs]
    order = np.argsort(keys)
    keys, term_of = keys[order], term_of[order]
    pair_row = plan.pair_row
    rows: list[npt.NDArray[np.int64]] = []
    groups: list[npt.NDArray[np.int64]] = []
    # a pair at distance 1 or 2 is a neighbour in the sorted keys, or the one after it
    # (a third query word between); a distance above 2 never matters
    for step in (1, 2):
        distance = keys[step:] - keys[:-step]
        near = np.flatnonzero(distance <= 2)
        row = pair_row[term_of[near], term_of[near + step], distance[near]]
        hit = row >= 0
        rows.append(row[hit])
        groups.append(keys[near[hit]] >> 32)
    row_all, group_all = np.concatenate(rows), np.concatenate(groups)
    if not len(row_all):
        return
    size = multipliers.size
    freqs = np.bincount(row_all * size + group_all, minlength=len(xs) * size)
    xs += (freqs.reshape(len(xs), *multipliers.shape) * multipliers).sum(axis=1)
