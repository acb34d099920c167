"""The compiled reader of a stored block (``bnsearch/index/_rows.pyx``) against the
Python reader, its reference: on every block it answers (not ``None``) it gives the rows
the Python code gives (same values, types and key order), and it answers nothing the
Python code refuses. Blocks written from real and tricky articles, headers crafted with
what the compiled reader leaves to Python (escapes, whitespace, floats, leading zeros,
bad shapes), and LZ4 streams changed with their CRC recomputed (so only the decoder's
own checks stand between a changed stream and its text).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import struct
import zlib
from typing import Any

import numpy as np
import pytest

from bnsearch.articles import Article, RelatedLink
from bnsearch.errors import IndexFormatError
from bnsearch.index import store as store_module
from bnsearch.index.store import (
    TEXT_ENCODING,
    StoreReader,
    StoreWriter,
    article_row,
    compress_block,
    decompress_block,
)

_rows = pytest.importorskip("bnsearch.index._rows", reason="the compiled modules are not built")


def _python_rows(block: bytes) -> list[dict[str, Any]] | None:
    """The rows the Python reader gives of ``block``, or None where it refuses it."""
    try:
        text = store_module._DECODE_TEXT(decompress_block(block), "strict", True)[0]
        if text[:1] != "\x02":
            return None
        rows = store_module._rows_v2(text)
        store_module._check_rows(rows)
    except store_module._DAMAGED_BLOCK:
        return None
    return rows


def _compiled_rows(block: bytes) -> list[dict[str, Any]] | None:
    result: list[dict[str, Any]] | None = _rows.Blocks(block).rows(
        0, len(block), store_module.ROW_KEYS
    )
    return result


def _same(compiled: list[dict[str, Any]], python: list[dict[str, Any]]) -> bool:
    return compiled == python and [list(row) for row in compiled] == [list(row) for row in python]


def _agrees(block: bytes) -> list[dict[str, Any]] | None:
    """Assert the compiled reader agrees with the Python reader on ``block``; the
    compiled rows (None where it leaves the block to Python)."""
    compiled = _compiled_rows(block)
    if compiled is not None:
        python = _python_rows(block)
        assert python is not None, "the compiled reader took a block the Python one refuses"
        assert _same(compiled, python)
    return compiled


def _article(n: int) -> Article:
    return Article(
        id=f"doc-{n}",
        title=f"শিরোনাম {n}" + (" \x00 \x02" if n % 5 == 0 else ""),
        body=("বাংলা লেখা, " * (n % 9 * 20)) + ("\n\t<b>&'\"" if n % 4 == 0 else ""),
        caption=None if n % 3 else ("" if n % 2 else f"ছবি {n}"),
        photo_credit=None if n % 2 else "আলোকচিত্র",
        section=("দেশ", "ঢাকা") if n % 2 else (),
        related=(
            RelatedLink(headline=f"সম্পর্কিত {n + 1}", url=f"https://e.com/{n}"),
            RelatedLink(headline="আরও", url=None, target_id=f"doc-{n + 2}"),
        )
        if n % 4 == 0
        else (),
        url=f"https://example.com/{n}" if n % 6 else None,
        published=dt.datetime(2024, 1, 1 + n % 28, 5, n % 60, tzinfo=dt.timezone.utc)
        if n % 5
        else None,
        source="test" if n % 7 else None,
    )


def _blocks(articles: list[Article], anchors: bool = True) -> list[bytes]:
    writer = StoreWriter(codec="lz4")
    for number, article in enumerate(articles):
        writer.add(article_row(article, anchors=(f"নোঙর {number}",) * (number % 3 * anchors)))
    data, index = writer.finish()
    return [data[int(index[i, 0]) : int(index[i + 1, 0])] for i in range(len(index) - 1)]


def test_written_blocks_read_as_the_python_reader_reads_them() -> None:
    """Every block of tricky but plain articles is taken, with the same rows."""
    blocks = _blocks([_article(n) for n in range(200)])
    assert len(blocks) > 20
    for block in blocks:
        assert _agrees(block) is not None


def test_blocks_of_real_articles_read_as_the_python_reader_reads_them() -> None:
    from .conftest import shared_file

    path = shared_file("corpus/belin_religious_news.jsonl")
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for _, line in zip(range(300), lines, strict=False)]
    articles = [Article(id=row["id"], title=row["title"], body=row["body"]) for row in rows]
    taken = [_agrees(block) is not None for block in _blocks(articles)]
    assert sum(taken) > 0.9 * len(taken)  # (texts with a character beyond the BMP: Python)


@pytest.mark.parametrize(
    "article",
    [
        Article(id='a "quoted" id', title="t", body="b"),
        Article(id="back\\slash", title="t", body="b"),
        Article(id="a", title="t", body="b", section=("line\nbreak",)),
        Article(id="a", title="t", body="b", url="https://e.com/\u2028"),
        Article(id="\U0001f600", title="t", body="b"),
        Article(id="a", title="\U0001f600", body="b"),
    ],
)
def test_what_the_compiled_reader_leaves_to_python_still_reads(article: Article) -> None:
    """Escapes (JSON's), characters beyond the BMP: the compiled reader gives None, the
    store reads the row by its Python code."""
    blocks = _blocks([article], anchors=False)
    assert len(blocks) == 1
    if "\u2028" not in (article.url or ""):  # (json writes U+2028 raw: taken)
        assert _compiled_rows(blocks[0]) is None
    data = blocks[0]
    index = np.array([[0, 0], [len(data), 1]], dtype=np.int64)
    reader = StoreReader(np.frombuffer(data, dtype=np.uint8), index, where="seg-x")
    assert store_module.row_article(reader.row(0)) == article


def _with_text(text: str) -> bytes:
    return compress_block(text.encode(TEXT_ENCODING), "lz4")


#: One row's header entry as the writer makes it, its texts "t" and "body".
_ENTRY = '["id-1",["দেশ"],null,[["h","u",null]],"u",null,"src",["a"],1,4,-1]'


@pytest.mark.parametrize(
    "entry",
    [
        _ENTRY,
        _ENTRY.replace(",-1]", ",0]"),  # an empty caption: none in the texts
        _ENTRY.replace("1,4,-1]", "1,4,2]"),  # the caption would need two more characters
        _ENTRY.replace("1,4,-1]", "01,4,-1]"),
        _ENTRY.replace("1,4,-1]", "1.0,4,-1]"),
        _ENTRY.replace("1,4,-1]", "1e0,4,-1]"),
        _ENTRY.replace("1,4,-1]", "1,4,-0]"),
        _ENTRY.replace("1,4,-1]", "1,4,-2]"),
        _ENTRY.replace("1,4,-1]", "1,4,-10]"),
        _ENTRY.replace("1,4,-1]", "1,4,-]"),
        _ENTRY.replace("1,4,-1]", "-1,4,-1]"),
        _ENTRY.replace("1,4,-1]", "1,4,1234567890123]"),
        _ENTRY.replace("1,4,-1]", "true,4,-1]"),
        _ENTRY.replace("1,4,-1]", "1,4]"),
        _ENTRY.replace("1,4,-1]", "1,4,-1,5]"),
        _ENTRY.replace('"id-1"', "null"),
        _ENTRY.replace('"id-1"', '"id\\u0031"'),
        _ENTRY.replace('"id-1"', '"id\x01"'),
        _ENTRY.replace('"id-1"', '"id'),
        _ENTRY.replace('["দেশ"]', '["দেশ",]'),
        _ENTRY.replace('["দেশ"]', '["দেশ" ]'),
        _ENTRY.replace('["দেশ"]', "[1]"),
        _ENTRY.replace('["দেশ"]', '"দেশ"'),
        _ENTRY.replace('["দেশ"]', "[]"),
        _ENTRY.replace('[["h","u",null]]', '[["h","u"]]'),
        _ENTRY.replace('[["h","u",null]]', '[["h","u",null,null]]'),
        _ENTRY.replace('[["h","u",null]]', '[[null,"u",null]]'),
        _ENTRY.replace('[["h","u",null]]', '[["h",1,null]]'),
        _ENTRY.replace('[["h","u",null]]', '[["h","u","t"],["i",null,null]]'),
        _ENTRY.replace('[["h","u",null]]', "[[]]"),
        _ENTRY.replace('[["h","u",null]]', "[]"),
        _ENTRY.replace('"u",null,"src"', '"u","2024-01-02T03:04:05+00:00","src"'),
        _ENTRY.replace('"u",null,"src"', '"u","not a date","src"'),
        _ENTRY.replace('"u",null,"src"', '"u",nul,"src"'),
        _ENTRY.replace('"u",null,"src"', '"u",nullx,"src"'),
        _ENTRY.replace('["a"],1', "[],1"),
        _ENTRY.replace('["a"],1', "null,1"),
        _ENTRY.replace("[", " [", 1),
        _ENTRY + ",",
        _ENTRY + "," + _ENTRY,
    ],
)
def test_crafted_headers_read_as_the_python_reader_reads_them(entry: str) -> None:
    for text in (
        f"\x02[{entry}]\x00tbody",
        f"\x02[{entry}]\x00tbody!",  # a character past the texts
        f"\x02[{entry}]\x00tbod",  # one short
        f"\x02[{entry}] \x00tbody",
        f"\x02[{entry}]tbody",
        f"\x02[{entry}]\x00tbodytbody",  # (the twice-written entry's texts)
        f"\x02[{entry}]]\x00tbody",
        f"\x01[{entry}]\x00tbody",
        f"[{entry}]\x00tbody",
    ):
        _agrees(_with_text(text))
    assert _compiled_rows(_with_text(f"\x02[{_ENTRY}]\x00tbody")) is not None


def test_an_empty_block_and_an_odd_one_read_as_the_python_reader_reads_them() -> None:
    assert _agrees(_with_text("\x02[]\x00")) == []
    assert _compiled_rows(compress_block(b"\x02\x00[\x00]\x00\x00\x00\x00", "lz4")) is None
    assert _compiled_rows(zlib.compress("\x02[]\x00".encode(TEXT_ENCODING))) is None


def _recrc(block: bytes | bytearray) -> bytes:
    """``block`` with its CRC-32 made right again (LZ4 head kept)."""
    crc = zlib.crc32(bytes(block[5:]))
    return bytes(block[:1]) + struct.pack("<I", crc) + bytes(block[5:])


def test_changed_lz4_streams_with_their_crc_made_right_agree() -> None:
    """Bytes of the LZ4 stream changed, dropped or added and the CRC recomputed: the
    compiled decoder takes only what LZ4's own decoder (the Python reader's) decodes to
    the same rows."""
    blocks = _blocks([_article(n) for n in range(40)])
    rng = random.Random(13)
    taken = 0
    for block in blocks:
        for _ in range(60):
            changed = bytearray(block)
            at = rng.randrange(9, len(changed))
            choice = rng.randrange(4)
            if choice == 0:
                changed[at] ^= 1 << rng.randrange(8)
            elif choice == 1:
                changed[at] = rng.randrange(256)
            elif choice == 2:
                del changed[at]
            else:
                changed.insert(at, rng.randrange(256))
            if rng.randrange(4) == 0:  # the stated text length too
                changed[5:9] = struct.pack("<I", rng.randrange(1, 2 * len(block) * 3))
            taken += _agrees(_recrc(changed)) is not None
    assert 0 < taken < len(blocks) * 60  # (a changed literal reads as other text)


def test_a_damaged_block_is_the_stores_error_with_the_compiled_reader() -> None:
    writer = StoreWriter(codec="lz4")
    for n in range(40):
        writer.add(article_row(_article(n)))
    data, index = writer.finish()
    assert len(index) > 5
    damaged = bytearray(data)
    damaged[int(index[3, 0]) + 20] ^= 0x10
    reader = StoreReader(np.frombuffer(bytes(damaged), dtype=np.uint8), index, where="seg-x")
    assert reader._compiled is not None or store_module._COMPILED is None
    for doc in range(int(index[3, 1])):
        assert reader.row(doc)["id"] == f"doc-{doc}"
    with pytest.raises(IndexFormatError, match=r"seg-x: stored block 3 .*damaged"):
        reader.row(int(index[3, 1]))


def test_a_block_holding_another_count_of_rows_is_the_stores_error() -> None:
    block = _blocks([_article(n) for n in range(3)])[0]
    rows = _compiled_rows(block)
    assert rows is not None
    index = np.array([[0, 0], [len(block), len(rows) + 1]], dtype=np.int64)
    reader = StoreReader(np.frombuffer(block, dtype=np.uint8), index, where="seg-x")
    with pytest.raises(IndexFormatError, match="holds"):
        reader.row(0)
