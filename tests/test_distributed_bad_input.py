"""Bad and unusual arguments to a sharded search give what one index gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bnsearch import demo_corpus_path
from bnsearch.articles import read_articles
from bnsearch.distributed import ShardedIndex
from bnsearch.index import Index
from bnsearch.search.parser import MAX_QUERY_CHARS, QuerySyntaxError


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


def test_an_overlong_query_is_refused_before_any_shard_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """explain checked the query length bound on the workers, after fanning the lookup
    out to every shard; search checked it first. Now both refuse before any shard task,
    with the one index's error; suggest and complete answer as one index does."""
    articles = list(read_articles(demo_corpus_path()))[:60]
    sharded = ShardedIndex.create(tmp_path / "sharded", shards=3)
    sharded.add(articles)
    one = Index.create(tmp_path / "one")
    with one.writer() as writer:
        writer.add_many(articles)
    searcher, alone = sharded.searcher(), one.searcher()
    asked: list[str] = []

    def no_shard(function: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(function.__name__)
        raise AssertionError(f"a shard was asked: {function.__name__}")

    query = "ঢাকা " * (MAX_QUERY_CHARS // 5 + 1)
    monkeypatch.setattr(searcher._runner, "map", no_shard)
    monkeypatch.setattr(searcher._runner, "one", lambda number, function, *a: no_shard(function))
    for call in (
        lambda s: s.search(query),
        lambda s: s.explain(query, articles[0].id),
    ):
        with pytest.raises(QuerySyntaxError, match="characters long") as expected:
            call(alone)
        with pytest.raises(QuerySyntaxError, match="characters long") as found:
            call(searcher)
        assert str(found.value) == str(expected.value)
    assert asked == []
    # nothing to fix in a query that is not a string: no shard is asked for its terms
    assert searcher.suggest(None) is alone.suggest(None) is None  # type: ignore[arg-type]
    assert asked == []
