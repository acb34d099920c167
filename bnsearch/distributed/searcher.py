"""``ShardedSearcher``: one query over every shard, ranked as one index would rank it.

Elasticsearch's ``dfs_query_then_fetch``, in steps that are each one call per shard (on a
cluster: one call per resident host, :mod:`.hosts`, or one Dask task per shard):

1. ``candidates`` (only when the query has prefix or fuzzy words, or plain words and
   the folded-spelling match is on): every term of each shard such a word could expand
   to, and every other spelling of a plain word it holds; summed (and joined), they form
   the dictionaries the words expand against and the spellings the match reads, so every
   shard picks the expansions and variants one index would pick.
2. ``record``: each shard runs the query on its own figures and reports the document
   frequency of every word and compiled unit it scored; summed, with N and the field
   lengths gathered when the searcher opened, they are the :class:`Statistics` of one
   index holding every shard's articles (remembered for the last 1,024 queries).
3. ``query``: one call per worker (:func:`~bnsearch.distributed.shard.worker_search`):
   each of its shards scores the query once with those statistics (sent once, then
   named by a token the worker keeps them under); the worker merges its shards' best
   ``offset + limit`` and makes the stored rows (on a cluster without the body,
   :mod:`.pagerows`) and highlights of its likely share of the page; the client merges
   the workers' lists (by score, then shard, then rank).
   Totals add up; the default facets are counted when first read (one more call).
4. ``fetch`` (pages ending after the 20th hit, and a page's hits outside their worker's
   likely share, :func:`row_span`): the page's hits get stored rows and highlights from
   their shards, by id (the query is prepared again there, not scored).

The proximity rerank of a plain-words query adds a bonus to the best ``rerank_depth``
matches of the *whole* index, then takes the page among them. So in step 3 each shard
reports, from its one evaluation, its best ``rerank_depth`` without the bonus and their
scores with it (the bonus of a match does not depend on the others); the merge takes the
global best by the first as the candidates and the page among them by the second.
"""

from __future__ import annotations

import functools
import math
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, MappingView, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from bnsearch.articles import Article
from bnsearch.articles.links import LinkGraph
from bnsearch.distributed.hosts import TIMEOUT, HostRunner
from bnsearch.distributed.links import (
    Frequencies,
    GlobalReader,
    GlobalView,
    link_graph,
    shard_doc_freqs,
    shard_link_records,
    shard_rows,
)
from bnsearch.distributed.lookup import shard_article, shard_segment_count, shard_terms
from bnsearch.distributed.manifest import shard_of
from bnsearch.distributed.pagerows import LONG_FIELDS, PageRows
from bnsearch.distributed.runner import Runner
from bnsearch.distributed.shard import (
    HitItem,
    MissingStatisticsError,
    Rows,
    SearchRequest,
    ShardState,
    StatsRef,
    WorkerPage,
    hit_of,
    needs_candidates,
    order,
    rerank_page,
    shard_candidates,
    shard_explain,
    shard_facets,
    shard_fetch,
    shard_record,
    shard_state,
    worker_search,
)
from bnsearch.errors import SchemaError
from bnsearch.index import Index
from bnsearch.index.schema import Schema
from bnsearch.search.collect import SORTS
from bnsearch.search.filters import FilterArg
from bnsearch.search.fuzzy import TermDictionary
from bnsearch.search.parser import check_length, has_syntax
from bnsearch.search.plan import plain_words
from bnsearch.search.query import Query
from bnsearch.search.related import related as related_articles
from bnsearch.search.results import Explanation, LazyFacets, Results
from bnsearch.search.scoring import BM25FParams
from bnsearch.search.searcher import MAX_LIMIT, FieldsArg, facet_names
from bnsearch.search.statistics import DictionaryData, Statistics, UnitKey
from bnsearch.search.suggest import complete_query, did_you_mean

