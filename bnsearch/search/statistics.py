"""Ranking statistics given from outside a snapshot (a sharded index's global figures).

A :class:`~bnsearch.search.searcher.Searcher` normally takes N, document frequencies and
field lengths from its own :class:`~bnsearch.index.reader.IndexReader`. Given a
:class:`Statistics`, it takes them from there instead, so the shards of a sharded index
(:mod:`bnsearch.distributed`) score exactly as one index holding all their articles would
(Elasticsearch's ``dfs_query_then_fetch``): the shards first report what they hold, the
figures are summed, and every shard then scores with the sums.

A :class:`StatisticsRecorder` is the first step: it answers with this snapshot's own
figures and notes every one it was asked for, so the caller learns which figures a query
needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from bnsearch.index.reader import IndexReader

if TYPE_CHECKING:  # the compiler imports the context, which imports this module
    from bnsearch.search.compiler import Unit

#: A compiled unit's identity for its document frequency: kind and what it reads.
UnitKey = tuple[Any, ...]
#: ``(terms, doc_freqs)`` of a dictionary, sorted by term.
DictionaryData = tuple[tuple[str, ...], tuple[int, ...]]


def unit_key(unit: Unit) -> UnitKey:
    """What decides a unit's document frequency (the docs it matches in any field)."""
    terms = tuple(sorted((field, tuple(group)) for field, group in unit.terms.items()))
    phrases = tuple(sorted((field, tuple(pairs)) for field, pairs in unit.phrases.items()))
    return (unit.kind, terms, phrases)


@attrs.frozen(kw_only=True)
class Statistics:
    """Global figures a searcher scores with instead of its snapshot's own.

    Attributes:
        total_docs: live articles (N of the idf).
        length_sums: per text field, the total terms over live articles.
        with_postings: the fields some article has terms in.
        doc_freqs: ``(field, term)`` -> live articles with the term.
        unit_doc_freqs: :func:`unit_key` -> live articles the unit matches.
        dictionaries: per field, the terms (with document frequencies) that prefix and
            fuzzy words may expand to; a field not given uses the snapshot's own.
        spellings: per field, the terms the folded-spelling match may pick for the query's
            words (gathered from every shard; a field not given has none), or ``None``:
            the snapshot's own terms.
        in_link_counts: article id -> distinct articles linking to it, for the in-link
            prior (``None``: the snapshot's own links).
    """

    total_docs: int
    length_sums: Mapping[str, int] = attrs.field(factory=dict)
    with_postings: frozenset[str] = frozenset()
    doc_freqs: Mapping[tuple[str, str], int] = attrs.field(factory=dict)
    unit_doc_freqs: Mapping[UnitKey, int] = attrs.field(factory=dict)
    dictionaries: Mapping[str, DictionaryData] = attrs.field(factory=dict)
    spellings: Mapping[str, tuple[str, ...]] | None = None
    in_link_counts: Mapping[str, int] | None = None

    def doc_freq(self, field: str, term: str, local: int) -> int:
        """The global frequency, or ``local`` for a figure nobody gathered."""
        return self.doc_freqs.get((field, term), local)

    def unit_doc_freq(self, unit: Unit, local: int) -> int:
        """The live articles ``unit`` matches over every shard, or ``local`` if not gathered."""
        return self.unit_doc_freqs.get(unit_key(unit), local)

    def avg_length(self, field: str) -> float:
        """The average length of ``field`` over the live articles (0 with none)."""
        return self.length_sums.get(field, 0) / self.total_docs if self.total_docs else 0.0


@attrs.define
class StatisticsRecorder:
    """Statistics that answer with the snapshot's own figures and note what was asked.

    ``base`` gives N, field lengths, fields with postings, dictionaries and spellings
    (gathered beforehand); document frequencies are the snapshot's and are recorded, with, for every
    unit asked about, the frequency of each of its terms (the proximity rerank and the
    highlights ask for those, but only on snapshots that have matches).
    """

    base: Statistics
    reader: IndexReader
    doc_freqs: dict[tuple[str, str], int] = attrs.field(factory=dict)
    unit_doc_freqs: dict[UnitKey, int] = attrs.field(factory=dict)

    @property
    def total_docs(self) -> int:
        return self.base.total_docs

    @property
    def with_postings(self) -> frozenset[str]:
        return self.base.with_postings

    @property
    def dictionaries(self) -> Mapping[str, DictionaryData]:
        return self.base.dictionaries

    @property
    def spellings(self) -> Mapping[str, tuple[str, ...]] | None:
        return self.base.spellings

    @property
    def in_link_counts(self) -> Mapping[str, int] | None:
        return self.base.in_link_counts

    def avg_length(self, field: str) -> float:
        return self.base.avg_length(field)

    def doc_freq(self, field: str, term: str, local: int) -> int:
        """``local`` (this snapshot's figure), noted."""
        self.doc_freqs[(field, term)] = local
        return local

    def unit_doc_freq(self, unit: Unit, local: int) -> int:
        """``local``, noted, with the snapshot's frequency of each of the unit's terms."""
        self.unit_doc_freqs[unit_key(unit)] = local
        for field, group in unit.terms.items():
            for term in group:
                self.doc_freqs[(field, term)] = self.reader.doc_freq(field, term)
        for field, pairs in unit.phrases.items():
            for _, term in pairs:
                self.doc_freqs[(field, term)] = self.reader.doc_freq(field, term)
        return local


#: What a searcher accepts as statistics.
AnyStatistics = Statistics | StatisticsRecorder
