"""Stored fields: the original article text, in compressed blocks of rows.

A segment's ``store.bin`` is a run of blocks; each block is text encoded as UTF-16-LE
(Bengali is 3 bytes a letter in UTF-8 but 2 in UTF-16, and the UTF-16 form packs both
smaller and faster) and compressed with one of two codecs, told apart by the block's
first byte (:data:`CODECS`):

* ``lz4`` (written now, index format 4): ``"L"``, the CRC-32 of the rest of the block,
  the text's length in bytes (both ``u32`` little-endian), then one LZ4 block
  (LZ4's fast mode, :data:`LZ4_ACCELERATION`; the ``lz4`` package). A hit's row
  decodes in 1-2 us instead of zlib's 6-9 (ISA-L), for blocks about 42% larger (2,474
  BeliN rows: 2,006 bytes a block against zlib level 1's 1,411; 2026-12-06);
* ``zlib`` (indexes written before, format 1-3): a zlib stream (level 1), whose first
  byte always has 8 in its low four bits (``0x78``). Still read, and copied as is by
  merges, so a segment may hold blocks of both codecs.

A block's text holds the rows of consecutive documents (one dict per document, see
:func:`article_row`) in one of two layouts:

* format 2 (written now): ``"\x02"``, a JSON list with one entry per row (the short
  fields, in the order of :data:`META_FIELDS`, then the lengths of the title, the body
  and the caption, ``-1`` for no caption), ``"\x00"``, then the rows' title, body and
  caption texts back to back. The long texts are never JSON-escaped, which makes a row
  several times cheaper to write than a JSON object;
* format 1 (indexes written before): a JSON list of row objects. Still read, and copied
  as is by merges, so a segment may hold blocks of both layouts.

``store.idx.npy``
(int64, shape ``(blocks + 1, 2)``) gives, per block, its byte offset and its first doc;
the last row is (file size, max_doc). Reading a document decodes one block (about
``BLOCK_CHARS`` of text; a zlib block with ISA-L's zlib-compatible inflate where the
``fast`` extra is installed); recently read blocks are cached. Text is stored exactly as
given, so offsets from re-analysis point into the original.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import datetime as dt
import json
import os
import struct
import threading
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.articles import Article, RelatedLink
from bnsearch.articles.model import json_fields
from bnsearch.compiled import optional_module
from bnsearch.errors import IndexFormatError

#: Inflates a stored block; ISA-L's zlib-compatible inflate where the ``fast`` extra is
#: installed (the same bytes, about 45% faster a block), else zlib's.
inflate: Callable[[bytes | memoryview], bytes] = zlib.decompress
#: What a damaged block raises when inflated.
INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error,)
#: The CRC-32 of an LZ4 block (zlib's ``crc32``): ISA-L's where installed (the same
#: values, 0.42 against 0.84 us a 1,100-byte block, 2026-12-07).
crc32: Callable[..., int] = zlib.crc32
try:
    from isal import isal_zlib  # type: ignore[import-not-found, unused-ignore]

    inflate = isal_zlib.decompress
    crc32 = isal_zlib.crc32
    INFLATE_ERRORS = (zlib.error, cast("type[Exception]", isal_zlib.error))
except ImportError:  # pragma: no cover - depends on the install
    pass
try:
    import lz4.block as lz4_block  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - a dependency; writers then write zlib blocks
    lz4_block = None
#: What a damaged LZ4 block raises when decoded.
LZ4_ERRORS: tuple[type[Exception], ...] = (
    () if lz4_block is None else (cast("type[Exception]", lz4_block.LZ4BlockError),)
)
#: What reading a damaged block raises (inflating, decoding, parsing).
_DAMAGED_BLOCK: tuple[type[Exception], ...] = (
    *INFLATE_ERRORS,
    *LZ4_ERRORS,
    struct.error,
    UnicodeDecodeError,
    ValueError,
    TypeError,
    KeyError,
    RecursionError,
)

#: Decoded blocks a :class:`StoreReader` keeps (least recently used dropped first); tantivy's
#: doc store keeps 100 (``DOCSTORE_CACHE_CAPACITY`` in its ``store/reader.rs``).
BLOCK_CACHE_BLOCKS = 100
#: Characters of text per block before a new block starts (a row longer than this is a
#: block of its own). Reading a hit decompresses its whole block, so a block of one row is
#: read fastest: on BQA+BeliN (4,008 docs, a body about 2,300 characters) a row read
#: (inflated by ISA-L, decoded, parsed) in 21 us at 512 characters against 28 us at 2K, for
#: a store 4% larger (6.23 against 5.99 MB; 2026-12-06); on synthetic articles of about 900
#: characters, where 2K blocks held three rows, in 16 against 26 us. Before: 2K
#: (2026-12-06 morning), 8K (2026-11-28), 16K at first. Only the writer reads this: blocks
#: of any size are read alike.
BLOCK_CHARS = 512
ZLIB_LEVEL = 1
#: The codecs of a stored block (see the module docstring), the one writers use first.
CODECS = ("lz4", "zlib")
#: The codec new blocks are written with: ``lz4`` where the ``lz4`` package is installed
#: (a dependency of bnsearch), else ``zlib``. On 900-character synthetic rows (100,000
#: articles) a block decodes in 0.8 us against ISA-L's 6.3 (zlib's own 9.9), for 1,132
#: bytes against 844 (+34%); on BQA+BeliN's rows (4,280 bytes of UTF-16 a block) in 1.9
#: against 8.9 us, 1,898 against 1,540 bytes (+23%); compressing costs about what zlib's
#: level 1 does (21 against 32 us a synthetic block, 47 against 49 a BeliN one).
#: 2026-12-06, fifth session, ``lz4`` 4.4.5, process time, best of 5 over 3,000 blocks,
#: in the high-compression mode written then (fast mode since: :data:`LZ4_ACCELERATION`).
CODEC = "lz4" if lz4_block is not None else "zlib"
#: LZ4's fast mode (acceleration 1) since the sixth session; the fifth wrote level 4 of
#: the high-compression mode. Both write the same block format, so the reader does not
#: care. On 3,000 BQA+BeliN blocks (3,412 bytes of UTF-16 each; process time, best of 5,
#: 2026-12-06 19:10 UTC, lz4 4.4.5, machine under load) fast mode compresses in 8.3 us
#: against 36.1, decodes in 1.7 us against 2.1, for 1,832 bytes against 1,608 (+14%).
#: The high-compression mode also clears a 256 KB table for every block: together a
#: quarter of a build's instructions (16c: 3.47G of 13.75G for 4,000 articles), paid on a
#: spare core by one process but in full by a build that keeps every core busy.
LZ4_ACCELERATION = 1
#: An LZ4 block's head: the marker ``"L"`` (a zlib stream's first byte ends in 8), the
#: CRC-32 of the rest of the block (LZ4 has no checksum of its own: a damaged byte must
#: not decode to other text), and the length of the text in bytes.
_LZ4_MARK = 0x4C
_LZ4_HEAD = struct.Struct("<BII")
#: The most an LZ4 block can expand (its format's bound): a larger stated length is damage.
_LZ4_MAX_RATIO = 255
TEXT_ENCODING = "utf-16-le"
#: :data:`TEXT_ENCODING`'s decoder, called as is: ``bytes.decode("utf-16-le")`` finds it
#: through the codec registry and a Python function every call (CPython's shortcuts name
#: "utf-16" but not its little-endian form): 1.17 against 0.49 us a synthetic row's
#: 1,800 bytes (process time, best of 5; 2026-12-06, eighth session).
_DECODE_TEXT = codecs.utf_16_le_decode
#: Short fields of a row, JSON-encoded in a format-2 block's header, in this order.
META_FIELDS = ("id", "section", "photo_credit", "related", "url", "published", "source", "anchors")
#: A format-2 header's entry: the short fields, then the title, body and caption lengths.
_META_WIDTH = len(META_FIELDS) + 3
#: where a format-2 header's entry holds the row's anchors
_ANCHORS_AT = META_FIELDS.index("anchors")
_BLOCK_V2 = "\x02"  # a format-1 block starts with "[", JSON never holds a raw \x00


def article_row(article: Article, anchors: tuple[str, ...] = ()) -> dict[str, Any]:
    """The stored row of an article: every attribute, JSON-ready, plus its anchors.

    Each link is a tuple (written as a JSON array, read back as a list): a builder keeps
    its segment's rows until the flush, and tuples of strings leave the cyclic garbage
    collector's lists (lists of a linked build's rows were scanned by every full
    collection)."""
    row = json_fields(
        article, [(link.headline, link.url, link.target_id) for link in article.related]
    )
    row["anchors"] = list(anchors)
    return row


def row_article(row: dict[str, Any]) -> Article:
    """Rebuild the :class:`Article` from its stored row."""
    published = row.get("published")
    return Article(
        id=row["id"],
        title=row["title"],
        body=row["body"],
        section=tuple(row["section"]),
        caption=row["caption"],
        photo_credit=row["photo_credit"],
        related=tuple(
            RelatedLink(headline=headline, url=url, target_id=target)
            for headline, url, target in row["related"]
        ),
        url=row["url"],
        published=dt.datetime.fromisoformat(published) if published else None,
        source=row["source"],
    )


def compress_block(data: bytes, codec: str | None = None) -> bytes:
    """A stored block of ``data`` (a block's UTF-16-LE text) in ``codec`` (default
    :data:`CODEC`)."""
    codec = codec or CODEC
    if codec == "zlib":
        return zlib.compress(data, ZLIB_LEVEL)
    if codec != "lz4" or lz4_block is None:
        raise ValueError(f"no such store codec here: {codec!r} (have {CODEC!r}, 'zlib')")
    packed: bytes = lz4_block.compress(
        data, mode="fast", acceleration=LZ4_ACCELERATION, store_size=False
    )
    size = len(data).to_bytes(4, "little")
    crc = crc32(packed, crc32(size))
    return _LZ4_HEAD.pack(_LZ4_MARK, crc, len(data)) + packed


def block_codec(block: bytes | memoryview) -> str:
    """The codec a stored block was written with (by its first byte)."""
    return "lz4" if len(block) and block[0] == _LZ4_MARK else "zlib"


def decompress_block(block: bytes | memoryview) -> bytes:
    """The text bytes of a stored block of either codec (:class:`IndexFormatError` for an
    LZ4 block where the ``lz4`` package is missing; one of ``_DAMAGED_BLOCK`` if damaged)."""
    if not len(block) or block[0] != _LZ4_MARK:  # (block_codec, without its call)
        return inflate(block)
    if lz4_block is None:
        raise IndexFormatError("an LZ4 stored block: reading it needs the lz4 package")
    if len(block) < _LZ4_HEAD.size:
        raise ValueError("an LZ4 block shorter than its head")
    _, crc, size = _LZ4_HEAD.unpack_from(block)
    if crc32(block[5:]) != crc:
        raise ValueError("the LZ4 block's CRC-32 does not match")
    if size > (len(block) - _LZ4_HEAD.size) * _LZ4_MAX_RATIO:
        raise ValueError(f"an LZ4 block claims {size} bytes of text")
    text: bytes = lz4_block.decompress(block[_LZ4_HEAD.size :], uncompressed_size=size)
    if len(text) != size:
        raise ValueError(f"the LZ4 block holds {len(text)} bytes of text, not {size}")
    return text


#: Copies a cached row for a caller (sharing no list or dict with it).
Copier = Callable[[dict[str, Any]], dict[str, Any]]
#: A block: compressed bytes, or a future of them while a background thread compresses.
Block = bytes | Future[bytes]

_COMPRESSOR: tuple[int, ThreadPoolExecutor] | None = None
_COMPRESSOR_LOCK = threading.Lock()


def _compressor() -> ThreadPoolExecutor:
    """One shared background thread per process for compression (zlib and lz4 release
    the GIL, so it runs beside the analysis on a second core). A forked child, which
    inherits the executor but not its thread, makes its own."""
    global _COMPRESSOR
    with _COMPRESSOR_LOCK:
        if _COMPRESSOR is None or _COMPRESSOR[0] != os.getpid():
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bnsearch-zlib")
            _COMPRESSOR = (os.getpid(), executor)
        return _COMPRESSOR[1]


def _resolved(block: Block) -> bytes:
    return block.result() if isinstance(block, Future) else block


class StoreWriter:
    """Collects rows (or ready blocks) and produces the block file and its index.

    With ``background=True`` blocks are compressed in a background thread; they are
    collected by :meth:`finish` (or :meth:`blocks`).
    """

    def __init__(self, *, background: bool = False, codec: str | None = None) -> None:
        self._codec = codec or CODEC
        if self._codec not in CODECS or (self._codec == "lz4" and lz4_block is None):
            raise ValueError(f"no such store codec here: {self._codec!r}")
        self._blocks: list[Block] = []
        self._first_docs: list[int] = []
        self._meta: list[list[Any]] = []  # the open block's rows, short fields
        self._texts: list[str] = []  # the open block's long texts
        self._pending_chars = 0
        self._docs = 0
        self._background = background

    @property
    def doc_count(self) -> int:
        return self._docs

    def blocks(self, *, resolve: bool = True) -> list[tuple[Block, int]]:
        """Close the open block; every block with its number of rows (for add_blocks)."""
        if self._meta:
            self._close_block()
        bounds = [*self._first_docs, self._docs]
        return [
            (_resolved(block) if resolve else block, bounds[i + 1] - bounds[i])
            for i, block in enumerate(self._blocks)
        ]

    def add_blocks(self, blocks: list[tuple[Block, int]]) -> None:
        """Append blocks made by another writer (e.g. in a worker process)."""
        if self._meta:
            self._close_block()
        for block, count in blocks:
            self._first_docs.append(self._docs)
            self._blocks.append(block)
            self._docs += count

    def add(self, row: dict[str, Any]) -> None:
        """Append one row (the keys of :func:`article_row`)."""
        if not self._meta:
            self._first_docs.append(self._docs)
        title, body, caption = row["title"], row["body"], row["caption"]
        texts = self._texts
        texts.append(title)
        texts.append(body)
        if caption is None:
            caption_length = -1
        else:
            texts.append(caption)
            caption_length = len(caption)
        meta = [row[name] for name in META_FIELDS]
        meta += (len(title), len(body), caption_length)
        self._meta.append(meta)
        self._pending_chars += len(title) + len(body) + max(caption_length, 0) + 64
        self._docs += 1
        if self._pending_chars >= BLOCK_CHARS:
            self._close_block()

    def _close_block(self) -> None:
        header = json.dumps(self._meta, ensure_ascii=False, separators=(",", ":"))
        text = "".join((_BLOCK_V2, header, "\x00", *self._texts))
        data = text.encode(TEXT_ENCODING)
        if self._background:
            self._blocks.append(_compressor().submit(compress_block, data, self._codec))
        else:
            self._blocks.append(compress_block(data, self._codec))
        self._meta = []
        self._texts = []
        self._pending_chars = 0

    def finish(self) -> tuple[bytes, npt.NDArray[np.int64]]:
        """The block file bytes and the ``(offset, first_doc)`` index."""
        if self._meta:
            self._close_block()
        blocks = [_resolved(block) for block in self._blocks]
        offsets = np.zeros((len(blocks) + 1, 2), dtype=np.int64)
        position = 0
        for number, block in enumerate(blocks):
            offsets[number] = (position, self._first_docs[number])
            position += len(block)
        offsets[-1] = (position, self._docs)
        return b"".join(blocks), offsets


#: The standard JSON decoder's scanner (C where built): the value at an index of a text
#: and the index where it ends. ``json.loads`` wraps it in two Python calls, a regular
#: expression for leading and trailing whitespace and a slice of the header; a format-2
#: header has no whitespace around it and ends where the block's ``"\x00"`` is (no JSON
#: string holds a raw control character), so it is scanned in place.
_SCAN_JSON: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _header_v2(text: str) -> list[Any]:
    """The header of a format-2 block: one entry a row, each of the right width
    (ValueError if not)."""
    return _header_and_texts(text)[0]


def _header_and_texts(text: str) -> tuple[list[Any], int]:
    """:func:`_header_v2`, and where the block's texts start (after its ``"\x00"``)."""
    try:
        metas, end = _SCAN_JSON(text, 1)
    except StopIteration:
        raise ValueError("the block header is not JSON") from None
    if text[end : end + 1] != "\x00":
        raise ValueError("the block header does not end at its \\x00")
    if type(metas) is not list:
        raise ValueError("the block header is not a list")
    for number, meta in enumerate(metas):
        if type(meta) is not list or len(meta) != _META_WIDTH:
            raise ValueError(f"row {number} of the block header has the wrong shape")
    return metas, end + 1


