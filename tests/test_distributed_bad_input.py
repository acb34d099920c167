"""Bad and unusual arguments to a sharded search give what one index gives."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from bnsearch import demo_corpus_path
from bnsearch.articles import Article, read_articles
from bnsearch.distributed import ShardedIndex, ShardedSearcher
from bnsearch.errors import BnSearchError
from bnsearch.index import Index
from bnsearch.search.parser import MAX_QUERY_CHARS, QuerySyntaxError


def _pair(path: Path, count: int | None = None) -> tuple[list[Article], ShardedIndex, Index]:
    """The demo articles (the first ``count``), in a 3-shard index and in one index."""
    articles = list(read_articles(demo_corpus_path()))[:count]
    sharded = ShardedIndex.create(path / "sharded", shards=3)
    sharded.add(articles)
    one = Index.create(path / "one")
    with one.writer() as writer:
        writer.add_many(articles)
    return articles, sharded, one


def test_a_filter_of_one_shot_values_filters_every_shard(tmp_path: Path) -> None:
    """A generator of sections was read up by the first shard: the others, and the
    search step after the statistics, saw no section and matched nothing."""
    articles, sharded, one = _pair(tmp_path)
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
    articles, sharded, one = _pair(tmp_path, 60)
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


def _every_error_class() -> list[type[BnSearchError]]:
    import importlib
    import pkgutil

    import bnsearch

    for module in pkgutil.walk_packages(bnsearch.__path__, "bnsearch."):
        importlib.import_module(module.name)
    found: list[type[BnSearchError]] = []
    waiting: list[type[BnSearchError]] = [BnSearchError]
    while waiting:
        kind = waiting.pop()
        found.append(kind)
        waiting.extend(kind.__subclasses__())
    return found


#: Errors whose constructor takes more than a message, made as the library makes them.
_MADE: dict[str, Any] = {
    "ArticleError": lambda kind: kind("no title", path="news.jsonl", line=7, offset=120),
    "QuerySyntaxError": lambda kind: kind("missing ')'", query="ঢাকা AND (", position=9),
    "RequestError": lambda kind: kind(400, "bad_query", "query too long", limit=1000),
}


def test_every_library_error_travels_between_processes_as_itself() -> None:
    """A shard task's or a shard host's error is pickled on the worker and raised where
    the call was made. QuerySyntaxError did not unpickle (its keyword-only arguments:
    the caller got a TypeError) and ArticleError unpickled without its path and line
    (where Dask had not registered its own pickling of the class first)."""
    import io
    import pickle

    kinds = _every_error_class()
    assert len(kinds) > 12
    for kind in kinds:
        error = _MADE.get(kind.__name__, lambda k: k("what went wrong"))(kind)
        sent = io.BytesIO()
        pickler = pickle.Pickler(sent, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = {}  # the class's own pickling (Dask's tblib may add one)
        pickler.dump(error)
        back = pickle.loads(sent.getvalue())
        assert type(back) is kind
        assert (str(back), back.args, vars(back)) == (str(error), error.args, vars(error))


def _refuse(name: str) -> None:
    raise TypeError(f"{name} cannot be rebuilt here")


class _Unloadable:
    """Pickles, but does not unpickle (as a class missing where the call was made)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_refuse, ("_Unloadable",))


class _NoWayBack(Exception):
    """An exception that pickles but does not unpickle."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.detail = _Unloadable()


def _raise_no_way_back(value: str) -> None:
    raise _NoWayBack(value)


def _raise_query_error(value: str) -> None:
    raise QuerySyntaxError("missing ')'", query=value, position=len(value))


def _wire_runner() -> Any:
    """A HostRunner of two workers whose calls are answered in this process, but
    pickled both ways as on a cluster (``hostplugin.answer`` on the payload)."""
    pytest.importorskip("distributed")
    from bnsearch.distributed.hostplugin import answer
    from bnsearch.distributed.hosts import HostRunner

    class Client:  # the calls HostRunner makes of a Dask client before a call
        def register_plugin(self, plugin: Any) -> None:
            pass

        def scheduler_info(self) -> dict[str, Any]:
            return {"workers": {"tcp://host-a:1": {}, "tcp://host-b:1": {}}}

    runner = HostRunner(Client())
    runner._call = lambda payloads: {w: answer(p) for w, p in payloads.items()}  # type: ignore[method-assign]
    return runner


def test_a_host_reply_the_caller_cannot_read_is_the_librarys_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A shard host's reply (``hostplugin.answer``) read where the call was made: the
    error a shard function raised comes back as itself; an error that does not unpickle
    there is a HostCallError naming the worker, not a TypeError from pickle."""
    import pickle

    from bnsearch.distributed.hostplugin import HostCallError, answer

    runner = _wire_runner()
    assert runner.map(len, [("ab",), ("abc",), ("",)]) == [2, 3, 0]
    with pytest.raises(QuerySyntaxError, match="missing") as caught:
        runner.map(_raise_query_error, [("ঢাকা (",), ("ok",)])
    assert caught.value.position == len("ঢাকা (") and caught.value.query == "ঢাকা ("
    with pytest.raises(HostCallError, match=r"tcp://host-a:1.*cannot be rebuilt"):
        runner.map(_raise_no_way_back, [("x",)])
    assert pickle.loads(answer(pickle.dumps((len, [("abc",)])))) == (True, [3])
    runner.close()


def test_fields_and_filter_values_of_any_collection_search_every_shard(tmp_path: Path) -> None:
    """``fields`` as a generator was read up by the first reader (the sharded search
    then said no field had a weight), and fields or filter values as dict views or
    generators could not be sent to a cluster's workers (TypeError: cannot pickle): both
    are read once, into plain values, before any shard is asked; on a cluster's wire
    (pickled both ways) and in this process, the page is one index's."""
    from tests.test_distributed_ranking import same_ranking

    articles, sharded, one = _pair(tmp_path)
    section = articles[0].section[0]
    alone = one.searcher()
    searchers = [sharded.searcher(), ShardedSearcher(sharded.shard_paths, _runner=_wire_runner())]
    calls: list[Any] = [
        lambda s: s.search("ঢাকা", fields=(f for f in ["title", "body"])),
        lambda s: s.search("ঢাকা", fields={"title": 1.0}.keys()),
        lambda s: s.search("ঢাকা", fields=MappingProxyType({"title": 2.0, "body": 1.0})),
        lambda s: s.search("ঢাকা", filter={"section": {section: 1}.keys()}),
        lambda s: s.search("ঢাকা", filter={"section": {1: section}.values()}),
        lambda s: s.search("ঢাকা", filter=MappingProxyType({"section": [section]})),
    ]
    for number, call in enumerate(calls):
        expected = call(alone)
        assert expected.total > 0, number
        for searcher in searchers:
            found = call(searcher)
            assert found.total == expected.total, number
            same_ranking(expected, found)
    article = articles[3].id
    for searcher in searchers:
        explained = searcher.explain("ঢাকা", article, fields=(f for f in ["title"]))
        assert explained == alone.explain("ঢাকা", article, fields=["title"])
