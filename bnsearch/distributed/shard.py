"""The work done where a shard lives: report its statistics, search it (:mod:`.build` builds it).

These are plain functions of a shard's folder (and the generation the caller expects),
so they run alike in this process or as Dask tasks on a worker. A process keeps each
shard's reader (and its term dictionaries) open between tasks, keyed by folder: a worker
opens a shard once per generation, not once per query. Nothing here imports Dask.

A search runs in up to four steps, each a call per shard (see :mod:`.searcher`):
``candidates`` (the terms prefix and fuzzy words may expand to, and the other
spellings of plain words the shard holds), ``record`` (the document
frequencies the query needs, counted on this shard), ``search`` (scored with the summed
figures; for the proximity rerank, the best matches with and without the bonus) and
``fetch`` (stored rows and highlights of the page's hits, by id, not scored again).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from bnsearch.errors import BnSearchError
from bnsearch.index import Index
from bnsearch.index.faults import crash_point
from bnsearch.index.reader import IndexReader
from bnsearch.index.segment import NO_DATE
from bnsearch.search import Searcher
from bnsearch.search.compiler import Compiler
from bnsearch.search.context import Context
from bnsearch.search.fuzzy import TermDictionary
from bnsearch.search.parser import has_syntax, parse_query
from bnsearch.search.plan import plain_words
from bnsearch.search.query import Query
from bnsearch.search.results import Explanation, Hit, Results
from bnsearch.search.scoring import BM25FParams
from bnsearch.search.spelling import SpellingIndex
from bnsearch.search.statistics import Statistics, StatisticsRecorder, UnitKey


class ShardError(BnSearchError):
    """A shard is not where or what the sharded index expects."""


class StaleShardError(ShardError):
    """A shard moved on to a newer commit than the searcher's snapshot (refresh it)."""


@attrs.frozen(kw_only=True)
class SearchRequest:
    """The arguments of one sharded search, as every shard receives them."""

    query: str | Query
    limit: int = 10
    offset: int = 0
    fields: Sequence[str] | Mapping[str, float] | None = None
    filter: Any = None
    sort: str | None = None
    romanized: bool = False
    highlight: bool = True
    stored: bool = True
    facets: tuple[str, ...] | None = None
    strict: bool = False
    params: BM25FParams = attrs.field(factory=BM25FParams)
    default_fields: Mapping[str, float] | None = None


@attrs.frozen(kw_only=True)
class ShardState:
    """A shard's snapshot figures: what every query's global statistics start from."""

    generation: int
    doc_count: int
    length_sums: Mapping[str, int]
    with_postings: frozenset[str]


#: A hit as it travels from a shard: id, score, stored fields, highlights.
HitItem = tuple[str, float, dict[str, Any], dict[str, Any]]


@attrs.frozen(kw_only=True)
class ShardPage:
    """One shard's answer to a search: its best hits (as plain tuples, to travel) and
    facts about all its matches."""

    hits: tuple[HitItem, ...]
    #: per hit, the date key of a date sort (undated: the largest), else empty
    keys: tuple[int, ...]
    total: int
    facets: dict[str, dict[str, int]]
    notes: tuple[str, ...]
    query: Query | None


_open_lock = threading.Lock()
#: folder -> (reader, a context whose term dictionaries are the shard's own)
_open: dict[str, tuple[IndexReader, Context]] = {}


def open_shard(path: str, generation: int | None) -> tuple[IndexReader, Context]:
    """The shard's reader at ``generation`` (``None``: the newest), kept open."""
    with _open_lock:
        found = _open.get(path)
        if found is not None:
            if generation is None:
                if found[0].refresh() is found[0]:
                    return found
            elif found[0].generation == generation:
                return found
        try:
            reader = Index.open(path).reader()
        except FileNotFoundError:
            raise ShardError(f"{path}: shard folder missing") from None
        if generation is not None and reader.generation != generation:
            raise StaleShardError(
                f"{path}: the shard is at generation {reader.generation}, the searcher's "
                f"snapshot at {generation}; refresh the searcher"
            )
        found = _open[path] = (reader, Context(reader, BM25FParams()))
        return found


def forget(path: str) -> None:
    """Drop this process's open reader of a shard (after writing to it)."""
    with _open_lock:
        _open.pop(path, None)


