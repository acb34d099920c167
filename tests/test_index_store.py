"""Stored rows: the format-2 block layout round-trips every field in both codecs (LZ4 and
zlib), format-1 and zlib-only (format 3) indexes still open.

Format 1 (before the long texts moved out of JSON) is written here the way the earlier
code wrote it: a JSON list of row objects per block and ``format_version`` 1 in the
manifest; format 3 as its code did, zlib blocks and ``format_version`` 3. Such indexes
must open, search, merge with new segments and verify.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from index_files import manifest_of, segment_arrays

from bnsearch.articles import Article, RelatedLink
from bnsearch.errors import IndexFormatError
from bnsearch.index import Index, verify
from bnsearch.index import manifest as manifest_module
from bnsearch.index import store as store_module
from bnsearch.index.store import (
    BLOCK_CHARS,
    CODECS,
    TEXT_ENCODING,
    ZLIB_LEVEL,
    StoreReader,
    StoreWriter,
    article_row,
    block_codec,
    compress_block,
    decompress_block,
    row_article,
)


def _articles(start: int, count: int) -> list[Article]:
    tricky = ["", "\x00", '{"json": [1]}', "\U0001f600 emoji", "\x02 start", "লাইন\nদুই\t"]
    return [
        Article(
            id=f"doc-{n}",
            title=f"শিরোনাম {n} {tricky[n % len(tricky)]}".strip() or "t",
            body=(f"বাংলা লেখা {n} " * (n % 7 * 40)) + tricky[(n + 1) % len(tricky)],
            caption=None if n % 3 else f"ছবি {n}{tricky[n % len(tricky)]}",
            photo_credit=None if n % 2 else "আলোকচিত্র",
            section=("দেশ", "ঢাকা") if n % 2 else (),
            related=(RelatedLink(headline=f"সম্পর্কিত {n + 1}", url=f"https://e.com/{n}"),)
            if n % 4 == 0
            else (),
            url=f"https://example.com/{n}",
            published=dt.datetime(2024, 1, 1 + n % 28, tzinfo=dt.timezone.utc) if n % 5 else None,
            source="test",
        )
        for n in range(start, start + count)
    ]


@pytest.mark.parametrize("codec", CODECS)
def test_rows_round_trip_across_blocks(codec: str) -> None:
    articles = _articles(0, 120)
    writer = StoreWriter(codec=codec)
    for number, article in enumerate(articles):
        writer.add(article_row(article, anchors=(f"anchor {number}",) * (number % 3)))
    data, index = writer.finish()
    assert len(index) > 3  # several blocks
    assert {block_codec(data[int(index[0, 0]) :])} == {codec}
    reader = StoreReader(np.frombuffer(data, dtype=np.uint8), index, where="test")
    for number, article in enumerate(articles):
        row = reader.row(number)
        assert row_article(row) == article
        assert row["anchors"] == [f"anchor {number}"] * (number % 3)
        assert list(row) == list(article_row(article))  # same keys, same order
    assert [row["id"] for row in reader.iter_rows()] == [a.id for a in articles]


@pytest.mark.parametrize("codec", CODECS)
def test_rows_read_in_any_order_through_a_small_block_cache(
    monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    """More blocks than the cache holds, read in a shuffled order twice: every row is
    right, and a returned row is the caller's own (changing it changes no later read)."""
    monkeypatch.setattr(store_module, "BLOCK_CACHE_BLOCKS", 2)
    articles = _articles(0, 120)
    writer = StoreWriter(codec=codec)
    for article in articles:
        writer.add(article_row(article, anchors=("a", "b")))
    data, index = writer.finish()
    assert len(index) > 6  # more blocks than the cache keeps
    reader = StoreReader(np.frombuffer(data, dtype=np.uint8), index, where="test")
    order = np.random.default_rng(3).permutation(np.repeat(np.arange(len(articles)), 2))
    for doc in order.tolist():
        row = reader.row(doc)
        assert row_article(row) == articles[doc]
        assert row["anchors"] == ["a", "b"]
        row["anchors"].append("changed")
        row["section"].clear()
        for link in row["related"]:
            link[0] = "changed"
        row["title"] = "changed"
    assert len(reader._cache) <= 2 and len(reader._texts) <= 2


