"""Index room: stored rows whose values have the wrong type (a crafted store block,
checksums recomputed). Reading such a row, as an article, as a hit's article or for its
related headlines, raises the library's IndexFormatError naming the segment and the
block, never a TypeError, ValueError or KeyError from the conversion (review finding)."""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fuzz_index import build_base
from index_files import rewrite_segments

from bnsearch.errors import IndexFormatError
from bnsearch.index import Index
from bnsearch.index.store import META_FIELDS, TEXT_ENCODING, StoreReader, StoreWriter


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rows") / "idx"
    build_base(path)
    return path


def _crafted(
    healthy: Path, tmp_path: Path, change: Any, *, legacy: bool = False, header: Any = None
) -> str:
    """A copy of ``healthy`` whose first segment's first row is ``change(row)`` (in a
    format-1 block of its own with ``legacy``; in a format-2 block of its own whose
    header entry is ``header(entry)`` with ``header``); returns that row's article id."""
    path = tmp_path / "idx"
    shutil.copytree(healthy, path)
    victim: list[str] = []

    def craft(entry: Any, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        writer = StoreWriter()
        rows = StoreReader(arrays["store.bin"], arrays["store.idx"], where=entry.name)
        for row in rows.iter_rows():
            if not victim:
                victim.append(row["id"])
                row = change(dict(row))
                if legacy:  # a JSON list of row objects, as indexes of format 1 stored
                    text = json.dumps([row], ensure_ascii=False).encode(TEXT_ENCODING)
                    writer.add_blocks([(zlib.compress(text), 1)])
                    continue
                if header is not None:
                    entry = [row[name] for name in META_FIELDS]
                    entry += [len(row["title"]), len(row["body"]), -1]
                    texts = row["title"] + row["body"]
                    text = f"\x02{json.dumps([header(entry)])}\x00{texts}"
                    writer.add_blocks([(zlib.compress(text.encode(TEXT_ENCODING)), 1)])
                    continue
            writer.add(row)
        data, index = writer.finish()
        arrays["store.bin"], arrays["store.idx"] = np.frombuffer(data, np.uint8), index
        return arrays

    rewrite_segments(path, craft)
    return victim[0]


CRAFTED = {
    "related-int": lambda row: {**row, "related": 5},
    "related-short": lambda row: {**row, "related": [["headline", None]]},
    "related-number": lambda row: {**row, "related": [[1, 2, 3]]},
    "published-text": lambda row: {**row, "published": "not a date"},
    "published-int": lambda row: {**row, "published": 5},
    "section-ints": lambda row: {**row, "section": [5]},
    "id-int": lambda row: {**row, "id": 5},
    "anchors-int": lambda row: {**row, "anchors": 5},
}


@pytest.mark.parametrize("change", CRAFTED.values(), ids=CRAFTED.keys())
def test_a_stored_row_of_the_wrong_type_is_a_format_error(
    healthy: Path, tmp_path: Path, change: Any
) -> None:
    victim = _crafted(healthy, tmp_path, change)
    index = Index.open(tmp_path / "idx")
    with pytest.raises(IndexFormatError, match=r"seg-.*stored block 0"):
        index.reader().article(victim)
    with pytest.raises(IndexFormatError, match=r"seg-.*stored block 0"):
        index.reader().segments[0].related_headlines(0)


LEGACY = {
    "title-int": lambda row: {**row, "title": 5},
    "body-list": lambda row: {**row, "body": ["x"]},
    "caption-int": lambda row: {**row, "caption": 5},
    "no-source": lambda row: {k: v for k, v in row.items() if k != "source"},
}


@pytest.mark.parametrize("change", LEGACY.values(), ids=LEGACY.keys())
def test_a_format_1_row_of_the_wrong_type_is_a_format_error(
    healthy: Path, tmp_path: Path, change: Any
) -> None:
    victim = _crafted(healthy, tmp_path, change, legacy=True)
    index = Index.open(tmp_path / "idx")
    with pytest.raises(IndexFormatError, match=r"seg-.*stored block 0"):
        index.reader().article(victim)


HEADERS = {
    # the title's length taken from the body's: the texts still add up to the block
    "negative-length": lambda entry: [*entry[:-3], -3, entry[-2] + entry[-3] + 3, -1],
    "text-length": lambda entry: [*entry[:-3], str(entry[-3]), *entry[-2:]],
    "caption-below-minus-one": lambda entry: [*entry[:-1], -2],
}


@pytest.mark.parametrize("header", HEADERS.values(), ids=HEADERS.keys())
def test_a_format_2_header_with_bad_lengths_is_a_format_error(
    healthy: Path, tmp_path: Path, header: Any
) -> None:
    victim = _crafted(healthy, tmp_path, lambda row: {**row, "caption": None}, header=header)
    with pytest.raises(IndexFormatError, match=r"seg-.*stored block 0"):
        Index.open(tmp_path / "idx").reader().article(victim)


def test_a_format_2_header_crafted_as_written_reads_back(healthy: Path, tmp_path: Path) -> None:
    victim = _crafted(healthy, tmp_path, lambda row: {**row, "caption": None}, header=list)
    article = Index.open(tmp_path / "idx").reader().article(victim)
    expected = Index.open(healthy).reader().article(victim)
    assert article is not None and expected is not None
    assert article == expected.__class__(**{**_fields(expected), "caption": None})


def test_rows_of_the_right_types_read_back(healthy: Path, tmp_path: Path) -> None:
    """The checks refuse no healthy row: a format-1 block of a good row (no published
    date, no anchors: rows written before those keys) reads back as the same article."""
    before = Index.open(healthy).reader()
    victim = _crafted(
        healthy,
        tmp_path,
        lambda row: {k: v for k, v in row.items() if k not in ("anchors", "published")},
        legacy=True,
    )
    article = Index.open(tmp_path / "idx").reader().article(victim)
    expected = before.article(victim)
    assert article is not None and expected is not None
    assert article == expected.__class__(**{**_fields(expected), "published": None})


def _fields(article: Any) -> dict[str, Any]:
    import attrs

    return attrs.asdict(article, recurse=False)


def test_a_block_holding_more_rows_than_the_block_index_says_is_a_format_error(
    healthy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crafted store whose first block holds two rows while its block index says one
    (and the next block one row while the index says two): the rows in order are every
    doc's, so verify passed it, and doc 1 read as doc 2's row. Now the row count of a
    block is checked against the block index when it is decoded."""
    from bnsearch.index import store as store_module
    from bnsearch.index import verify

    path = tmp_path / "idx"
    shutil.copytree(healthy, path)

    def craft(entry: Any, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = list(StoreReader(arrays["store.bin"], arrays["store.idx"], where="").iter_rows())
        with monkeypatch.context() as patch:
            patch.setattr(store_module, "BLOCK_CHARS", 1 << 30)  # two rows in one block
            pair = StoreWriter()
            pair.add(rows[0])
            pair.add(rows[1])
            ((first, _),) = pair.blocks()
        single = StoreWriter()
        single.add(rows[2])
        ((second, _),) = single.blocks()
        writer = StoreWriter()
        writer.add_blocks([(first, 1), (second, 2)])  # the counts of the index are wrong
        for row in rows[3:]:
            writer.add(row)
        data, index = writer.finish()
        arrays["store.bin"], arrays["store.idx"] = np.frombuffer(data, np.uint8), index
        return arrays

    rewrite_segments(path, craft)
    segment = Index.open(path).reader().segments[0]
    with pytest.raises(IndexFormatError, match=r"seg-.*stored block [01].*rows"):
        segment.stored_anchors(1)  # its block's header alone: counted the same
    with pytest.raises(IndexFormatError, match=r"seg-.*stored block [01].*rows"):
        segment.stored(1)
    report = verify(path)
    assert not report.ok and any("stored block" in p for p in report.problems), report


ANCHORS = {
    "anchors-int": lambda row: {**row, "anchors": 5},
    "anchors-ints": lambda row: {**row, "anchors": [1, 2]},
    "anchors-none": lambda row: {**row, "anchors": None},
}


@pytest.mark.parametrize("change", ANCHORS.values(), ids=ANCHORS.keys())
def test_stored_anchors_of_the_wrong_type_are_a_format_error(healthy: Path, change: Any) -> None:
    """A doc's stored anchors are read from its block's header alone when the block is
    not cached (an appending commit reads its targets' anchors so): the header's anchors
    are checked as the whole row's are."""
    row = Index.open(healthy).reader().segments[0].stored(0)
    writer = StoreWriter()
    writer.add(change(row))
    data, index = writer.finish()
    store = StoreReader(np.frombuffer(data, np.uint8), index, where="seg-x")
    with pytest.raises(IndexFormatError, match=r"seg-x.*stored block 0"):
        store.anchors(0)


def test_stored_anchors_read_from_the_header_are_the_rows(healthy: Path) -> None:
    """Every stored doc's anchors read from its block's header (a fresh reader: no block
    cached) are its row's, and the same once the block is cached (docs an anchor update
    holds take their anchors from it, not from the store)."""
    cold = Index.open(healthy).reader()
    warm = Index.open(healthy).reader()
    some = 0
    for cold_segment, warm_segment in zip(cold.segments, warm.segments, strict=True):
        updated = {int(doc) for update in cold_segment.anchor_updates for doc in update.docs}
        for doc in sorted(set(range(cold_segment.max_doc)) - updated):
            expected = tuple(warm_segment.stored(doc)["anchors"])  # caches the block
            assert cold_segment.stored_anchors(doc) == expected
            assert warm_segment.stored_anchors(doc) == expected
            some += bool(expected)
    assert some  # the stores hold anchors to compare


@pytest.mark.parametrize("anchors", [["এক শিরোনাম", "দুই"], None], ids=["anchors", "before-anchors"])
def test_stored_anchors_of_a_format_1_block_decompress_it_once(
    healthy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anchors: Any
) -> None:
    """A doc's stored anchors in a format-1 block (a JSON list of rows, no header): the
    block is decompressed once (it was twice: once to find it is not format 2, once
    more for the row), and a row written before anchors existed has none."""

    def change(row: dict[str, Any]) -> dict[str, Any]:
        if anchors is None:
            return {k: v for k, v in row.items() if k != "anchors"}
        return {**row, "anchors": anchors}

    victim = _crafted(healthy, tmp_path, change, legacy=True)
    reader = Index.open(tmp_path / "idx").reader()
    where = reader.find(victim)
    assert where is not None
    segment = reader.segments[where[0]]
    texts: list[int] = []
    original = StoreReader._text

    def counting(self: StoreReader, number: int) -> str:
        texts.append(number)
        return original(self, number)

    monkeypatch.setattr(StoreReader, "_text", counting)
    assert segment._store.anchors(where[1]) == tuple(anchors or ())  # (not an update's)
    assert texts == [0]
