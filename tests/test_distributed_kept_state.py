"""What the sharded search remembers between calls must not outlive what it was made for.

A worker process keeps each shard's reader and, per query, a searcher scoring with the
global statistics (:func:`bnsearch.distributed.shard._searcher`). A commit elsewhere
that leaves one shard's generation unchanged (a delete routed to another shard, say)
changes the global statistics all the same: that shard's kept searcher must not score
with the old ones. (The build runs in another process on a cluster, so its ``forget``
never reaches the searching process's readers; here it is made a no-op to stand for
that.)

A :class:`~bnsearch.distributed.ShardedSearcher` remembers each query's gathered
statistics: a strict parse compiles other units than the lenient one (plain words go to
the bag-of-words compiler only when not strict), so the two must not share them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import bnsearch.distributed.build as build_module
from bnsearch.articles import Article, read_articles
from bnsearch.distributed import ShardedIndex, shard_of
from bnsearch.index import Index
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def belin() -> list[Article]:
    return list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))[:600]


def test_a_kept_shard_searcher_follows_the_global_statistics(
    belin: list[Article], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build_module, "forget", lambda path: None)
    sharded = ShardedIndex.create(tmp_path / "sharded", shards=2)
    sharded.add(belin)
    query = "মসজিদ"
    before = sharded.searcher().search(query, limit=20, stored=False)
    victims = {a.id for a in belin if shard_of(a.id, 2) == 0}
    sharded.delete(sorted(victims)[:100])
    gone = set(sorted(victims)[:100])
    after = sharded.searcher().search(query, limit=20, stored=False)
    one = Index.create(tmp_path / "one")
    with one.writer() as writer:
        writer.add_many([a for a in belin if a.id not in gone])
    expected = one.searcher().search(query, limit=20, stored=False)
    assert after.total == expected.total < before.total
    # the untouched shard's hits score with the new N and document frequencies
    assert [h.score for h in after] == pytest.approx([h.score for h in expected], rel=1e-9)


@pytest.mark.parametrize("query", ["রমজান মাসে রোজা রাখা", "ইসলাম ধর্ম"])
def test_a_strict_search_does_not_take_the_lenient_ones_statistics(
    belin: list[Article], tmp_path: Path, query: str
) -> None:
    sharded = ShardedIndex.create(tmp_path / "sharded", shards=3)
    sharded.add(belin)
    one = Index.create(tmp_path / "one")
    with one.writer() as writer:
        writer.add_many(belin)
    expected = one.searcher().search(query, limit=10, stored=False, strict=True)
    searcher = sharded.searcher()
    searcher.search(query, limit=10, stored=False)  # the lenient parse first
    strict = searcher.search(query, limit=10, stored=False, strict=True)
    assert expected.total > 10
    assert strict.total == expected.total
    assert [h.score for h in strict] == pytest.approx([h.score for h in expected], rel=1e-9)
