"""Stored blocks in two codecs: LZ4 (written since format 4) and zlib (every index before).

A store may hold blocks of both (merges copy whole blocks as they are); a damaged LZ4
block is the index's own error, never other text (its CRC-32). (An index of format 3,
zlib blocks only, opening, merging and verifying: ``test_index_store.py``.)
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from bnsearch.articles import Article
from bnsearch.errors import IndexFormatError
from bnsearch.index import store as store_module
from bnsearch.index.store import StoreReader, StoreWriter, article_row, row_article

pytest.importorskip("lz4", reason="the lz4 package (a dependency) is not installed")


def _articles(start: int, count: int) -> list[Article]:
    return [
        Article(
            id=f"doc-{n}",
            title=f"শিরোনাম {n}",
            body=f"ঢাকায় বাংলা লেখা {n} " * (1 + n % 9 * 20),
            section=("দেশ",) if n % 2 else ("খেলা",),
            url=f"https://example.com/{n}",
        )
        for n in range(start, start + count)
    ]


def _blocks(data: bytes, index: np.ndarray) -> list[bytes]:
    return [data[int(index[i, 0]) : int(index[i + 1, 0])] for i in range(len(index) - 1)]


def test_the_default_codec_is_lz4_and_a_block_says_its_codec() -> None:
    assert store_module.CODEC == "lz4"
    text = "\x02[]\x00ঢাকা".encode(store_module.TEXT_ENCODING)
    for codec in store_module.CODECS:
        block = store_module.compress_block(text, codec)
        assert store_module.block_codec(block) == codec
        assert store_module.decompress_block(block) == text
        assert store_module.decompress_block(memoryview(block)) == text
    assert store_module.compress_block(text)[:1] == b"L"
    with pytest.raises(ValueError, match="codec"):
        StoreWriter(codec="zstd")


def test_a_store_of_both_codecs_reads_every_row() -> None:
    """Blocks of each codec in one store (as a merge of old and new segments makes)."""
    articles = _articles(0, 90)
    target = StoreWriter(codec="lz4")
    for part, codec in enumerate(("zlib", "lz4", "zlib")):
        writer = StoreWriter(codec=codec)
        for article in articles[part * 30 : part * 30 + 30]:
            writer.add(article_row(article))
        target.add_blocks(writer.blocks())
    data, index = target.finish()
    codecs = [store_module.block_codec(block) for block in _blocks(data, index)]
    assert codecs[0] == "zlib" and "lz4" in codecs and codecs[-1] == "zlib"
    reader = StoreReader(np.frombuffer(data, dtype=np.uint8), index, where="mixed")
    for doc, article in enumerate(articles):
        assert row_article(reader.row(doc)) == article


def _one_block(block: bytes) -> StoreReader:
    offsets = np.array([[0, 0], [len(block), 1]], dtype=np.int64)
    return StoreReader(np.frombuffer(block, dtype=np.uint8), offsets, where="seg-x")


def test_a_damaged_lz4_block_is_a_clear_error_never_other_text() -> None:
    writer = StoreWriter(codec="lz4")
    writer.add(article_row(_articles(3, 1)[0]))
    block = writer.blocks()[0][0]
    assert isinstance(block, bytes) and store_module.block_codec(block) == "lz4"
    assert row_article(_one_block(block).row(0)) == _articles(3, 1)[0]
    head = struct.calcsize("<BII")
    damaged = []
    for at in (1, 5, head, head + 3, len(block) - 1):  # CRC, length, payload
        flipped = bytearray(block)
        flipped[at] ^= 0x20
        damaged.append(bytes(flipped))
    damaged.append(block[:-1])  # cut short
    damaged.append(block[:4])  # shorter than its head
    huge = bytearray(block)  # a length past LZ4's bound, with a CRC that matches
    huge[5:9] = (2**31).to_bytes(4, "little")
    huge[1:5] = zlib.crc32(bytes(huge[5:])).to_bytes(4, "little")
    damaged.append(bytes(huge))
    for blob in damaged:
        with pytest.raises(IndexFormatError, match="seg-x: stored block 0"):
            _one_block(blob).row(0)


def test_an_lz4_block_without_the_lz4_package_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    writer = StoreWriter(codec="lz4")
    writer.add(article_row(_articles(1, 1)[0]))
    block = writer.blocks()[0][0]
    assert isinstance(block, bytes)
    monkeypatch.setattr(store_module, "lz4_block", None)
    with pytest.raises(IndexFormatError, match="lz4 package"):
        _one_block(block).row(0)
    with pytest.raises(ValueError, match="codec"):
        StoreWriter(codec="lz4")
    zlib_writer = StoreWriter(codec="zlib")  # zlib blocks need nothing more
    zlib_writer.add(article_row(_articles(1, 1)[0]))
    assert row_article(_one_block(zlib_writer.finish()[0]).row(0)) == _articles(1, 1)[0]


def test_the_block_crc_is_zlibs_whichever_library_computes_it() -> None:
    """An LZ4 block's CRC-32 is zlib's, from ISA-L where installed: a block written with
    one library reads with the other (a CRC of another polynomial or start would make
    every block of an index moved between machines read as damaged)."""
    data = "ঢাকায় বাংলা লেখা ".encode("utf-16-le") * 40
    for start in (0, 1, 0xFFFFFFFF):
        assert store_module.crc32(data, start) == zlib.crc32(data, start)
        assert store_module.crc32(memoryview(data)[5:], start) == zlib.crc32(data[5:], start)
    block = store_module.compress_block(data, "lz4")
    _, crc, size = struct.unpack_from("<BII", block)
    assert size == len(data)
    assert crc == zlib.crc32(block[5:])  # what a reader without ISA-L checks
