"""Per-snapshot caches shared by the searches of one searcher: norm tables, per-doc
multipliers, term dictionaries, romanization and spelling indexes, position offsets, in-link
counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from bnsearch.analysis import Analyzer
from bnsearch.index.norms import NORM_DECODE
from bnsearch.index.reader import IndexReader
from bnsearch.index.segment import SegmentReader
from bnsearch.search.fuzzy import TermDictionary
from bnsearch.search.phrases import PositionsCache
from bnsearch.search.romanize import RomanIndex
from bnsearch.search.scoring import BM25FParams, norm_table, scalar_idf
from bnsearch.search.spelling import SpellingIndex, TermSource, segment_terms
from bnsearch.search.statistics import AnyStatistics

if TYPE_CHECKING:  # the compiler imports this module
    from bnsearch.search.compiler import Unit

FloatArray = npt.NDArray[np.float32]
#: (field, term) document frequencies a :class:`Context` remembers where the statistics
#: come from outside (otherwise the reader remembers its own).
DOC_FREQ_CACHE_TERMS = 65_536
#: (unit, segment) posting slices a :class:`Context` remembers: the units of a cached
#: plan (:class:`~bnsearch.search.searcher.Searcher` keeps the plans of recent queries)
#: read the same slices at every search.
PARTS_CACHE_ENTRIES = 16_384
#: Bytes of phrase frequencies (new arrays; term slices are views of the segment) that
#: cache may hold: many different phrases would otherwise keep up to 16,384 of them.
PARTS_CACHE_BYTES = 64 << 20
#: Bytes of the postings' ``x`` the compiled core's arguments may hold (a word's title
#: slice beside its body, :meth:`~bnsearch.search.engine.Evaluator._other_x`: 4 bytes a
#: posting, new arrays); past it a unit's core reads the multipliers instead.
X_CACHE_BYTES = 64 << 20
#: Bytes of the units' joined memos (:meth:`~bnsearch.search.engine.Evaluator._joined`:
#: per doc of a unit in a segment its doc, saturated score and bonus flag, 9 bytes) a
#: :class:`Context` may hold, a bound of their own (the common words of several-word
#: queries at 1M would otherwise take the room of a prefix's or a title's ``x``); past
#: it a unit is read slice by slice.
JOINED_CACHE_BYTES = 64 << 20
#: Compiled pieces a :class:`Context` keeps by what they are (units, a word's spelling
#: variants, rerank plans): a new query made of words met before gets the same unit
#: objects, so the caches above (keyed by unit) serve it as they serve a kept plan.
INTERNED_ENTRIES = 16_384
#: Rerank plans a :class:`Context` keeps by their word pairs and weights (apart from
#: :attr:`Context.interned`; the pair words' position offsets they read are held by the
#: positions cache, bounded by bytes, not by the plans).
RERANK_PLANS_KEPT = 256
#: Idf values a :class:`Context` remembers by document frequency (:meth:`Context.idf`).
IDF_MEMO_ENTRIES = 65_536
#: The first item of the interned keys of what is kept per field weights rather than per
#: word (the weighted fields grouped by analyzer): :meth:`Context.forget_queries` keeps it.
PER_WEIGHTS = "per weights"


class Context:
    """Per-snapshot caches shared by the searches of one :class:`Searcher`."""

    def __init__(
        self, reader: IndexReader, params: BM25FParams, statistics: AnyStatistics | None = None
    ) -> None:
        self.reader = reader
        self.params = params
        #: ``params.k1`` as the compiled core reads it (a float32, as a Python float)
        self.core_k1 = float(np.float32(params.k1))
        #: ``params.proximity`` as the rerank's pair weights take it (a float32 scalar)
        self.proximity = np.float32(params.proximity)
        self.schema = reader.schema
        #: global figures to score with instead of the snapshot's (a sharded index)
        self.statistics = statistics
        self.total_docs = reader.doc_count if statistics is None else statistics.total_docs
        self._idf_docs = int(self.total_docs)  # (:meth:`idf`'s, converted once)
        #: per segment its size (what every compiled search hands the core)
        self.max_docs = [segment.max_doc for segment in reader.segments]
        self._tables: dict[tuple[str, float], npt.NDArray[np.float32]] = {}
        self._ceilings: dict[tuple[str, float], tuple[FloatArray, bool]] = {}
        self._dictionaries: dict[str, TermDictionary] = {}
        self._roman: dict[str, RomanIndex] = {}
        self._spelling: dict[str, SpellingIndex] = {}
        self._avg: dict[str, float] = {}
        self._has_postings: dict[str, bool] = {}
        self._multipliers: dict[tuple[int, str, str, float], FloatArray] = {}
        #: ``(fields, id(weights)) -> (weights, layout)`` (:func:`.wordpieces.layout`)
        self.word_layouts: dict[tuple[Any, ...], tuple[object, list[Any]]] = {}
        self.positions = PositionsCache()
        self._doc_freqs: dict[tuple[str, str], int] = {}
        self.in_links: list[npt.NDArray[np.int32]] | None = None
        #: ``(id(unit), segment ordinal) -> (unit, slices)``; the unit is kept so its id
        #: is not reused while the entry lives (see :meth:`Evaluator.parts`)
        self.parts: dict[tuple[int, int], tuple[object, list[Any]]] = {}
        #: bytes of the phrase frequencies held by :attr:`parts`
        self.parts_bytes = 0
        #: bytes of postings' ``x`` made for the core's arguments (:data:`X_CACHE_BYTES`)
        self.x_bytes = 0
        #: bytes of the units' joined memos (:data:`JOINED_CACHE_BYTES`)
        self.joined_bytes = 0
        #: ``id(unit) -> UnitArgs``: what the compiled core reads of each unit (its
        #: pieces per segment, live documents, figures; see :class:`.engine.UnitArgs`)
        self.units: dict[int, Any] = {}
        #: ``(unit ids, prune, skip) -> (units, per segment the compiled core's arguments)``
        #: of a combination of several units (a lone unit's are in its UnitArgs)
        self.calls: dict[tuple[Any, ...], tuple[tuple[object, ...], list[Any]]] = {}
        #: ``(pairs, weights) -> RerankPlan`` (see :data:`RERANK_PLANS_KEPT`)
        self.rerank_plans: dict[tuple[Any, ...], Any] = {}
        #: ``id(compiled) -> (compiled, matchers, span lookups)`` of the queries whose
        #: pages were highlighted last (see :func:`bnsearch.search.hits.page_marks`)
        self.page_marks: dict[int, tuple[Any, Any, Any]] = {}
        #: what :meth:`intern` keeps: ``key -> value``, for the compiler
        self.interned: dict[tuple[Any, ...], Any] = {}
        self._lives: tuple[list[npt.NDArray[np.bool_] | None], list[int]] | None = None
        self._idfs: dict[int, float] = {}
        #: where :meth:`doc_freq` and :meth:`max_doc_freq` read a figure (the one place
        #: that routes: the reader, which remembers its own, or the outside statistics)
        self._doc_freq: Callable[[str, str], int] = (
            reader.doc_freq if statistics is None else self._global_doc_freq
        )
        #: :meth:`doc_freq` without its own call (the compiled pair weights call it)
        self.doc_freq_of = self._doc_freq

    def intern(self, key: tuple[Any, ...], value: Any) -> Any:
        """The value kept under ``key``, or ``value`` (then kept): one object for one
        thing, whichever query compiled it (bounded by :data:`INTERNED_ENTRIES`)."""
        interned = self.interned
        found = interned.get(key)
        if found is None:
            if len(interned) >= INTERNED_ENTRIES:
                interned.clear()
            found = interned[key] = value
        return found

    def weights_key(self, weights: Mapping[str, float]) -> str:
        """``weights`` as the key of what is kept per field weights (:meth:`intern`, a
        searcher's kept plans): the text of its items, made once per weights. A string
        keeps its hash; the items' tuple was hashed again in every key that held it (a
        five-field tuple: 80 ns, four times a new query)."""
        items = tuple(weights.items())
        key = (PER_WEIGHTS, "key", items)
        found: str | None = self.interned.get(key)
        if found is None:
            found = self.intern(key, repr(items))
        return found

    def forget_units(self) -> None:
        """Drop the kept units (:attr:`units`) and the memos they hold: the room those
        memos took under :data:`X_CACHE_BYTES` and :data:`JOINED_CACHE_BYTES` is free
        again."""
        self.units.clear()
        self.x_bytes = 0
        self.joined_bytes = 0

    def forget_queries(self) -> None:
        """Drop everything kept for the words of earlier queries (interned units, their
        posting slices, document frequencies, positions, the core's arguments): the next
        query costs what one of words never seen costs (a benchmark's "not seen before")."""
        self.interned = {k: v for k, v in self.interned.items() if k[0] == PER_WEIGHTS}
        self.rerank_plans.clear()
        self.parts.clear()
        self.parts_bytes = 0
        self.forget_units()
        self.calls.clear()
        self.positions.clear()
        self._doc_freqs.clear()

    def lives(self) -> tuple[list[npt.NDArray[np.bool_] | None], list[int]]:
        """Per segment of the snapshot, its live docs (None: nothing deleted) and its
        doc count, as :func:`.unitstats.live_doc_freqs` reads them (made once: a
        snapshot's deletions do not change)."""
        found = self._lives
        if found is None:
            segments = self.reader.segments
            found = self._lives = (
                [segment.live if segment.del_count else None for segment in segments],
                self.max_docs,
            )
        return found

    def analyzer(self, field: str) -> Analyzer:
        return self.schema.analyzer(field)

    def is_text(self, field: str) -> bool:
        return self.schema[field].is_text

    def has_postings(self, field: str) -> bool:
        """False for a field no document of the snapshot has text in (skipped cheaply)."""
        known = self._has_postings.get(field)
        if known is None and self.statistics is not None:
            known = self._has_postings[field] = field in self.statistics.with_postings
        if known is None:
            if self.is_text(field):
                known = self.reader.field_length_sum(field) > 0
            else:
                known = any(len(s.terms(field)) for s in self.reader.segments)
            self._has_postings[field] = known
        return known

    def doc_freq(self, field: str, term: str) -> int:
        """Live documents of the snapshot with ``term`` in ``field`` (remembered: the
        common words of queries come back; by the reader, which remembers its own
        figures, unless the statistics come from outside)."""
        return self._doc_freq(field, term)

    def _global_doc_freq(self, field: str, term: str) -> int:
        """:meth:`doc_freq` from the statistics given (remembered here)."""
        key = (field, term)
        found = self._doc_freqs.get(key)
        if found is None:
            assert self.statistics is not None
            if len(self._doc_freqs) >= DOC_FREQ_CACHE_TERMS:
                self._doc_freqs.clear()
            local = self.reader.doc_freq(field, term)
            found = self._doc_freqs[key] = self.statistics.doc_freq(field, term, local)
        return found

    def max_doc_freq(self, fields: Iterable[str], term: str) -> int:
        """The largest :meth:`doc_freq` of ``term`` over ``fields`` (0 for none): one
        call for a word's figure in every field (its spelling variants' scale, a phrase's
        idf), each field's figure remembered as :meth:`doc_freq` does."""
        doc_freq = self._doc_freq
        best = 0
        for field in fields:
            found = doc_freq(field, term)
            if found > best:
                best = found
        return best

    def max_doc_freqs(self, fields: Iterable[str], terms: Sequence[str]) -> list[int]:
        """Per term of ``terms``, its :meth:`max_doc_freq` over ``fields``, in one call
        (a rerank plan's words: 14 calls of :meth:`max_doc_freq` at seven words and two
        fields were most of a new plan's pair weights); each field's figure remembered
        as :meth:`doc_freq` does."""
        doc_freq = self._doc_freq
        best = [0] * len(terms)
        for field in fields:
            for at, term in enumerate(terms):
                found = doc_freq(field, term)
                if found > best[at]:
                    best[at] = found
        return best

    def idf(self, doc_freq: int) -> float:
        """:func:`.scoring.idf` of ``doc_freq`` at the snapshot's (or the statistics')
        document count, remembered by ``doc_freq``: it depends on nothing else, and a
        new word's figure was a quarter of its figures' cost (0.46 us a call). Kept when
        :meth:`forget_queries` drops the words' figures: it is no word's."""
        found = self._idfs.get(doc_freq)
        if found is None:
            if len(self._idfs) >= IDF_MEMO_ENTRIES:
                self._idfs.clear()
            found = self._idfs[doc_freq] = scalar_idf(self._idf_docs, int(doc_freq))
        return found

    def unit_doc_freq(self, unit: Unit, local: int) -> int:
        """The live documents ``unit`` matches: ``local`` (counted over the snapshot's
        segments), or the global figure of the statistics given."""
        if self.statistics is None:
            return local
        return self.statistics.unit_doc_freq(unit, local)

    def avg_length(self, field: str) -> float:
        value = self._avg.get(field)
        if value is None and self.statistics is not None:
            value = self._avg[field] = self.statistics.avg_length(field)
        if value is None:
            value = self._avg[field] = self.reader.avg_field_length(field)
        return value

    def table(self, field: str, weight: float) -> npt.NDArray[np.float32]:
        """The 256-entry norm multiplier of ``field`` at ``weight`` (kept by field and
        weight: the context's params, and so each field's ``b``, are fixed for its life)."""
        key = (field, weight)
        table = self._tables.get(key)
        if table is None:
            b = self.params.b_of(field)
            if self.is_text(field):
                table = norm_table(
                    NORM_DECODE, avg_length=self.avg_length(field), b=b, weight=weight
                )
            else:
                table = np.full(256, weight, dtype=np.float32)
            self._tables[key] = table
        return table

    def table_ceiling(self, field: str, weight: float) -> tuple[FloatArray, bool]:
        """Of :meth:`table`: per length code the largest multiplier at or above it (a
        table falls with length: what a block's smallest code bounds) and whether every
        entry is > 0; made once per field and weight (each block-max search of a word
        asks for it in every segment)."""
        key = (field, weight)  # (as :meth:`table` keeps them)
        found = self._ceilings.get(key)
        if found is None:
            table = self.table(field, weight)
            # (contiguous: the compiled block bounds read it as a plain array)
            highest: FloatArray = np.ascontiguousarray(np.maximum.accumulate(table[::-1])[::-1])
            found = self._ceilings[key] = (highest, bool(table.min() > 0))
        return found

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
        given = None if self.statistics is None else self.statistics.dictionaries.get(field)
        if found is None and given is not None:
            found = self._dictionaries[field] = TermDictionary(*given)
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

    def spelling(self, field: str) -> SpellingIndex:
        """The terms of ``field`` grouped by their folded spelling (the statistics'
        global spellings, when given)."""
        found = self._spelling.get(field)
        given = None if self.statistics is None else self.statistics.spellings
        if found is None and given is not None:  # the terms found on every shard
            found = self._spelling[field] = SpellingIndex(
                lambda: [TermSource(given.get(field, ()))]
            )
        if found is None:
            segments = self.reader.segments
            found = self._spelling[field] = SpellingIndex(
                lambda: [segment_terms(segment, field) for segment in segments]
            )
        return found

    def link_counts(self) -> list[npt.NDArray[np.int32]]:
        if self.in_links is None:
            given = None if self.statistics is None else self.statistics.in_link_counts
            self.in_links = self.reader.in_link_counts() if given is None else self._at(given)
        return self.in_links

    def _at(self, counts: Mapping[str, int]) -> list[npt.NDArray[np.int32]]:
        """Per segment, the given in-link counts of its live articles (global figures)."""
        found = [np.zeros(segment.max_doc, dtype=np.int32) for segment in self.reader.segments]
        for target, count in counts.items():
            where = self.reader.find(target)
            if where is not None:
                found[where[0]][where[1]] = count
        return found


def _term_doc_freqs(segment: SegmentReader, field: str, count: int) -> list[int]:
    """Postings length of every term of a segment's field, in term order."""
    return [int(v) for v in segment.term_doc_freqs(field)[:count].tolist()]
