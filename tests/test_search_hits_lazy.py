"""Lazy highlights: a hit's highlights are made per field when read, and give exactly what
the eager :func:`bnsearch.search.hits.highlight_row` gives (BeliN articles, one query a
kind)."""

from __future__ import annotations

import json
import pickle

import pytest

from bnsearch.articles import read_articles
from bnsearch.search import Searcher
from bnsearch.search.hits import LazyHighlights, highlight_row
from bnsearch.search.results import Hit

from .conftest import index_of, shared_file

QUERIES = ("নামাজ", "রমজান মাসে রোজা রাখা", '"ঈদুল ফিতর"', "মসজি*", "পূজা উৎসব")


@pytest.fixture(scope="module")
def searcher() -> Searcher:
    path = shared_file("corpus/belin_religious_news.jsonl")
    return index_of(list(read_articles(path))[:800]).searcher()


@pytest.mark.parametrize("query", QUERIES)
def test_lazy_equals_eager(searcher: Searcher, query: str) -> None:
    results = searcher.search(query, limit=10)
    assert len(results) > 0, query  # no hits would prove nothing
    eager_rows = 0
    for hit in results:
        lazy = hit.highlights
        assert isinstance(lazy, LazyHighlights)
        eager = highlight_row(lazy._ctx, hit.fields, lazy.matchers)
        assert "body" in eager  # BeliN articles have bodies: a snippet always
        # body first (what a page reads), then everything: same fragments, same order
        assert lazy.get("body") == eager["body"]
        assert list(lazy) == list(eager)
        assert dict(lazy) == eager
        assert len(lazy) == len(eager)
        eager_rows += 1
    assert eager_rows == len(results)


def test_pickles_as_dict(searcher: Searcher) -> None:
    hit = searcher.search("নামাজ", limit=1)[0]
    copy = pickle.loads(pickle.dumps(hit))
    assert type(copy.highlights) is dict
    assert copy.highlights == dict(hit.highlights)
    assert copy == hit
    assert isinstance(copy, Hit)
    json.dumps({k: str(v) for k, v in copy.highlights.items()})


def test_changing_fields_does_not_change_marks(searcher: Searcher) -> None:
    hit = searcher.search("নামাজ", limit=1)[0]
    body = hit.fields["body"]
    hit.fields["body"] = "অন্য লেখা"  # type: ignore[index]
    snippet = hit.snippet
    assert snippet is not None
    assert body[snippet.start : snippet.end] == snippet.text
    assert "নামাজ" in snippet.text
