"""The rerank of a plain-words query: proximity of its word pairs.

Query words next to each other in the query (``gap`` 1, or 2 across a dropped stopword)
found at the same distance in a document score as a BM25F phrase, times
``BM25FParams.proximity``. Reading positions is too costly for every match and cheap for
a few, so a search adds the bonus to its best ``rerank_depth`` matches only (and
:meth:`~bnsearch.search.searcher.Searcher.explain` to the one document it explains).
(The other bonus of plain words, for words found in the form typed, needs no positions:
:meth:`~bnsearch.search.engine.Evaluator.form_docs` gives it to every match.)

Every (field, term) of the pairs is looked up once; the reranked documents are then found
in all those postings together (one scan through a doc -> column map when the postings
are few, a binary search per term when they are long), their positions laid end to end
and sorted once, and every pair of every field is found among neighbours of that one
sorted array. The number of numpy calls hardly grows with the number of query words or
fields: at a few thousand documents, call overhead is the whole cost. The compiled core
(``proximity_scores``) does the whole bonus of a segment in one call: per reranked doc
it lays the pair words' positions in a table and counts the neighbours as it goes, with
the same arithmetic (see :func:`proximity_bonus`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.analysis import Analyzer
from bnsearch.arrays import run_positions
from bnsearch.index.segment import SegmentReader, encoded_terms
from bnsearch.search import kernel
from bnsearch.search.context import Context
from bnsearch.search.phrases import (
    POSITIONS_CACHE_TERMS,
    PositionsEntry,
    shared_positions,
    term_positions,
)

FloatArray = npt.NDArray[np.float32]
#: A query word pair: ``(gap, first, second)``, ``gap`` 1 (side by side) or 2.
Pair = tuple[int, str, str]


def proximity_pairs(analyzer: Analyzer, text: str) -> tuple[Pair, ...]:
    """Adjacent word pairs of a query, each once: ``(gap, first, second)``; ``gap``
    counts dropped stopwords between them plus one (so ``1`` means side by side)."""
    sequence = analyzer.term_sequence(text)
    core = kernel.core
    if core is not None:  # (the same loop in one call)
        found: tuple[Pair, ...] = core.proximity_pairs(sequence)
        return found
    pairs: dict[Pair, None] = {}
    at = -3  # (the position of the last word kept: none yet)
    last = ""
    for position, term in enumerate(sequence):
        if term is not None:
            if position - at <= 2:
                pairs[(position - at, last, term)] = None
            at, last = position, term
    return tuple(pairs)


class RerankPlan:
    """What the rerank looks for: the query's word pairs, and the tables the rerank reads
    them by (made with the plan, in one pass: three cached properties cost twice as
    much, 7.7 against 3.9 us a plan of seven words). A plain slotted class set by place,
    not a frozen attrs class: a new plain-words query makes one, and attrs' frozen
    init (a setattr through ``object.__setattr__`` a derived table) was a fifth of it.

    A plan serves one snapshot (a searcher keeps it with the query's plan): ``memo``
    keeps what its searches read again (the fields, the pairs' weights; small). The pair
    words' postings and offsets are kept by the positions cache, whose byte bound
    covers them (:func:`_field_reads`). Made once, then only read.
    """

    __slots__ = ("encoded", "label", "memo", "pair_row", "pairs", "terms")

    def __init__(self, pairs: tuple[Pair, ...] = ()) -> None:
        self.pairs = pairs
        core = kernel.core
        label, terms, table = _tables(pairs) if core is None else core.rerank_tables(pairs)
        #: every word of a pair -> its row (first seen first)
        self.label: dict[str, int] = label
        #: the words of :attr:`label` in its order
        self.terms: tuple[str, ...] = terms
        #: :attr:`terms` as a segment's term tables take them
        #: (:meth:`SegmentReader.position_runs`)
        self.encoded = encoded_terms(terms)
        #: ``[first row, second row, gap]`` -> the pair's index in :attr:`pairs`, or -1
        self.pair_row: npt.NDArray[np.int64] = table
        self.memo: dict[Any, Any] = {}

    def __repr__(self) -> str:
        return f"RerankPlan(pairs={self.pairs!r})"

    def __eq__(self, other: object) -> bool:
        """Plans are equal when their pairs are (the tables follow from them)."""
        return isinstance(other, RerankPlan) and other.pairs == self.pairs

    def __hash__(self) -> int:
        return hash(self.pairs)

    @property
    def empty(self) -> bool:
        return not self.pairs


def _tables(
    pairs: tuple[Pair, ...],
) -> tuple[dict[str, int], tuple[str, ...], npt.NDArray[np.int64]]:
    """A plan's ``(label, terms, pair_row)`` (see :class:`RerankPlan`) with numpy: the
    reference of the compiled core's ``rerank_tables``, which a new plan calls instead
    where the core runs (one call: this loop's numpy store a pair was most of a new
    plan's tables)."""
    label: dict[str, int] = {}
    for _, first, second in pairs:  # (a loop: no generator and dict.fromkeys)
        if first not in label:
            label[first] = len(label)
        if second not in label:
            label[second] = len(label)
    size = len(label)
    table = np.full(size * size * 3, -1, dtype=np.int64)
    for row, (gap, first, second) in enumerate(pairs):
        table[(label[first] * size + label[second]) * 3 + gap] = row
    return label, tuple(label), table.reshape(size, size, 3)


def proximity_added(
    ctx: Context,
    segment: SegmentReader,
    docs: npt.NDArray[Any],
    scores: FloatArray,
    where: npt.NDArray[np.intp] | None,
    plan: RerankPlan,
    weights: Mapping[str, float],
) -> FloatArray:
    """``scores`` (one a doc of ``docs``) with the proximity bonus of the docs at
    ``where`` added (indices into ``docs`` that pick ascending docs; None: every doc,
    which then ascend), as a new array: what ``scores[where] +=
    proximity_bonus(docs[where])`` gives on a copy. The compiled core picks the docs,
    computes their bonus and adds it in one call (float32 scores: a search's always
    are); the numpy path, or scores of another type, take :func:`proximity_bonus`."""
    if kernel.core is not None and not plan.empty and scores.dtype == np.float32:
        fields = _fields(ctx, plan, weights)
        added: FloatArray = kernel.core.proximity_scores(
            _field_reads(ctx, segment, fields, plan, weights),
            docs,
            plan.pair_row,
            _pair_weights(ctx, plan, fields),
            ctx.core_k1,
            where,
            scores,
        )
        return added
    bonus = proximity_bonus(ctx, segment, docs if where is None else docs[where], plan, weights)
    if where is None:
        summed: FloatArray = scores + bonus
        return summed
    out: FloatArray = scores.copy()
    out[where] += bonus
    return out


def proximity_bonus(
    ctx: Context,
    segment: SegmentReader,
    docs: npt.NDArray[Any],
    plan: RerankPlan,
    weights: Mapping[str, float],
) -> FloatArray:
    """The proximity bonus of each of ``docs`` (sorted, unique, few), with numpy: the
    twin of the compiled core's ``proximity_scores``, which :func:`proximity_added`
    calls instead where the core runs.

    A pair's ``x`` in a doc is its count in each field times the field's multiplier,
    summed over fields in float64 and rounded once; saturated like a unit's score, the
    pairs' weighted scores are summed in float64 and rounded once (the compiled core,
    one call per segment, does the same arithmetic).
    """
    if not len(docs) or plan.empty:
        return np.zeros(len(docs), dtype=np.float32)
    fields = _fields(ctx, plan, weights)
    weight = _pair_weights(ctx, plan, fields)
    k1 = np.float32(ctx.params.k1)
    xs = np.zeros((len(plan.pairs), len(docs)), dtype=np.float32)
    occurrences = [_field_occurrences(ctx, segment, f, docs, plan) for f in fields]
    if any(found is not None for found in occurrences):
        multipliers = np.stack([ctx.multiplier(segment, f, weights[f])[docs] for f in fields])
        _pair_frequencies(occurrences, plan, multipliers, xs)
    saturated = xs / (xs + k1) if k1 else (xs > 0).astype(np.float32)
    summed = (weight.astype(np.float64)[:, None] * saturated).sum(axis=0)
    proximity: FloatArray = summed.astype(np.float32)
    return proximity


def rerank_fields(ctx: Context, weights: Mapping[str, float]) -> list[str]:
    """The fields of ``weights`` whose positions the rerank reads (a field with
    postings that keeps positions)."""
    return [f for f in weights if ctx.has_postings(f) and ctx.schema[f].positions]


def _fields(ctx: Context, plan: RerankPlan, weights: Mapping[str, float]) -> list[str]:
    """:func:`rerank_fields` of ``weights``, remembered in the plan (which
    :func:`.plan.rerank_plan` fills when it makes the plan: they are per weights)."""
    fields: list[str] | None = plan.memo.get("fields")
    if fields is None:
        fields = plan.memo["fields"] = rerank_fields(ctx, weights)
    return fields


def _pair_weights(ctx: Context, plan: RerankPlan, fields: list[str]) -> FloatArray:
    """Per pair, its weight: its distinct words' idf summed (as a phrase), times
    ``proximity`` (remembered in the plan)."""
    weight: FloatArray | None = plan.memo.get("weight")
    if weight is None:
        core = kernel.core
        if core is not None:  # (the same figures and sums in one call)
            weight = core.pair_weights(
                plan.pairs, plan.label, plan.terms, fields, ctx.doc_freq_of, ctx.idf, ctx.proximity
            )
        else:
            word_idf = ctx.idf
            # each pair word's df: the largest over the fields (its idf the context's
            # memo), all the plan's words in one call, by row
            term_idf = [word_idf(df) for df in ctx.max_doc_freqs(fields, plan.terms)]
            label = plan.label
            pair_idf = [
                term_idf[label[a]] + (term_idf[label[b]] if b != a else 0.0)
                for _, a, b in plan.pairs
            ]
            weight = np.array(pair_idf, dtype=np.float32) * ctx.proximity
        plan.memo["weight"] = weight
    return weight


#: A pair word with at most this many postings in a field is found in the reranked docs
#: by the compiled core walking its postings and summing their tfs, every search (no
#: offsets array: the core's call at 100k, reads kept, measured the same as with every
#: word's offsets, 28.8 against 28.9 us a query); a longer one by its offsets
#: (:func:`~.phrases.term_positions`: a pass over the list and a few us of calls and
#: bookkeeping, then kept in the positions cache, where a word met again finds them).
WALK_POSTINGS = 4096


def _field_reads(
    ctx: Context,
    segment: SegmentReader,
    fields: list[str],
    plan: RerankPlan,
    weights: Mapping[str, float],
) -> list[tuple[Any, ...]]:
    """What the compiled core reads per field with pair words in ``segment``: the
    words' postings, where their positions are (a short list's tfs and first position,
    walked: :data:`WALK_POSTINGS`; a long one's offsets), the field's positions, their
    rows and the field's multiplier. Kept beside the positions cache
    (:attr:`PositionsCache.derived`) while it holds every entry they refer to: the
    offsets are new arrays as long as their posting lists, which only that cache,
    bounded by bytes, may keep alive (the tfs are views of the segment's)."""
    cache = ctx.positions
    key = (id(plan), segment.ordinal)
    found = cache.derived.get(key)
    if found is not None and found[0] is plan:
        kept: list[tuple[Any, ...]] = found[1]
        return kept
    reads: list[tuple[Any, ...]] = []
    used: list[tuple[tuple[int, str, str], PositionsEntry]] = []
    encoded = plan.encoded
    for field, table, positions, multiplier in _field_tables(ctx, segment, fields, plan, weights):
        laid = None if table is None else table.position_spans(encoded, WALK_POSTINGS)
        if laid is not None:  # (the field's whole postings, a span a word: one call)
            docs, tfs, spans, labels, long = laid
            if len(labels):
                places = (
                    _long_places(ctx, segment, field, plan, spans, labels, used) if long else None
                )
                reads.append(((docs, tfs, spans), places, positions, labels, multiplier))
            continue
        if table is not None:  # (postings not plain arrays: a view a word)
            walked = _walked_entries(ctx, segment, field, plan, used, table, positions)
        else:  # (positions of their own: offsets over them joined)
            entries, labels = _pair_entries(ctx, segment, field, plan)
            terms = [plan.terms[label] for label in labels]
            used += [((segment.ordinal, field, t), e) for t, e in zip(terms, entries, strict=True)]
            entries = shared_positions(entries)
            positions = entries[0][2] if entries else None
            rows = np.array(labels, dtype=np.int32)
            walked = ([e[0] for e in entries], [e[1] for e in entries], rows, positions)
        views, runs, found, positions = walked
        if views:
            reads.append((views, runs, positions, found, multiplier))
    if all(cache.holds(where, entry) for where, entry in used):  # (after every read)
        if len(cache.derived) >= POSITIONS_CACHE_TERMS:
            cache.derived.clear()
        cache.derived[key] = (plan, reads)
    return reads


def _field_tables(
    ctx: Context,
    segment: SegmentReader,
    fields: list[str],
    plan: RerankPlan,
    weights: Mapping[str, float],
) -> list[tuple[str, Any, Any, FloatArray]]:
    """Per field of ``fields``, what the rerank's reads take in ``segment`` whatever the
    words: the field's term table (:meth:`SegmentReader.position_table`; None where it
    does not serve), its positions and its multiplier. Kept per segment in a dict the
    plan shares with every plan of its weights (:func:`.plan.rerank_plan` gives the
    per-weights one; a plan made alone has its own): a new plan then asks each field's
    table once (the reader's and the context's frames a field were two thirds of a new
    plan's reads)."""
    tables: dict[int, tuple[SegmentReader, list[Any]]] | None = plan.memo.get("tables")
    if tables is None:
        tables = plan.memo["tables"] = {}
    found = tables.get(segment.ordinal)
    if found is not None and found[0] is segment:
        kept: list[tuple[str, Any, Any, FloatArray]] = found[1]
        return kept
    made = []
    for field in fields:
        held = segment.position_table(field)
        table, positions = (None, None) if held is None else held
        made.append((field, table, positions, ctx.multiplier(segment, field, weights[field])))
    tables[segment.ordinal] = (segment, made)
    return made


def _long_places(
    ctx: Context,
    segment: SegmentReader,
    field: str,
    plan: RerankPlan,
    spans: npt.NDArray[np.int64],
    labels: npt.NDArray[np.int32],
    used: list[tuple[tuple[int, str, str], PositionsEntry]],
) -> list[Any]:
    """The places of a field's spans (``TermTable.position_spans``): a long list's
    offsets (a span's ``first`` -1, kept in the positions cache: its entry goes to
    ``used``), None for a short one (walked)."""
    places: list[Any] = [None] * len(labels)
    for at in np.flatnonzero(spans[:, 2] < 0).tolist():
        places[at] = _long_offsets(ctx, segment, field, plan.terms[labels[at]], used)
    return places


def _walked_entries(
    ctx: Context,
    segment: SegmentReader,
    field: str,
    plan: RerankPlan,
    used: list[tuple[tuple[int, str, str], PositionsEntry]],
    table: Any,
    positions: Any,
) -> tuple[Any, Any, Any, Any]:
    """The compiled core's entries of the pair words found in one field whose postings
    are not plain arrays (the spans do not serve: :func:`_field_reads`), from one
    compiled lookup of them all in the field's ``table`` (``TermTable.position_runs``,
    the table :func:`_field_tables` holds: not asked of the segment again): their docs
    (a list of views), where their positions are (``(tfs, first)`` for a short list,
    walked, or offsets for a long one, kept in the positions cache: their entry goes to
    ``used``), their rows (int32), and the field's ``positions``."""
    views, runs, labels = table.position_runs(plan.encoded, WALK_POSTINGS)
    for at, place in enumerate(runs):
        if place is None:
            runs[at] = _long_offsets(ctx, segment, field, plan.terms[labels[at]], used)
    return views, runs, labels, positions


def _long_offsets(
    ctx: Context,
    segment: SegmentReader,
    field: str,
    term: str,
    used: list[tuple[tuple[int, str, str], PositionsEntry]],
) -> Any:
    """A long posting list's offsets (:func:`~.phrases.term_positions`, kept in the
    positions cache; its entry goes to ``used``)."""
    entry = term_positions(segment, field, term, ctx.positions)
    assert entry is not None
    used.append(((segment.ordinal, field, term), entry))
    return entry[1]


def _pair_entries(
    ctx: Context, segment: SegmentReader, field: str, plan: RerankPlan
) -> tuple[list[PositionsEntry], list[int]]:
    """The postings with positions of the pair words found in one field, and their rows."""
    entries: list[PositionsEntry] = []
    labels: list[int] = []
    for term, label in plan.label.items():
        entry = term_positions(segment, field, term, ctx.positions)
        if entry is not None and len(entry[0]):
            entries.append(entry)
            labels.append(label)
    return entries, labels


@attrs.frozen
class _Occurrences:
    """The positions of the pair words in the reranked docs, in one field: per posting
    found, the word's row in the plan, the doc's column and its number of positions; then
    all those positions, posting after posting."""

    labels: npt.NDArray[np.intp]
    columns: npt.NDArray[np.intp]
    counts: npt.NDArray[np.int64]
    positions: npt.NDArray[np.int64]


def _field_occurrences(
    ctx: Context, segment: SegmentReader, field: str, docs: npt.NDArray[Any], plan: RerankPlan
) -> _Occurrences | None:
    """Where the pair words occur in ``docs`` in one field (``None``: nowhere)."""
    entries, labels = _pair_entries(ctx, segment, field, plan)
    if not entries:
        return None
    entries = shared_positions(entries)
    rows, columns, starts, counts = _find_postings(segment, docs, entries)
    positions = entries[0][2]  # the field's whole position array, shared by its terms
    return _Occurrences(np.array(labels)[rows], columns, counts, _runs(positions, starts, counts))


#: Finding ``docs`` in a term's postings by binary search costs a few numpy calls per term
#: (about this many ns); scanning all the terms' postings at once costs per posting
#: (:data:`SCAN_NS_PER_POSTING`) and per doc of the segment (a column map).
SEARCH_NS_PER_TERM = 10_000
SCAN_NS_PER_POSTING = 5

Array = npt.NDArray[Any]


def _find_postings(
    segment: SegmentReader, docs: npt.NDArray[Any], entries: list[PositionsEntry]
) -> tuple[Array, Array, Array, Array]:
    """Where each entry's term has a posting for one of ``docs`` (sorted, unique): per
    posting found, the entry's index, the doc's column, and the posting's first position
    and number of positions (offsets into the field's position array)."""
    lengths = [len(entry[0]) for entry in entries]
    total = sum(lengths)
    if total * SCAN_NS_PER_POSTING + segment.max_doc < SEARCH_NS_PER_TERM * len(entries):
        # few postings: scan them all at once through a doc -> column map
        column_of = np.full(segment.max_doc, -1, dtype=np.int32)
        column_of[docs] = np.arange(len(docs))
        columns = column_of[np.concatenate([entry[0] for entry in entries])]
        found = np.flatnonzero(columns >= 0)
        rows = np.searchsorted(np.cumsum(lengths), found, side="right")
        # the entries' offsets end to end (each has one more than its postings), so
        # posting ``found`` of entry ``rows`` starts at ``found + rows``
        offsets = np.concatenate([entry[1] for entry in entries])
        at = found + rows
        starts = offsets[at]
        return rows, columns[found], starts, offsets[at + 1] - starts
    parts: list[tuple[Array, ...]] = []
    for row, (term_docs, offsets, _) in enumerate(entries):
        at = np.searchsorted(term_docs, docs)
        # past the end, "clip" gives the last doc, which is smaller: not found
        hit = np.flatnonzero(np.take(term_docs, at, mode="clip") == docs)
        starts = offsets[at[hit]]
        parts.append((np.full(len(hit), row), hit, starts, offsets[at[hit] + 1] - starts))
    rows, columns, starts, counts = (np.concatenate([part[i] for part in parts]) for i in range(4))
    return rows, columns, starts, counts


def _runs(
    values: npt.NDArray[Any], starts: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """``values[starts[0]:starts[0] + counts[0]]``, then the next run, ... in one array."""
    return values[run_positions(starts, counts)].astype(np.int64)


def _pair_frequencies(
    occurrences: list[_Occurrences | None],
    plan: RerankPlan,
    multipliers: FloatArray,
    xs: FloatArray,
) -> None:
    """Add each pair's field-weighted frequency in each doc to ``xs`` (pairs x docs), from
    the occurrences of every field (``multipliers``: fields x docs)."""
    n_docs = xs.shape[1]
    groups, labels, positions = [], [], []
    for field_number, found in enumerate(occurrences):
        if found is not None:
            # one key per occurrence: field and doc, then position (one term per position)
            groups.append(np.repeat(field_number * n_docs + found.columns, found.counts))
            labels.append(np.repeat(found.labels, found.counts))
            positions.append(found.positions)
    keys = (np.concatenate(groups).astype(np.int64) << 32) | np.concatenate(positions)
    term_of = np.concatenate(labels)
    order = np.argsort(keys)
    keys, term_of = keys[order], term_of[order]
    # a pair at distance 1 or 2 is a neighbour in the sorted keys, or the one after it
    # (a third query word between); a distance above 2 never matters
    near = (keys[1:] - keys[:-1] <= 2).nonzero()[0]
    after_next = (keys[2:] - keys[:-2] <= 2).nonzero()[0]
    first = np.concatenate((near, after_next))
    second = np.concatenate((near + 1, after_next + 2))
    row = plan.pair_row[term_of[first], term_of[second], keys[second] - keys[first]]
    hit = row >= 0
    if not hit.any():
        return
    size = multipliers.size
    freqs = np.bincount(row[hit] * size + (keys[first[hit]] >> 32), minlength=len(xs) * size)
    xs += (freqs.reshape(len(xs), *multipliers.shape) * multipliers).sum(axis=1)
