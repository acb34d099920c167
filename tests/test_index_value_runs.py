"""Text fields of values (related headlines, anchors) analyzed as the process's terms a
position (builder.ChunkTable.value_run, builder.joined_runs) give the arrays the chunk
tables give (builder.DIRECT_VALUES = False): a segment's, and a commit's anchor update's."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from test_index_anchor_adds import _headline, _nostem_schema

from bnsearch.articles import Article, RelatedLink
from bnsearch.index import builder as builder_module
from bnsearch.index import valuechunks
from bnsearch.index.builder import SegmentBuilder, anchor_fields
from bnsearch.index.schema import KEYWORD, FieldSpec, Schema, news_schema
from bnsearch.index.segment import stored_arrays


def _anchors(rng: random.Random, count: int) -> list[tuple[str, ...]]:
    """Docs' anchors: stopwords, punctuation, numerals, Latin words, empty and blank
    headlines, docs without any, a headline repeated, some past 255 positions."""
    docs = [tuple(_headline(rng) for _ in range(rng.randrange(0, 8))) for _ in range(count)]
    if count > 2:
        docs[1] = docs[0] + docs[0]  # the same headlines twice in one doc
        docs[2] = ()
    return docs


def _keyword_schema() -> Schema:
    fields = (
        FieldSpec(name="title", source="title"),
        FieldSpec(name="anchors", source="anchors"),
        FieldSpec(name="related", source="related", analyzer="bengali-keep-stopwords"),
        FieldSpec(name="anchor_keys", source="anchors", kind=KEYWORD),
    )
    return Schema(fields=fields)


SCHEMAS = [news_schema(), _nostem_schema(), _keyword_schema()]
SCHEMA_IDS = ["news", "nostem", "keyword"]


def _both(monkeypatch: pytest.MonkeyPatch, make: Any) -> tuple[Any, Any]:
    """``make()`` by the process's terms, then by the chunk tables."""
    got = make()
    with monkeypatch.context() as patched:
        patched.setattr(builder_module, "DIRECT_VALUES", False)
        want = make()
    return got, want


def _same_arrays(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert list(got) == list(want)  # the same arrays in the same order
    for name, array in want.items():
        if isinstance(array, np.ndarray):
            assert got[name].dtype == array.dtype, name
            assert np.array_equal(got[name], array), name
        else:
            assert got[name] == array, name


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("schema", SCHEMAS, ids=SCHEMA_IDS)
def test_a_commits_anchor_fields_are_the_chunk_tables(
    seed: int, schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every array (values, dtypes, order, the term table) and every field's statistics
    of an anchor update's analysis equal the chunk tables', with a stemming, a
    non-stemming, a stopword-keeping and a keyword anchor field, for no doc, one doc
    and up to 300 docs."""
    monkeypatch.setattr(builder_module, "VALUE_RUN_DOCS", 64)  # several runs
    rng = random.Random(seed)
    count = [0, 1][seed] if seed < 2 else rng.randrange(2, 300)
    docs = _anchors(rng, count)
    runs: list[int] = []
    value_run = builder_module.ChunkTable.value_run

    def counted(table: builder_module.ChunkTable, values: Any) -> Any:
        runs.append(len(values))
        return value_run(table, values)

    monkeypatch.setattr(builder_module.ChunkTable, "value_run", counted)
    got, want = _both(monkeypatch, lambda: anchor_fields(schema, docs))
    assert sum(runs) == count * sum(
        1 for spec in schema.fields if spec.source == "anchors" and spec.kind != KEYWORD
    )
    _same_arrays(got[0], want[0])
    assert got[1] == want[1]


def _items(rng: random.Random, count: int) -> list[tuple[Article, tuple[str, ...]]]:
    titles = [_headline(rng) for _ in range(30)]
    items = []
    for number in range(count):
        related = [
            RelatedLink(headline=headline, url=None if headline.strip() else "https://x.bd/1")
            for headline in (rng.choice(titles) for _ in range(rng.randrange(0, 7)))
        ]
        article = Article(
            id=f"a{number}", title=rng.choice(titles) or "শিরোনাম", body="নদী", related=related
        )
        items.append((article, _anchors(rng, 1)[0]))
    return items


def _segment(schema: Schema, items: list[tuple[Article, tuple[str, ...]]]) -> dict[str, Any]:
    builder = SegmentBuilder(schema)
    for start in range(0, len(items), 7):
        builder.add_articles(items[start : start + 7])
    built = builder.build()
    return {"arrays": stored_arrays(built["arrays"]), "stats": built["stats"]}


@pytest.mark.parametrize("bound", [1_000_000, 20])
@pytest.mark.parametrize("schema", SCHEMAS, ids=SCHEMA_IDS)
def test_a_segments_value_fields_are_the_chunk_tables(
    bound: int, schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A segment's related and anchor fields, their values put in runs of 16 docs,
    write the arrays and statistics the chunk tables write; also when the process's
    headline table starts over between runs (``bound`` values: the runs' terms are
    two generations' and join by their strings)."""
    monkeypatch.setattr(valuechunks, "VALUE_CHUNKS", valuechunks.ValueChunks())
    monkeypatch.setattr(builder_module, "VALUE_CHUNKS", valuechunks.VALUE_CHUNKS)
    monkeypatch.setattr(valuechunks, "MAX_VALUES", bound)
    monkeypatch.setattr(builder_module, "VALUE_RUN_DOCS", 16)
    rng = random.Random(bound + len(schema.fields))
    items = _items(rng, 150)
    got, want = _both(monkeypatch, lambda: _segment(schema, items))
    assert (valuechunks.VALUE_CHUNKS.generation > 0) == (bound < 100)
    _same_arrays(got["arrays"], want["arrays"])
    assert got["stats"] == want["stats"]


def test_a_run_split_as_the_table_starts_over_is_split_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the process's headline table starts over between a run's split and its
    entries (another thread's split past its bound), the run splits its values again
    in the new generation: the same arrays as the chunk tables'."""
    rng = random.Random(11)
    docs = _anchors(rng, 80)
    schema = news_schema()
    asked: list[bool] = []
    entries = valuechunks.ValueChunks.entries

    def started_over(table: valuechunks.ValueChunks, *args: Any) -> Any:
        if not asked:
            table._start_over()  # (as another thread's split past the bound does)
        found = entries(table, *args)
        asked.append(found is None)
        return found

    with monkeypatch.context() as patched:
        patched.setattr(valuechunks.ValueChunks, "entries", started_over)
        got = anchor_fields(schema, docs)
    assert asked == [True, False]
    with monkeypatch.context() as patched:
        patched.setattr(builder_module, "DIRECT_VALUES", False)
        want = anchor_fields(schema, docs)
    _same_arrays(got[0], want[0])
    assert got[1] == want[1]
