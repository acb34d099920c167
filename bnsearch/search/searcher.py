"""The searcher: ``search``, ``explain``, ``related``, ``suggest`` and ``complete``.

A :class:`Searcher` wraps one :class:`~bnsearch.index.reader.IndexReader` snapshot and
keeps per-snapshot caches (norm tables, term dictionaries); make a new one (or call
:meth:`Searcher.refresh`) to see later commits. ``search()`` takes query syntax (see
:mod:`.parser`) or a query tree; a user string never raises, whatever it contains.

A search runs by job, one module each: :mod:`.plan` (parse, compile; score: evaluate with
:mod:`.engine`, prior, rerank; shared with :mod:`.explain`), :mod:`.filters` (masks),
:mod:`.collect` (the page, totals, facets), :mod:`.hits` (stored rows, highlights).
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from bnsearch.errors import QuerySyntaxError, SchemaError
from bnsearch.index.reader import IndexReader
from bnsearch.index.schema import MAX_WEIGHT, MIN_WEIGHT, valid_weight
from bnsearch.search import collect
from bnsearch.search.collect import SORTS, Chosen
from bnsearch.search.compiler import Compiled
from bnsearch.search.context import Context
from bnsearch.search.engine import Evaluator
from bnsearch.search.explain import explain
from bnsearch.search.filters import FilterArg, Filters
from bnsearch.search.hits import make_hits
from bnsearch.search.parser import check_length
from bnsearch.search.plan import MAX_CLAUSES, Plan, Scored, prepare, score_plan
from bnsearch.search.query import QUERY_TYPES, Query
from bnsearch.search.related import related as related_articles
from bnsearch.search.results import Explanation, Hit, IdHits, LazyFacets, Results
from bnsearch.search.romanize import has_latin_word, romanized_hint
from bnsearch.search.scoring import BM25FParams
from bnsearch.search.statistics import AnyStatistics
from bnsearch.search.suggest import complete_query, did_you_mean

#: Largest page size.
MAX_LIMIT = 10_000
#: Matches counted exactly before the compiled core may stop reading the long posting
#: lists of a query's common words (Elasticsearch's ``track_total_hits`` default); past
#: it, ``Results.total`` may be a lower bound (``Results.total_is_exact`` False).
TRACK_TOTAL_HITS = 10_000
#: Prepared queries a :class:`Searcher` keeps (parsed, analysed, compiled against its
#: snapshot): a service sees the same queries again and again.
PLAN_CACHE_ENTRIES = 1024
#: What a query may be: a string or a query tree.
_QUERY_ARGS = (str, *QUERY_TYPES)

FieldsArg = Sequence[str] | Mapping[str, float] | None


@attrs.define
class Scoring:
    """A query scored on one snapshot, before its page is chosen (:meth:`Searcher.score`;
    made once and not changed; not frozen, as :class:`~bnsearch.search.engine.Evaluated`;
    made by place in a search: keywords cost a dict a call)."""

    plan: Plan
    #: the matches (before and after the rerank); None when nothing could be scored
    scored: Scored | None
    total: int
    notes: tuple[str, ...]
    #: facet counts over every match (counted when first read)
    facets: Mapping[str, Mapping[str, int]]


#: :class:`Scoring`'s fields in order (what :meth:`Searcher._score` returns).
ScoringFields = tuple[Plan, Scored | None, int, tuple[str, ...], Mapping[str, Mapping[str, int]]]


def facet_names(facets: Collection[str] | None) -> tuple[str, ...] | None:
    """The ``facets`` argument of a search as a tuple of names (``None``: the default
    facets); anything but a name or a collection of them is a ValueError. The one rule
    for both searchers (the sharded one passes the tuple to its shards, whose searchers
    check the names are keyword fields)."""
    if facets is None:
        return None
    if not isinstance(facets, Iterable) or isinstance(facets, (bytes, Mapping)):
        raise ValueError(
            f"facets must be a field name or a list of them, got {type(facets).__name__}"
        )
    return (facets,) if isinstance(facets, str) else tuple(facets)


def _count_facets(
    ctx: Context,
    compiled: Compiled,
    scored: Scored,
    evaluator: Evaluator,
    masks: list[Any],
    facet_fields: tuple[str, ...],
) -> dict[str, Mapping[str, int]]:
    """The facet counts of a search's matches (``scored``; every match evaluated again
    where the compiled core kept only the best of each segment)."""
    every = scored.matched  # the rerank changes scores, never which docs match
    if not scored.complete:
        every = evaluator.evaluate(compiled, ctx.max_docs, masks)
    segments = ctx.reader.segments
    return {name: collect.facet_counts(segments, name, every) for name in facet_fields}


class Searcher:
    """Search one index snapshot.

    Args:
        reader: the snapshot (``index.reader()``).
        params: BM25F parameters (``k1``, ``b``, per-field ``b``, link prior).
        default_fields: field weights used when a query names no field; defaults to the
            schema's text fields and weights.
        statistics: global figures (N, field lengths, document frequencies) to score
            with instead of the snapshot's own: the shards of a sharded index score as
            one index would (see :mod:`.statistics`; :meth:`refresh` drops them).
    """

    def __init__(
        self,
        reader: IndexReader,
        *,
        params: BM25FParams | None = None,
        default_fields: Mapping[str, float] | None = None,
        statistics: AnyStatistics | None = None,
    ) -> None:
        self.reader = reader
        self.params = params or BM25FParams()
        self.schema = reader.schema
        if default_fields is None:
            default_fields = {name: w for name, w in self.schema.weights.items() if w > 0}
        #: read-only: kept plans are keyed by these weights, taken once here
        self.default_fields: Mapping[str, float] = MappingProxyType(
            self._check_weights(default_fields)
        )
        self._ctx = Context(reader, self.params, statistics)
        # (the key of a kept plan and of what the compiler keeps at these weights)
        self._default_key = self._ctx.weights_key(self.default_fields)
        self._field_names = frozenset(self.schema.names)
        self._default_facets = tuple(
            s.name for s in self.schema.keyword_fields if s.name == "section"
        )
        self._filters = Filters(reader)
        self._plans: dict[tuple[Any, ...], Plan] = {}
        self._doc_slots = sum(segment.max_doc for segment in reader.segments)

    def refresh(self) -> Searcher:
        """A searcher on the newest commit (``self`` if nothing changed)."""
        reader = self.reader.refresh()
        if reader is self.reader:
            return self
        return Searcher(reader, params=self.params, default_fields=self.default_fields)

    @property
    def doc_count(self) -> int:
        return self.reader.doc_count

    # -- arguments --------------------------------------------------------------------------
    def _check_weights(self, weights: Mapping[str, float]) -> dict[str, float]:
        checked: dict[str, float] = {}
        for name, weight in weights.items():
            if name not in self.schema:
                raise SchemaError(f"unknown field {name!r}; fields are {self.schema.names}")
            if not self.schema[name].is_text:
                raise SchemaError(f"field {name!r} is a keyword field: use it in filter=")
            if not valid_weight(weight):
                raise ValueError(
                    f"weight of field {name!r} must be 0 or a number from {MIN_WEIGHT:g} to "
                    f"{MAX_WEIGHT:g}, got {weight!r}"
                )
            if weight > 0:
                checked[name] = float(weight)
        if not checked:
            raise ValueError("at least one field needs a weight > 0")
        return checked

    def _weights(self, fields: FieldsArg) -> Mapping[str, float]:
        if fields is None:
            return self.default_fields
        if isinstance(fields, str):
            fields = [fields]
        if isinstance(fields, Mapping):
            return self._check_weights(fields)
        if not isinstance(fields, Iterable) or isinstance(fields, bytes):
            raise ValueError(
                "fields must be a field name, a list of them or {field: weight}, "
                f"got {type(fields).__name__}"
            )
        return self._check_weights({name: self.schema[name].weight or 1.0 for name in fields})

    def _prepare(
        self, query: str | Query, fields: FieldsArg, romanized: bool, strict: bool = False
    ) -> Plan:
        """The query prepared (a query string's plan is kept: the same text searched
        again skips parsing, analysis and compiling)."""
        if not isinstance(query, _QUERY_ARGS):
            raise TypeError(
                f"query must be a query string or a bnsearch Query, got {type(query).__name__}"
            )
        key = None
        if fields is None:  # (the default weights and their key, without a call)
            weights, items = self.default_fields, self._default_key
        else:
            weights, items = self._weights(fields), None
        if isinstance(query, str):
            if items is None:
                items = self._ctx.weights_key(weights)
            key = (query, items, romanized, strict)
            found = self._plans.get(key)
            if found is not None:
                return found
        # (by place: keywords cost a dict a call)
        plan = prepare(self._ctx, query, weights, self._field_names, romanized, strict, items)
        if key is not None:
            if len(self._plans) >= PLAN_CACHE_ENTRIES:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    @staticmethod
    def _page(limit: int, offset: int) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be an int from 0 to {MAX_LIMIT}, got {limit!r}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be an int >= 0, got {offset!r}")

    def _page_end(self, page_end: int) -> int:
        """``page_end`` (offset + limit) cut to the docs of the snapshot: no more can be
        ranked, and the compiled core takes a C ssize_t (an offset of 10**20 is a page)."""
        return min(page_end, self._doc_slots)

    def _facet_fields(self, facets: Collection[str] | None) -> tuple[str, ...]:
        names = facet_names(facets)
        if names is None:
            return self._default_facets
        for name in names:
            if name not in self.schema or self.schema[name].is_text:
                raise SchemaError(f"facets need keyword fields; {name!r} is not one")
        return names

    # -- search -----------------------------------------------------------------------------
    def search(
        self,
        query: str | Query,
        *,
        limit: int = 10,
        offset: int = 0,
        fields: FieldsArg = None,
        filter: FilterArg = None,
        sort: str | None = None,
        romanized: bool = False,
        highlight: bool = True,
        stored: bool = True,
        facets: Collection[str] | None = None,
        strict: bool = False,
        exact_total: bool = False,
    ) -> Results:
        """Run a query and return one page of :class:`Results`.

        Args:
            query: query syntax (a user string never raises: malformed syntax degrades
                to words) or a :class:`~bnsearch.search.query.Query` tree.
            limit: hits per page, 0..10000.
            offset: hits to skip (an offset past the end gives an empty page with the
                right ``total``).
            fields: fields to search when the query names none: a list (schema weights)
                or ``{field: weight}`` (per-query BM25F weights).
            filter: ``{"section": "খেলা"}`` (or a list of values: any of them), and/or
                ``{"published": (since, until)}`` (dates or datetimes, ``since`` included,
                ``until`` excluded, ``None`` for an open end; a date means its midnight
                UTC; articles without a date never pass), or a query that must match
                without adding to the score.
            sort: ``"score"`` (default), ``"-date"`` (newest first), ``"date"``,
                ``"index"`` (order written) or ``"-index"``.
            romanized: also look Latin-letter words up as romanized Bengali.
            highlight: add highlights and the body snippet to each hit.
            stored: load stored fields of the hits (False: ids and scores only).
            facets: keyword fields to count over all matches (default: ``section``).
            strict: parse ``query`` strictly (raise :class:`QuerySyntaxError`).
            exact_total: count every match. By default the count is exact up to
                :data:`TRACK_TOTAL_HITS` (10,000) matches; past that a query of several
                words may skip postings of its common words that cannot change the page
                (the hits and their scores are the same either way), and ``total`` is
                then a lower bound: ``Results.total_is_exact`` says which. (A search
                with a ``filter`` counts the matches it keeps the same way.)
        """
        started = time.perf_counter()
        self._page(limit, offset)
        page_end = self._page_end(offset + limit)
        # (by place, the page end already cut: keywords cost a dict a call)
        # (:class:`Scoring`'s fields as a tuple: a search makes no object of them)
        plan, scored, total, notes, facet_counts = self._score(
            query, page_end, fields, filter, sort, romanized, facets, strict, exact_total
        )
        hits: tuple[Hit, ...] | IdHits = ()
        if scored is not None:
            segments, order = self.reader.segments, sort or "score"
            page = collect.top(segments, scored.matched, page_end, order, scored.candidates)
            if offset:
                page = page[offset:]
            hits = make_hits(self._ctx, page, offset, plan.compiled, highlight, stored)
        return Results(  # (by place: every search makes one; keywords cost a dict)
            hits,
            total,
            offset,
            limit,
            facet_counts,
            (time.perf_counter() - started) * 1000,
            plan.parsed,
            notes,
            scored is None or scored.total_is_exact,
        )

    def score(
        self,
        query: str | Query,
        *,
        page_end: int,
        fields: FieldsArg = None,
        filter: FilterArg = None,
        sort: str | None = None,
        romanized: bool = False,
        facets: Collection[str] | None = None,
        strict: bool = False,
        exact_total: bool = False,
    ) -> Scoring:
        """The first half of :meth:`search` (its arguments, ``page_end`` for ``offset +
        limit``): the query prepared and scored, before a page is chosen. A shard of a
        sharded index reads its matches (before and after the proximity rerank, from
        one evaluation) and makes the hits it picks with :meth:`make_hits`."""
        return Scoring(
            *self._score(
                query,
                self._page_end(page_end),
                fields,
                filter,
                sort,
                romanized,
                facets,
                strict,
                exact_total,
            )
        )

    def _score(
        self,
        query: str | Query,
        page_end: int,
        fields: FieldsArg,
        filter: FilterArg,
        sort: str | None,
        romanized: bool,
        facets: Collection[str] | None,
        strict: bool,
        exact_total: bool,
    ) -> ScoringFields:
        """:meth:`score` by place, ``page_end`` cut (:meth:`_page_end`): the fields of its
        :class:`Scoring` in order, as a tuple (:meth:`search` reads them without making
        the object)."""
        if sort is not None and sort not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}, got {sort!r}")
        plan = self._prepare(query, fields, romanized, strict)
        # (the default facets without a call: every search asks)
        facet_fields = self._default_facets if facets is None else self._facet_fields(facets)
        notes = plan.notes
        if plan.compiled is None:  # (the plan's notes say why)
            empty: dict[str, Mapping[str, int]] = {name: {} for name in facet_fields}
            return plan, None, 0, notes, empty
        evaluator = Evaluator(self._ctx)
        # a filter query compiles with a compiler of its own (a cached plan's keeps its notes)
        masks = self._filters.live  # (no filter: no call)
        if filter is not None:
            masks = self._filters.masks(filter, plan.compiler.fresh(), evaluator)
        sort = sort or "score"
        # (by place: page end, sort, page only, the matches to count; a filter's matches
        # are counted the same way: the core scores only the docs its mask keeps, so
        # pruning pays there too: 1M synthetic, filtered p50 5.22 ms exhaustive, 4.40
        # pruned)
        scored = score_plan(
            self._ctx,
            plan,
            evaluator,
            masks,
            page_end,
            sort,
            True,
            None if exact_total else TRACK_TOTAL_HITS,
        )
        total = scored.total
        if total == 0 and not romanized and isinstance(query, str):
            hinted = list(notes)
            self._romanized_hint(query, plan.weights, hinted)
            notes = tuple(hinted)
        # (the arguments apart, not a partial nor a closure: either was an object a search)
        facets_of = LazyFacets(
            _count_facets, (self._ctx, plan.compiled, scored, evaluator, masks, facet_fields)
        )
        return plan, scored, total, notes, facets_of

    def make_hits(
        self, scoring: Scoring, chosen: list[Chosen], offset: int, highlight: bool, stored: bool
    ) -> tuple[Hit, ...] | IdHits:
        """Hits of ``chosen`` (``(segment ordinal, doc, score)``, ranked from ``offset``)
        as the search of ``scoring`` shows them: stored fields and highlights when asked
        (``stored=False``: ids and scores, each hit made when read)."""
        # (by place: keywords cost a dict a call)
        return make_hits(self._ctx, chosen, offset, scoring.plan.compiled, highlight, stored)

    def hits_of(
        self,
        query: str | Query,
        found: Sequence[tuple[str, float]],
        *,
        offset: int = 0,
        fields: FieldsArg = None,
        romanized: bool = False,
        strict: bool = False,
        highlight: bool = True,
    ) -> list[Hit]:
        """The hits of ``found`` (live article ids with the scores a search of ``query``
        gave them), ranked from ``offset``, with stored fields and highlights as that
        search shows them, without scoring again (a sharded index fetches a page so)."""
        plan = self._prepare(query, fields, romanized=romanized, strict=strict)
        chosen = []
        for article_id, score in found:
            where = self.reader.find(article_id)
            if where is None or plan.compiled is None:
                raise KeyError(f"no live article with id {article_id!r} matches the query")
            chosen.append((where[0], where[1], score))
        if plan.compiled is None:
            return []
        return list(
            make_hits(self._ctx, chosen, offset, plan.compiled, highlight=highlight, stored=True)
        )

    # -- explain ----------------------------------------------------------------------------
    def explain(
        self,
        query: str | Query,
        article_id: str,
        *,
        fields: FieldsArg = None,
        romanized: bool = False,
    ) -> Explanation:
        """How ``article_id`` scores for ``query``: the BM25F breakdown per clause and field.

        The top value is the score ``search()`` gives the article (both come from one
        preparation and scoring, :mod:`.plan`): 0 when it does not match, with the reason.
        (The proximity bonus goes to the best ``rerank_depth`` matches; a page reaching
        deeper reranks more of them.)
        """
        where = self.reader.find(article_id)
        if where is None:
            raise KeyError(f"no live article with id {article_id!r}")
        plan = self._prepare(query, fields, romanized=romanized)
        return explain(self._ctx, plan, *where)

    # -- related, suggestions ---------------------------------------------------------------
    def related(self, article_id: str, *, limit: int = 10, content_terms: int = 24) -> Results:
        """Articles related to ``article_id``: first the article's own resolved links in
        page order, then the articles that link to it, then the blend of co-linked
        articles and content similarity (see :mod:`bnsearch.search.related`).

        Raises ``KeyError`` when no live article has this id.
        """
        self._page(limit, 0)
        return related_articles(self, article_id, limit=limit, content_terms=content_terms)

    def _romanized_hint(self, query: str, weights: Mapping[str, float], notes: list[str]) -> None:
        """A note, when Latin words found nothing, on reading them as romanized Bengali."""
        field = next((f for f in weights if self._ctx.has_postings(f)), None)
        # field names (title:) and the operators are query syntax, not words to read
        names = "|".join(re.escape(name) for name in self.schema.names)
        query = re.sub(rf"\b(?:{names})\s*:|\b(?:AND|OR|NOT)\b", " ", query)
        if field is not None and has_latin_word(query):
            hint = romanized_hint(
                query, self._ctx.roman(field), normalize=self.schema.analyzer(field).term
            )
            if hint is not None:
                notes.append(hint)

    def suggest(self, query: str, *, field: str = "body") -> str | None:
        """A "did you mean" spelling of ``query`` from the index's own terms, or None."""
        if field not in self.schema or not self.schema[field].is_text:
            raise SchemaError(f"suggestions need a text field; {field!r} is not one")
        analyzer = self.schema.analyzer(field)
        if not isinstance(query, str):
            return None
        check_length(query)
        if all(  # every word known: no need for the term dictionary (built on first use)
            term is None or self._ctx.doc_freq(field, term) > 0
            for term in analyzer.term_sequence(query)
        ):
            return None
        return did_you_mean(query, self._ctx.dictionary(field), analyzer)

    def complete(self, prefix: str, *, limit: int = 8, field: str = "body") -> list[str]:
        """Completions of a half-typed query: its last word completed from the index terms."""
        if field not in self.schema or not self.schema[field].is_text:
            raise SchemaError(f"completion needs a text field; {field!r} is not one")
        self._page(limit, 0)
        if isinstance(prefix, str):
            check_length(prefix)
        return complete_query(
            prefix, self._ctx.dictionary(field), self.schema.analyzer(field), limit=limit
        )


__all__ = ["MAX_CLAUSES", "MAX_LIMIT", "QuerySyntaxError", "Searcher"]
