"""Anchors across shards: real BeliN pages, rendered with other articles' real titles as
related headlines and read back by the page parser, in one index and in a 4-shard index.
Every article's stored anchors, and the ranking of queries that read the ``anchors``
field, must be those of the one index, also after deletes and re-adds; most links cross
shards, and some headlines name several articles (ambiguous over the whole index, while a
shard alone may see one of them)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs
import pytest

from bnsearch.articles import Article, RelatedLink, parse_page
from bnsearch.articles.links import LinkGraph
from bnsearch.distributed import ShardedIndex
from bnsearch.distributed.anchors import shard_has_links
from bnsearch.errors import BnSearchError
from bnsearch.index import Index
from bnsearch.index.reader import IndexReader
from bnsearch.search import Searcher
from tests.conftest import shared_file
from tests.page_render import load_belin, render_pages
from tests.test_distributed_ranking import same_ranking

SHARDS = 4
COUNT = 900


@pytest.fixture(scope="module")
def pages() -> list[Article]:
    records = load_belin(shared_file("corpus/belin_religious_news.jsonl"))[:COUNT]
    rendered = render_pages(records, variants=("plain",), seed=16)
    return [parse_page(page.text, id=page.source_id) for page in rendered]


def _anchors(reader: IndexReader, article_id: str) -> list[str]:
    where = reader.find(article_id)
    assert where is not None, article_id
    return list(reader.stored(*where)["anchors"])


def _shard_readers(sharded: ShardedIndex) -> list[IndexReader]:
    return [Index.open(path).reader() for path in sharded.shard_paths]


def same_anchors(one: Index, sharded: ShardedIndex, ids: Sequence[str]) -> int:
    """Assert every article's stored anchors equal the one index's; the number with some."""
    reader = one.reader()
    shards = _shard_readers(sharded)
    anchored = 0
    for article_id in ids:
        expected = _anchors(reader, article_id)
        assert _anchors(shards[sharded.shard_of(article_id)], article_id) == expected, article_id
        anchored += bool(expected)
    return anchored


QUERIES = [
    "ইসলাম ধর্ম",
    "মসজিদ",
    "রমজান মাসে রোজা রাখা",
    '"পবিত্র কোরআন"',
    "anchors:হজ",
    "anchors:(ঈদ নামাজ)",
    "নামা*",
    "ঈদ +নামাজ -মসজিদ",
    "পূজা^2 মন্দির",
]


def same_results(one: Index, sharded: ShardedIndex) -> None:
    single, many = one.searcher(), sharded.searcher()
    for query in QUERIES:
        a = single.search(query, limit=10)
        b = many.search(query, limit=10)
        assert a.total > 0, query
        assert b.total == a.total, query
        same_ranking(a, b)
        for x, y in zip(a, b, strict=True):
            if x.id == y.id:
                assert y.fields == x.fields


def test_anchors_and_ranking_equal_one_index(pages: list[Article], tmp_path: Path) -> None:
    one = Index.create(tmp_path / "one")
    with one.writer() as writer:
        writer.add_many(pages[:500])
    with one.writer() as writer:
        writer.add_many(pages[500:])
    sharded = ShardedIndex.create(tmp_path / "s", shards=SHARDS)
    sharded.add(pages[:300])
    sharded.add(pages[300:])
    ids = [page.id for page in pages]
    anchored = same_anchors(one, sharded, ids)
    assert anchored > len(pages) // 2  # the test means something only if links resolve

    graph = LinkGraph.from_articles(pages)
    edges = list(graph.edges())
    crossing = sum(sharded.shard_of(e.source) != sharded.shard_of(e.target) for e in edges)
    assert crossing > len(edges) // 2  # most links leave their shard
    # a headline naming several articles: ambiguous in one index; a shard holding one of
    # those articles and the link would resolve it alone
    locally_resolved = 0
    for ref, candidates in graph.ambiguous_refs():
        shard = sharded.shard_of(ref[0])
        locally_resolved += sum(sharded.shard_of(c) == shard for c in candidates) == 1
    assert locally_resolved > 0
    same_results(one, sharded)

    # changes: delete linked-to articles, re-add some sources with other headlines
    targets = sorted({edge.target for edge in graph.edges()})[:40]
    sources = [page for page in pages if page.related][:30]
    changed = [
        attrs.evolve(page, related=(*page.related[1:], pages[n].title))
        for n, page in enumerate(sources)
    ]
    with one.writer() as writer:
        for target in targets:
            writer.delete(target)
    with one.writer() as writer:
        writer.add_many(changed)
        writer.add_many(p for p in pages if p.id in set(targets[:20]))
    sharded.delete(targets)
    sharded.add([*changed, *(p for p in pages if p.id in set(targets[:20]))])
    live = [page.id for page in pages if page.id not in set(targets[20:])]
    assert same_anchors(one, sharded, live) > 0
    same_results(one, sharded)


def test_add_sources_gives_the_same_anchors(pages: list[Article], tmp_path: Path) -> None:
    """Routing from files on the workers' side: the link records come with the parts."""
    import json

    from bnsearch.articles.jsonl import article_to_record

    half = len(pages) // 2
    files = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for path, part in zip(files, (pages[:half], pages[half:]), strict=True):
        lines = (json.dumps(article_to_record(p), ensure_ascii=False) + "\n" for p in part)
        path.write_text("".join(lines), encoding="utf-8")
    one = Index.create(tmp_path / "one")
    with one.writer() as writer:
        writer.add_many(pages)
    sharded = ShardedIndex.create(tmp_path / "s", shards=3)
    sharded.add_sources(files)
    assert same_anchors(one, sharded, [page.id for page in pages]) > len(pages) // 2