#: A row's keys in the order :func:`_rows_v2` (and :func:`article_row`: an article's
#: attributes in declaration order, then its anchors) gives them; the compiled reader
#: makes its rows with them.
ROW_KEYS = (*(field.name for field in attrs.fields(Article)), "anchors")


def _rows_v2(text: str) -> list[dict[str, Any]]:
    """The rows of a format-2 block (see the module docstring); ValueError if damaged."""
    metas, position = _header_and_texts(text)
    rows: list[dict[str, Any]] = []
    for meta in metas:
        (
            ident,
            section,
            credit,
            related,
            url,
            published,
            source,
            anchors,
            title_length,
            body_length,
            caption_length,
        ) = meta
        if (
            type(title_length) is not int
            or type(body_length) is not int
            or type(caption_length) is not int
            or title_length < 0
            or body_length < 0
            or caption_length < -1
        ):
            raise ValueError(f"row {len(rows)} of the block header has bad text lengths")
        title_end = position + title_length
        body_end = title_end + body_length
        caption_end = body_end + caption_length if caption_length > 0 else body_end
        rows.append(
            {  # the key order of article_row
                "id": ident,
                "title": text[position:title_end],
                "body": text[title_end:body_end],
                "section": section,
                "caption": text[body_end:caption_end] if caption_length >= 0 else None,
                "photo_credit": credit,
                "related": related,
                "url": url,
                "published": published,
                "source": source,
                "anchors": anchors,
            }
        )
        position = caption_end
    if position != len(text):
        raise ValueError(f"the texts end at {position}, the block at {len(text)}")
    return rows