def shard_state(path: str) -> ShardState:
    """The newest commit's generation, live count, field lengths and fields with terms."""
    reader, ctx = open_shard(path, None)
    schema = reader.schema
    return ShardState(
        generation=reader.generation,
        doc_count=reader.doc_count,
        length_sums={f.name: reader.field_length_sum(f.name) for f in schema.text_fields},
        with_postings=frozenset(name for name in schema.names if ctx.has_postings(name)),
    )


# -- step 1: the terms prefix and fuzzy words may expand to, and spelling variants ------
class _RecordingDictionary(TermDictionary):
    """The shard's dictionary, noting every term a prefix or fuzzy expansion could pick
    (all of them, not only the shard's best: the best over all shards are chosen later)."""

    def __init__(self, inner: TermDictionary, found: dict[str, int]) -> None:
        self.terms = inner.terms
        self.doc_freqs = inner.doc_freqs
        self._bigram_index = None
        self._lock = threading.Lock()
        self._inner = inner
        self._found = found

    def __contains__(self, term: object) -> bool:
        present = term in self._inner
        if present:
            assert isinstance(term, str)
            self._found[term] = self._inner.doc_freq(term)
        return present

    def top_prefixed(self, prefix: str, limit: int) -> list[str]:
        span = self._inner.prefix_range(prefix)
        for i in span:
            self._found[self.terms[i]] = int(self.doc_freqs[i])
        return self._inner.top_prefixed(prefix, limit)

    def fuzzy(self, word: str, distance: int, *, limit: int = 50) -> list[tuple[str, int]]:
        every = self._inner.fuzzy(word, distance, limit=len(self._inner) + 1)
        for term, _ in every:
            self._found[term] = self._inner.doc_freq(term)
        return every[:limit]


class _RecordingSpelling(SpellingIndex):
    """The shard's spelling index, noting every term the folded-spelling match finds for
    a query word (the match then reads the terms found on every shard)."""

    def __init__(self, inner: SpellingIndex, found: set[str]) -> None:
        self._inner = inner
        self._seen = found

    def has(self, term: str) -> bool:
        present = self._inner.has(term)
        if present:
            self._seen.add(term)
        return present

    def variants(self, term: str) -> tuple[str, ...]:
        found = self._inner.variants(term)
        self._seen.update(found)
        return found


class _CandidateContext(Context):
    def __init__(self, reader: IndexReader, own: Context, statistics: Statistics) -> None:
        super().__init__(reader, own.params, statistics)
        self._own = own
        self.found: dict[str, dict[str, int]] = {}
        self.spellings: dict[str, set[str]] = {}

    def dictionary(self, field: str) -> TermDictionary:
        return _RecordingDictionary(self._own.dictionary(field), self.found.setdefault(field, {}))

    def spelling(self, field: str) -> SpellingIndex:
        return _RecordingSpelling(
            self._own.spelling(field), self.spellings.setdefault(field, set())
        )


def needs_candidates(request: SearchRequest) -> bool:
    """True if the query (or a query filter) may hold prefix or fuzzy words, or plain
    words whose other spellings the folded-spelling match reads."""
    if not isinstance(request.filter, (Mapping, type(None))):
        return True
    query = request.query
    if request.params.spelling > 0 and _plain(request) is not None:
        return True
    return not isinstance(query, str) or request.strict or has_syntax(query)


def _plain(request: SearchRequest) -> str | None:
    return plain_words(request.query, strict=request.strict, romanized=request.romanized)


def _parsed(request: SearchRequest, fields: Iterable[str]) -> list[Query]:
    queries: list[Query] = []
    query = request.query
    if isinstance(query, str):
        if request.strict or has_syntax(query):
            queries.append(parse_query(query, strict=request.strict, fields=frozenset(fields)))
    else:
        queries.append(query)
    if request.filter is not None and not isinstance(request.filter, Mapping):
        queries.append(request.filter)
    return queries


