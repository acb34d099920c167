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

Per field, every query term is looked up once in the documents' postings (one binary
search per term); then the positions of all terms in all those documents are gathered
with one index into the field's position array and sorted once, and every pair is
found among neighbours of that one sorted array, not by a search per pair.
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
from bnsearch.search.engine import Context, _term_positions
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
    proximity = np.zeros(len(docs), dtype=np.float32)
    exact = np.zeros(len(docs), dtype=np.float32)
    if not len(docs) or plan.empty:
        return proximity, exact
    fields = [f for f in weights if ctx.has_postings(f)]
    label = plan.label
    xs = np.zeros((len(plan.pairs), len(docs)), dtype=np.float32)
    typed = np.zeros((len(label), len(docs)), dtype=bool)  # the typed form is in the doc
    for field in fields:
        _field_pass(ctx, segment, field, docs, plan, weights[field], xs, typed)
    df = _doc_freqs(ctx, list(label), fields)
    n = ctx.total_docs
    k1 = np.float32(ctx.params.k1)
    for row, (_, first, second) in enumerate(plan.pairs):
        x = xs[row]
        if x.any():
            # as a phrase's idf: the sum over its distinct words
            pair_idf = sum(float(idf(n, df[term])) for term in {first, second})
            proximity += np.float32(ctx.params.proximity * pair_idf) * (x / (x + k1))
    for term in plan.flags:
        hit = typed[label[term]]
        if hit.any():
            exact[hit] += np.float32(ctx.params.exact_forms * float(idf(n, df[term])))
    return proximity, exact


def _doc_freqs(ctx: Context, terms: list[str], fields: list[str]) -> dict[str, int]:
    """Each term's df as the pair/exact-form idf uses it: the largest over the fields."""
    return {term: max(ctx.reader.doc_freq(f, term) for f in fields) for term in terms}


def _field_pass(
    ctx: Context,
    segment: SegmentReader,
    field: str,
    docs: npt.NDArray[Any],
    plan: RerankPlan,
    weight: float,
    xs: FloatArray,
    typed: npt.NDArray[np.bool_],
) -> None:
    """One field: mark typed forms in ``typed``, add pair frequencies to ``xs``."""
    with_pairs = bool(plan.pairs) and ctx.schema[field].positions
    forms = segment.forms(field)  # per posting; None in a field without form flags
    starts: list[npt.NDArray[Any]] = []
    counts: list[npt.NDArray[Any]] = []
    owners: list[npt.NDArray[Any]] = []  # doc index of each gathered posting
    labels: list[int] = []
    positions: npt.NDArray[Any] | None = None
    for term, number in plan.label.items():
        flag = plan.flags.get(term, 0) if forms is not None else 0
        if with_pairs:
            entry = _term_positions(segment, field, term, ctx.positions)
            if entry is None:
                continue
            term_docs, offsets, positions = entry
        elif flag:
            found = segment.postings(field, term)
            if found is None:
                continue
            term_docs = found[0]
        else:
            continue
        if not len(term_docs):
            continue
        at, present = _locate(term_docs, docs)
        if not present.any():
            continue
        at = at[present]
        if flag and forms is not None:  # postings and flags share their indices
            base = segment.posting_start(field, term)
            typed[number, present] |= (forms[base + at] & flag) == flag
        if with_pairs and number in plan.pair_labels:
            starts.append(offsets[at])
            counts.append(offsets[at + 1] - offsets[at])
            owners.append(np.flatnonzero(present))
            labels.append(number)
    if len(labels) < 2 or positions is None:
        return
    start = np.concatenate(starts)
    count = np.concatenate(counts)
    owner = np.concatenate(owners)
    term_of = np.repeat(np.array(labels), [len(part) for part in starts])
    total = int(count.sum())
    run_start = np.repeat(start - (np.cumsum(count) - count), count)
    pos = positions[run_start + np.arange(total, dtype=np.int64)].astype(np.int64)
    # one key per occurrence: doc index and position (one term per position: keys unique)
    keys = (np.repeat(owner, count).astype(np.int64) << 32) | pos
    order = np.argsort(keys)
    keys, term_of = keys[order], np.repeat(term_of, count)[order]
    pair_row = plan.pair_row
    rows: list[npt.NDArray[np.int64]] = []
    owners_hit: list[npt.NDArray[np.int64]] = []
    # a pair at distance 1 or 2 is a neighbour in the sorted keys, or the one after it
    # (a third query word between); a distance above 2 never matters
    for step in (1, 2):
        distance = keys[step:] - keys[:-step]
        near = np.flatnonzero(distance <= 2)
        if not len(near):
            continue
        row = pair_row[term_of[near], term_of[near + step], distance[near]]
        found = row >= 0
        rows.append(row[found])
        owners_hit.append(keys[near[found]] >> 32)
    if not rows:
        return
    row_all, owner_all = np.concatenate(rows), np.concatenate(owners_hit)
    if not len(row_all):
        return
    freqs = np.bincount(row_all * len(docs) + owner_all, minlength=xs.size).reshape(xs.shape)
    xs += freqs * ctx.multiplier(segment, field, weight)[docs]


def _locate(
    term_docs: npt.NDArray[Any], docs: npt.NDArray[Any]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """For sorted ``docs``: their index in the sorted ``term_docs`` and whether present."""
    at = np.searchsorted(term_docs, docs)
    np.minimum(at, len(term_docs) - 1, out=at)
    present: npt.NDArray[np.bool_] = term_docs[at] == docs
    return at, present
