"""A commit's anchor fields analyzed from the process's headline tables in one pass
(builder._direct_value_field) give the arrays a segment's chunk tables give."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from test_index_anchor_adds import _headline, _nostem_schema

from bnsearch.index import builder as builder_module
from bnsearch.index.builder import anchor_fields
from bnsearch.index.schema import KEYWORD, FieldSpec, Schema, news_schema
from bnsearch.index.valuechunks import ValueChunks


def _anchors(rng: random.Random, count: int) -> list[tuple[str, ...]]:
    """Docs' anchors: stopwords, punctuation, numerals, Latin words, empty and blank
    headlines, docs without any, a headline repeated, some past 255 positions."""
    docs = [tuple(_headline(rng) for _ in range(rng.randrange(0, 8))) for _ in range(count)]
    if count > 2:
        docs[1] = docs[0] + docs[0]  # the same headlines twice in one doc
        docs[2] = ()
    return docs


def _table_way(
    schema: Schema, docs: list[tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], dict[str, Any]]:
    with monkeypatch.context() as patched:
        patched.setattr(builder_module, "_direct_value_field", lambda *args: None)
        return anchor_fields(schema, docs)


def _same(got: tuple[dict[str, Any], dict[str, Any]], want: tuple[dict[str, Any], Any]) -> None:
    assert list(got[0]) == list(want[0])  # the same arrays in the same order
    for name, array in want[0].items():
        if isinstance(array, np.ndarray):
            assert got[0][name].dtype == array.dtype, name
            assert np.array_equal(got[0][name], array), name
        else:
            assert got[0][name] == array, name
    assert got[1] == want[1]


def _keyword_schema() -> Schema:
    fields = (
        FieldSpec(name="title", source="title"),
        FieldSpec(name="anchors", source="anchors"),
        FieldSpec(name="anchor_keys", source="anchors", kind=KEYWORD),
    )
    return Schema(fields=fields)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize(
    "schema",
    [news_schema(), _nostem_schema(), _keyword_schema()],
    ids=["news", "nostem", "keyword"],
)
def test_direct_anchor_fields_are_the_chunk_tables(
    seed: int, schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every array (values, dtypes, order, the term table) and every field's statistics
    equal the chunk tables', with a stemming, a non-stemming, a stopword-keeping and a
    keyword anchor field (the keyword one by the table's way), for no doc, one doc and
    up to 300 docs."""
    rng = random.Random(seed)
    count = [0, 1][seed] if seed < 2 else rng.randrange(2, 300)
    docs = _anchors(rng, count)
    calls: list[str] = []
    original = builder_module._direct_value_field

    def counted(*args: Any) -> Any:
        found = original(*args)
        calls.append(args[1].name if found is not None else "")
        return found

    monkeypatch.setattr(builder_module, "_direct_value_field", counted)
    got = anchor_fields(schema, docs)
    texts = [spec.name for spec in schema.fields if spec.source == "anchors"]
    assert calls == [name if name != "anchor_keys" else "" for name in texts]
    _same(got, _table_way(schema, docs, monkeypatch))


def test_a_table_started_over_takes_the_chunk_tables_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the process's headline table starts over between the split and the
    entries (another thread's split past its bound), the direct way gives up and the
    chunk tables serve: the same arrays."""
    rng = random.Random(11)
    docs = _anchors(rng, 40)
    schema = news_schema()
    want = _table_way(schema, docs, monkeypatch)
    asked: list[bool] = []
    entries = ValueChunks.entries

    def started_over(table: ValueChunks, *args: Any) -> Any:
        table._start_over()  # (as another thread's split past the bound does)
        found = entries(table, *args)
        asked.append(found is None)
        return found

    with monkeypatch.context() as patched:
        patched.setattr(ValueChunks, "entries", started_over)
        assert builder_module._direct_value_field(schema, _spec(schema, "anchors"), docs) is None
    assert asked == [True]
    _same(anchor_fields(schema, docs), want)


def _spec(schema: Schema, name: str) -> FieldSpec:
    (found,) = (spec for spec in schema.fields if spec.name == name)
    return found