def shard_candidates(
    path: str, generation: int, request: SearchRequest, base: Statistics
) -> tuple[dict[str, dict[str, int]], dict[str, set[str]]]:
    """Per field, every term of this shard that the query's prefix and fuzzy words could
    expand to, with its document frequency here; and per field, the terms of this shard
    the folded-spelling match finds for the query's words."""
    reader, own = open_shard(path, generation)
    ctx = _CandidateContext(reader, own, base)
    names = reader.schema.names
    compiler = Compiler(ctx=ctx, weights={name: 1.0 for name in names})
    for query in _parsed(request, names):
        compiler.compile(query)
    plain = _plain(request)
    if plain is not None and ctx.params.spelling > 0:
        # field by field: each compiles through the spelling match (fields analyzed
        # differently would not), and a word missing from a field tries its slips there
        for spec in reader.schema.text_fields:
            Compiler(ctx=ctx, weights={spec.name: 1.0}).words(plain)
    return (
        {field: found for field, found in ctx.found.items() if found},
        {field: found for field, found in ctx.spellings.items() if found},
    )


# -- step 2: the figures the query needs, counted here -----------------------------------
#: Searchers kept per process for queries whose global statistics are known: a query's
#: steps (query, fetch, explain) and its next pages or repeats reuse one searcher and its
#: caches (norm multipliers, document frequencies, positions).
RESIDENT_SEARCHERS = 128
_resident_lock = threading.Lock()
_resident: OrderedDict[tuple[Any, ...], tuple[Searcher, Statistics]] = OrderedDict()


def _searcher(reader: IndexReader, request: SearchRequest, statistics: Any) -> Searcher:
    """A searcher of ``reader`` scoring with ``statistics``: the one kept for this query
    when the statistics are gathered ones and equal to those it scores with (they follow
    from every shard's snapshot, not this one's alone: a commit that leaves this shard
    as it was changes them), a new one otherwise (the record step's recorder)."""
    if not isinstance(statistics, Statistics):
        return Searcher(
            reader,
            params=request.params,
            default_fields=request.default_fields,
            statistics=statistics,
        )
    key = (
        id(reader),
        reader.generation,
        repr((request.query, request.fields, request.filter, request.romanized, request.strict)),
        repr(request.params),
        repr(request.default_fields),
    )
    with _resident_lock:
        kept = _resident.get(key)
        if kept is not None and kept[0].reader is reader and kept[1] == statistics:
            _resident.move_to_end(key)
            return kept[0]
    found = Searcher(
        reader,
        params=request.params,
        default_fields=request.default_fields,
        statistics=statistics,
    )
    with _resident_lock:
        _resident[key] = (found, statistics)
        while len(_resident) > RESIDENT_SEARCHERS:
            _resident.popitem(last=False)
    return found


def _run(
    reader: IndexReader, request: SearchRequest, statistics: Any, *, limit: int, offset: int = 0
) -> Results:
    """``request`` searched on this shard's reader with ``statistics``, as its fields say."""
    return _searcher(reader, request, statistics).search(
        request.query,
        limit=limit,
        offset=offset,
        fields=request.fields,
        filter=request.filter,
        sort=request.sort,
        romanized=request.romanized,
        highlight=request.highlight,
        stored=request.stored,
        facets=request.facets,
        strict=request.strict,
        exact_total=True,  # shard totals add up to the index's
    )


def shard_record(
    path: str, generation: int, request: SearchRequest, base: Statistics
) -> tuple[dict[tuple[str, str], int], dict[UnitKey, int], int]:
    """This shard's document frequencies of every word and unit the query scores, and
    its match count."""
    crash_point("shard-record")
    reader, _ = open_shard(path, generation)
    recorder = StatisticsRecorder(base=base, reader=reader)
    bare = attrs.evolve(request, highlight=False, stored=False, facets=())
    results = _run(reader, bare, recorder, limit=0)
    return recorder.doc_freqs, recorder.unit_doc_freqs, results.total


# -- step 3: the search itself, with the global figures ----------------------------------
def shard_search(
    path: str, generation: int, request: SearchRequest, statistics: Statistics, limit: int
) -> ShardPage:
    """This shard's best ``limit`` hits scored with the global ``statistics``."""
    crash_point("shard-search")
    reader, _ = open_shard(path, generation)
    results = _run(reader, request, statistics, limit=limit)
    keys: tuple[int, ...] = ()
    if request.sort in ("date", "-date"):
        keys = tuple(
            _date_key(reader, hit.id, newest_first=request.sort == "-date") for hit in results
        )
    return ShardPage(
        hits=tuple(_item(hit) for hit in results),
        keys=keys,
        total=results.total,
        facets={name: dict(counts) for name, counts in results.facets.items()},
        notes=results.notes,
        query=results.query,
    )