def test_external_anchors_writer(tmp_path: Path) -> None:
    """A writer with external anchors resolves no links; set_anchors decides, for new and
    committed articles, and an article given nothing keeps its stored anchors."""
    index = Index.create(tmp_path / "i")
    a = Article(id="a", title="বাজেট ঘোষণা", body="সংসদে বাজেট")
    b = Article(id="b", title="নির্বাচন", body="ভোট গ্রহণ", related=("বাজেট ঘোষণা",))
    with index.writer(external_anchors=True) as writer:
        writer.set_anchors({"a": ("বাজেট ঘাটতি নিয়ে কথা",)})
        writer.add_many([a, b])
    reader = index.reader()
    assert _anchors(reader, "a") == ["বাজেট ঘাটতি নিয়ে কথা"]  # not b's local link
    assert _anchors(reader, "b") == []
    assert Searcher(reader).search("anchors:ঘাটতি").ids == ["a"]
    with index.writer(external_anchors=True) as writer:
        writer.add(attrs.evolve(b, body="ভোট গণনা"))
        writer.set_anchors({"b": ("নির্বাচনের খবর",)})
    reader = index.reader()
    assert _anchors(reader, "a") == ["বাজেট ঘাটতি নিয়ে কথা"]  # kept
    assert _anchors(reader, "b") == ["নির্বাচনের খবর"]
    with index.writer(external_anchors=True) as writer:
        writer.set_anchors({"a": ()})  # only anchors change: an anchor update, a commit
    reader = index.reader()
    assert _anchors(reader, "a") == []
    assert Searcher(reader).search("anchors:ঘাটতি").total == 0
    assert Searcher(reader).search("সংসদে").ids == ["a"]
    with index.writer() as writer, pytest.raises(BnSearchError, match="external_anchors"):
        writer.set_anchors({"a": ("x",)})
    with index.writer(external_anchors=True) as writer:
        with pytest.raises(BnSearchError, match="sequence of headlines"):
            writer.set_anchors({"a": "একটি শিরোনাম"})  # a str is not a list of headlines
        writer.rollback()


