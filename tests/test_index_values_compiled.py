"""A handful of docs' fields of values made by the compiled ``bnsearch.index._values``
against the reference (``builder._value_postings`` + ``builder.postings_fields``):
every array's values, dtype and order, on random groups and on real headlines; the
segment files of link commits byte for byte on both paths; and the block maxima of a
field too short for a block."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import shared_file
from hypothesis import given, settings
from hypothesis import strategies as st
from test_index_anchor_adds import WORDS, _linker, _nostem_schema, _target

from bnsearch.articles import Article
from bnsearch.index import Index, blockmax
from bnsearch.index import builder as builder_module
from bnsearch.index.builder import (
    small_uint,
    value_fields,
    value_fields_by,
)
from bnsearch.index.schema import FieldSpec, Schema, news_schema

compiled = pytest.importorskip("bnsearch.index._values")

SCHEMAS = {"news": news_schema(), "nostem": _nostem_schema()}


def _text_value_specs(schema: Schema) -> list[FieldSpec]:
    return [s for s in schema.fields if s.kind == "text" and s.source in ("related", "anchors")]


def _reference(schema: Schema, spec: FieldSpec, groups: Any) -> list[dict[str, Any]]:
    return value_fields_by(None, schema, spec, groups)


def _compiled(schema: Schema, spec: FieldSpec, groups: Any) -> list[dict[str, Any]]:
    return value_fields_by(compiled, schema, spec, groups)


def _same_groups(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert len(got) == len(want)
    for arrays, expected in zip(got, want, strict=True):
        assert list(arrays) == list(expected)  # the same arrays in the same order
        for key, value in expected.items():
            if isinstance(value, list):
                assert arrays[key] == value, key
            else:
                assert arrays[key].dtype == value.dtype, key
                assert np.array_equal(arrays[key], value), key


def _check(schema: Schema, groups: Any) -> None:
    for spec in _text_value_specs(schema):
        _same_groups(_compiled(schema, spec, groups), _reference(schema, spec, groups))


#: a value: words of the anchor tests (stopwords, numerals, inflected forms), blanks,
#: punctuation alone, a word repeated past 255 times (16-bit frequencies and positions)
_WORD = st.sampled_from([*WORDS, "?!", "—", "the", "ও", "এবং"])
_VALUE = st.one_of(
    st.lists(_WORD, max_size=12).map(" ".join),
    st.sampled_from(["", " ", "  \t ", "?! —"]),
    st.integers(256, 400).map(lambda n: " ".join(["নদী"] * n)),
)
_DOC = st.lists(_VALUE, max_size=6)
_GROUPS = st.lists(st.lists(_DOC, min_size=1, max_size=5), min_size=1, max_size=7)


@settings(max_examples=150, deadline=None)
@given(groups=_GROUPS, name=st.sampled_from(sorted(SCHEMAS)))
def test_compiled_value_groups_are_the_reference(groups: Any, name: str) -> None:
    """Random groups of docs' values (empty docs, empty and blank values, repeated and
    dropped words, values long enough for 16-bit frequencies and positions, up to
    seven groups): every group's arrays equal the reference's, values and dtypes."""
    _check(SCHEMAS[name], groups)


def test_empty_fields_are_the_reference() -> None:
    """Groups without a single word (a plain commit's related headlines and anchors):
    no terms, no postings, zero lengths, the reference's dtypes."""
    for groups in ([[]], [[[]]], [[[""], [" "]]], [[[]], [[], []], [["?!"]]]):
        for schema in SCHEMAS.values():
            _check(schema, groups)


def test_real_headlines_are_the_reference() -> None:
    """BeliN's titles as related headlines and anchors: a few docs of six headlines
    each, groups of one to five docs; the same arrays as the reference's."""
    path: Path = shared_file("corpus/belin_religious_news.jsonl")
    titles = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if number >= 600:
                break
            titles.append(json.loads(line)["title"])
    rng = random.Random(5)
    for _ in range(20):
        groups = [
            [rng.sample(titles, rng.randrange(0, 7)) for _ in range(rng.randrange(1, 6))]
            for _ in range(rng.randrange(1, 5))
        ]
        for schema in SCHEMAS.values():
            _check(schema, groups)


def test_value_fields_take_the_compiled_call_where_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """``value_fields`` gives the compiled arrays when the module is loaded and the
    reference's when it is not (``BNSEARCH_PURE_PYTHON``): the same either way."""
    schema = news_schema()
    spec = _text_value_specs(schema)[0]
    groups = [[["নদী ভাঙন ও সেতু", "দাম বাড়ল"], []], [["২০২৪ নদীর সেতুতে"]]]
    calls: list[int] = []

    class Counted:
        @staticmethod
        def value_groups(*args: Any) -> Any:
            calls.append(1)
            return compiled.value_groups(*args)

    monkeypatch.setattr(builder_module, "_VALUES", Counted)
    got = value_fields(schema, spec, groups)
    assert calls == [1]
    monkeypatch.setattr(builder_module, "_VALUES", None)
    _same_groups(got, value_fields(schema, spec, groups))
    assert calls == [1]


def _files(path: Path) -> dict[str, bytes]:
    """Every file of the index at ``path`` (the manifest without its commit time and
    the checksum over it)."""
    found = {}
    for file in sorted(path.rglob("*")):
        if file.is_file() and not file.name.endswith(".lock"):
            data = file.read_bytes()
            if file.name == "meta.json":
                meta = json.loads(data)
                del meta["committed_at"], meta["checksum"]
                data = json.dumps(meta, sort_keys=True).encode()
            found[str(file.relative_to(path))] = data
    return found


def _link_commits(path: Path) -> dict[str, bytes]:
    """An index of targets, then single-article commits of linkers (each with related
    headlines naming targets: anchor updates of their segments) and of plain
    articles; the files of the index after each commit."""
    rng = random.Random(3)
    index = Index.create(path)
    live = {f"t{n}": _target(n) for n in range(12)}
    with index.writer() as writer:
        writer.add_many(list(live.values()))
    files: dict[str, bytes] = {}
    with index.writer() as writer:
        for step in range(8):
            if step % 3 == 2:
                writer.add(Article(id=f"p{step}", title="নদী ভাঙন", body="সেতু খুলল"))
            else:
                article = _linker(f"s{step}", rng, live)
                writer.add(article)
                live[article.id] = article
            writer.commit()
            files.update({f"{step}/{name}": data for name, data in _files(path).items()})
    return files


def test_link_commits_write_the_same_files_on_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commits of one article with related headlines into an index (one-article
    segments, anchor updates of the targets' segments) and of articles without any:
    after every commit the index's files are byte for byte those the reference path
    writes."""
    monkeypatch.setattr(builder_module, "_VALUES", compiled)
    got = _link_commits(tmp_path / "compiled")
    monkeypatch.setattr(builder_module, "_VALUES", None)
    want = _link_commits(tmp_path / "reference")
    assert list(got) == list(want)
    for name, data in want.items():
        assert got[name] == data, name


@pytest.mark.parametrize("seed", range(20))
def test_block_maxima_of_too_few_postings_are_the_general_ones(seed: int) -> None:
    """A field of at most BLOCK postings (no term can have a block) gets the arrays the
    general computation gives (empty ones; a pointer per term), with and without forms,
    postings or terms."""
    rng = random.Random(seed)
    terms = rng.randrange(0, 9)
    counts = sorted(rng.randrange(0, blockmax.BLOCK + 1) for _ in range(terms))
    total = min(sum(counts), blockmax.BLOCK)
    cuts = sorted(rng.randrange(0, total + 1) for _ in range(max(terms - 1, 0)))
    indptr = np.array([0, *cuts, total][: terms + 1] if terms else [0], dtype=np.int64)
    if terms:
        indptr[-1] = total
    docs = np.array([rng.randrange(0, 4) for _ in range(total)], dtype=np.uint16)
    tfs = np.array([rng.randrange(1, 300) for _ in range(total)]).astype(
        small_uint(300 if seed % 2 else 9)
    )
    norms = np.array([rng.randrange(0, 256) for _ in range(4)], dtype=np.uint8)
    forms = np.array([rng.randrange(0, 4) for _ in range(total)], dtype=np.uint8)
    for flags in (forms, None):
        got = blockmax.block_maxima(indptr, docs, tfs, norms, flags)
        want = blockmax._block_maxima(indptr, docs, tfs, norms, flags)
        assert list(got) == list(want)
        for name, value in want.items():
            assert got[name].dtype == value.dtype, name
            assert np.array_equal(got[name], value), name


def test_compiled_groups_analyze_in_one_call_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled path cuts the values itself and asks the analyzer's chunk cache once
    for every chunk of every group, in order, and the inflection split once for the
    distinct surfaces, in first-seen order (what the reference's ``_value_entries``
    asks): the same arrays, each analysis call made once a ``value_fields``."""
    from bnsearch.analysis.forms import InflectionSplit, inflection_split

    schema = news_schema()
    spec = schema["related_headlines"]
    split = inflection_split(schema.analyzer(spec.name))
    assert split is not None
    groups = [[["নদী ভাঙন ও সেতু", "দাম  বাড়ল নদী"], []], [("২০২৪ নদীর সেতুতে", "")]]
    asked: dict[str, list[list[str]]] = {"chunks": [], "words": []}
    chunk_terms = type(split.surfaces).chunk_terms
    terms_and_flags = InflectionSplit.terms_and_flags

    def counted_chunks(self: Any, chunks: Any) -> Any:
        asked["chunks"].append(list(chunks))
        return chunk_terms(self, chunks)

    def counted_words(self: Any, words: Any) -> Any:
        asked["words"].append(list(words))
        return terms_and_flags(self, words)

    monkeypatch.setattr(type(split.surfaces), "chunk_terms", counted_chunks)
    monkeypatch.setattr(InflectionSplit, "terms_and_flags", counted_words)
    got = _compiled(schema, spec, groups)
    chunks = ["নদী", "ভাঙন", "ও", "সেতু", "দাম", "বাড়ল", "নদী", "২০২৪", "নদীর", "সেতুতে"]
    assert asked["chunks"] == [chunks]
    (words,) = asked["words"]
    assert len(words) == len(set(words))
    assert words[:2] == [e for e in split.surfaces.term_sequence("নদী ভাঙন") if e is not None]
    monkeypatch.undo()
    _same_groups(got, _reference(schema, spec, groups))
