"""Query evaluation: a query tree compiled against an index snapshot, scored with numpy.

Compilation turns every leaf into a *unit*: per field, the index terms to read (one term,
a group of expansions for prefix/fuzzy/romanized words, or the terms of a phrase with
their relative positions). Evaluation then runs in two passes so that statistics are
global: pass one gathers, per segment, the documents of each unit and their BM25F ``x``
(weighted, length-normalized frequency summed over fields) and counts the unit's live
document frequency over *all* segments; pass two turns ``x`` into scores with the global
idf and combines units through the boolean structure with dense per-segment arrays.

Everything per posting is numpy: gathers of norms, table lookups, scatter-adds; Python
work is per unit and per field, never per document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.analysis import Analyzer
from bnsearch.analysis.forms import inflection_split
from bnsearch.errors import SchemaError
from bnsearch.index.builder import keyword_values
from bnsearch.index.norms import NORM_DECODE
from bnsearch.index.reader import IndexReader
from bnsearch.index.segment import SegmentReader
from bnsearch.search.fuzzy import TermDictionary
from bnsearch.search.query import Bool, Fuzzy, MatchAll, Phrase, Prefix, Query, Term
from bnsearch.search.romanize import RomanIndex, is_romanized
from bnsearch.search.scoring import BM25FParams, idf, norm_table

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]
DocScores = tuple[npt.NDArray[Any], FloatArray]

#: Terms a prefix may expand to (the most frequent are kept).
PREFIX_EXPANSIONS = 64
#: Terms a fuzzy word may expand to (the closest, then the most frequent).
FUZZY_EXPANSIONS = 32
#: Bengali terms a romanized word may stand for.
ROMAN_EXPANSIONS = 3
#: Above this many posting slices holding more than half a segment's doc count, a unit's
#: x is summed with one bincount over all of them (long prefix and fuzzy expansions);
#: otherwise by binary search into the longest slice (a word in title and body, where one
#: slice is much longer than the other, or a few rare expansions).
DENSE_COMBINE_PARTS = 4
#: A bag of words is scored in a dense ``units x docs`` table (one bincount for all its
#: postings, fields and words) when the table has at most this many cells, or at most
#: :data:`DENSE_CELLS_PER_POSTING` per posting read; otherwise word by word.
DENSE_FLAT_CELLS = 1 << 17
DENSE_CELLS_PER_POSTING = 4

_EMPTY_DOCS = np.empty(0, dtype=np.int32)
_EMPTY_SCORES = np.empty(0, dtype=np.float32)


@attrs.frozen(kw_only=True)
class Unit:
    """A compiled leaf: what to read in each field, and how to score it.

    ``kind`` is ``"terms"`` (one term or a group scored as one pseudo-term: its
    frequencies add up), ``"phrase"`` (``phrases[field]`` = ``((offset, term), ...)``) or
    ``"all"`` (every document, score 0).
    """

    kind: str
    label: str
    boost: float = 1.0
    terms: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    phrases: Mapping[str, tuple[tuple[int, str], ...]] = attrs.field(factory=dict)
    weights: Mapping[str, float] = attrs.field(factory=dict)
    #: prefixes to highlight, per field
    prefixes: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    #: the ending kinds of the word as typed (plain-words queries, see
    #: :mod:`bnsearch.analysis.forms`): a document whose posting has all of them gets
    #: ``BM25FParams.exact_forms`` times the unit's idf on top of its BM25F score
    form_flag: int = 0


@attrs.frozen(kw_only=True)
class Node:
    """A compiled boolean node."""

    must: tuple[Compiled, ...] = ()
    should: tuple[Compiled, ...] = ()
    must_not: tuple[Compiled, ...] = ()
    boost: float = 1.0


Compiled = Unit | Node


class Context:
    """Per-snapshot caches shared by the searches of one :class:`Searcher`."""

    def __init__(self, reader: IndexReader, params: BM25FParams) -> None:
        self.reader = reader
        self.params = params
        self.schema = reader.schema
        self.total_docs = reader.doc_count
        self._tables: dict[tuple[str, float, float], npt.NDArray[np.float32]] = {}
        self._dictionaries: dict[str, TermDictionary] = {}
        self._roman: dict[str, RomanIndex] = {}
        self._avg: dict[str, float] = {}
        self._has_postings: dict[str, bool] = {}
        self._multipliers: dict[tuple[int, str, str, float], FloatArray] = {}
        self.positions: PositionsCache = {}
        self.in_links: list[npt.NDArray[np.int32]] | None = None

    def analyzer(self, field: str) -> Analyzer:
        return self.schema.analyzer(field)

    def is_text(self, field: str) -> bool:
        return self.schema[field].is_text

    def has_postings(self, field: str) -> bool:
        """False for a field no document of the snapshot has text in (skipped cheaply)."""
        known = self._has_postings.get(field)
        if known is None:
            if self.is_text(field):
                known = self.reader.field_length_sum(field) > 0
            else:
                known = any(len(s.terms(field)) for s in self.reader.segments)
            self._has_postings[field] = known
        return known

    def avg_length(self, field: str) -> float:
        value = self._avg.get(field)
        if value is None:
            value = self._avg[field] = self.reader.avg_field_length(field)
        return value

    def table(self, field: str, weight: float) -> npt.NDArray[np.float32]:
        """The 256-entry norm multiplier of ``field`` at ``weight``."""
        b = self.params.b_of(field)
        key = (field, weight, b)
        table = self._tables.get(key)
        if table is None:
            if self.is_text(field):
                table = norm_table(
                    NORM_DECODE, avg_length=self.avg_length(field), b=b, weight=weight
                )
            else:
                table = np.full(256, weight, dtype=np.float32)
            self._tables[key] = table
        return table

    def multiplier(self, segment: SegmentReader, field: str, weight: float) -> FloatArray:
        """Per-doc ``x`` multiplier of ``field`` in ``segment`` (the norm table, gathered)."""
        key = (segment.ordinal, segment.name, field, weight)
        found = self._multipliers.get(key)
        if found is None:
            table = self.table(field, weight)
            if self.is_text(field):
                found = table[segment.norms(field)]
            else:
                found = np.full(segment.max_doc, table[0], dtype=np.float32)
            self._multipliers[key] = found
        return found

    def dictionary(self, field: str) -> TermDictionary:
        """All terms of ``field`` over the snapshot, with document frequencies."""
        found = self._dictionaries.get(field)
        if found is None:
            terms: list[str] = []
            dfs: list[int] = []
            for segment in self.reader.segments:
                seg_terms = segment.terms(field)
                terms.extend(seg_terms)
                dfs.extend(_term_doc_freqs(segment, field, len(seg_terms)))
            found = self._dictionaries[field] = TermDictionary(terms, dfs)
        return found

    def roman(self, field: str) -> RomanIndex:
        found = self._roman.get(field)
        if found is None:
            found = self._roman[field] = RomanIndex(self.dictionary(field))
        return found

    def link_counts(self) -> list[npt.NDArray[np.int32]]:
        if self.in_links is None:
            self.in_links = self.reader.in_link_counts()
        return self.in_links


def _term_doc_freqs(segment: SegmentReader, field: str, count: int) -> list[int]:
    """Postings length of every term of a segment's field, in term order."""
    return [int(v) for v in segment.term_doc_freqs(field)[:count].tolist()]