def test_verify_checks_anchors_over_every_shard(pages: list[Article], tmp_path: Path) -> None:
    from bnsearch.cli import main
    from bnsearch.index import verify

    sharded = ShardedIndex.create(tmp_path / "s", shards=3)
    sharded.add(pages[:400])
    report = sharded.verify()
    assert report.ok, report.problems
    assert report.doc_count == 400
    assert main(["verify", "--index", str(tmp_path / "s")]) == 0
    # a shard's unreferenced segment file (a crash before a commit) is a warning, named
    leftover = Path(sharded.shard_paths[1]) / "seg-999999.cfs"
    leftover.write_bytes(b"left by a crash")
    report = sharded.verify()
    assert report.ok and len(report.warnings) == 1, report.warnings
    assert str(sharded.shard_paths[1]) in report.warnings[0] and leftover.name in report.warnings[0]
    leftover.unlink()
    # a shard alone cannot tell: links from other shards look like wrong anchors there
    alone = [verify(path) for path in sharded.shard_paths]
    assert any(not r.ok for r in alone)
    assert all(verify(path, anchors=False).ok for path in sharded.shard_paths)
    # an article given wrong anchors behind the sharded index's back is reported
    reader = Index.open(sharded.shard_paths[0]).reader()
    victim = next(i for i in reader.article_ids() if _anchors(reader, i))
    with Index.open(sharded.shard_paths[0]).writer(external_anchors=True) as writer:
        writer.set_anchors({victim: ("ভুল শিরোনাম",)})
    report = sharded.verify()
    assert not report.ok
    assert any(victim in problem for problem in report.problems)
    assert main(["verify", "--index", str(tmp_path / "s")]) == 2


def test_a_change_elsewhere_is_seen(pages: list[Article], tmp_path: Path) -> None:
    """Changes through two objects of one sharded index, one after the other: each
    plans from the shards as they are (nothing of an earlier change kept)."""
    one = Index.create(tmp_path / "one")
    first = ShardedIndex.create(tmp_path / "s", shards=3)
    other = ShardedIndex.open(tmp_path / "s")
    with one.writer() as writer:
        writer.add_many(pages[:300])
    first.add(pages[:300])
    linked = [p for p in pages[300:] if p.related][:60]
    with one.writer() as writer:
        writer.add_many(linked[:30])
    other.add(linked[:30])  # first's graph is stale now
    with one.writer() as writer:
        writer.add_many(linked[30:])
        writer.delete(pages[0].id)
    first.add(linked[30:])
    first.delete([pages[0].id])  # from the graph kept by the add just before
    ids = [p.id for p in (*pages[1:300], *linked)]
    assert same_anchors(one, first, ids) > 0
    assert first.verify().ok


def test_links_met_in_unread_sources_rebuild_with_anchors(
    pages: list[Article], tmp_path: Path
) -> None:
    """An archive without links reads its sources once (each shard its own articles);
    when the sources hold the first links, a shard meets one, commits nothing, and the
    change is made again with the link records: the anchors of one index. A related
    key spelled with an escape counts as well (the shard decodes every article)."""
    import json

    from bnsearch.articles.jsonl import article_to_record
    from bnsearch.distributed.build import SourceBatch, build_shard, source_links

    plain = [attrs.evolve(page, related=()) for page in pages[:300]]
    linked = pages[300:600]
    sharded = ShardedIndex.create(tmp_path / "s", shards=3)
    first = tmp_path / "plain.jsonl"
    first.write_text(
        "".join(json.dumps(article_to_record(p), ensure_ascii=False) + "\n" for p in plain),
        encoding="utf-8",
    )
    sharded.add_sources([first])
    assert sharded.doc_count == 300
    assert not any(shard_has_links(str(path)) for path in sharded.shard_paths)
    second = tmp_path / "linked.jsonl"
    lines = [json.dumps(article_to_record(p), ensure_ascii=True) for p in linked]
    lines[0] = lines[0].replace('"related"', '"\\u0072elated"')  # the same key, escaped
    second.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    assert [a.id for a in source_links(str(second), False)] == [p.id for p in linked]
    assert all(a.body == "" for a in source_links(str(second), False))
    # a shard task planned as unlinked stops at a link and commits nothing
    owner = sharded.shard_of(linked[0].id)
    path = str(sharded.shard_paths[owner])
    before = Index.open(path).generation
    assert build_shard(path, SourceBatch((str(second),), owner, 3), [], {}, True).links_found
    assert Index.open(path).generation == before
    sharded.add_sources([second])
    one = Index.create(tmp_path / "one")
    with one.writer() as writer:
        writer.add_many([*plain, *linked])
    assert sharded.doc_count == 600
    assert same_anchors(one, sharded, [p.id for p in [*plain, *linked]]) > 0