#: A row's values that are text, text or ``None``, and lists of text (``anchors`` and
#: ``published``, ISO 8601 text or ``None``, may be absent: rows written before them).
_TEXTS = ("id", "title", "body")
_OPTIONAL_TEXTS = ("caption", "photo_credit", "url", "source")
_TEXT_LISTS = ("section", "anchors")


def _check_rows(rows: list[dict[str, Any]]) -> None:
    """ValueError unless every row holds values of the types :func:`article_row` writes
    (a crafted block's checksums may be right while its values are not). Run once a
    decoded block: about a microsecond a row."""
    for number, row in enumerate(rows):
        try:
            wrong = _wrong_value(row)
        except KeyError as error:
            raise ValueError(f"row {number} lacks {error}") from None
        if wrong is not None:
            raise ValueError(f"row {number} has a {wrong!r} value of the wrong type")


def _optional_text(value: Any) -> bool:
    return value is None or type(value) is str


def _wrong_value(row: dict[str, Any]) -> str | None:
    """The key of the first of a row's values of the wrong type, or None."""
    for key in _TEXTS:
        if type(row[key]) is not str:
            return key
    for key in _OPTIONAL_TEXTS:
        value = row[key]
        if value is not None and type(value) is not str:
            return key
    for key in _TEXT_LISTS:
        value = row[key] if key == "section" else row.get(key, _NO_TEXTS)
        if type(value) is not list or (value and not set(map(type, value)) <= _STR):
            return key
    related = row["related"]
    if type(related) is not list:
        return "related"
    for link in related:
        if (
            type(link) is not list
            or len(link) != 3
            or type(link[0]) is not str
            or not _optional_text(link[1])
            or not _optional_text(link[2])
        ):
            return "related"
    published = row.get("published")
    if published is not None:
        try:
            dt.datetime.fromisoformat(published)
        except (TypeError, ValueError):
            return "published"
    return None


