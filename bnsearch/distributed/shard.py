"""The work done where a shard lives: report its statistics, search it (:mod:`.build` builds it).

These are plain functions of a shard's folder (and the generation the caller expects),
so they run alike in this process or as Dask tasks on a worker. A process keeps each
shard's reader (and its term dictionaries) open between tasks, keyed by folder: a worker
opens a shard once per generation, not once per query. Nothing here imports Dask.

A search runs in up to four steps, each a call per shard or per worker (see
:mod:`.searcher`): ``candidates`` (the terms prefix and fuzzy words may expand to, and
the other spellings of plain words the shard holds), ``record`` (the document
frequencies the query needs, counted on this shard), ``worker_search`` (a worker's
shards scored with the summed figures, merged, and the rows and highlights of the
matches that can reach the page made; for the proximity rerank, the best matches with
and without the bonus from one evaluation) and ``fetch`` (stored rows and highlights of
a deep page's hits, by id, not scored again).
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from bnsearch.distributed.pagerows import Travelling, travelling
from bnsearch.errors import BnSearchError
from bnsearch.index import Index
from bnsearch.index.faults import crash_point
from bnsearch.index.reader import IndexReader
from bnsearch.index.segment import NO_DATE, SegmentReader
from bnsearch.search import Searcher, collect
from bnsearch.search.compiler import Compiler
from bnsearch.search.context import Context
from bnsearch.search.fuzzy import TermDictionary
from bnsearch.search.parser import has_syntax, parse_query
from bnsearch.search.plan import Scored, plain_words
from bnsearch.search.query import Query
from bnsearch.search.results import Explanation, Hit, Results
from bnsearch.search.scoring import BM25FParams
from bnsearch.search.searcher import Scoring
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
HitItem = tuple[str, float, Mapping[str, Any], dict[str, Any]]


class Commit(int):
    """A shard's generation, carrying the stamp of the commit it names.

    A folder made anew (the sharded index deleted and built again at the same path)
    reaches the same generations with other articles, so a generation alone does not
    name a commit. The stamp (:func:`commit_stamp`) does; it travels inside the
    generation of a searcher's snapshot (:class:`ShardState`) to every call made with
    it, and :func:`open_shard` reuses a kept reader only for the same commit. A
    ``Commit`` is the generation everywhere else (it compares, hashes and prints as one).
    """

    stamp: str

    def __new__(cls, generation: int, stamp: str) -> Commit:
        commit = super().__new__(cls, generation)
        commit.stamp = stamp
        return commit

    def __reduce__(self) -> tuple[Any, ...]:
        return (Commit, (int(self), self.stamp))


def commit_stamp(reader: IndexReader) -> str:
    """What names the reader's commit: a digest of its manifest (the segments, their
    files' sizes and checksums, the commit time), made when the reader is opened."""
    return hashlib.blake2b(reader.manifest.to_bytes(), digest_size=12).hexdigest()


_open_lock = threading.Lock()
#: folder -> (reader, a context whose term dictionaries are the shard's own, the stamp
#: of the reader's commit)
_open: dict[str, tuple[IndexReader, Context, str]] = {}


def open_shard(path: str, generation: int | None) -> tuple[IndexReader, Context]:
    """The shard's reader at ``generation`` (``None``: the newest), kept open. A
    :class:`Commit` (a searcher's snapshot) names the commit itself: a kept reader or
    the folder at that generation but of another commit (the folder made anew) is not
    it (:class:`StaleShardError` when the folder holds another)."""
    reader, ctx, _ = _kept(path, generation)
    return reader, ctx


def _kept(path: str, generation: int | None) -> tuple[IndexReader, Context, str]:
    """:func:`open_shard`'s reader and context, and the stamp of the reader's commit."""
    stamp = generation.stamp if isinstance(generation, Commit) else None
    with _open_lock:
        found = _open.get(path)
        if found is not None:
            if generation is None:
                if found[0].refresh() is found[0]:
                    return found
            elif found[0].generation == generation and stamp in (None, found[2]):
                return found
        try:
            reader = Index.open(path).reader()
        except FileNotFoundError:
            raise ShardError(f"{path}: shard folder missing") from None
        made = commit_stamp(reader)
        if generation is not None and reader.generation != generation:
            raise StaleShardError(
                f"{path}: the shard is at generation {reader.generation}, the searcher's "
                f"snapshot at {generation}; refresh the searcher"
            )
        if stamp is not None and made != stamp:
            raise StaleShardError(
                f"{path}: the shard folder was made anew since the searcher's snapshot "
                f"(generation {generation}, another commit); refresh the searcher"
            )
        found = _open[path] = (reader, Context(reader, BM25FParams()), made)
        return found