#: Pages ending at or before this hit come with the query step (each worker makes the
#: rows and highlights of its best ``offset + limit``); deeper pages are fetched in a step
#: of their own.
FETCH_WITH_QUERY = 20
#: Queries whose gathered statistics a searcher remembers.
KNOWN_QUERIES = 1024
#: The chance a search of a page on a cluster needs a second call for stored rows: a
#: worker holding more of the page's hits than it made rows for (:func:`row_span`).
ROWS_MISS = 0.05

if TYPE_CHECKING:
    from bnsearch.search.searcher import Searcher


def _check_page(limit: int, offset: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be an int from 0 to {MAX_LIMIT}, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be an int >= 0, got {offset!r}")
    if offset + limit > MAX_LIMIT:
        raise ValueError(
            f"offset + limit must be at most {MAX_LIMIT} on a sharded index (each shard "
            f"returns that many hits), got {offset + limit}"
        )


def _binomial_cdf(n: int, p: float, k: int) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(min(k, n) + 1))


@functools.lru_cache(maxsize=1024)
def row_span(
    offset: int, page_end: int, share: float, miss: float | None = None
) -> tuple[int, int]:
    """The span of a worker's merged best ``page_end`` matches to make rows for, so that
    it usually holds the worker's hits of the page ``[offset, page_end)``.

    Articles go to shards by a hash of their id, so each of the whole index's best
    matches lies on a worker holding ``share`` of the shards with that chance, apart
    from the others: the worker's count among the first ``n`` is Binomial(n, share). Its
    hits on the page are its matches from its count among the first ``offset`` to its
    count among the first ``page_end``; the span is that count's lower bound for
    ``offset`` and upper bound for ``page_end``, each missed with a chance of at most
    ``miss`` (default :data:`ROWS_MISS`). A worker holding every shard makes exactly the
    page's rows. (A page of 10 and ``miss`` 0.05 / workers: two workers, each its best
    8; four, 6; twenty, 3.) Kept for the last 1,024 arguments: its binomial sums cost
    a tenth of the client's own work on a search, and every search of a page asks the
    same."""
    if share >= 1.0:
        return offset, page_end
    miss = ROWS_MISS if miss is None else miss
    ends = (k for k in range(page_end) if 1.0 - _binomial_cdf(page_end, share, k) <= miss)
    end = next(ends, page_end)
    start = 0
    while start < offset and _binomial_cdf(offset, share, start) <= miss:
        start += 1  # P(count < start + 1) <= miss
    return min(start, end), end


def merge_states(states: Sequence[ShardState]) -> Statistics:
    """The statistics every query starts from: N, field lengths, fields with terms."""
    sums: dict[str, int] = {}
    for state in states:
        for field, value in state.length_sums.items():
            sums[field] = sums.get(field, 0) + value
    return Statistics(
        total_docs=sum(state.doc_count for state in states),
        length_sums=sums,
        with_postings=frozenset().union(*(state.with_postings for state in states)),
    )


def _merge_notes(shards: Sequence[tuple[int, int, tuple[str, ...]]]) -> tuple[str, ...]:
    """The notes of a sharded page from each shard's ``(number, total, notes)``: those
    of the shards that found something (a shard without matches notes what one index
    says only when nothing matches, such as the romanized hint), or of every shard when
    none did; each note once, in shard order."""
    ordered = sorted(shards)
    found = [shard for shard in ordered if shard[1]] or ordered
    return tuple(dict.fromkeys(note for shard in found for note in shard[2]))


def _sorted_facets(
    parts: Sequence[Mapping[str, Mapping[str, int]]],
) -> dict[str, Mapping[str, int]]:
    """Facet counts summed over ``parts``, most frequent first (then by value)."""
    facets: dict[str, Mapping[str, int]] = {}
    for name in parts[0] if parts else ():
        counts = _sum_dicts([part.get(name, {}) for part in parts])
        facets[name] = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return facets