# -- compilation ---------------------------------------------------------------------------
@attrs.define
class Compiler:
    """Turns a query tree into units for one search (field weights fixed)."""

    ctx: Context
    weights: Mapping[str, float]
    romanized: bool = False
    notes: list[str] = attrs.field(factory=list)

    def fields_of(self, field: str | None) -> dict[str, float]:
        if field is None:
            return dict(self.weights)
        if field not in self.ctx.schema:
            raise SchemaError(f"unknown field {field!r}; fields are {self.ctx.schema.names}")
        weight = self.weights.get(field) or self.ctx.schema[field].weight or 1.0
        return {field: weight}

    def compile(self, query: Query) -> Compiled | None:
        if isinstance(query, Term):
            return self._term(query)
        if isinstance(query, Phrase):
            return self._phrase(query.text, query.field, query.boost, str(query))
        if isinstance(query, Prefix):
            return self._prefix(query)
        if isinstance(query, Fuzzy):
            return self._fuzzy(query)
        if isinstance(query, MatchAll):
            return Unit(kind="all", label="*:*", boost=query.boost)
        if isinstance(query, Bool):
            return self._bool(query)
        raise TypeError(f"not a query node: {type(query).__name__}")

    def words(self, text: str) -> list[Unit]:
        """Units of a plain-words query: one per distinct term (repeats raise the boost).

        When every field shares one analyzer (the usual case) each unit also carries the
        form flag of the word as typed (:attr:`Unit.form_flag`, for the exact-form bonus);
        fields analyzed differently get no such bonus.
        """
        by_analyzer: dict[int, tuple[Analyzer, list[str]]] = {}
        for field in self.weights:
            if self.ctx.has_postings(field):
                analyzer = self.ctx.analyzer(field)
                by_analyzer.setdefault(id(analyzer), (analyzer, []))[1].append(field)
        if len(by_analyzer) == 1:  # the usual case: every field analyzed alike
            analyzer, fields = next(iter(by_analyzer.values()))
            split = inflection_split(analyzer) if self.ctx.params.exact_forms > 0 else None
            counts: dict[str, int] = {}
            flags: dict[str, int] = {}
            if split is None:
                for term in analyzer.terms(text):
                    counts[term] = counts.get(term, 0) + 1
            else:  # the same terms, with the form each word was typed in
                for term, flag in split.query_terms(text):
                    counts[term] = counts.get(term, 0) + 1
                    flags[term] = flags.get(term, 0) | flag
            return [
                Unit(
                    kind="terms",
                    label=term,
                    boost=float(count),
                    terms={field: (term,) for field in fields},
                    weights=self.weights,
                    form_flag=flags.get(term, 0),
                )
                for term, count in counts.items()
            ]
        per_position: dict[int, dict[str, str]] = {}
        for analyzer, fields in by_analyzer.values():
            for position, found in enumerate(analyzer.term_sequence(text)):
                if found is not None:
                    slot = per_position.setdefault(position, {})
                    for field in fields:
                        slot[field] = found
        grouped: dict[tuple[tuple[str, str], ...], int] = {}
        for slot in per_position.values():
            key = tuple(sorted(slot.items()))
            grouped[key] = grouped.get(key, 0) + 1
        return [
            Unit(
                kind="terms",
                label=" ".join(dict.fromkeys(term for _, term in key)),
                boost=float(count),
                terms={field: (term,) for field, term in key},
                weights=self.weights,
            )
            for key, count in grouped.items()
        ]

    def _bool(self, query: Bool) -> Compiled | None:
        must = tuple(c for c in map(self.compile, query.must) if c is not None)
        should = tuple(c for c in map(self.compile, query.should) if c is not None)
        must_not = tuple(c for c in map(self.compile, query.must_not) if c is not None)
        if not must and not should:
            return None
        if not must and not must_not and len(should) == 1:
            only = should[0]
            return attrs.evolve(only, boost=only.boost * query.boost)
        if len(must) == 1 and not should and not must_not:
            only = must[0]
            return attrs.evolve(only, boost=only.boost * query.boost)
        return Node(must=must, should=should, must_not=must_not, boost=query.boost)

    def keyword_key(self, text: str) -> str | None:
        """The keyword-field term of ``text`` (a section name or ``a > b`` path)."""
        values = keyword_values([part for part in text.split(">")])
        return values[-1] if values else None

    def _term(self, query: Term) -> Compiled | None:
        fields = self.fields_of(query.field)
        terms: dict[str, tuple[str, ...]] = {}
        phrase_needed = False
        for field in fields:
            if not self.ctx.is_text(field):
                key = self.keyword_key(query.text)
                if key is not None:
                    terms[field] = (key,)
                continue
            sequence = self.ctx.analyzer(field).term_sequence(query.text)
            found = [t for t in sequence if t is not None]
            if len(found) > 1:
                phrase_needed = True
            elif found:
                terms[field] = (found[0],)
        if phrase_needed:
            return self._phrase(query.text, query.field, query.boost, str(query))
        if self.romanized and is_romanized(query.text):
            for field in fields:
                if not self.ctx.is_text(field) or not self.ctx.has_postings(field):
                    continue
                analyzer = self.ctx.analyzer(field)
                found_terms = self.ctx.roman(field).candidates(
                    query.text, normalize=analyzer.term, limit=ROMAN_EXPANSIONS
                )
                if found_terms:
                    terms[field] = tuple(dict.fromkeys((*terms.get(field, ()), *found_terms)))
        if not terms:
            return None
        return Unit(kind="terms", label=str(query), boost=query.boost, terms=terms, weights=fields)

    def _phrase(self, text: str, field: str | None, boost: float, label: str) -> Compiled | None:
        fields = self.fields_of(field)
        phrases: dict[str, tuple[tuple[int, str], ...]] = {}
        singles: dict[str, tuple[str, ...]] = {}
        analyzed: dict[int, tuple[tuple[int, str], ...]] = {}  # fields sharing an analyzer
        for name in fields:
            if not self.ctx.is_text(name):
                key = self.keyword_key(text)
                if key is not None:
                    singles[name] = (key,)
                continue
            analyzer = self.ctx.analyzer(name)
            pairs = analyzed.get(id(analyzer))
            if pairs is None:
                sequence = analyzer.term_sequence(text)
                pairs = analyzed[id(analyzer)] = tuple(
                    (i, t) for i, t in enumerate(sequence) if t is not None
                )
            if len(pairs) == 1:
                singles[name] = (pairs[0][1],)
            elif pairs:
                if not self.ctx.schema[name].positions:
                    # a phrase cannot be checked there: search the other fields
                    self.notes.append(
                        f"field {name!r} keeps no positions: phrase not searched there"
                    )
                    continue
                first = pairs[0][0]
                phrases[name] = tuple((i - first, t) for i, t in pairs)
        if phrases:
            return Unit(kind="phrase", label=label, boost=boost, phrases=phrases, weights=fields)
        if singles:
            return Unit(kind="terms", label=label, boost=boost, terms=singles, weights=fields)
        return None

    def _prefix(self, query: Prefix) -> Compiled | None:
        fields = self.fields_of(query.field)
        terms: dict[str, tuple[str, ...]] = {}
        prefixes: dict[str, tuple[str, ...]] = {}
        for field in fields:
            if not self.ctx.has_postings(field):
                continue
            if self.ctx.is_text(field):
                prefix = self.ctx.analyzer(field).normalize(query.text)
            else:
                prefix = self.keyword_key(query.text) or ""
            if not prefix:
                continue
            prefixes[field] = (prefix,)
            found = self.ctx.dictionary(field).top_prefixed(prefix, PREFIX_EXPANSIONS)
            if found:
                terms[field] = tuple(found)
        if not prefixes:
            return None
        return Unit(
            kind="terms",
            label=str(query),
            boost=query.boost,
            terms=terms,
            weights=fields,
            prefixes=prefixes,
        )

    def _fuzzy(self, query: Fuzzy) -> Compiled | None:
        fields = self.fields_of(query.field)
        terms: dict[str, tuple[str, ...]] = {}
        for field in fields:
            if not self.ctx.is_text(field) or not self.ctx.has_postings(field):
                continue
            analyzer = self.ctx.analyzer(field)
            word = analyzer.normalize(query.text)
            if not word:
                continue
            dictionary = self.ctx.dictionary(field)
            found = [t for t, _ in dictionary.fuzzy(word, query.distance, limit=FUZZY_EXPANSIONS)]
            stem = analyzer.term(query.text)
            if stem is not None and stem in dictionary and stem not in found:
                found.insert(0, stem)
            if found:
                terms[field] = tuple(found)
        return Unit(kind="terms", label=str(query), boost=query.boost, terms=terms, weights=fields)


