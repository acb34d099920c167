"""A sharded index (in this process) against one index holding the same real articles:
the same hits, scores, totals, facets and pages for every kind of query."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from bnsearch.articles import Article, read_articles
from bnsearch.distributed import (
    ShardedIndex,
    ShardedSearcher,
    ShardError,
    StaleShardError,
    is_sharded,
    shard_of,
)
from bnsearch.distributed.runner import Runner, by_slot
from bnsearch.distributed.shard import SearchRequest
from bnsearch.errors import ArticleError, IndexFormatError
from bnsearch.index import Index
from bnsearch.search import Searcher
from bnsearch.search.query import Prefix
from bnsearch.search.results import Explanation, LazyFacets, Results
from bnsearch.search.statistics import Statistics
from tests.conftest import shared_file

REL = 1e-9


def _dated(article: Article) -> Article:
    """The article with a publication date derived from its id (the corpus has none);
    one in seven stays undated."""
    number = int.from_bytes(hashlib.sha256(article.id.encode()).digest()[:4], "big")
    if number % 7 == 0:
        return article
    when = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=number % 40_000)
    return attrs.evolve(article, published=when)


@pytest.fixture(scope="module")
def belin() -> list[Article]:
    path = shared_file("corpus/belin_religious_news.jsonl")
    return [_dated(a) for a in read_articles(path)]


@pytest.fixture(scope="module")
def pair(
    belin: list[Article], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Searcher, ShardedIndex]:
    root = tmp_path_factory.mktemp("ranking")
    one = Index.create(root / "one")
    # two commits: the one index has several segments, as real ones do
    with one.writer() as writer:
        writer.add_many(belin[:1500])
    with one.writer() as writer:
        writer.add_many(belin[1500:])
    sharded = ShardedIndex.create(root / "sharded", shards=4)
    sharded.add(belin[:1000])
    sharded.add(belin[1000:])
    return one.searcher(), sharded


def same_ranking(one: Results, many: Results) -> None:
    """Same scores in order (within REL), and the same ids among each run of equal
    scores (ties are ordered by write order in one index, by shard when sharded); the
    last run may be cut at the page end differently (and the first at the offset), so
    they are only checked for scores."""
    assert len(one) == len(many), (one.ids, many.ids)
    for a, b in zip(one, many, strict=True):
        assert b.score == pytest.approx(a.score, rel=REL, abs=1e-12), (a.id, b.id)
    groups_one: dict[float, set[str]] = {}
    groups_many: dict[float, set[str]] = {}
    for hit in one:
        groups_one.setdefault(round(hit.score, 6), set()).add(hit.id)
    for hit in many:
        groups_many.setdefault(round(hit.score, 6), set()).add(hit.id)
    last = round(one.hits[-1].score, 6) if one.hits else None
    # a page from an offset may also cut the run it starts in
    first = round(one.hits[0].score, 6) if one.hits and one.offset else None
    for score, ids in groups_one.items():
        if (score != last or one.total <= one.offset + len(one)) and score != first:
            assert groups_many[score] == ids
    assert [h.rank for h in many] == [h.rank for h in one]


QUERIES = [
    "ইসলাম ধর্ম",  # words: dense table, proximity rerank
    "মসজিদ",  # one word
    "রমজান মাসে রোজা রাখা",  # inflected forms: exact-form bonus
    '"পবিত্র কোরআন"',  # phrase
    "title:হজ",  # field
    "title:(ঈদ নামাজ)",
    "নামা*",  # prefix
    "ইসলাম~1",  # fuzzy
    "প্রধানমন্ত্রী~2",
    "ঈদ +নামাজ -মসজিদ",  # boolean
    "পূজা^2 মন্দির",  # boost
    'section:"ইসলাম ধর্ম" মসজিদ',  # keyword field
    "হিন্দু OR বৌদ্ধ",
    "খ্রিস্টান ধর্মাবলম্বীদের বড়দিন উৎসব উদযাপন",
]


@pytest.mark.parametrize("query", QUERIES)
def test_top_ten_equal_one_index(pair: tuple[Searcher, ShardedIndex], query: str) -> None:
    one, sharded = pair
    many = sharded.searcher()
    a = one.search(query, limit=10)
    b = many.search(query, limit=10)
    assert a.total > 0, query  # a query that matches nothing would prove nothing
    assert b.total == a.total
    same_ranking(a, b)
    assert dict(b.facets) == {k: dict(v) for k, v in a.facets.items()}
    assert b.notes == a.notes
    # the shards' hits carry their stored rows and highlights
    for x, y in zip(a, b, strict=True):
        if x.id == y.id:
            assert y.fields == x.fields
            assert y.highlights == x.highlights


def test_notes_of_shards_without_matches_stay_out(
    pair: tuple[Searcher, ShardedIndex], belin: list[Article]
) -> None:
    """A word only one article has, behind a Latin field name: the shards without it
    found nothing, and what they would note then (the romanized hint) is not what one
    index says of a query that found something."""
    one, sharded = pair
    word = next(
        w
        for article in belin
        for w in article.title.split()
        if one.search(f"title:{w}", limit=0).total == 1
    )
    a = one.search(f"title:{word}", limit=10)
    b = sharded.searcher().search(f"title:{word}", limit=10)
    assert a.total == b.total == 1
    assert b.notes == a.notes


def test_statistics_are_global_not_per_shard(pair: tuple[Searcher, ShardedIndex]) -> None:
    """Without the gathered statistics the shards would rank differently (so the
    equality above is the statistics' doing)."""
    one, sharded = pair
    searcher = sharded.searcher()
    request_stats, total = searcher.statistics(SearchRequest(query="ইসলাম ধর্ম"))
    assert isinstance(request_stats, Statistics)
    assert request_stats.total_docs == one.doc_count == sum(s.doc_count for s in searcher.states)
    assert all(s.doc_count < one.doc_count for s in searcher.states)
    assert total == one.search("ইসলাম ধর্ম", limit=0).total
    # a shard searched on its own figures scores its best hit differently
    local = Index.open(sharded.shard_paths[0]).searcher().search("ইসলাম ধর্ম", limit=1)
    everything = one.search("ইসলাম ধর্ম", limit=3000, stored=False)
    global_score = everything.hits[everything.ids.index(local.hits[0].id)].score
    assert local.hits[0].score != pytest.approx(global_score, rel=1e-6)


@pytest.mark.parametrize("query", ["ইসলাম ধর্ম", "মসজিদ", "নামা*"])
def test_pages_across_shards(pair: tuple[Searcher, ShardedIndex], query: str) -> None:
    one, sharded = pair
    many = sharded.searcher()
    whole = one.search(query, limit=60, stored=False)
    for offset in (0, 7, 20, 45):
        a = one.search(query, limit=15, offset=offset, stored=False)
        b = many.search(query, limit=15, offset=offset, stored=False)
        same_ranking(a, b)
        assert b.total == whole.total and b.offset == offset
    past = many.search(query, limit=10, offset=whole.total + 5)
    assert len(past) == 0 and past.total == whole.total


@pytest.mark.parametrize(
    "kwargs",
    [
        {"filter": {"section": "ইসলাম ধর্ম"}},
        {"filter": {"published": (dt.date(2021, 1, 1), dt.date(2022, 6, 1))}},
        {"filter": {"section": ["হিন্দু ধর্ম", "বৌদ্ধ ধর্ম"]}, "sort": "-date"},
        {"sort": "date"},
        {"sort": "-date", "offset": 5},
        {"fields": {"title": 3.0, "body": 0.5}},
        {"fields": ["body"]},
        {"filter": Prefix(text="পূজ")},
        {"facets": ["section"], "limit": 30},
    ],
)
def test_filters_dates_fields(pair: tuple[Searcher, ShardedIndex], kwargs: dict) -> None:
    one, sharded = pair
    many = sharded.searcher()
    args = {"limit": 10, **kwargs}
    a = one.search("ধর্ম উৎসব", **args)
    b = many.search("ধর্ম উৎসব", **args)
    assert a.total > 0 and b.total == a.total
    if args.get("sort") in ("date", "-date"):
        # ordered by date: the same ids in the same order (dates rarely tie)
        dates = [h.fields.get("published") for h in a]
        assert [h.fields.get("published") for h in b] == dates
        assert [h.score for h in b] == pytest.approx([h.score for h in a], rel=REL)
    else:
        same_ranking(a, b)
    assert {k: dict(v) for k, v in b.facets.items()} == {k: dict(v) for k, v in a.facets.items()}


def test_both_flat_strategies(pair: tuple[Searcher, ShardedIndex], flat_strategy: str) -> None:
    one, sharded = pair
    for query in ("ইসলাম ধর্ম পালন", "মন্দির পূজা উৎসব"):
        same_ranking(one.search(query, limit=10), sharded.searcher().search(query, limit=10))


def test_rerank_candidates_are_the_global_best(
    pair: tuple[Searcher, ShardedIndex], belin: list[Article]
) -> None:
    """A small rerank depth: only the one index's best matches may get the proximity
    bonus, though each shard's own best would be others."""
    from bnsearch.search.scoring import BM25FParams

    one_index, sharded = pair
    params = BM25FParams(rerank_depth=3, proximity=5.0)
    one = Searcher(one_index.reader, params=params)
    many = sharded.searcher(params=params)
    for query in ("ইসলাম ধর্ম", "পবিত্র কোরআন তেলাওয়াত", "দুর্গা পূজা"):
        for limit, offset in ((10, 0), (2, 1)):
            same_ranking(
                one.search(query, limit=limit, offset=offset),
                many.search(query, limit=limit, offset=offset),
            )


# -- the folders -----------------------------------------------------------------------
def test_shards_are_index_folders_routed_by_id(
    pair: tuple[Searcher, ShardedIndex], belin: list[Article]
) -> None:
    _, sharded = pair
    assert is_sharded(sharded.path) and not is_sharded(sharded.shard_paths[0])
    manifest = json.loads((sharded.path / "shards.json").read_text())
    assert manifest["shards"] == 4 and manifest["commit"] == 2
    counts = []
    for number, path in enumerate(sharded.shard_paths):
        index = Index.open(path)  # an ordinary index
        assert manifest["generations"][number] == index.generation
        reader = index.reader()
        ids = reader.article_ids()
        assert all(shard_of(i, 4) == number for i in ids)
        counts.append(len(ids))
    assert sum(counts) == len(belin) == sharded.doc_count
    assert min(counts) > len(belin) / 4 * 0.8  # the hash spreads ids evenly
    # the routing is blake2b-64 of the UTF-8 id, big-endian, mod shards
    digest = hashlib.blake2b(b"belin-0001", digest_size=8).digest()
    assert shard_of("belin-0001", 4) == int.from_bytes(digest, "big") % 4


def test_upsert_and_delete(tmp_path: Path, belin: list[Article]) -> None:
    sharded = ShardedIndex.create(tmp_path / "s", shards=3)
    sharded.add(belin[:40])
    changed = attrs.evolve(belin[5], title="সম্পূর্ণ নতুন শিরোনাম জলপাই")
    sharded.add([changed])
    again = ShardedIndex.open(tmp_path / "s")
    assert again.doc_count == 40
    hits = again.searcher().search("জলপাই")
    assert hits.ids == [belin[5].id] and hits[0].title == changed.title
    sharded.delete([belin[5].id, belin[6].id, "no-such-id"])
    searcher = ShardedIndex.open(tmp_path / "s").searcher()
    assert searcher.doc_count == 38
    assert searcher.search("জলপাই").total == 0
    assert json.loads((tmp_path / "s" / "shards.json").read_text())["commit"] == 3


def test_bad_input_and_folders(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="shards must be"):
        ShardedIndex.create(tmp_path / "a", shards=0)
    ShardedIndex.create(tmp_path / "b", shards=2)
    with pytest.raises(IndexFormatError, match="already exists"):
        ShardedIndex.create(tmp_path / "b", shards=2)
    with pytest.raises(IndexFormatError, match="no sharded index"):
        ShardedIndex.open(tmp_path / "nothing")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "shards.json").write_text("{not json")
    with pytest.raises(IndexFormatError, match="unreadable"):
        ShardedIndex.open(tmp_path / "c")
    (tmp_path / "c" / "shards.json").write_text(json.dumps({"format": "bnsearch-sharded"}))
    with pytest.raises(IndexFormatError, match="version"):
        ShardedIndex.open(tmp_path / "c")
    manifest = json.loads((tmp_path / "b" / "shards.json").read_text())
    manifest["generations"] = [0]
    (tmp_path / "b" / "shards.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError, match="must agree"):
        ShardedIndex.open(tmp_path / "b")
    sharded = ShardedIndex.create(tmp_path / "d", shards=2)
    with pytest.raises(TypeError, match="Article"):
        sharded.add(["not an article"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="offset \\+ limit"):
        sharded.searcher().search("x", limit=10_000, offset=5)
    (sharded.path / "shard-0001" / "meta.json").unlink()
    with pytest.raises(IndexFormatError):
        sharded.searcher()
    for child in (sharded.path / "shard-0001").iterdir():
        child.unlink()
    (sharded.path / "shard-0001").rmdir()
    with pytest.raises(ShardError, match="missing"):
        ShardedIndex.open(sharded.path)


def test_add_sources_reads_where_the_shard_is_built(tmp_path: Path) -> None:
    source = shared_file("corpus/bqa_passages.jsonl")
    by_articles = ShardedIndex.create(tmp_path / "a", shards=3)
    by_articles.add(read_articles(source))
    by_sources = ShardedIndex.create(tmp_path / "b", shards=3)
    by_sources.add_sources([source])
    assert by_sources.doc_count == by_articles.doc_count == 1534
    for left, right in zip(by_articles.shard_paths, by_sources.shard_paths, strict=True):
        assert sorted(Index.open(left).reader().article_ids()) == sorted(
            Index.open(right).reader().article_ids()
        )
    query = "বাংলাদেশের স্বাধীনতা যুদ্ধ"
    a, b = by_articles.searcher().search(query), by_sources.searcher().search(query)
    assert [(h.id, h.score) for h in a] == [(h.id, h.score) for h in b] and a.total > 0
    assert not (tmp_path / "b" / ".staging").exists()  # read in place: nothing staged
    with pytest.raises(ArticleError, match="no such file"):
        by_sources.add_sources([tmp_path / "missing.jsonl"])
    # two sources holding the same article: the later one wins, as in one index
    first = tmp_path / "first.jsonl"
    second = tmp_path / "second.jsonl"
    lines = source.read_text(encoding="utf-8").splitlines()[:5]
    first.write_text("\n".join(lines) + "\n", encoding="utf-8")
    record = json.loads(lines[2])
    record["body"] = "সম্পূর্ণ নতুন লেখা জলপাই"
    second.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    twice = ShardedIndex.create(tmp_path / "c", shards=2)
    twice.add_sources([first, second])
    assert twice.doc_count == 5
    assert twice.searcher().search("জলপাই").ids == [record["id"]]


def test_a_searcher_keeps_its_snapshot(tmp_path: Path, belin: list[Article]) -> None:
    sharded = ShardedIndex.create(tmp_path / "s", shards=2)
    sharded.add(belin[:30])
    searcher = sharded.searcher()
    before = searcher.search("ধর্ম", limit=5)
    sharded.add(belin[30:60])
    # the shards moved on: the old searcher says so instead of mixing snapshots
    with pytest.raises(StaleShardError, match="refresh"):
        searcher.search("মসজিদ কমিটি", limit=5)
    fresh = searcher.refresh()
    assert fresh.doc_count == 60 and searcher.doc_count == 30
    assert fresh.search("ধর্ম", limit=5).total > before.total


def _ids_on(shard: int, count: int, shards: int = 2) -> list[str]:
    """``count`` article ids that route to ``shard``."""
    found = [f"slip-{n}" for n in range(200) if shard_of(f"slip-{n}", shards) == shard]
    return found[:count]


@pytest.mark.parametrize("query", ["নির্বাচন কমিশন", "নীর্বাচন", "কমিশন সভা"])
def test_spelling_variants_on_another_shard(tmp_path: Path, query: str) -> None:
    """The folded-spelling match picks a word's other spellings from the whole index:
    নির্বাচণ (a slip of নির্বাচন) is only on shard 1 (in a title) and shard 0 (in a
    body, beside the typed word), সভা's slip শভা only on the shard without সভা; the
    sharded scores equal one index's (the first two failed before the variants were
    gathered from every shard), and the slip's articles match."""
    a = _ids_on(0, 4)
    b = _ids_on(1, 4)
    articles = [
        Article(id=a[0], title="কমিশনের খবর", body="নির্বাচন কমিশন আজ বৈঠক করেছে"),
        Article(id=a[1], title="নির্বাচন হবে", body="আগামী মাসে নির্বাচণ কমিশন সভা ডাকবে"),
        Article(id=a[2], title="বৃষ্টির দিন", body="সকাল থেকে বৃষ্টি হয়েছে কমিশন"),
        Article(id=a[3], title="সভা শেষ", body="দলের সভা শেষ হয়েছে"),
        Article(id=b[0], title="নির্বাচণ নিয়ে কথা", body="কমিশন কিছু বলেনি"),
        Article(id=b[1], title="বাজারের খবর", body="চালের দাম বেড়েছে কমিশন"),
        Article(id=b[2], title="শভা ডাকা হয়েছে", body="নেতারা শভা করবেন"),
        Article(id=b[3], title="খেলার খবর", body="দল জিতেছে"),
    ]
    one = Index.create(tmp_path / "one")
    with one.writer() as writer:
        writer.add_many(articles)
    sharded = ShardedIndex.create(tmp_path / "sharded", shards=2)
    sharded.add(articles)
    expected = one.searcher().search(query, limit=10, stored=False)
    got = sharded.searcher().search(query, limit=10, stored=False)
    # the slips are what is tested: the one index matches them through other spellings
    slips = {"নির্বাচন কমিশন": b[0], "নীর্বাচন": b[0], "কমিশন সভা": b[2]}
    assert slips[query] in expected.ids
    assert got.total == expected.total
    same_ranking(expected, got)


def same_explanation(one: Explanation, many: Explanation) -> None:
    """The same tree: descriptions equal, values within REL."""
    assert many.description == one.description
    assert many.value == pytest.approx(one.value, rel=REL, abs=1e-12), one.description
    assert len(many.details) == len(one.details), one.description
    for a, b in zip(one.details, many.details, strict=True):
        same_explanation(a, b)


@pytest.mark.parametrize(
    "query", ["ইসলাম ধর্ম", "মসজিদ", '"পবিত্র কোরআন"', "নামা*", "ঈদ +নামাজ -মসজিদ", "title:হজ"]
)
def test_explain_equals_one_index(pair: tuple[Searcher, ShardedIndex], query: str) -> None:
    """The sharded explain is the one index's, for hits on every shard and a miss."""
    one, sharded = pair
    many = sharded.searcher()
    found = one.search(query, limit=12, stored=False)
    assert found.total > 0
    shards = {shard_of(hit.id, 4) for hit in found}
    assert len(shards) > 1  # the hits live on several shards
    for hit in found:
        a = one.explain(query, hit.id)
        b = many.explain(query, hit.id)
        assert a.value == pytest.approx(hit.score, rel=1e-6)
        same_explanation(a, b)
    miss = next(i for i in one.search("*:*", limit=3000, stored=False).ids if i not in found.ids)
    same_explanation(one.explain(query, miss), many.explain(query, miss))
    with pytest.raises(KeyError):
        many.explain(query, "no-such-article")


def test_explain_gives_the_bonus_to_the_global_candidates_only(
    pair: tuple[Searcher, ShardedIndex],
) -> None:
    """A small rerank depth: an article its shard would rerank but one index would not
    is explained without the proximity bonus, as one index explains it."""
    from bnsearch.search.scoring import BM25FParams

    one_index, sharded = pair
    params = BM25FParams(rerank_depth=3, proximity=5.0)
    one = Searcher(one_index.reader, params=params)
    many = sharded.searcher(params=params)
    query = "ইসলাম ধর্ম"
    flat = Searcher(one_index.reader, params=BM25FParams(rerank_depth=3, proximity=0.0))
    order = flat.search(query, limit=40, stored=False)
    kinds = set()
    for hit in order:
        a = one.explain(query, hit.id)
        same_explanation(a, many.explain(query, hit.id))
        kinds.add(a.value != pytest.approx(hit.score, rel=1e-9))  # bonus or not
    assert kinds == {True, False}  # both cases were met


def test_kept_shard_searchers_follow_params_and_fields(pair: tuple[Searcher, ShardedIndex]) -> None:
    """A shard keeps a searcher per query whose statistics are known (its steps and
    repeats reuse it); another searcher's params or default fields, asking the same
    query, get their own, so each ranks as one index with those settings does."""
    from bnsearch.search.scoring import BM25FParams

    one_index, sharded = pair
    settings = [
        (None, None),
        (BM25FParams(k1=1.2, b=0.5), None),
        (None, {"title": 4.0, "body": 1.0}),
    ]
    for _ in range(2):  # the second time from the kept searchers
        for params, fields in settings:
            one = Searcher(one_index.reader, params=params, default_fields=fields)
            many = sharded.searcher(params=params, default_fields=fields)
            for query in ("ইসলাম ধর্ম", "মসজিদ"):
                same_ranking(one.search(query, limit=10), many.search(query, limit=10))


# -- one call per worker ------------------------------------------------------------------
class _Workers(Runner):
    """Runs in this process, but groups the shards as ``workers`` workers would hold
    them (a cluster's grouping, without a cluster)."""

    def __init__(self, workers: int) -> None:
        super().__init__()
        self.workers = workers

    def groups(self, count: int) -> list[list[int]]:
        return by_slot(count, self.workers)


@pytest.mark.parametrize(("workers", "miss"), [(2, 0.0), (2, 0.5), (3, 0.0), (4, 0.5)])
def test_worker_groups_rank_as_one_index(
    pair: tuple[Searcher, ShardedIndex], workers: int, miss: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shards searched in groups (a worker's shards merged where they are, the stored
    rows and highlights made there for its likely share of the page) give one index's
    pages, rows and highlights. With no chance of a miss, a page ending by the 20th hit
    needs no fetch; with a large one, the rows a worker did not make are fetched."""
    from bnsearch.distributed import searcher as module
    from bnsearch.search.scoring import BM25FParams

    monkeypatch.setattr(module, "ROWS_MISS", miss)
    one_index, sharded = pair
    fetched: list[int] = []
    real_fetch = module.shard_fetch

    def counting_fetch(*args: Any) -> Any:
        fetched.append(1)
        return real_fetch(*args)

    monkeypatch.setattr(module, "shard_fetch", counting_fetch)
    for params in (None, BM25FParams(rerank_depth=3, proximity=5.0)):
        one = Searcher(one_index.reader, params=params)
        many = ShardedSearcher(sharded.shard_paths, params=params, _runner=_Workers(workers))
        for query in QUERIES[:8]:
            for limit, offset in ((10, 0), (4, 3), (5, 15)):
                a = one.search(query, limit=limit, offset=offset)
                b = many.search(query, limit=limit, offset=offset)
                assert b.total == a.total
                same_ranking(a, b)
                for x, y in zip(a, b, strict=True):
                    if x.id == y.id:
                        assert (y.fields, dict(y.highlights)) == (x.fields, dict(x.highlights))
        assert (fetched == []) == (miss == 0.0)
        fetched.clear()
        deep = many.search("ইসলাম ধর্ম", limit=10, offset=25)  # deeper: fetched after the merge
        same_ranking(one.search("ইসলাম ধর্ম", limit=10, offset=25), deep)
        assert fetched and all(hit.fields for hit in deep)
        fetched.clear()


def test_no_page_and_facets_when_read(pair: tuple[Searcher, ShardedIndex]) -> None:
    """``limit=0`` gives the total alone (reranked queries included); the default
    facets are counted when read, named facets come with the page; both add up."""
    one, sharded = pair
    many = ShardedSearcher(sharded.shard_paths, _runner=_Workers(2))
    for query in ("ইসলাম ধর্ম পালন", "মসজিদ", "নামা*"):
        a, b = one.search(query, limit=0), many.search(query, limit=0)
        assert len(b) == 0 and b.total == a.total > 0
        lazy, named = many.search(query), many.search(query, facets=["section"])
        assert isinstance(lazy.facets, LazyFacets) and not isinstance(named.facets, LazyFacets)
        expected = {k: dict(v) for k, v in one.search(query).facets.items()}
        assert {k: dict(v) for k, v in lazy.facets.items()} == expected
        assert {k: dict(v) for k, v in named.facets.items()} == expected
        assert sum(expected["section"].values()) <= a.total


def test_reachable_holds_every_page_hit_of_a_worker() -> None:
    """Whatever prefix of a worker's reranked candidates the global candidates take,
    the worker's hits on the page are among those :func:`reachable` names (checked
    against the merge itself on random candidates, ties included)."""
    import random

    from bnsearch.distributed.shard import order, reachable, rerank_page

    chance = random.Random(7)
    for _ in range(300):
        entries = []
        for shard in range(4):
            for rank in range(chance.randint(0, 12)):
                base = float(chance.randint(0, 6))
                entries.append((shard, rank, f"{shard}-{rank}", base, base + chance.randint(0, 4)))
        depth, end = chance.randint(1, 15), chance.randint(1, 8)
        candidates = order(entries, "score")[:depth]
        page = rerank_page(candidates, 0, end)
        for worker in ({0, 2}, {1, 3}, {0, 1, 2, 3}):
            mine = order([e for e in entries if e[0] in worker], "score")[:depth]
            named = set(reachable(mine, end))
            assert {e for e in page if e[0] in worker} <= named
            assert len(named) <= len(mine)


def test_a_refreshed_searcher_scores_an_unchanged_shard_with_the_new_statistics(
    tmp_path: Path,
) -> None:
    """Articles added to one shard change the global statistics (N, lengths, document
    frequencies) every shard scores with: a shard whose commit did not change must not
    score a query again with the searcher it kept for the old statistics."""
    a, b = _ids_on(0, 6), _ids_on(1, 6)
    first = [Article(id=a[n], title=f"খবর {n}", body="নদীর পানি বেড়েছে গ্রামে") for n in range(3)]
    first += [Article(id=b[n], title=f"কথা {n}", body="নদীর ধারে হাট বসেছে") for n in range(3)]
    later = [Article(id=b[n], title=f"নদী {n}", body="নদীর নদীর পানি কমেছে") for n in range(3, 6)]
    one = Index.create(tmp_path / "one")
    sharded = ShardedIndex.create(tmp_path / "sharded", shards=2)
    with one.writer() as writer:
        writer.add_many(first)
    sharded.add(first)
    searcher = sharded.searcher()
    same_ranking(one.searcher().search("নদীর পানি"), searcher.search("নদীর পানি"))
    with one.writer() as writer:
        writer.add_many(later)
    # a process that did not write shard 0 (a worker that built no part of this change,
    # or one whose shards another client changed) keeps its open reader of it
    from bnsearch.distributed import shard as shard_module

    path = str(sharded.shard_paths[0])
    kept = shard_module._open[path]
    sharded.add(later)  # shard 0 keeps its commit
    shard_module._open[path] = kept
    assert Index.open(sharded.shard_paths[0]).generation == searcher.generations[0]
    expected = one.searcher().search("নদীর পানি")
    got = searcher.refresh().search("নদীর পানি")
    assert set(a[:3]) <= set(got.ids)  # shard 0's articles are scored
    same_ranking(expected, got)


def test_row_span_holds_a_workers_page_hits_as_often_as_it_says() -> None:
    """Each of the index's best hits lies on a worker with the worker's share of the
    shards: simulated so, the worker's hits of a page fall outside :func:`row_span`
    about as often as ``miss`` allows, never more (within sampling error), and the span
    is shorter than the page (it saves rows)."""
    import random

    from bnsearch.distributed.searcher import row_span

    chance = random.Random(11)
    for offset, end, share, miss in ((0, 10, 0.5, 0.025), (3, 7, 0.25, 0.02), (10, 20, 0.5, 0.02)):
        low, high = row_span(offset, end, share, miss)
        assert high - low < end  # fewer rows than the page's end
        trials, missed = 20_000, 0
        for _ in range(trials):
            mine = [chance.random() < share for _ in range(end)]
            before, through = sum(mine[:offset]), sum(mine)
            missed += before < low or through > high
        assert missed / trials <= 2 * miss + 0.005
    assert row_span(4, 10, 1.0) == (4, 10)  # one worker: exactly the page


def test_rows_travel_without_bodies_fetched_for_the_page_when_read(
    pair: tuple[Searcher, ShardedIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a cluster a worker's rows leave out the body: a results page (the web
    service's hit JSON) reads none, and the first body read fetches the page's bodies
    in one step (a call per shard holding a page hit); keys, their order, values and
    pickles then equal one index's rows."""
    import pickle

    from bnsearch.distributed import searcher as module
    from bnsearch.distributed.pagerows import LONG_FIELDS, LazyRow
    from bnsearch.web.payload import hit_json

    one, sharded = pair
    calls: list[int] = []
    real = module.shard_rows

    def counting(path: str, generation: int, ids: list[str]) -> Any:
        calls.append(len(ids))
        return real(path, generation, ids)

    monkeypatch.setattr(module, "shard_rows", counting)
    monkeypatch.setattr(module, "ROWS_MISS", 0.0)  # every row of the page with the answer
    many = ShardedSearcher(sharded.shard_paths, _runner=_Workers(2))
    many._without = LONG_FIELDS  # as on a cluster
    for query in ("ইসলাম ধর্ম", "মসজিদ", "নামা*"):
        a, b = one.search(query), many.search(query)
        same_ranking(a, b)
        assert all(isinstance(hit.fields, LazyRow) for hit in b)
        rows = {x.id: x for x in a}  # equal scores may come in another order
        pairs = [(rows[y.id], y) for y in b if y.id in rows]
        assert len(pairs) >= len(b) - 2
        assert all(hit_json(y) == hit_json(x) for x, y in pairs)
        assert all(list(y.fields) == list(x.fields) for x, y in pairs)
        assert calls == []
        assert pairs[0][1].fields["body"] == pairs[0][0].fields["body"]
        assert sum(calls) == len(b) and len(calls) <= 4  # the page's bodies, at once
        assert all(dict(y.fields) == x.fields for x, y in pairs)
        assert all(pickle.loads(pickle.dumps(y.fields)) == x.fields for x, y in pairs)
        assert sum(calls) == len(b)
        calls.clear()


def test_facets_accept_what_one_index_accepts(pair: tuple[Searcher, ShardedIndex]) -> None:
    """``facets`` takes the forms :meth:`Searcher.search` takes (a name, a list, a tuple,
    none) with the same counts, and refuses the same values with the same errors (an int
    once gave "'int' object is not iterable" from deep in the sharded searcher)."""
    one, sharded = pair
    many = ShardedSearcher(sharded.shard_paths, _runner=_Workers(2))
    for facets in ("section", ["section"], ("section",), [], None):
        a, b = one.search("মসজিদ", facets=facets), many.search("মসজিদ", facets=facets)
        assert b.total == a.total > 0
        assert {k: dict(v) for k, v in b.facets.items()} == {
            k: dict(v) for k, v in a.facets.items()
        }
    for bad in (5, b"section", {"section": 1}, ["title"], "nope"):
        with pytest.raises(Exception) as expected:
            one.search("মসজিদ", facets=bad)  # type: ignore[arg-type]
        with pytest.raises(expected.type, match=re.escape(str(expected.value))):
            many.search("মসজিদ", facets=bad)  # type: ignore[arg-type]