def test_every_row_is_found_among_blocks_of_one_row_several_rows_and_none() -> None:
    """A doc's block: the reader takes block ``doc`` where every block before it holds
    one row, else bisects; blocks holding several rows (short ones) and none (a writer's
    empty block) before it move the answer, which the row read says."""
    articles = _articles(0, 60)
    writer = StoreWriter()
    empty = compress_block("\x02[]\x00".encode(TEXT_ENCODING))  # a block of no rows
    for number, article in enumerate(articles):
        if number in (0, 9, 31):
            writer.add_blocks([(empty, 0)])
        writer.add(article_row(article))
    data, index = writer.finish()
    sizes = np.diff(index[:, 1])
    assert {0, 1} <= set(sizes.tolist()) and sizes.max() > 1
    reader = StoreReader(np.frombuffer(data, dtype=np.uint8), index, where="test")
    for doc in np.random.default_rng(5).permutation(len(articles)).tolist():
        assert row_article(reader.row(doc)) == articles[doc]


@pytest.mark.parametrize("codec", CODECS)
def test_damaged_header_or_lengths_are_clear_errors(codec: str) -> None:
    writer = StoreWriter(codec=codec)
    writer.add(article_row(_articles(1, 1)[0]))
    data, _ = writer.finish()
    text = decompress_block(data).decode(TEXT_ENCODING)
    cut = text.index("\x00")
    header = json.loads(text[1:cut])
    header[0][-3] += 1  # the title claims one more character than there is
    for damaged in (
        text[0] + json.dumps(header) + text[cut:],
        text[: cut - 1] + text[cut:],  # the header's JSON cut short
        text[0] + "[[1,2]]" + text[cut:],  # a row of the wrong shape
        text[0] + text[cut:],  # no header
        text[:cut] + " " + text[cut:],  # anything between the header and its \x00
        text[:cut] + "[]" + text[cut:],
        text[0] + '"row"' + text[cut:],  # not a list
    ):
        blob = compress_block(damaged.encode(TEXT_ENCODING), codec)
        offsets = np.array([[0, 0], [len(blob), 1]], dtype=np.int64)
        reader = StoreReader(np.frombuffer(blob, dtype=np.uint8), offsets, where="seg-x")
        with pytest.raises(IndexFormatError, match="seg-x: stored block 0"):
            reader.row(0)


@pytest.mark.parametrize("codec", CODECS)
def test_a_block_whose_text_ends_in_half_a_character_is_a_clear_error(codec: str) -> None:
    """The reader's UTF-16 decode refuses a stray last byte (decoded as the final
    piece), which would otherwise read as the row it follows."""
    writer = StoreWriter(codec=codec)
    writer.add(article_row(_articles(1, 1)[0]))
    data, _ = writer.finish()
    blob = compress_block(decompress_block(data) + b"\x00", codec)
    offsets = np.array([[0, 0], [len(blob), 1]], dtype=np.int64)
    reader = StoreReader(np.frombuffer(blob, dtype=np.uint8), offsets, where="seg-x")
    with pytest.raises(IndexFormatError, match=r"seg-x: stored block 0.*truncated"):
        reader.row(0)


def _format1_close_block(self: StoreWriter) -> None:
    """How format 1 wrote a block: a JSON list of the row objects."""
    rows = []
    texts = iter(self._texts)
    for meta in self._meta:
        row = dict(
            zip(
                (
                    "id",
                    "section",
                    "photo_credit",
                    "related",
                    "url",
                    "published",
                    "source",
                    "anchors",
                ),
                meta,
                strict=False,
            )
        )
        row["title"], row["body"] = next(texts), next(texts)
        row["caption"] = next(texts) if meta[-1] >= 0 else None
        rows.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
    data = ("[" + ",".join(rows) + "]").encode(TEXT_ENCODING)
    self._blocks.append(zlib.compress(data, ZLIB_LEVEL))
    self._meta, self._texts, self._pending_chars = [], [], 0


def test_format1_index_opens_merges_and_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _articles(0, 60)
    with monkeypatch.context() as patch:
        patch.setattr(manifest_module, "FORMAT_VERSION", 1)
        patch.setattr(StoreWriter, "_close_block", _format1_close_block)
        index = Index.create(tmp_path / "idx")
        with index.writer() as writer:
            writer.add_many(old)
    meta = json.loads((tmp_path / "idx" / "meta.json").read_text())
    assert meta["format_version"] == 1
    first_entry = manifest_of(tmp_path / "idx").segments[0]
    first = segment_arrays(tmp_path / "idx", first_entry)["store.bin"].tobytes()
    assert b"[\x00{\x00" in zlib.decompress(first[first.index(b"x\x01") :])  # format-1 rows

    codecs = _reads_merges_and_verifies(tmp_path / "idx", old)
    assert codecs == {"zlib", "lz4"}  # whole blocks copied, new rows in LZ4


