"""The seam between the web app and an index (any SearcherSource plugs in), and the rule
that only bnsearch/web imports the web framework."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")
pytest.importorskip("httpx", reason="httpx (the ASGI test client) is not installed")

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bnsearch import Article, Index, demo_corpus_path, read_articles
from bnsearch.web import IndexSource, SearcherSource, WriteReport, create_app, open_source

PACKAGE = Path(__file__).resolve().parents[1] / "bnsearch"


class CountingSource:
    """A read-only source over another one that counts the searches it hands out (what a
    sharded index's source looks like to the app)."""

    def __init__(self, inner: IndexSource) -> None:
        self.inner = inner
        self.searchers = 0

    @property
    def writable(self) -> bool:
        return False

    def searcher(self) -> Any:
        self.searchers += 1
        return self.inner.searcher()

    def article(self, article_id: str) -> Article | None:
        return self.inner.article(article_id)

    def stats(self) -> Mapping[str, Any]:
        return {**self.inner.stats(), "shards": 1}

    def apply(self, upserts: Sequence[Article], deletes: Sequence[str]) -> WriteReport:
        raise AssertionError("a read-only source is never asked to write")


@pytest.fixture(scope="module")
def index() -> Index:
    index = Index.in_memory()
    with index.writer() as writer:
        for article in read_articles(demo_corpus_path()):
            writer.add(article)
    return index


def test_any_source_plugs_in(index: Index) -> None:
    source = CountingSource(IndexSource(index))
    assert isinstance(source, SearcherSource)
    assert open_source(source) is source
    with TestClient(create_app(source, write_token="t")) as client:
        body = client.get("/search", params={"q": "বন্যা"}).json()
        assert [h["id"] for h in body["hits"]] == index.searcher().search("বন্যা").ids
        assert source.searchers == 1
        assert client.get("/stats").json()["shards"] == 1
        response = client.put(
            "/articles/x", json={"title": "t"}, headers={"Authorization": "Bearer t"}
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "read_only"
        assert client.get("/health").json()["writable"] is False


def test_open_source_refuses_other_things(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="index must be an Index"):
        open_source(42)  # type: ignore[arg-type]
    with pytest.raises(Exception, match="no such index folder"):
        open_source(tmp_path / "missing")
    with pytest.raises(ValueError, match="write_token"):
        create_app(Index.in_memory(), write_token="  ")


def test_the_snapshot_refreshes_after_the_interval() -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(Article(id="early", title="আগের খবর"))
    source = IndexSource(index, refresh_interval=3600)
    before = source.searcher()
    with index.writer() as writer:
        writer.add(Article(id="late", title="দেরিতে আসা খবর"))
    assert source.searcher() is before  # within the interval: the same snapshot
    source.refresh_interval = 0
    assert source.searcher().reader.article("late") is not None


def test_only_the_web_package_imports_the_web_framework() -> None:
    for path in PACKAGE.rglob("*.py"):
        if PACKAGE / "web" in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        for name in ("starlette", "uvicorn", "fastapi", "httpx"):
            assert f"import {name}" not in text and f"from {name}" not in text, (path, name)
    code = (
        "import sys, bnsearch, bnsearch.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