def _date_key(reader: IndexReader, article_id: str, *, newest_first: bool) -> int:
    """The date sort's key of an article (as the one-index sort orders it)."""
    where = reader.find(article_id)
    assert where is not None
    published = int(reader.segments[where[0]].published()[where[1]])
    if published == NO_DATE:
        return 2**63 - 1
    return -published if newest_first else published


def hit_of(item: HitItem, rank: int) -> Hit:
    """A :class:`Hit` rebuilt from a shard's plain tuple, at its rank in the merged list."""
    ident, score, fields, highlights = item
    if not fields and not highlights:
        return Hit(id=ident, score=score, rank=rank)
    return Hit(id=ident, score=score, rank=rank, fields=fields, highlights=highlights)


def shard_explain(
    path: str,
    generation: int,
    request: SearchRequest,
    statistics: Statistics,
    article_id: str,
) -> Explanation:
    """How this shard's article ``article_id`` scores for the request's query with the
    global ``statistics`` (``Searcher.explain``; ``KeyError`` if it is not live here)."""
    reader, _ = open_shard(path, generation)
    return _searcher(reader, request, statistics).explain(
        request.query, article_id, fields=request.fields, romanized=request.romanized
    )


def _item(hit: Hit) -> HitItem:
    return (hit.id, hit.score, dict(hit.fields), dict(hit.highlights))


def shard_fetch(
    path: str,
    generation: int,
    request: SearchRequest,
    statistics: Statistics,
    found: Sequence[tuple[str, float]],
    offset: int,
) -> tuple[HitItem, ...]:
    """The stored rows and highlights of this shard's hits ``found`` (ids with the scores
    the query step gave them), ranked from ``offset``: the query is prepared again (for
    the highlights' words), not scored."""
    crash_point("shard-fetch")
    reader, _ = open_shard(path, generation)
    hits = _searcher(reader, request, statistics).hits_of(
        request.query,
        found,
        offset=offset,
        fields=request.fields,
        romanized=request.romanized,
        strict=request.strict,
        highlight=request.highlight,
    )
    return tuple(_item(hit) for hit in hits)


@attrs.frozen(kw_only=True)
class RerankPage:
    """A shard's answer for a reranked plain-words query: its best ``depth`` matches
    without the proximity bonus (``(id, score)``, best first), the score with the bonus
    of each of them, and its page: its best ``limit`` with the bonus given to its own
    best ``depth`` (with stored rows when the request asks for them), total, facets."""

    base: tuple[tuple[str, float], ...]
    final: dict[str, float]
    page: ShardPage


def shard_rerank_search(
    path: str,
    generation: int,
    request: SearchRequest,
    statistics: Statistics,
    depth: int,
    limit: int,
) -> RerankPage:
    """Everything the merge needs to give the proximity bonus to the global best
    ``depth`` matches, in one task: the merge picks the page from ``base`` and
    ``final``, and fetches the hits of it that ``page`` does not hold (see
    :mod:`.searcher`)."""
    crash_point("shard-search")
    reader, _ = open_shard(path, generation)
    flat = attrs.evolve(request.params, proximity=0.0)
    quick = attrs.evolve(request, params=flat, stored=False, highlight=False, facets=())
    base = _run(reader, quick, statistics, limit=depth)
    final = _run(
        reader, attrs.evolve(request, stored=False, highlight=False), statistics, limit=depth
    )
    hits = list(final.hits[:limit])
    if request.stored and hits:
        hits = _searcher(reader, request, statistics).hits_of(
            request.query,
            [(hit.id, hit.score) for hit in hits],
            fields=request.fields,
            highlight=request.highlight,
        )
    return RerankPage(
        base=tuple((hit.id, hit.score) for hit in base),
        final={hit.id: hit.score for hit in final},
        page=ShardPage(
            hits=tuple(_item(hit) for hit in hits),
            keys=(),
            total=final.total,
            facets={name: dict(counts) for name, counts in final.facets.items()},
            notes=final.notes,
            query=final.query,
        ),
    )
