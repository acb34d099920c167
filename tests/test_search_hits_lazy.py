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


@pytest.mark.parametrize("offset", [0, 3])
def test_ids_only_hits_made_when_read(searcher: Searcher, offset: int) -> None:
    """``stored=False`` pages keep ids and scores; the hits made from them when read are
    the ones ``stored=True`` gives (same ids, scores, ranks), and compare and index as a
    tuple of them."""
    full = searcher.search("রমজান মাসে রোজা রাখা", limit=6, offset=offset, highlight=False)
    lazy = searcher.search("রমজান মাসে রোজা রাখা", limit=6, offset=offset, highlight=False, stored=False)
    assert len(full) == 6
    assert lazy.ids == full.ids
    assert len(lazy) == len(full)
    assert [(h.id, h.score, h.rank) for h in lazy] == [(h.id, h.score, h.rank) for h in full]
    assert [h.rank for h in lazy] == list(range(offset, offset + 6))
    assert lazy[1] == lazy.hits[1] and lazy[-1].id == full.ids[-1]
    assert lazy.hits == tuple(lazy) and tuple(lazy) == lazy.hits
    assert lazy.hits[1:3] == tuple(lazy)[1:3]
    assert lazy.hits.__reduce__() == (tuple, (tuple(lazy),))  # (pickles as the tuple)
    lazy.ids.append("x")  # a copy: the page is unchanged
    assert lazy.ids == full.ids
    assert all(h.fields == {} and h.highlights == {} for h in lazy)