def test_random_changes_keep_one_index_anchors(pages: list[Article], tmp_path: Path) -> None:
    """Rounds of random changes (re-adds with another article's title, so headlines turn
    ambiguous and back; links moved to other headlines, URLs and target ids; deletes;
    new articles) give after each round the stored anchors of one index taking the same
    changes: the plan resolves by key lookups, with the one rule."""
    import random

    chooser = random.Random(1616)
    one = Index.create(tmp_path / "one")
    sharded = ShardedIndex.create(tmp_path / "s", shards=3)
    live = {page.id: page for page in pages[:400]}
    with one.writer() as writer:
        writer.add_many(live.values())
    sharded.add(live.values())
    spare = list(pages[400:])
    for _ in range(5):
        ids = sorted(live)
        changed = []
        for ident in chooser.sample(ids, 12):
            other = live[chooser.choice(ids)]
            links = list(live[ident].related)
            if links:
                links[0] = RelatedLink(headline=other.title)
            if len(links) > 1:
                links[1] = RelatedLink(headline="x", target_id=chooser.choice(ids))
            title = other.title if chooser.random() < 0.5 else live[ident].title
            changed.append(attrs.evolve(live[ident], title=title, related=tuple(links)))
        fresh = [spare.pop() for _ in range(8)]
        with one.writer() as writer:
            writer.add_many([*changed, *fresh])
        sharded.add([*changed, *fresh])
        live.update((a.id, a) for a in [*changed, *fresh])
        gone = chooser.sample(sorted(live), 6)
        with one.writer() as writer:
            for ident in gone:
                writer.delete(ident)
        sharded.delete(gone)
        for ident in gone:
            del live[ident]
        assert same_anchors(one, sharded, sorted(live)) > len(live) // 3


def test_a_small_change_asks_only_for_its_keys(pages: list[Article], tmp_path: Path) -> None:
    """Adding one linked article asks the shards about the keys it touches, not about
    every article: the keys asked stay a handful against 600 articles."""
    from bnsearch.distributed import anchors as module
    from bnsearch.distributed.runner import Runner

    sharded = ShardedIndex.create(tmp_path / "s", shards=3)
    sharded.add(pages[:600])
    asked: list[int] = []

    class Counting(Runner):
        def map(self, function, calls, shards=None):  # type: ignore[no-untyped-def]
            if function is module.shard_lookup:
                asked.append(
                    sum(len(ids) + len(urls) + len(titles) for _, ids, urls, titles, _ in calls)
                )
            return super().map(function, calls, shards)

    page = pages[600]
    linked = attrs.evolve(page, related=(*page.related, RelatedLink(headline=pages[5].title)))
    plans = module.plan_anchors(
        Counting(), [str(p) for p in sharded.shard_paths], module.BatchLinks((linked,)), ()
    )
    assert plans is not None
    assert 0 < sum(asked) < 60, asked
    # the target named by the new headline gets its anchors planned, with the new one
    target = sharded.shard_of(pages[5].id)
    assert linked.related[-1].headline in plans[target].get(pages[5].id, ())


def test_repair_gives_shards_written_alone_the_anchors_of_every_shard(
    pages: list[Article], tmp_path: Path
) -> None:
    """Shards written by their own writers (anchors from their own links, as shards
    written before the sharded anchors were): verify names them, repair_anchors gives
    them one index's anchors, and a second repair has nothing to do."""
    one = Index.create(tmp_path / "one")
    with one.writer() as writer:
        writer.add_many(pages[:500])
    sharded = ShardedIndex.create(tmp_path / "s", shards=3)
    for number, path in enumerate(sharded.shard_paths):
        with Index.open(path).writer() as writer:
            writer.add_many(p for p in pages[:500] if sharded.shard_of(p.id) == number)
    assert not sharded.verify().ok
    repaired = sharded.repair_anchors()
    assert repaired > 50
    assert sharded.verify().ok
    assert same_anchors(one, sharded, [p.id for p in pages[:500]]) > 200
    assert sharded.repair_anchors() == 0
    same_results(one, sharded)
