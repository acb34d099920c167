"""Related-headline links across shards: the shipped demo pages link to each other by
headline; split over shards, most links cross from one shard to another."""

from __future__ import annotations

from pathlib import Path

import pytest

from bnsearch.articles import Article, demo_corpus_path, read_articles
from bnsearch.distributed import ShardedIndex
from bnsearch.index import Index
from bnsearch.search import Searcher

SHARDS = 3


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Index, ShardedIndex, list[Article]]:
    articles = list(read_articles(demo_corpus_path()))
    root = tmp_path_factory.mktemp("links")
    one = Index.create(root / "one")
    with one.writer() as writer:
        writer.add_many(articles)
    sharded = ShardedIndex.create(root / "s", shards=SHARDS)
    sharded.add(articles)
    return one, sharded, articles


def test_links_resolve_across_shards(demo: tuple[Index, ShardedIndex, list[Article]]) -> None:
    one, sharded, articles = demo
    reader = one.reader()
    searcher = sharded.searcher()
    crossing = 0
    for article in articles:
        outs = searcher.out_links(article.id)
        assert outs == reader.out_links(article.id)
        assert searcher.in_links(article.id) == reader.in_links(article.id)
        crossing += sum(sharded.shard_of(t) != sharded.shard_of(article.id) for t in outs)
        # a shard alone misses the links that leave it
        alone = Index.open(sharded.shard_paths[sharded.shard_of(article.id)]).reader()
        assert set(alone.out_links(article.id)) <= set(outs)
    assert crossing >= 10  # the test means something only if links do cross


def test_related_equals_one_index(demo: tuple[Index, ShardedIndex, list[Article]]) -> None:
    one, sharded, articles = demo
    single = Searcher(one.reader())  # default fields, anchors included
    many = sharded.searcher()
    for article in articles[::3]:
        a = single.related(article.id, limit=8)
        b = many.related(article.id, limit=8)
        assert b.total == a.total
        assert [(h.id, round(h.score, 9)) for h in b] == [(h.id, round(h.score, 9)) for h in a]
        for x, y in zip(a, b, strict=True):
            assert y.fields == x.fields  # anchors from other shards' links included
    with pytest.raises(KeyError, match="no live article"):
        many.related("no-such-id")


def test_links_follow_changes(
    demo: tuple[Index, ShardedIndex, list[Article]], tmp_path: Path
) -> None:
    _, _, articles = demo
    sharded = ShardedIndex.create(tmp_path / "s", shards=SHARDS)
    sharded.add(articles)
    source = next(a for a in articles if sharded.searcher().out_links(a.id))
    target = sharded.searcher().out_links(source.id)[0]
    sharded.delete([target])
    searcher = sharded.searcher()
    assert target not in searcher.out_links(source.id)
    sharded.add([a for a in articles if a.id == target])
    assert target in sharded.searcher().out_links(source.id)
    assert source.id in sharded.searcher().in_links(target)


def test_in_link_prior_counts_links_from_every_shard(
    demo: tuple[Index, ShardedIndex, list[Article]],
) -> None:
    from bnsearch.search.scoring import BM25FParams

    one, sharded, _ = demo
    params = BM25FParams(link_prior=1.0)
    single = Searcher(one.reader(), params=params)
    many = sharded.searcher(params=params)
    without = sharded.searcher()
    changed = 0
    for query in ("বাংলাদেশ", "নির্বাচন কমিশন", "বন্যা", "ক্রিকেট দল", "বাজেট"):
        a = single.search(query, limit=10, stored=False)
        b = many.search(query, limit=10, stored=False)
        assert a.total > 0 and b.total == a.total
        assert [(h.id, h.score) for h in b] == [(h.id, h.score) for h in a]
        plain = without.search(query, limit=10, stored=False)
        changed += [h.score for h in plain] != [h.score for h in b]
    assert changed  # the prior did move scores, so the equality above is about it


def test_cli_related_on_a_sharded_folder(
    demo: tuple[Index, ShardedIndex, list[Article]], capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from bnsearch.cli import main

    one, sharded, articles = demo
    article = next(a for a in articles if a.related)
    assert main(["related", article.id, "--index", str(one.path), "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main(["related", article.id, "--index", str(sharded.path), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    # the graph part is global; the content part may differ only through anchors
    links = len(one.reader().out_links(article.id))
    assert links > 0
    assert [h["id"] for h in found["hits"]][:links] == [h["id"] for h in expected["hits"]][:links]
