"""A segment's link rows and key maps, by the bulk build's column-at-a-time ways: the
edges of keyed articles (builder._keyed_link_rows) are the ones taken article by article
from the links themselves, and a map of keys all empty (a build's edge URLs and target
ids) is the map the general way builds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bnsearch.articles import Article, RelatedLink
from bnsearch.articles.links import KeyedArticle, article_keys
from bnsearch.index import builder, linkmaps

_HEADLINES = ["ঢাকায় বৃষ্টি", "ঢাকায়  বৃষ্টি!", "নির্বাচন ২০২৫", "Cricket: বাংলাদেশ", " ", "খবর"]
_URLS = [None, None, "https://www.example.com/a/", "http://example.com/b#top", " ", "c"]
_TIDS = [None, None, None, "a-1", "a-2"]


@st.composite
def _article(draw: st.DrawFn, number: int) -> Article:
    related = []
    for _ in range(draw(st.integers(0, 7))):
        headline, url, tid = (draw(st.sampled_from(c)) for c in (_HEADLINES, _URLS, _TIDS))
        if not (headline.strip() or url or tid):
            url = "u"
        related.append(RelatedLink(headline=headline, url=url, target_id=tid))
    title = draw(st.sampled_from(_HEADLINES[:4]))
    return Article(id=f"a-{number}", title=title, related=related)


@st.composite
def _articles(draw: st.DrawFn) -> list[Article]:
    count = draw(st.integers(1, 12))
    return [draw(_article(number)) for number in range(count)]


def _rows(
    articles: Sequence[Article], base: int, keys: Sequence[KeyedArticle | None] | None
) -> tuple[list[str], builder._EdgeColumns]:
    edges = builder._EdgeColumns()
    title_keys = builder._link_rows([(a, ()) for a in articles], base, keys, edges)
    return title_keys, edges


def _same(left: builder._EdgeColumns, right: builder._EdgeColumns) -> None:
    assert left.src == right.src
    assert left.keys == right.keys
    assert left.urls == right.urls
    assert left.tids == right.tids
    assert left.headlines == right.headlines
    assert all(type(s) is str for s in [*left.keys, *left.urls, *left.tids])


@settings(max_examples=80, deadline=None)
@given(_articles(), st.integers(0, 1000), st.data())
def test_keyed_rows_are_the_links_own(
    articles: list[Article], base: int, data: st.DataObject
) -> None:
    """Keyed (every article, or some: the keyless ones take their keys themselves) and
    unkeyed, the same title keys and edge columns; URLs given or not, target ids or not."""
    reference = _rows(articles, base, None)
    keyed = [article_keys(article) for article in articles]
    assert None not in keyed
    title_keys, edges = _rows(articles, base, keyed)
    assert title_keys == reference[0]
    _same(edges, reference[1])
    some = [k if data.draw(st.booleans()) else None for k in keyed]
    mixed = _rows(articles, base, some)
    assert mixed[0] == reference[0]
    _same(mixed[1], reference[1])


def test_keyed_rows_append_to_the_columns() -> None:
    """A second chunk's edges go after the first's, numbered from its base."""
    first = [Article(id="a", title="ক", related=["খ", "গ"])]
    second = [Article(id="b", title="খ", related=[RelatedLink(headline="ক", url="x")])]
    edges = builder._EdgeColumns()
    for base, articles in ((0, first), (1, second)):
        builder._link_rows(
            [(a, ()) for a in articles], base, [article_keys(a) for a in articles], edges
        )
    assert list(edges.src) == [0, 0, 1]
    assert edges.urls == ["", "", "x"]
    assert edges.headlines == ["খ", "গ", "ক"]


def _general_map(keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """build_map's general way, written out (the reference of its shortcut)."""
    present = np.array([bool(k) for k in keys], dtype=bool)
    items = np.flatnonzero(present).astype(np.int32)
    values = np.array([linkmaps._hash(k) for k in keys if k], dtype=np.uint64)
    order = np.argsort(values, kind="stable")
    return values[order], items[order]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["", "", "", "k1", "k2", "ঢাকা"]), max_size=20))
def test_build_map_of_empty_keys(keys: list[str]) -> None:
    """A map of keys all empty, some or none: the general way's arrays, dtypes too."""
    hashes, items = linkmaps.build_map(keys)
    want_hashes, want_items = _general_map(keys)
    assert hashes.dtype == np.uint64 and items.dtype == np.int32
    assert np.array_equal(hashes, want_hashes) and np.array_equal(items, want_items)


def test_build_maps_with_and_without_urls() -> None:
    """Edge URLs all empty are their own keys; given ones are URL keys, as before."""
    strings = {
        "title_keys": ["ক", "খ"],
        "urls": ["", ""],
        "edge_keys": ["খ", "", "ক"],
        "edge_urls": ["", "", ""],
        "edge_tids": ["", "", ""],
    }
    assert linkmaps.map_keys(**strings)["eurl"] == ["", "", ""]
    built = linkmaps.build_maps(**strings)
    assert len(built[linkmaps.map_stem("eurl", "hash")]) == 0
    assert len(built[linkmaps.map_stem("etid", "items")]) == 0
    strings["edge_urls"] = ["", "https://www.Example.com/p/", ""]
    strings["edge_tids"] = ["", "", "t"]
    keys = linkmaps.map_keys(**strings)
    assert keys["eurl"] == ["", "http://example.com/p", ""]
    built = linkmaps.build_maps(**strings)
    for name in linkmaps.MAPS:
        want = _general_map(keys[name])
        assert np.array_equal(built[linkmaps.map_stem(name, "hash")], want[0])
        assert np.array_equal(built[linkmaps.map_stem(name, "items")], want[1])
