"""A small segment's fields of values (related headlines, anchors) built by a pass in
Python (builder.few_value_field) give the arrays the chunk tables give."""

from __future__ import annotations

import random
from typing import Any

import attrs
import numpy as np
import pytest
from test_index_anchor_adds import _headline, _nostem_schema

from bnsearch.articles import Article, RelatedLink
from bnsearch.index import builder as builder_module
from bnsearch.index.builder import SegmentBuilder, few_value_field
from bnsearch.index.schema import Schema, news_schema
from bnsearch.index.segment import stored_arrays


def _link(headline: str) -> RelatedLink:
    """A related link with this headline (a blank one given a URL: a URL-only link)."""
    return RelatedLink(headline=headline, url=None if headline.strip() else "https://x.bd/1")


def _articles(rng: random.Random, count: int) -> list[tuple[Article, tuple[str, ...]]]:
    items = []
    for number in range(count):
        related = [_link(_headline(rng)) for _ in range(rng.randrange(0, 8))]
        anchors = tuple(_headline(rng) for _ in range(rng.randrange(0, 6)))
        article = Article(
            id=f"a{number}",
            title=_headline(rng) or "শিরোনাম",
            body=" ".join(_headline(rng) for _ in range(3)),
            related=related,
        )
        items.append((article, anchors))
    return items


def _built(schema: Schema, items: list[tuple[Article, tuple[str, ...]]]) -> dict[str, Any]:
    builder = SegmentBuilder(schema)
    for item in items:  # one add a doc, as a writer's chunks may come
        builder.add_articles([item])
    built = builder.build()
    return {"arrays": stored_arrays(built["arrays"]), "stats": built["stats"]}


def _same(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert list(got["arrays"]) == list(want["arrays"])  # the same arrays in the same order
    for name, array in want["arrays"].items():
        assert got["arrays"][name].dtype == array.dtype, name
        assert np.array_equal(got["arrays"][name], array), name
    assert got["stats"] == want["stats"]


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("schema", [news_schema(), _nostem_schema()], ids=["news", "nostem"])
def test_a_small_segments_value_fields_are_the_chunk_tables(
    seed: int, schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A segment of a few docs (one, as a commit flushes, or several), with related
    headlines and anchors holding stopwords, punctuation, numerals, Latin words, empty
    values, docs without any and headlines long enough for 16-bit positions: every
    array (values, dtypes, order) and every field's statistics equal the chunk tables'
    (the few-values path turned off by FEW_VALUE_DOCS = 0)."""
    rng = random.Random(seed)
    items = _articles(rng, 1 if seed < 4 else rng.randrange(2, 9))
    if seed % 3 == 0:  # one doc's related headlines past 255 positions
        article, anchors = items[0]
        long = RelatedLink(headline=" ".join(["নদী"] * 300))
        items[0] = (attrs.evolve(article, related=[*article.related, long]), anchors)
    calls: list[str] = []
    original = builder_module.few_value_field

    def counted(*args: Any) -> Any:
        calls.append(args[1].name)
        return original(*args)

    monkeypatch.setattr(builder_module, "few_value_field", counted)
    got = _built(schema, items)
    assert calls  # the few-values path served this segment
    monkeypatch.setattr(builder_module, "FEW_VALUE_DOCS", 0)
    calls.clear()
    want = _built(schema, items)
    assert not calls
    _same(got, want)


def test_a_segment_past_the_few_docs_bound_goes_through_its_chunk_tables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past FEW_VALUE_DOCS docs the values go to the chunk tables (as a bulk build's do)
    and the segment is the same as one built with the bound at 0."""
    rng = random.Random(7)
    items = _articles(rng, 12)
    monkeypatch.setattr(builder_module, "FEW_VALUE_DOCS", 5)
    called: list[str] = []
    monkeypatch.setattr(builder_module, "few_value_field", lambda *args: called.append("x") or None)
    got = _built(news_schema(), items)
    assert not called
    monkeypatch.setattr(builder_module, "FEW_VALUE_DOCS", 0)
    _same(got, _built(news_schema(), items))


def test_few_value_field_serves_text_fields_of_values_only() -> None:
    """Fields not fed by values (the title) or keyword fields get None (the chunk tables
    serve them)."""
    schema = news_schema()
    specs = {spec.name: spec for spec in schema.fields}
    assert few_value_field(schema, specs["title"], [["নদী"]]) is None
    assert few_value_field(schema, specs["related_headlines"], [["নদী ভাঙন"]]) is not None