def forget(path: str) -> None:
    """Drop this process's open reader of a shard (after writing to it)."""
    with _open_lock:
        _open.pop(path, None)


def shard_state(path: str) -> ShardState:
    """The newest commit's generation, live count, field lengths and fields with terms."""
    reader, ctx, stamp = _kept(path, None)
    schema = reader.schema
    return ShardState(
        generation=Commit(reader.generation, stamp),
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
_resident: OrderedDict[tuple[Any, ...], Searcher] = OrderedDict()


def _searcher(
    reader: IndexReader, request: SearchRequest, statistics: Any, token: str | None = None
) -> Searcher:
    """A searcher of ``reader`` scoring with ``statistics``: the one kept for this query
    when the statistics are gathered ones named by ``token``, a new one otherwise (the
    record step's recorder). The token is part of the key because the statistics follow
    from every shard's snapshot, not this one's alone (a shard whose commit did not
    change scores with new statistics when another shard's did), and a token names one
    gathering of statistics only (the client makes a new one each time it gathers)."""
    if token is None or not isinstance(statistics, Statistics):
        return Searcher(
            reader,
            params=request.params,
            default_fields=request.default_fields,
            statistics=statistics,
        )
    key = (
        id(reader),
        reader.generation,
        token,
        repr((request.query, request.fields, request.filter, request.romanized, request.strict)),
        repr(request.params),
        repr(request.default_fields),
    )
    with _resident_lock:
        kept = _resident.get(key)
        if kept is not None and kept.reader is reader:
            _resident.move_to_end(key)
            return kept
    found = Searcher(
        reader,
        params=request.params,
        default_fields=request.default_fields,
        statistics=statistics,
    )
    with _resident_lock:
        _resident[key] = found
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
#: Statistics a process keeps by token (see :class:`StatsRef`): a worker receives a
#: query's statistics once, then only their token.
KEPT_STATISTICS = 1024
_statistics_lock = threading.Lock()
_statistics: OrderedDict[str, Statistics] = OrderedDict()


class MissingStatisticsError(ShardError):
    """A query step named statistics by a token this process does not keep (the caller
    sends them again)."""


@attrs.frozen
class StatsRef:
    """A query's global statistics as they travel: the token and, the first time (or
    when a worker says it lacks them), the statistics themselves."""

    token: str
    statistics: Statistics | None = None


def _resolve(ref: StatsRef | Statistics) -> tuple[Statistics, str | None]:
    """The statistics ``ref`` names (kept under its token when it carries them), and the
    token (None for bare statistics)."""
    if isinstance(ref, Statistics):
        return ref, None
    with _statistics_lock:
        if ref.statistics is not None:
            _statistics[ref.token] = ref.statistics
            found: Statistics | None = ref.statistics
        else:
            found = _statistics.get(ref.token)
        if found is None:
            raise MissingStatisticsError(f"no statistics kept under {ref.token!r}")
        _statistics.move_to_end(ref.token)
        while len(_statistics) > KEPT_STATISTICS:
            _statistics.popitem(last=False)
    return found, ref.token


#: A match as it travels from a worker: shard number, rank on its shard, id, score, and
#: a second number: the score with the proximity bonus (a reranked query: ``score`` is
#: then the one without), the date key of a date sort (undated: the largest), else 0.
Entry = tuple[int, int, str, float, float]
#: The stored fields (as they travel: :func:`~.pagerows.travelling`) and highlights of
#: a hit, by ``(shard number, id)``.
Rows = dict[tuple[int, str], tuple[Travelling, dict[str, Any]]]


def order(entries: Iterable[Entry], sort: str) -> list[Entry]:
    """``entries`` in the merged order of a sharded page (by score: then shard, then
    rank; reranked candidates are ordered so by their score without the bonus)."""
    if sort == "score":
        return sorted(entries, key=lambda e: (-e[3], e[0], e[1]))
    if sort in ("date", "-date"):
        return sorted(entries, key=lambda e: (e[4], -e[3], e[0], e[1]))
    if sort == "-index":
        return sorted(entries, key=lambda e: (-e[0], e[1]))
    return sorted(entries, key=lambda e: (e[0], e[1]))


def rerank_page(candidates: Sequence[Entry], start: int, end: int) -> list[Entry]:
    """The page ``[start:end]`` of reranked ``candidates`` (the global best by the score
    without the bonus), by their score with it."""
    return sorted(candidates, key=lambda e: (-e[4], e[0], e[2]))[start:end]


def reachable(candidates: Sequence[Entry], end: int) -> list[Entry]:
    """Of one worker's reranked ``candidates`` (its best by the score without the
    bonus, in that order), those that can reach the first ``end`` of a page: the global
    candidates hold a prefix of them, and in any prefix only its best ``end`` by the
    score with the bonus can."""
    kept: list[tuple[float, int, str]] = []  # the best ``end`` keys of the prefix so far
    found: list[Entry] = []
    if end <= 0:
        return found
    for entry in candidates:
        key = (-entry[4], entry[0], entry[2])
        if len(kept) < end or key < kept[-1]:
            bisect.insort(kept, key)
            del kept[end:]
            found.append(entry)
    return found


@attrs.frozen(kw_only=True)
class WorkerPage:
    """A worker's answer to a search over its shards: its best matches merged (plain
    tuples, to travel), the stored rows and highlights of those the page may show,
    and facts about all its matches."""

    entries: tuple[Entry, ...]
    rows: Rows
    #: per shard: its number, match count and notes
    shards: tuple[tuple[int, int, tuple[str, ...]], ...]
    #: facet counts summed over the worker's shards (only when the request names facets)
    facets: dict[str, dict[str, int]] | None
    query: Query | None


def worker_search(
    shards: Sequence[tuple[int, str, int]],
    request: SearchRequest,
    statistics: StatsRef | Statistics,
    depth: int,
    rerank: bool,
    rows: tuple[int, int],
    without: tuple[str, ...] = (),
) -> WorkerPage:
    """Step 3 on the shards ``(number, folder, generation)`` one worker holds, in one
    call: each shard scored once with the global ``statistics``; their best merged here
    (``offset + limit`` of them, or for a reranked query the best ``depth`` without the
    bonus, each with its score with it); the stored rows (less the fields named in
    ``without``, see :mod:`.pagerows`) and highlights of the matches ``rows[0]`` to
    ``rows[1]`` of the merged list (of a reranked one: of those that can reach the
    first ``rows[1]`` of the page), so that the page usually needs no second call."""
    crash_point("shard-search")
    stats, token = _resolve(statistics)
    page_end = request.offset + request.limit
    sort = request.sort or "score"
    found: list[Entry] = []
    located: dict[tuple[int, str], tuple[Searcher, Scoring, int, int]] = {}
    answers = []
    facets: dict[str, dict[str, int]] | None = None if request.facets is None else {}
    query = None
    for number, path, generation in shards:
        reader, _ = open_shard(path, generation)
        searcher = _searcher(reader, request, stats, token)
        scoring = searcher.score(
            request.query,
            page_end=depth if rerank else page_end,
            fields=request.fields,
            filter=request.filter,
            sort=sort,
            romanized=request.romanized,
            facets=request.facets,
            strict=request.strict,
            exact_total=True,  # shard totals add up to the index's
        )
        answers.append((number, scoring.total, scoring.notes))
        if query is None:
            query = scoring.plan.parsed
        if facets is not None:
            for name, counts in scoring.facets.items():
                into = facets.setdefault(name, {})
                for value, count in counts.items():
                    into[value] = into.get(value, 0) + count
        if scoring.scored is None:
            continue
        picked = _picked(reader, scoring.scored, sort, depth if rerank else page_end, rerank)
        ids = [reader.segments[o].article_ids() for o in range(len(reader.segments))]
        for rank, (ordinal, doc, score, second) in enumerate(picked):
            ident = ids[ordinal][doc]
            found.append((number, rank, ident, score, second))
            located[(number, ident)] = (searcher, scoring, ordinal, doc)
    entries = order(found, sort)[: depth if rerank else page_end]
    page: Rows = {}
    start, end = rows
    if end > start and request.stored:
        wanted = reachable(entries, end) if rerank else entries[start:end]
        by_shard: dict[int, list[Entry]] = {}
        for entry in wanted:
            by_shard.setdefault(entry[0], []).append(entry)
        for number, some in by_shard.items():
            searcher, scoring = located[(number, some[0][2])][:2]
            chosen = [(*located[(number, e[2])][2:], e[4] if rerank else e[3]) for e in some]
            made = searcher.make_hits(scoring, chosen, 0, request.highlight, True)
            for hit in made:
                page[(number, hit.id)] = (travelling(hit.fields, without), dict(hit.highlights))
    return WorkerPage(
        entries=tuple(entries), rows=page, shards=tuple(answers), facets=facets, query=query
    )


def _picked(
    reader: IndexReader, scored: Scored, sort: str, k: int, rerank: bool
) -> list[tuple[int, int, float, float]]:
    """A shard's best ``k`` as ``(segment ordinal, doc, score, second)`` (see
    :data:`Entry`), in its own order: the reranked ones by the score without the bonus,
    from the one evaluation that gave both."""
    segments = reader.segments
    if not rerank:
        chosen = collect.top(segments, scored.matched, k, sort, within=scored.candidates)
        if sort not in ("date", "-date"):
            return [(o, d, s, 0.0) for o, d, s in chosen]
        newest = sort == "-date"
        return [
            (o, d, s, float(_date_key(segments[o], d, newest_first=newest))) for o, d, s in chosen
        ]
    before, after = scored.before_rerank, scored.matched
    where = scored.candidates if scored.candidates is not None else collect.best(before, k)
    picked: list[tuple[int, int, float, float]] = []
    for ordinal, found in enumerate(where):
        docs = before[ordinal][0][found].tolist()
        base = before[ordinal][1][found].tolist()
        final = after[ordinal][1][found].tolist()
        picked.extend(zip([ordinal] * len(docs), docs, base, final, strict=True))
    picked.sort(key=lambda p: (-p[2], p[0], p[1]))  # score, then segment, then doc
    return picked[:k]


def _date_key(segment: SegmentReader, doc: int, *, newest_first: bool) -> int:
    """The date sort's key of a doc (as the one-index sort orders it)."""
    published = int(segment.published()[doc])
    if published == NO_DATE:
        return 2**63 - 1
    return -published if newest_first else published


def shard_facets(
    path: str, generation: int, request: SearchRequest, statistics: StatsRef | Statistics
) -> dict[str, dict[str, int]]:
    """This shard's facet counts over every match of the request (read when a sharded
    page's facets are)."""
    reader, _ = open_shard(path, generation)
    scoring = _searcher(reader, request, *_resolve(statistics)).score(
        request.query,
        page_end=0,
        fields=request.fields,
        filter=request.filter,
        romanized=request.romanized,
        facets=request.facets,
        strict=request.strict,
        exact_total=True,
    )
    return {name: dict(counts) for name, counts in scoring.facets.items()}


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
    statistics: StatsRef | Statistics,
    article_id: str,
) -> Explanation:
    """How this shard's article ``article_id`` scores for the request's query with the
    global ``statistics`` (``Searcher.explain``; ``KeyError`` if it is not live here)."""
    reader, _ = open_shard(path, generation)
    return _searcher(reader, request, *_resolve(statistics)).explain(
        request.query, article_id, fields=request.fields, romanized=request.romanized
    )


def _item(hit: Hit) -> HitItem:
    return (hit.id, hit.score, dict(hit.fields), dict(hit.highlights))


def shard_fetch(
    path: str,
    generation: int,
    request: SearchRequest,
    statistics: StatsRef | Statistics,
    found: Sequence[tuple[str, float]],
    offset: int,
) -> tuple[HitItem, ...]:
    """The stored rows and highlights of this shard's hits ``found`` (ids with the scores
    the query step gave them), ranked from ``offset``: the query is prepared again (for
    the highlights' words), not scored."""
    crash_point("shard-fetch")
    reader, _ = open_shard(path, generation)
    hits = _searcher(reader, request, *_resolve(statistics)).hits_of(
        request.query,
        found,
        offset=offset,
        fields=request.fields,
        romanized=request.romanized,
        strict=request.strict,
        highlight=request.highlight,
    )
    return tuple(_item(hit) for hit in hits)