def _plain(value: Any) -> Any:
    """A collection argument as every shard and step can read it: one-shot values
    (generators, iterators) and dict views, which a cluster's wire cannot pickle, read
    into a tuple; any mapping into a dict; anything else as it is."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Iterator):
        return tuple(value)
    if isinstance(value, MappingView):  # (keys, values, items: each iterable)
        return tuple(cast("Collection[Any]", value))
    return value


def _read_once(filter: FilterArg) -> FilterArg:
    """``filter`` (a mapping) and its values made :func:`_plain`; a query as it is."""
    if not isinstance(filter, Mapping):
        return filter
    return {name: _plain(value) for name, value in filter.items()}


def _sum_dicts(parts: Sequence[Mapping[Any, int]]) -> dict[Any, int]:
    total: dict[Any, int] = {}
    for part in parts:
        for key, value in part.items():
            total[key] = total.get(key, 0) + value
    return total


T = TypeVar("T")


@attrs.define
class _Known:
    """A query's gathered statistics, its total, and the token workers keep them by."""

    stats: Statistics
    total: int
    token: str = attrs.field(factory=lambda: uuid.uuid4().hex)
    #: the workers were sent the statistics (later calls carry only the token)
    shipped: bool = False


class ShardedSearcher:
    """Search a sharded index's shards as one index (same ``Results`` and ``Hit`` types).

    With a Dask ``client`` and ``resident`` (the default), every step is one call to a
    resident host on each worker (:mod:`.hosts`), waiting at most ``timeout`` seconds
    for their answers (:class:`~bnsearch.distributed.hosts.HostTimeoutError`);
    ``resident=False`` runs Dask tasks. It keeps the shards' generations as of its
    creation; a shard that moved on raises
    :class:`~bnsearch.distributed.shard.StaleShardError`: call :meth:`refresh`.
    """

    def __init__(
        self,
        shard_paths: Sequence[str],
        *,
        client: Any = None,
        params: BM25FParams | None = None,
        default_fields: Mapping[str, float] | None = None,
        resident: bool = True,
        timeout: float | None = TIMEOUT,
        _runner: Runner | HostRunner | None = None,
    ) -> None:
        self.shard_paths = list(shard_paths)
        self.client = client
        self.params = params or BM25FParams()
        self.default_fields = default_fields
        #: on a cluster, True: the steps are calls to a resident host per worker
        #: (:mod:`.hosts`); False: Dask tasks
        self.resident = client is not None and resident
        #: stored fields a worker's rows travel without (fetched when read): on a
        #: cluster, the long texts (:mod:`.pagerows`)
        self._without = LONG_FIELDS if client is not None else ()
        if _runner is None:
            _runner = HostRunner(client, timeout=timeout) if self.resident else Runner(client)
        self._runner = _runner
        self.states: list[ShardState] = self._runner.map(
            shard_state, [(p,) for p in self.shard_paths]
        )
        self.generations = [state.generation for state in self.states]
        self._graph: LinkGraph | None = None
        self.base = merge_states(self.states)
        if self.params.link_prior > 0:  # the prior counts in-links from every shard
            counts = dict(self.link_graph().in_link_counts())
            self.base = attrs.evolve(self.base, in_link_counts=counts)
        self._known: dict[str, _Known] = {}

    @property
    def doc_count(self) -> int:
        return self.base.total_docs

    def refresh(self) -> ShardedSearcher:
        """A searcher on every shard's newest commit."""
        return ShardedSearcher(
            self.shard_paths,
            client=self.client,
            params=self.params,
            default_fields=self.default_fields,
            resident=self.resident,
            _runner=self._runner,  # the same hosts
        )

    def _calls(self, *args: Any) -> list[tuple[Any, ...]]:
        return [(p, g, *args) for p, g in zip(self.shard_paths, self.generations, strict=True)]

    def statistics(self, request: SearchRequest) -> tuple[Statistics, int]:
        """Steps 1 and 2: the global statistics of ``request``, and its total matches.

        Remembered for the searcher's snapshot (the last :data:`KNOWN_QUERIES` queries):
        a query asked again, for another page or sort, skips these steps.
        """
        known = self._lookup(request)
        return known.stats, known.total

    def _lookup(self, request: SearchRequest) -> _Known:
        key = repr(
            (request.query, request.fields, request.filter, request.romanized, request.strict)
        )
        known = self._known.get(key)
        if known is None:
            known = _Known(*self._gather(request))
            if len(self._known) >= KNOWN_QUERIES:
                self._known.pop(next(iter(self._known)))
            self._known[key] = known
        return known

    def _with_stats(self, known: _Known, run: Callable[[StatsRef | Statistics], T]) -> T:
        """``run(statistics)`` with the statistics named by their token (shard searchers
        are kept by it): in this process with the statistics always; on a cluster the
        first time only (and again for a worker that does not keep them: a new host, or
        one that dropped them)."""
        if self.client is None:
            return run(StatsRef(known.token, known.stats))
        if known.shipped:
            try:
                return run(StatsRef(known.token))
            except MissingStatisticsError:
                pass
        answer = run(StatsRef(known.token, known.stats))
        known.shipped = True
        return answer

    def _gather(self, request: SearchRequest) -> tuple[Statistics, int]:
        base = self.base
        if needs_candidates(request):
            candidates = self._runner.map(shard_candidates, self._calls(request, base))
            found = [part for part, _ in candidates]
            fields = {field for part in found for field in part}
            dictionaries: dict[str, DictionaryData] = {}
            for field in sorted(fields):
                merged = _sum_dicts([part.get(field, {}) for part in found])
                terms = tuple(sorted(merged))
                dictionaries[field] = (terms, tuple(merged[t] for t in terms))
            spelled: dict[str, set[str]] = {}
            for _, part in candidates:
                for field, variants in part.items():
                    spelled.setdefault(field, set()).update(variants)
            spellings = {field: tuple(sorted(terms)) for field, terms in spelled.items()}
            base = attrs.evolve(base, dictionaries=dictionaries, spellings=spellings)
        recorded = self._runner.map(shard_record, self._calls(request, base))
        doc_freqs: dict[tuple[str, str], int] = _sum_dicts([r[0] for r in recorded])
        unit_doc_freqs: dict[UnitKey, int] = _sum_dicts([r[1] for r in recorded])
        stats = attrs.evolve(base, doc_freqs=doc_freqs, unit_doc_freqs=unit_doc_freqs)
        return stats, sum(r[2] for r in recorded)

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
        exact_total: bool = True,
    ) -> Results:
        """Run a query over every shard and return one page of :class:`Results`.

        The arguments are :meth:`bnsearch.search.Searcher.search`'s, with one more limit:
        ``offset + limit`` at most 10,000. ``sort="index"`` orders by shard, then by the
        order written within the shard. Totals are always exact (each shard counts every
        match, so the shards' counts add up): ``exact_total`` is accepted for the same call
        to work on both searchers, and changes nothing.
        """
        started = time.perf_counter()
        _check_page(limit, offset)
        if isinstance(query, str):  # before the shards' term lookup reads it
            check_length(query)
        if sort not in (None, *SORTS):
            raise ValueError(f"sort must be one of {SORTS}, got {sort!r}")
        request = SearchRequest(
            query=query,
            limit=limit,
            offset=offset,
            fields=_plain(fields),
            filter=_read_once(filter),
            sort=sort,
            romanized=romanized,
            highlight=highlight,
            stored=stored,
            facets=facet_names(facets),
            strict=strict,
            params=self.params,
            default_fields=self.default_fields,
        )
        known = self._lookup(request)
        page_end = offset + limit
        depth = max(self.params.rerank_depth, page_end)
        plain = isinstance(query, str) and not strict and not romanized and not has_syntax(query)
        sort = sort or "score"
        rerank = plain and sort == "score" and self.params.proximity > 0 and known.total > depth
        # one call per worker: each scores its shards, merges their best and makes the
        # stored rows and highlights of those that can reach the page; a deep page's
        # hits are fetched after the merge instead (highlighting every worker's best
        # offset + limit would cost more than a second call)
        rows = stored and page_end <= FETCH_WITH_QUERY
        pages = self._worker_search(request, known, depth, rerank=rerank, rows=rows, sort=sort)
        entries = [entry for page in pages for entry in page.entries]
        if rerank:  # the global best by the score without the bonus, paged with it
            chosen = [
                (e[0], e[2], e[4])
                for e in rerank_page(order(entries, sort)[:depth], offset, page_end)
            ]
        else:
            chosen = [(e[0], e[2], e[3]) for e in order(entries, sort)[offset:page_end]]
        have: Rows = {}
        for page in pages:
            have.update(page.rows)
        items = self._items(request, known, have, chosen)
        shards = [shard for page in pages for shard in page.shards]
        facet_parts = [page.facets for page in pages if page.facets is not None]
        counted: Mapping[str, Mapping[str, int]]
        if request.facets is None:  # the default facets: counted when read, as one index does
            counted = LazyFacets(lambda: self._facets(request, known))
        else:
            counted = _sorted_facets(facet_parts)
        return Results(
            hits=tuple(hit_of(item, offset + i) for i, item in enumerate(items)),
            total=sum(total for _, total, _ in shards),
            offset=offset,
            limit=limit,
            facets=counted,
            took_ms=(time.perf_counter() - started) * 1000,
            query=pages[0].query if pages else None,
            notes=_merge_notes(shards),
        )

    def _worker_search(
        self,
        request: SearchRequest,
        known: _Known,
        depth: int,
        *,
        rerank: bool,
        rows: bool,
        sort: str = "score",
    ) -> list[WorkerPage]:
        """Step 3: one :func:`~bnsearch.distributed.shard.worker_search` per worker (in
        this process: one over every shard), each making ``rows`` for its likely share of
        the page (:func:`row_span`; all of its best for an order by shard); on a
        cluster, rows travel without their long texts (:mod:`.pagerows`)."""
        groups = self._runner.groups(len(self.shard_paths))
        where = [[(n, self.shard_paths[n], self.generations[n]) for n in group] for group in groups]
        start, end = request.offset, request.offset + request.limit
        spans = [(0, 0)] * len(groups)
        if rows:
            count = len(self.shard_paths)
            if sort in ("index", "-index") and len(groups) > 1:  # a worker's hits may
                spans = [(0, end)] * len(groups)  # begin the page, or end it
            else:
                miss = ROWS_MISS / len(groups)  # a second call in ROWS_MISS of searches
                spans = [
                    row_span(0 if rerank else start, end, len(g) / count, miss) for g in groups
                ]
        without = self._without

        def run(stats: StatsRef | Statistics) -> list[WorkerPage]:
            calls = [
                (shards, request, stats, depth, rerank, span, without)
                for shards, span in zip(where, spans, strict=True)
            ]
            return self._runner.map(worker_search, calls, [group[0] for group in groups])

        return self._with_stats(known, run)

    def _facets(self, request: SearchRequest, known: _Known) -> dict[str, Mapping[str, int]]:
        """The facet counts of a search's matches over every shard (when first read)."""
        parts = self._with_stats(
            known, lambda stats: self._runner.map(shard_facets, self._calls(request, stats))
        )
        return _sorted_facets(parts)

    def explain(
        self,
        query: str | Query,
        article_id: str,
        *,
        fields: FieldsArg = None,
        romanized: bool = False,
    ) -> Explanation:
        """How ``article_id`` scores for ``query``: :meth:`bnsearch.search.Searcher.explain`
        on the shard the id routes to, with the global statistics, so the breakdown is
        the one index's. The proximity bonus goes to the best ``rerank_depth`` matches of
        the whole index: when more match, the shards' best without the bonus are
        gathered first, and an article outside them is explained without it.

        Raises ``KeyError`` when no live article has this id.
        """
        if not isinstance(article_id, str):
            raise KeyError(f"no live article with id {article_id!r}")
        if isinstance(query, str):  # before the shards' term lookup reads it, as search()
            check_length(query)
        request = SearchRequest(
            query=query,
            limit=0,
            fields=_plain(fields),
            romanized=romanized,
            highlight=False,
            stored=False,
            facets=(),
            params=self.params,
            default_fields=self.default_fields,
        )
        known = self._lookup(request)
        depth = self.params.rerank_depth
        plain = plain_words(query, strict=False, romanized=romanized) is not None
        if plain and self.params.proximity > 0 and known.total > depth:
            pages = self._worker_search(request, known, depth, rerank=True, rows=False)
            best = order([entry for page in pages for entry in page.entries], "score")[:depth]
            if all(entry[2] != article_id for entry in best):
                # outside the global candidates: no bonus, as in one index
                request = attrs.evolve(request, params=attrs.evolve(self.params, proximity=0.0))
        number = shard_of(article_id, len(self.shard_paths))
        path, generation = self.shard_paths[number], self.generations[number]
        return self._runner.one(
            number,
            shard_explain,
            path,
            generation,
            request,
            StatsRef(known.token, known.stats),
            article_id,
        )

    def _items(
        self,
        request: SearchRequest,
        known: _Known,
        have: Rows,
        chosen: list[tuple[int, str, float]],
    ) -> list[HitItem]:
        """The page's hits (``(shard, id, score)``, in order) as they travel: their
        stored rows and highlights from ``have`` when the search step made them, the
        others fetched from their shards by id (the query is not scored again)."""
        if not request.stored:
            return [(ident, score, {}, {}) for _, ident, score in chosen]
        wanted: dict[int, list[tuple[str, float]]] = {}
        for number, ident, score in chosen:
            if (number, ident) not in have:
                wanted.setdefault(number, []).append((ident, score))
        if wanted:
            shards = sorted(wanted)

            def fetch(stats: StatsRef | Statistics) -> list[tuple[HitItem, ...]]:
                calls = [
                    (self.shard_paths[n], self.generations[n], request, stats, wanted[n], 0)
                    for n in shards
                ]
                return self._runner.map(shard_fetch, calls, shards)

            for number, found in zip(shards, self._with_stats(known, fetch), strict=True):
                for item in found:
                    have[(number, item[0])] = ((dict(item[2]), ()), item[3])
        page = PageRows(self._full_rows)
        items: list[HitItem] = []
        for number, ident, score in chosen:
            (fields, left_out), highlights = have[(number, ident)]
            items.append((ident, score, page.row(number, ident, fields, left_out), highlights))
        return items

    def _full_rows(self, wanted: dict[int, list[str]]) -> dict[tuple[int, str], dict[str, Any]]:
        """The full stored rows of ``wanted`` (ids by shard number): one call per worker."""
        shards = sorted(wanted)
        calls = [(self.shard_paths[n], self.generations[n], wanted[n]) for n in shards]
        found = self._runner.map(shard_rows, calls, shards)
        pairs = zip(shards, found, strict=True)
        return {(n, ident): row for n, rows in pairs for ident, row in rows.items()}

    # -- links ------------------------------------------------------------------------
    def link_graph(self) -> LinkGraph:
        """The related-headline links of every shard, resolved over all of them (built on
        first use from each shard's link records)."""
        if self._graph is None:
            self._graph = link_graph(self._runner.map(shard_link_records, self._calls()))
        return self._graph

    def out_links(self, article_id: str) -> list[str]:
        """Ids of the articles this article's related headlines resolve to, any shard."""
        return list(self.link_graph().out_links(article_id))

    def in_links(self, article_id: str) -> list[str]:
        """Ids of the articles (any shard) whose related headlines point here, sorted."""
        return list(self.link_graph().in_links(article_id))

    def related(self, article_id: str, *, limit: int = 10, content_terms: int = 24) -> Results:
        """Articles related to ``article_id`` over every shard: the rule of
        :func:`bnsearch.search.related.related` (out-links, in-links, then the blend of
        co-linked articles and content similarity), with links, rows and document
        frequencies from all shards and the content search a sharded one."""
        _check_page(limit, 0)
        frequencies = Frequencies(self._doc_freqs)
        reader = GlobalReader(
            self.link_graph(),
            self.base.total_docs,
            len(self.shard_paths),
            self._rows,
            frequencies,
            self.schema,
        )
        view = GlobalView(reader=reader, schema=self.schema, ctx=frequencies, search=self.search)
        return related_articles(
            cast("Searcher", view), article_id, limit=limit, content_terms=content_terms
        )

    @property
    def schema(self) -> Schema:
        """The shards' schema (every shard is made with the same one)."""
        return Index.open(self.shard_paths[0]).schema

    def _rows(self, shard: int, ids: list[str]) -> dict[str, dict[str, Any]]:
        path, generation = self.shard_paths[shard], self.generations[shard]
        return self._runner.one(shard, shard_rows, path, generation, ids)

    def _doc_freqs(self, field: str, terms: list[str]) -> list[int]:
        counts = self._runner.map(shard_doc_freqs, self._calls(field, terms))
        return [sum(column) for column in zip(*counts, strict=True)]

    # -- look-ups: stored articles, did-you-mean, autocomplete ---------------------------
    def article(self, article_id: str) -> Article | None:
        """The stored live article ``article_id`` (from the one shard its id routes to),
        or None."""
        if not isinstance(article_id, str):
            return None
        number = shard_of(article_id, len(self.shard_paths))
        path, generation = self.shard_paths[number], self.generations[number]
        return self._runner.one(number, shard_article, path, generation, article_id)

    def segment_count(self) -> int:
        """Segments over every shard's commit."""
        return sum(self._runner.map(shard_segment_count, self._calls()))

    #: per text field, the term dictionary over every shard (filled on first use)
    _term_dictionaries: dict[str, TermDictionary] | None = None

    def _text_field(self, field: str, purpose: str) -> None:
        if field not in self.schema or not self.schema[field].is_text:
            raise SchemaError(f"{purpose} a text field; {field!r} is not one")

    def dictionary(self, field: str, *, purpose: str = "suggestions need") -> TermDictionary:
        """Every term of ``field`` over all shards, document frequencies summed: the term
        dictionary of one index holding the shards' segments (built on first use, kept
        for this searcher's snapshot)."""
        self._text_field(field, purpose)
        if self._term_dictionaries is None:
            self._term_dictionaries = {}
        found = self._term_dictionaries.get(field)
        if found is None:
            parts = self._runner.map(shard_terms, self._calls(field))
            terms = [term for part in parts for term in part[0]]
            doc_freqs = [df for part in parts for df in part[1]]
            found = TermDictionary(terms, doc_freqs)  # sums a term's shards' frequencies
            self._term_dictionaries[field] = found
        return found

    def suggest(self, query: str, *, field: str = "body") -> str | None:
        """A "did you mean" spelling of ``query``: :func:`bnsearch.search.suggest.did_you_mean`
        over the terms of every shard (:meth:`dictionary`)."""
        if not isinstance(query, str):  # (the field is checked first, as one index does)
            self._text_field(field, "suggestions need")
            return None
        return did_you_mean(query, self.dictionary(field), self.schema.analyzer(field))

    def complete(self, prefix: str, *, limit: int = 8, field: str = "body") -> list[str]:
        """Completions of a half-typed query: :func:`bnsearch.search.suggest.complete_query`
        over the terms of every shard (:meth:`dictionary`)."""
        dictionary = self.dictionary(field, purpose="completion needs")
        return complete_query(prefix, dictionary, self.schema.analyzer(field), limit=limit)
