"""Bad and unusual arguments to a sharded search give what one index gives."""

from __future__ import annotations

from pathlib import Path

from bnsearch import demo_corpus_path
from bnsearch.articles import read_articles
from bnsearch.distributed import ShardedIndex
from bnsearch.index import Index


def test_a_filter_of_one_shot_values_filters_every_shard(tmp_path: Path) -> None:
    """A generator of sections was read up by the first shard: the others, and the
    search step after the statistics, saw no section and matched nothing."""
    articles = list(read_articles(demo_corpus_path()))
    sharded = ShardedIndex.create(tmp_path / "sharded", shards=3)
    sharded.add(articles)
    one = Index.create(tmp_path / "one")
    with one.writer() as writer:
        writer.add_many(articles)
        writer.commit()
    section = articles[0].section[0]
    expected = one.searcher().search("ঢাকা", filter={"section": [section]})
    assert expected.total > 0
    found = sharded.searcher().search("ঢাকা", filter={"section": (s for s in [section])})
    assert (found.total, [hit.id for hit in found]) == (
        expected.total,
        [hit.id for hit in expected],
    )
