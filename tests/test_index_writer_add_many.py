"""Index room: ``IndexWriter.add_many`` takes its articles in runs, the collector paused.

Every article the iterable gives is added (in order, upserts by id as ``add`` does),
including those given before the iterable fails; the cyclic garbage collector is on
again afterwards (and while the caller's iterable runs), whatever happens.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

import bnsearch.index.writer as writer_module
from bnsearch.articles import Article
from bnsearch.errors import ArticleError
from bnsearch.index import Index


def article(number: int) -> Article:
    return Article(id=f"a{number % 7}", title=f"শিরোনাম {number}", body=f"খবর {number}")


def test_runs_add_every_article_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "_ADD_RUN", 3)
    index = Index.in_memory()
    with index.writer() as writer:
        assert writer.add_many(article(n) for n in range(10)) == 10
        assert writer.add_many([]) == 0
        assert writer.add_many([article(n) for n in range(10, 16)]) == 6  # two full runs
    reader = index.reader()
    assert reader.doc_count == 7  # ids a0..a6, each its last version
    for ident in range(7):
        where = reader.find(f"a{ident}")
        assert where is not None
        last = max(n for n in range(16) if n % 7 == ident)
        assert reader.stored(*where)["title"] == f"শিরোনাম {last}"
    assert gc.isenabled()


def test_the_iterable_runs_with_the_collector_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "_ADD_RUN", 4)
    seen = []

    def articles() -> Iterator[Article]:
        for n in range(9):
            seen.append(gc.isenabled())
            yield article(n)

    with Index.in_memory().writer() as writer:
        writer.add_many(articles())
    assert seen == [True] * 9


def test_a_failing_iterable_keeps_what_it_gave(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "_ADD_RUN", 4)

    def articles() -> Iterator[Article]:
        for n in range(6):
            yield Article(id=f"b{n}", title=f"শিরোনাম {n}", body="খবর")
        raise RuntimeError("feed broke")

    index = Index.in_memory()
    writer = index.writer()
    with pytest.raises(RuntimeError, match="feed broke"):
        writer.add_many(articles())
    assert gc.isenabled()
    assert writer.pending == 6
    with pytest.raises(ArticleError):
        writer.add_many([Article(id="c", title="ক", body="খ"), "not an article"])  # type: ignore[list-item]
    assert gc.isenabled()
    writer.commit()
    writer.close()
    assert index.reader().doc_count == 7