_STR = {str}
_NO_TEXTS: list[str] = []


def _fresh_v2(row: dict[str, Any]) -> dict[str, Any]:
    """:func:`_fresh` of a checked format-2 row (:func:`_rows_v2`, :func:`_check_rows`),
    whose only lists are its section, related links and anchors: about a fifth of the
    cost of looking at every value."""
    copy = row.copy()
    copy["section"] = [*copy["section"]]  # (texts only: checked)
    related = copy["related"]  # (lists of three texts or None: checked)
    copy["related"] = [[*link] for link in related] if related else []
    copy["anchors"] = [*copy["anchors"]]
    return copy


def _fresh(value: Any) -> Any:
    """A copy of a cached row (or of one of its values) that shares no list or dict with
    it (a row is JSON: only lists and dicts are mutable); about ten times cheaper than
    ``copy.deepcopy``."""
    if type(value) is dict:
        return {k: v if type(v) not in (list, dict) else _fresh(v) for k, v in value.items()}
    if type(value) is list:
        return [v if type(v) not in (list, dict) else _fresh(v) for v in value]
    return value


#: The compiled reader of a format-2 LZ4 block (``_rows.pyx``): the rows of a block
#: this module would read the same, checked, in one call (None: this module reads all).
_COMPILED = optional_module("bnsearch.index._rows")