def test_format3_index_of_zlib_blocks_opens_merges_and_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _articles(0, 60)
    with monkeypatch.context() as patch:  # how the code of format 3 wrote an index
        patch.setattr(manifest_module, "FORMAT_VERSION", 3)
        patch.setattr(store_module, "CODEC", "zlib")
        index = Index.create(tmp_path / "idx")
        with index.writer() as writer:
            writer.add_many(old)
    assert json.loads((tmp_path / "idx" / "meta.json").read_text())["format_version"] == 3
    assert _codecs(tmp_path / "idx") == {"zlib"}
    codecs = _reads_merges_and_verifies(tmp_path / "idx", old)
    assert codecs == {"zlib", "lz4"}


def _codecs(path: Path) -> set[str]:
    """The codecs of the blocks of the index's segments."""
    found = set()
    for entry in manifest_of(path).segments:
        arrays = segment_arrays(path, entry)
        data, index = arrays["store.bin"].tobytes(), arrays["store.idx"]
        found.update(
            block_codec(data[index[i, 0] : index[i + 1, 0]]) for i in range(len(index) - 1)
        )
    return found


def _reads_merges_and_verifies(path: Path, old: list[Article]) -> set[str]:
    """An index of ``old`` written by older code opens and reads every row; after this
    code adds 30 articles, deletes one old one and merges all into one segment, every live
    row reads right and the index verifies. The codecs of the merged segment's blocks."""
    index = Index.open(path)
    reader = index.reader()
    for article in old:
        found = reader.find(article.id)
        assert found is not None
        assert row_article(reader.stored(*found)) == article
    new = _articles(60, 30)
    with index.writer() as writer:
        writer.add_many(new)
        writer.delete("doc-3")  # an old block with a deletion is rewritten at merge
        writer.optimize()
    meta = json.loads((path / "meta.json").read_text())
    assert meta["format_version"] == manifest_module.FORMAT_VERSION == 4
    reader = index.reader()
    assert len(reader.segments) == 1 and reader.doc_count == 89
    for article in old + new:
        found = reader.find(article.id)
        if article.id == "doc-3":
            assert found is None
            continue
        assert found is not None
        assert row_article(reader.stored(*found)) == article
    report = verify(path)
    assert report.ok, report.problems
    return _codecs(path)


def test_block_size_counts_characters() -> None:
    writer = StoreWriter()
    body = "ক" * (BLOCK_CHARS // 4 - 65)  # a row counts its texts' characters and 64
    for number in range(8):
        writer.add(article_row(Article(id=f"b{number}", title="t", body=body)))
    blocks = writer.blocks()
    assert [count for _, count in blocks] == [4, 4]


def test_the_fast_inflate_gives_zlibs_bytes() -> None:
    """Where the ``fast`` extra is installed, stored blocks are inflated by ISA-L: the
    same text as zlib's for every block of real articles, and a damaged block is still
    the index's own error."""
    pytest.importorskip("isal", reason="the fast extra (isal) is not installed")
    from .conftest import shared_file

    path = shared_file("corpus/belin_religious_news.jsonl")
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for _, line in zip(range(300), lines, strict=False)]
    writer = StoreWriter(codec="zlib")
    for row in rows:
        writer.add(article_row(Article(id=row["id"], title=row["title"], body=row["body"])))
    data, index = writer.finish()
    assert store_module.inflate is not zlib.decompress
    blocks = [data[int(index[i, 0]) : int(index[i + 1, 0])] for i in range(len(index) - 1)]
    assert len(blocks) > 100
    assert all(store_module.inflate(block) == zlib.decompress(block) for block in blocks)
    damaged = bytearray(data)
    damaged[int(index[1, 0]) + 5] ^= 0xFF
    reader = StoreReader(np.frombuffer(bytes(damaged), dtype=np.uint8), index, where="test")
    with pytest.raises(IndexFormatError, match="damaged"):
        for doc in range(int(index[1, 1]), int(index[2, 1])):
            reader.row(doc)