# -- evaluation ----------------------------------------------------------------------------
#: Terms whose position offsets a :class:`PositionsCache` keeps.
POSITIONS_CACHE_TERMS = 8192

PositionsEntry = tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]
PositionsCache = dict[tuple[int, str, str], "PositionsEntry | None"]


def _term_positions(
    segment: SegmentReader, field: str, term: str, cache: PositionsCache | None = None
) -> PositionsEntry | None:
    """``(docs, offsets, positions)`` of a term in a segment (offsets into the field's
    whole position array, see :meth:`SegmentReader.term_positions`).

    ``cache`` (one per snapshot: keyed by segment ordinal) keeps the offsets, which cost
    a cumulative sum over the term's postings to build.
    """
    key = (segment.ordinal, field, term)
    if cache is not None and key in cache:
        return cache[key]
    value = segment.term_positions(field, term)
    if cache is not None:
        if len(cache) >= POSITIONS_CACHE_TERMS:
            cache.clear()
        cache[key] = value
    return value


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
    run_starts = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    flat = run_starts + np.arange(total, dtype=np.int64)
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
    """
    entries = []
    for _, term in phrase:
        entry = _term_positions(segment, field, term, cache)
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


Part = tuple[str, npt.NDArray[Any], npt.NDArray[Any]]
#: Per segment, the docs a search may return (``None``: every doc).
Masks = Sequence["npt.NDArray[np.bool_] | None"]


def _masked(matched: list[DocScores], masks: Masks | None) -> list[DocScores]:
    """``matched`` without the docs ``masks`` leaves out."""
    if masks is None:
        return matched
    out: list[DocScores] = []
    for (docs, scores), mask in zip(matched, masks, strict=True):
        if mask is not None and len(docs):
            keep = mask[docs]
            docs, scores = docs[keep], scores[keep]
        out.append((docs, scores))
    return out


class Evaluator:
    """Scores compiled queries over every segment of a snapshot (one search)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.segments = ctx.reader.segments
        self._unit_cache: dict[int, list[DocScores]] = {}

    # -- pass one: postings (or phrase frequencies) of a unit in one segment --------------
    def parts(self, unit: Unit, segment: SegmentReader) -> list[Part]:
        """``(field, docs, tfs)`` slices the unit reads in ``segment``."""
        ctx = self.ctx
        found_parts: list[Part] = []
        for field, phrase in unit.phrases.items():
            if ctx.has_postings(field):
                docs, freqs = phrase_frequencies(segment, field, phrase, cache=ctx.positions)
                if len(docs):
                    found_parts.append((field, docs, freqs))
        for field, terms in unit.terms.items():
            if not ctx.has_postings(field):
                continue
            for term in terms:
                found = segment.postings(field, term)
                if found is not None and len(found[0]):
                    found_parts.append((field, found[0], found[1]))
        return found_parts

    def _x(self, unit: Unit, segment: SegmentReader, part: Part) -> FloatArray:
        field, docs, tfs = part
        multiplier = self.ctx.multiplier(segment, field, unit.weights[field])
        x: FloatArray = np.multiply(tfs, multiplier[docs], dtype=np.float32)
        return x

    def _combine(
        self, unit: Unit, segment: SegmentReader, parts: list[Part]
    ) -> tuple[npt.NDArray[Any], FloatArray, int]:
        """Docs (each once) with the unit's summed ``x``, and the live df in this segment."""
        deletions = segment.del_count > 0
        if not parts:
            return _EMPTY_DOCS, _EMPTY_SCORES, 0
        if len(parts) == 1:
            docs = parts[0][1]
            x = self._x(unit, segment, parts[0])
            count = int(np.count_nonzero(segment.live[docs])) if deletions else len(docs)
            return docs, x, count
        if (  # many long expansions: one pass over them all
            len(parts) > DENSE_COMBINE_PARTS
            and sum(len(part[1]) for part in parts) * 2 > segment.max_doc
        ):
            summed_all = np.bincount(
                np.concatenate([part[1] for part in parts]),
                weights=np.concatenate([self._x(unit, segment, part) for part in parts]),
                minlength=segment.max_doc,
            )
            union = np.flatnonzero(summed_all != 0)  # (nonzero on floats is ~5x slower)
            count = int(np.count_nonzero(segment.live[union])) if deletions else len(union)
            return union, summed_all[union].astype(np.float32), count
        # several fields (or expansions): the longest posting list is the base; the others
        # find their docs in it by binary search (their x adds in place), and the docs
        # the base lacks are appended once (a doc in several short lists is summed)
        ordered = sorted(parts, key=lambda part: len(part[1]), reverse=True)
        base_docs = ordered[0][1]
        base_x = self._x(unit, segment, ordered[0])
        extra_docs: list[npt.NDArray[Any]] = []
        extra_x: list[FloatArray] = []
        for part in ordered[1:]:
            docs, x = part[1], self._x(unit, segment, part)
            at = np.searchsorted(base_docs, docs)
            at[at == len(base_docs)] = 0
            found = base_docs[at] == docs
            base_x[at[found]] += x[found]  # docs are unique within a part
            missing = ~found
            if missing.any():
                extra_docs.append(docs[missing])
                extra_x.append(x[missing])
        if not extra_docs:
            union, summed = base_docs, base_x
        else:
            more_docs = np.concatenate(extra_docs)
            more_x = np.concatenate(extra_x)
            if len(extra_docs) > 1:
                more_docs, inverse = np.unique(more_docs, return_inverse=True)
                more_x = np.bincount(inverse, weights=more_x).astype(np.float32)
            union = np.concatenate([base_docs, more_docs])
            summed = np.concatenate([base_x, more_x])
        count = int(np.count_nonzero(segment.live[union])) if deletions else len(union)
        return union, summed, count

    def _saturate(self, x: FloatArray, weight: float) -> FloatArray:
        k1 = self.ctx.params.k1
        if k1 == 0:
            flat: FloatArray = np.full(len(x), weight, dtype=np.float32)
            return flat
        scores: FloatArray = x / (x + np.float32(k1))
        scores *= np.float32(weight)
        return scores

    # -- pass two: scores -----------------------------------------------------------------
    def unit_scores(self, unit: Unit) -> list[DocScores]:
        """Per segment, the unit's matching docs and scores."""
        cached = self._unit_cache.get(id(unit))
        if cached is not None:
            return cached
        if unit.kind == "all":
            result = [
                (np.arange(s.max_doc, dtype=np.int32), np.zeros(s.max_doc, dtype=np.float32))
                for s in self.segments
            ]
        else:
            all_parts = [self.parts(unit, s) for s in self.segments]
            gathered = [
                self._combine(unit, s, parts)
                for s, parts in zip(self.segments, all_parts, strict=True)
            ]
            df = sum(count for _, _, count in gathered)
            unit_idf = self.unit_idf(unit, df)
            bonus = self.form_bonus(unit, unit_idf)
            result = []
            for segment, parts, (docs, x, _) in zip(
                self.segments, all_parts, gathered, strict=True
            ):
                scores = self._saturate(x, unit.boost * unit_idf)
                with_form = self.form_docs(unit, segment, parts) if bonus else _EMPTY_DOCS
                if len(with_form):  # within docs, which a union of fields leaves unsorted
                    order = np.argsort(docs, kind="stable")
                    scores[order[np.searchsorted(docs[order], with_form)]] += bonus
                result.append((docs, scores))
        self._unit_cache[id(unit)] = result
        return result

    def form_bonus(self, unit: Unit, unit_idf: float) -> float:
        """What a document with the word in its typed form gains (0: no typed form)."""
        return self.ctx.params.exact_forms * unit_idf if unit.form_flag else 0.0

    def form_docs(self, unit: Unit, segment: SegmentReader, parts: list[Part]) -> npt.NDArray[Any]:
        """The docs where some field's posting of the unit's term has all the ending kinds
        of :attr:`Unit.form_flag` (the postings' flags share their indices with the doc
        ids). A doc found in several fields repeats: ``scores[docs] += bonus`` still adds
        once (numpy applies one update per index), and no sort is paid for."""
        flag = unit.form_flag
        found = []
        for field, docs, _ in parts:
            forms = segment.forms(field)
            terms = unit.terms.get(field, ())
            if forms is None or len(terms) != 1:
                continue  # a segment written without flags, or not a one-term part
            start = segment.posting_start(field, terms[0])
            found.append(docs[(forms[start : start + len(docs)] & flag) == flag])
        if not found:
            return _EMPTY_DOCS
        return found[0] if len(found) == 1 else np.concatenate(found)

    def unit_idf(self, unit: Unit, df: int) -> float:
        """The idf of a unit (a phrase weighs the sum of its words' idf, as in Lucene)."""
        n = self.ctx.total_docs
        if unit.kind != "phrase":
            return float(idf(n, df))
        words: dict[str, int] = {}
        for field, pairs in unit.phrases.items():
            for _, term in pairs:
                words[term] = max(words.get(term, 0), self.ctx.reader.doc_freq(field, term))
        return float(sum(idf(n, value) for value in words.values()))

    def flat(self, units: Sequence[Unit], masks: Masks | None = None) -> list[DocScores]:
        """The fast path for a bag of words: any unit may match, scores add up.

        In a small segment (or one where the words read many postings) all units are
        summed into a dense ``units x docs`` table with one bincount
        (:meth:`_dense_x`) and saturated together. Elsewhere, units that read one posting
        slice (one term in one field: the common case) are scored together in one
        vectorized pass per field; the rest go through :meth:`_combine` (BM25F over
        several fields).
        """
        per_segment = [[self.parts(u, s) for u in units] for s in self.segments]
        dfs = np.zeros(len(units), dtype=np.int64)
        merged: list[FloatArray | dict[int, tuple[npt.NDArray[Any], FloatArray]]] = []
        for segment, unit_parts in zip(self.segments, per_segment, strict=True):
            deletions = segment.del_count > 0
            postings = sum(len(part[1]) for parts in unit_parts for part in parts)
            cells = len(units) * segment.max_doc
            if cells <= max(DENSE_FLAT_CELLS, DENSE_CELLS_PER_POSTING * postings):
                table = self._dense_x(segment, units, unit_parts)
                dfs += np.count_nonzero(table[:, segment.live] if deletions else table, axis=1)
                merged.append(table)
                continue
            several: dict[int, tuple[npt.NDArray[Any], FloatArray]] = {}
            for i, parts in enumerate(unit_parts):
                if len(parts) == 1:
                    docs = parts[0][1]
                    dfs[i] += int(np.count_nonzero(segment.live[docs])) if deletions else len(docs)
                elif parts:
                    docs, x, count = self._combine(units[i], segment, parts)
                    several[i] = (docs, x)
                    dfs[i] += count
            merged.append(several)
        if all(u.kind == "terms" for u in units):  # one vectorized idf
            idfs = idf(self.ctx.total_docs, dfs)
        else:
            idfs = np.array([self.unit_idf(u, int(df)) for u, df in zip(units, dfs, strict=True)])
        weights = (np.array([u.boost for u in units]) * idfs).astype(np.float32)
        bonuses = [(i, self.form_bonus(u, float(idfs[i]))) for i, u in enumerate(units)]
        bonuses = [(i, bonus) for i, bonus in bonuses if bonus]
        k1 = np.float32(self.ctx.params.k1)
        result: list[DocScores] = []
        for ordinal, (segment, unit_parts, prepared) in enumerate(
            zip(self.segments, per_segment, merged, strict=True)
        ):
            if isinstance(prepared, np.ndarray):
                saturated = prepared / (prepared + k1) if k1 else (prepared > 0)
                acc = (weights @ saturated).astype(np.float32)
            else:
                acc = self._sparse_flat(segment, units, unit_parts, prepared, weights)
            for i, bonus in bonuses:
                acc[self.form_docs(units[i], segment, unit_parts[i])] += np.float32(bonus)
            matching = acc != 0  # (nonzero on a float array is ~5x slower than on bools)
            if masks is not None and masks[ordinal] is not None:
                matching &= masks[ordinal]
            docs = np.flatnonzero(matching).astype(np.int32)
            result.append((docs, acc[docs]))
        return result

    def _dense_x(
        self, segment: SegmentReader, units: Sequence[Unit], unit_parts: list[list[Part]]
    ) -> FloatArray:
        """Every unit's BM25F ``x`` for every doc of the segment (``units x max_doc``)."""
        groups: dict[tuple[str, float], tuple[list[Any], list[Any], list[int], list[int]]] = {}
        for i, parts in enumerate(unit_parts):
            for field, docs, tfs in parts:
                group = groups.setdefault((field, units[i].weights[field]), ([], [], [], []))
                group[0].append(docs)
                group[1].append(tfs)
                group[2].append(i)
                group[3].append(len(docs))
        size = segment.max_doc
        keys: list[npt.NDArray[Any]] = []
        xs: list[FloatArray] = []
        for (field, weight), (docs_list, tfs_list, owners, lengths) in groups.items():
            docs = np.concatenate(docs_list)
            multiplier = self.ctx.multiplier(segment, field, weight)
            xs.append(np.multiply(np.concatenate(tfs_list), multiplier[docs], dtype=np.float32))
            keys.append(np.repeat([owner * size for owner in owners], lengths) + docs)
        if not keys:
            return np.zeros((len(units), size), dtype=np.float32)
        summed = np.bincount(
            np.concatenate(keys), weights=np.concatenate(xs), minlength=len(units) * size
        )
        table: FloatArray = summed.astype(np.float32).reshape(len(units), size)
        return table

    def _sparse_flat(
        self,
        segment: SegmentReader,
        units: Sequence[Unit],
        unit_parts: list[list[Part]],
        several: dict[int, tuple[npt.NDArray[Any], FloatArray]],
        weights: FloatArray,
    ) -> FloatArray:
        """The summed scores of a bag of words in a large segment, word by word."""
        k1 = np.float32(self.ctx.params.k1)
        acc = np.zeros(segment.max_doc, dtype=np.float32)
        by_field: dict[str, tuple[list[Any], list[Any], list[int], list[int]]] = {}
        for i, parts in enumerate(unit_parts):
            if len(parts) == 1:
                field, docs, tfs = parts[0]
                group = by_field.setdefault(field, ([], [], [], []))
                group[0].append(docs)
                group[1].append(tfs)
                group[2].append(len(docs))
                group[3].append(i)
            elif i in several:
                docs, x = several[i]
                acc[docs] += self._saturate(x, float(weights[i]))
        for field, (docs_list, tfs_list, lengths, which) in by_field.items():
            weight = units[which[0]].weights[field]
            multiplier = self.ctx.multiplier(segment, field, weight)
            if len(docs_list) == 1:
                docs, tfs = docs_list[0], tfs_list[0]
                unit_weight: Any = weights[which[0]]
            else:
                docs = np.concatenate(docs_list)
                tfs = np.concatenate(tfs_list)
                unit_weight = np.repeat(weights[which], lengths)
            x = np.multiply(tfs, multiplier[docs], dtype=np.float32)
            scores = x / (x + k1) if k1 else np.ones(len(x), dtype=np.float32)
            scores *= unit_weight
            if len(docs_list) == 1:
                acc[docs] += scores
            else:  # each unit's docs are unique: one fancy add per unit
                start = 0
                for unit_docs, length in zip(docs_list, lengths, strict=True):
                    acc[unit_docs] += scores[start : start + length]
                    start += length
        return acc

    def evaluate(
        self, node: Compiled, max_docs: Sequence[int], masks: Masks | None = None
    ) -> list[DocScores]:
        """Per segment: the matching docs (unique) and their scores.

        ``masks`` (per segment, ``None`` for all docs) keeps only the docs it marks: live
        docs, a filter. Where the scores pass through a dense per-doc array anyway (a bag
        of words, a boolean node) the mask costs one ``&`` over it instead of a pass over
        every match.
        """
        if isinstance(node, Unit):
            return _masked(self.unit_scores(node), masks)
        if (
            not node.must
            and not node.must_not
            and node.boost == 1
            and all(isinstance(c, Unit) and c.kind != "all" for c in node.should)
        ):
            return self.flat([c for c in node.should if isinstance(c, Unit)], masks)
        must = [self.evaluate(child, max_docs) for child in node.must]
        should = [self.evaluate(child, max_docs) for child in node.should]
        must_not = [self.evaluate(child, max_docs) for child in node.must_not]
        result: list[DocScores] = []
        boost = np.float32(node.boost)
        for ordinal, size in enumerate(max_docs):
            acc = np.zeros(size, dtype=np.float32)
            if must:
                count = np.zeros(size, dtype=np.int32)
                for clause in must:
                    docs, scores = clause[ordinal]
                    acc[docs] += scores
                    count[docs] += 1
                mask = count == len(must)
                for clause in should:
                    docs, scores = clause[ordinal]
                    acc[docs] += scores
            else:
                mask = np.zeros(size, dtype=bool)
                for clause in should:
                    docs, scores = clause[ordinal]
                    acc[docs] += scores
                    mask[docs] = True
            for clause in must_not:
                mask[clause[ordinal][0]] = False
            if masks is not None and masks[ordinal] is not None:
                mask &= masks[ordinal]
            docs = np.flatnonzero(mask).astype(np.int32)
            scores = acc[docs]
            if boost != 1:
                scores *= boost
            result.append((docs, scores))
        return result