class StoreReader:
    """Random access to the stored rows of one segment.

    Decoded blocks are kept in a small LRU cache (:data:`BLOCK_CACHE_BLOCKS`), as
    tantivy's doc store does: a page of hits often lies in a few blocks, and popular
    articles come back.
    """

    def __init__(
        self, data: bytes | npt.NDArray[np.uint8], index: npt.NDArray[np.int64], *, where: str
    ) -> None:
        self._data = data
        self._view = memoryview(cast("Any", data)).cast("B")  # blocks inflated with no copy
        self._index = index
        self._where = where
        self._first_docs = np.asarray(index[:, 1])
        # bisect: no numpy call a row; 8 bytes a block (a block may be a single row)
        self._firsts = array("q", self._first_docs.astype(np.int64).tobytes())
        # the blocks' byte offsets, for the same reason
        self._offsets = array("q", np.asarray(index[:, 0]).astype(np.int64).tobytes())
        #: decoded blocks (their rows, and how to copy one), least recently used first
        self._cache: OrderedDict[int, tuple[list[dict[str, Any]], Copier]] = OrderedDict()
        self._lock = threading.Lock()
        #: the compiled block reader, or None (every block read by this module)
        self._compiled: Any = None if _COMPILED is None else _COMPILED.Blocks(self._view)
        #: the compiled reader's decoded blocks (their UTF-16 text), least recently used
        #: first: it makes a row's objects anew from them each read (no copy), and a block
        #: dropped frees one object (a block of rows dropped freed about ten, out of the
        #: processor's caches: 3 us a row read between two queries' cores, 2026-12-07)
        self._texts: OrderedDict[int, bytes] = OrderedDict()

    def _block(self, number: int, *, remember: bool = True) -> list[dict[str, Any]]:
        """The rows of block ``number``: from the cache of recently read blocks, or
        decompressed (and, with ``remember``, cached; a merge's pass over every block is
        not)."""
        return self._decoded(number, remember=remember)[0]

    def _decoded(
        self, number: int, *, remember: bool = True, text: str | None = None
    ) -> tuple[list[dict[str, Any]], Copier]:
        """:meth:`_block`, with the function that copies one of its rows for a caller;
        ``text``: the block decompressed already (not cached: :meth:`anchors`)."""
        with self._lock:
            cached = self._cache.get(number)
            if cached is not None:
                self._cache.move_to_end(number)
                return cached
        if text is None and self._compiled is not None and lz4_block is not None:
            # a block the compiled reader takes comes back checked; any other (another
            # codec or layout, damage, a value to judge) is None and read below. (It
            # decodes LZ4 itself, but where the lz4 package is missing both paths say
            # that an LZ4 block needs it.)
            start, end = self._offsets[number], self._offsets[number + 1]
            rows = self._compiled.rows(start, end, ROW_KEYS)
            if rows is not None:
                self._check_count(number, len(rows))
                return self._remember(number, (rows, _fresh_v2), remember)
        copier: Copier = _fresh
        try:  # (not self._damage: a context manager costs about a microsecond a row)
            if text is None:
                text = self._text(number)
            if text[:1] == _BLOCK_V2:  # (rows of dicts by construction)
                rows, copier = _rows_v2(text), _fresh_v2
            else:
                rows = json.loads(text)
                if type(rows) is not list or not all(type(row) is dict for row in rows):
                    raise IndexFormatError(
                        f"{self._where}: stored block {number} is not a list of rows"
                    )
        except _DAMAGED_BLOCK as error:
            raise self._damaged(number, error) from None
        self._check_count(number, len(rows))
        try:
            _check_rows(rows)
        except ValueError as error:
            raise IndexFormatError(f"{self._where}: stored block {number}: {error}") from None
        return self._remember(number, (rows, copier), remember)

    def _remember(
        self,
        number: int,
        decoded: tuple[list[dict[str, Any]], Copier],
        remember: bool,
    ) -> tuple[list[dict[str, Any]], Copier]:
        """``decoded``, block ``number``'s rows, cached when ``remember``."""
        if remember:
            with self._lock:
                self._cache[number] = decoded
                if len(self._cache) > BLOCK_CACHE_BLOCKS:
                    self._cache.popitem(last=False)
        return decoded

    def _text(self, number: int) -> str:
        """Block ``number`` decompressed and decoded (one of ``_DAMAGED_BLOCK`` if damaged)."""
        start, end = self._offsets[number], self._offsets[number + 1]
        text: str = _DECODE_TEXT(decompress_block(self._view[start:end]), "strict", True)[0]
        return text

    @contextlib.contextmanager
    def _damage(self, number: int) -> Iterator[None]:
        """Turn a damaged block's codec, JSON or shape error into an IndexFormatError."""
        try:
            yield
        except _DAMAGED_BLOCK as error:
            raise self._damaged(number, error) from None

    def _damaged(self, number: int, error: Exception) -> IndexFormatError:
        """The error of block ``number`` damaged (``error``: its codec's, JSON's, ...)."""
        start, end = self._offsets[number], self._offsets[number + 1]
        return IndexFormatError(
            f"{self._where}: stored block {number} (bytes {start}..{end}) is damaged: {error}"
        )

    def _check_count(self, number: int, rows: int) -> None:
        expected = self._firsts[number + 1] - self._firsts[number]
        if rows != expected:  # else a doc would read as its neighbour's row
            raise IndexFormatError(
                f"{self._where}: stored block {number} holds {rows} rows, the block "
                f"index says {expected}"
            )

    def anchors(self, doc: int) -> tuple[str, ...]:
        """The stored anchors of ``doc``: ``row(doc)["anchors"]`` read from its block's
        header alone when the block is not cached (a format-2 block: the texts are not
        cut into rows, nothing is copied or cached; a commit appending to a few targets'
        anchors reads one block each, about half the cost of :meth:`row`)."""
        number, inner = self._locate(doc)
        with self._lock:
            cached = self._cache.get(number)
        if cached is None:
            with self._damage(number):
                text = self._text(number)
                if text[:1] == _BLOCK_V2:
                    metas = _header_v2(text)
                    self._check_count(number, len(metas))
                    anchors = metas[inner][_ANCHORS_AT]
                    if type(anchors) is not list or not set(map(type, anchors)) <= _STR:
                        raise ValueError(f"row {inner} has a 'anchors' value of the wrong type")
                    return tuple(anchors)
            # a format-1 block: its rows decoded from the text read (not decompressed again)
            rows, _ = self._decoded(number, text=text)
            return tuple(rows[inner].get("anchors") or ())  # (rows before anchors: none)
        # (read from the cached row, not a copy of it: rows before anchors have none)
        return tuple(cached[0][inner].get("anchors") or ())

    def _locate(self, doc: int) -> tuple[int, int]:
        firsts = self._firsts
        if not 0 <= doc < firsts[-1]:
            raise IndexError(f"doc {doc} out of range 0..{firsts[-1] - 1}")
        # a row longer than BLOCK_CHARS (most rows) is a block of its own: while every
        # block before it is too, the block's number is the doc's (two reads, where the
        # bisection reads about log2(blocks) items, each a new int)
        if doc + 1 < len(firsts) and firsts[doc] == doc < firsts[doc + 1]:
            return doc, 0
        number = bisect.bisect_right(firsts, doc) - 1
        return number, doc - firsts[number]

    def row(self, doc: int) -> dict[str, Any]:
        """The stored row of ``doc`` (a fresh copy, safe to modify)."""
        number, inner = self._locate(doc)
        if self._compiled is not None and lz4_block is not None:
            made = self._compiled_rows(number)
            if made is not None:
                return made[inner]
        rows, copy = self._decoded(number)  # (as many rows as the block index says)
        return copy(rows[inner])

    def _compiled_rows(self, number: int) -> list[dict[str, Any]] | None:
        """Block ``number``'s rows made by the compiled reader from its decoded text
        (cached), the caller's own; None where this module must read the block."""
        with self._lock:
            text = self._texts.get(number)
            if text is not None:
                self._texts.move_to_end(number)
        if text is None:
            text = self._compiled.text(self._offsets[number], self._offsets[number + 1])
            if text is None:
                return None
            with self._lock:
                self._texts[number] = text
                if len(self._texts) > BLOCK_CACHE_BLOCKS:
                    self._texts.popitem(last=False)
        rows: list[dict[str, Any]] | None = _COMPILED.rows(text, ROW_KEYS)  # type: ignore[union-attr]
        if rows is not None:
            self._check_count(number, len(rows))
        return rows

    def related_headlines(self, doc: int) -> list[str]:
        """The headlines of ``doc``'s related links (no copy of the row is made)."""
        number, inner = self._locate(doc)
        return [str(link[0]) for link in self._block(number)[inner]["related"]]

    def copy_live(
        self,
        target: StoreWriter,
        live: npt.NDArray[np.bool_],
        patches: Mapping[int, Mapping[str, Any]] | None = None,
    ) -> None:
        """Append this store's live rows to ``target``: blocks without deletions are
        copied as compressed bytes, the others are decompressed and filtered. A doc of
        ``patches`` gets its row updated with the patch (its block is decompressed)."""
        patches = patches or {}
        patched = np.zeros(len(live), dtype=bool)
        patched[list(patches)] = True
        for number in range(len(self._first_docs) - 1):
            first, end = int(self._first_docs[number]), int(self._first_docs[number + 1])
            if end == first:
                continue
            if bool(live[first:end].all()) and not bool(patched[first:end].any()):
                start, stop = int(self._index[number, 0]), int(self._index[number + 1, 0])
                target.add_blocks([(bytes(self._data[start:stop]), end - first)])
            elif bool(live[first:end].any()):
                for inner, row in enumerate(self._block(number, remember=False)):
                    doc = first + inner
                    if live[doc]:
                        patch = patches.get(doc)
                        target.add(row if patch is None else {**row, **patch})

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        """Every row in doc order (shared objects: do not modify; used by merges)."""
        for number in range(len(self._first_docs) - 1):
            yield from self._block(number, remember=False)
