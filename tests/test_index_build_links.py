"""Index room: the link side of a segment build gives the arrays its definitions give.

A links build hashes each distinct key of a segment's link maps once (:func:`bnsearch.
index.linkmaps.build_maps`) and takes the writer's title keys with the articles instead
of computing them again (:meth:`bnsearch.index.builder.SegmentBuilder.add_articles`).
These tests compare what the build writes with the definitions: every item's key hashed
on its own, :func:`title_key` of every title and headline.
"""

from __future__ import annotations

import random
from pathlib import Path

import attrs
import numpy as np
import pytest

import bnsearch.index.builder as builder
import bnsearch.index.linkmaps as linkmaps
from bnsearch.articles import Article, RelatedLink
from bnsearch.articles.links import KeyedArticle, article_keys, title_key
from bnsearch.index import Index, MergePolicy
from bnsearch.index.builder import SegmentBuilder
from bnsearch.index.linkmaps import MAPS, build_maps, key_hash, map_keys, map_stem
from bnsearch.index.schema import news_schema
from bnsearch.index.segment import LINK_HEADLINES


def map_by_definition(keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Map arrays as the module docstring defines them: each item with a non-empty key,
    by (hash of its key, item)."""
    pairs = sorted((key_hash(key), item) for item, key in enumerate(keys) if key)
    return (
        np.array([h for h, _ in pairs], dtype=np.uint64),
        np.array([i for _, i in pairs], dtype=np.int32),
    )


def test_build_maps_hashes_each_item_as_defined() -> None:
    rng = random.Random(7)
    titles = [f"শিরোনাম {n}" for n in range(40)]
    title_keys = [rng.choice([*titles, ""]) for _ in range(60)]  # repeats and blanks
    urls = [
        rng.choice(["", "https://www.Example.com/a/", "http://example.com/b#x"]) for _ in title_keys
    ]
    edges = 200
    edge_keys = [rng.choice([*titles, "", "অন্য"]) for _ in range(edges)]
    edge_urls = [rng.choice(["", "https://example.com/a", "/রিলেটিভ"]) for _ in range(edges)]
    edge_tids = [rng.choice(["", "id-1", "id-2"]) for _ in range(edges)]
    strings = {
        "title_keys": title_keys,
        "urls": urls,
        "edge_keys": edge_keys,
        "edge_urls": edge_urls,
        "edge_tids": edge_tids,
    }
    built = build_maps(**strings)
    keys = map_keys(**strings)
    for name in MAPS:
        hashes, items = map_by_definition(keys[name])
        assert built[map_stem(name, "hash")].dtype == np.uint64
        assert built[map_stem(name, "items")].dtype == np.int32
        np.testing.assert_array_equal(built[map_stem(name, "hash")], hashes)
        np.testing.assert_array_equal(built[map_stem(name, "items")], items)


def test_build_map_without_keys_or_blanks() -> None:
    for keys in ([], ["", ""], ["ক", "", "ক"]):
        hashes, items = linkmaps.build_map(keys)
        expected = map_by_definition(keys)
        np.testing.assert_array_equal(hashes, expected[0])
        np.testing.assert_array_equal(items, expected[1])
        assert hashes.dtype == np.uint64 and items.dtype == np.int32


def linked(count: int) -> list[Article]:
    titles = [f"খবর নম্বর {n}: ঢাকা" for n in range(count)]
    return [
        Article(
            id=f"a{n}",
            title=titles[n],
            body=f"দেহ {n}",
            url=f"https://example.com/{n}" if n % 3 else None,
            related=[
                RelatedLink(
                    headline=titles[(n + step) % count], target_id="a1" if step == 3 else None
                )
                for step in (1, 2, 3)
            ],
        )
        for n in range(count)
    ]


def test_builder_takes_the_writers_title_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given the writer's keys, the builder takes no title key itself, and writes the
    same link arrays and title keys as when it takes them (a mix of given and not)."""
    articles = linked(12)
    items = [(article, ()) for article in articles]
    schema = news_schema()
    plain = SegmentBuilder(schema)
    plain.add_articles(items)
    expected = plain.build()["arrays"]
    keys: list[KeyedArticle | None] = [
        article_keys(a) if n % 4 else None for n, a in enumerate(articles)
    ]
    given = SegmentBuilder(schema)
    calls = []
    monkeypatch.setattr(builder, "title_key", lambda text: calls.append(text) or title_key(text))
    given.add_articles(items, keys)
    built = given.build()["arrays"]
    assert sorted(calls) == sorted(
        [articles[n].title for n in (0, 4, 8)]
        + [link.headline for n in (0, 4, 8) for link in articles[n].related]
    )
    for stem in (
        "strings.titlekeys",
        "strings.links.key",
        "strings.links.url",
        "strings.links.tid",
        LINK_HEADLINES,
    ):
        assert built[stem] == expected[stem]
    np.testing.assert_array_equal(built["links.src"], expected["links.src"])
    for name in MAPS:
        for part in ("hash", "items"):
            np.testing.assert_array_equal(
                built[map_stem(name, part)], expected[map_stem(name, part)]
            )
    for finished in (plain, given):
        finished.store.finish()


def test_a_links_build_hands_its_keys_to_the_builder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer building links (graph or lookup by key) gives the builder the keys it
    took: the builder takes none, and the index resolves as before."""
    calls: list[str] = []
    monkeypatch.setattr(builder, "title_key", lambda text: calls.append(text) or title_key(text))
    articles = linked(30)
    index = Index.create(tmp_path / "index")
    with index.writer() as writer:  # an empty index: the writer keeps a graph
        writer.add_many(articles[:20])
    with index.writer() as writer:  # an index with articles: links looked up by key
        writer.add_many(articles[20:])
    assert calls == []
    searcher = index.searcher()
    assert searcher.related("a3", limit=3)[0].id == "a4"


def test_links_do_not_change_where_a_build_flushes() -> None:
    """``buffer_mb`` counts an article's own text, not its related headlines: the same
    articles with and without links flush at the same points, into segments of the same
    sizes (counting the headlines made the links build's segments smaller, and more)."""
    articles = [
        attrs.evolve(article, body=" ".join([article.body] * 40), related=article.related * 20)
        for article in linked(60)
    ]
    sizes = {}
    for name, given in (
        ("links", articles),
        ("plain", [attrs.evolve(a, related=()) for a in articles]),
    ):
        index = Index.in_memory()
        with index.writer(buffer_mb=0.004, merge_policy=MergePolicy(merge_factor=1000)) as writer:
            writer.add_many(given)
        sizes[name] = [segment.max_doc for segment in index.reader().segments]
    assert len(sizes["plain"]) > 3
    assert sizes["links"] == sizes["plain"]


def test_a_bulk_builds_anchors_follow_the_sources_ids_across_batches() -> None:
    """A writer that keeps a graph (opened on an empty index) stores each target's
    anchors as its linkers' headlines sorted by source id as strings ("s1" < "s10" <
    "s9"), then link number: at a commit whose sources are all the batch's, and at a
    later commit mixing the batch's sources with one of an earlier batch (its headline
    read back, not taken from the batch's)."""
    title = "পদ্মা সেতু খুলল"
    spelled = ["পদ্মা সেতু খুলল", "পদ্মা সেতু: খুলল", "পদ্মা সেতু খুলল!", "‘পদ্মা সেতু’ খুলল"]

    def linker(ident: str, *headlines: str) -> Article:
        related = [RelatedLink(headline=h) for h in headlines]
        return Article(id=ident, title=f"খবর {ident}", body=f"বিস্তারিত {ident}", related=related)

    def anchors(index: Index) -> list[str]:
        reader = index.reader()
        where = reader.find("t")
        assert where is not None
        return list(reader.stored(*where)["anchors"])

    index = Index.in_memory()
    with index.writer() as writer:
        writer.add_many([linker("s9", spelled[3]), Article(id="t", title=title, body="সেতু")])
        writer.add(linker("s10", spelled[2]))
        writer.commit()
        assert anchors(index) == [spelled[2], spelled[3]]
        writer.add_many([linker("s1", spelled[0], "অন্য খবর", spelled[1]), linker("s2")])
        writer.commit()
        assert writer._links is not None  # the same graph, kept across the commits
    assert anchors(index) == [spelled[0], spelled[1], spelled[2], spelled[3]]


def test_a_bulk_builds_commit_compares_no_anchors(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bulk build's earlier flushes store no anchors, so its commit's anchor update
    takes every target proposed anchors as changed without comparing any with stored
    ones (``anchorfile.changed_anchors`` given no reader), and gives each article the
    anchors a build flushing once gives it."""
    import bnsearch.index.anchorfile as anchorfile

    articles = [attrs.evolve(a, body=" ".join([a.body] * 40)) for a in linked(60)]
    compared = []

    def differ(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
        compared.append(first)
        return not anchorfile.same_anchors(first, second)

    monkeypatch.setattr(anchorfile, "_differ", differ)
    stored = {}
    for name, buffer_mb in (("flushes", 0.004), ("once", 64.0)):
        index = Index.in_memory()
        with index.writer(buffer_mb=buffer_mb, merge_policy=MergePolicy(merge_factor=1000)) as w:
            w.add_many(articles)
        reader = index.reader()
        if name == "flushes":
            assert len(reader.segments) > 3
            assert compared == []
        stored[name] = {}
        for article in articles:
            where = reader.find(article.id)
            assert where is not None
            stored[name][article.id] = sorted(reader.stored(*where).get("anchors") or ())
    assert stored["flushes"] == stored["once"]
    assert all(stored["once"].values())  # every article is linked to
