"""Word spans: where each word of a document's text field stands in its stored text.

For the text fields fed by one string of the article (title, body, caption, ...) a
segment keeps, per document, the character ``start``/``end`` (Python ``str`` indices
into the stored text) of every word position the field's analysis gave, dropped
stopwords included, and whether the position was dropped. With the postings' positions
this is what a snippet needs (Lucene keeps offsets in its postings for the same reason):
the search room maps a query term's positions in a hit to characters without analysing
the hit's text again.

Encoding (three arrays per field, see docs/index-format.md): per word two unsigned
numbers, the gap from the previous word's end (from 0 for the first word) and
``2 * length + dropped``, in the narrowest of uint8/uint16/uint32 that holds the
document's largest number (``fld.F.spanwidth``, one byte per doc), little-endian, doc
after doc in ``fld.F.spans`` (bytes); ``fld.F.spanptr`` gives each doc's first byte.
Nearly every Bengali word and gap fits a byte, so a word costs about two bytes.

The arrays are optional: a segment written before them (or a field they are not kept
for) has none, and its snippets come from re-analysis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bnsearch.arrays import run_positions

Array = npt.NDArray[Any]
Int64Array = npt.NDArray[np.int64]

#: Stem suffixes of a field's span arrays (``fld.F.spans`` ...).
SPANS, SPANPTR, SPANWIDTH = "spans", "spanptr", "spanwidth"
SUFFIXES = (SPANS, SPANPTR, SPANWIDTH)
#: Article attributes that are one string: their fields keep word spans.
SPAN_SOURCES = frozenset({"title", "body", "caption", "photo_credit", "source", "url"})
_DTYPES: dict[int, np.dtype[Any]] = {1: np.dtype("<u1"), 2: np.dtype("<u2"), 4: np.dtype("<u4")}

#: Code points up to here that ``str.isspace`` accepts (none above it does: checked by a
#: test over every code point); the last entry stands for every code point above.
_SPACE_LIMIT = 0x3001
_IS_SPACE = np.array([chr(c).isspace() for c in range(_SPACE_LIMIT + 1)], dtype=bool)


def chunk_starts(texts: Sequence[str]) -> Int64Array:
    """The start of every whitespace chunk (what ``str.split()`` gives) of every text,
    text after text, as ``str`` indices into its own text: one numpy pass over all."""
    if not texts:
        return np.zeros(0, dtype=np.int64)
    joined = "\n".join(texts)
    points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    # the table is read only where a character may be whitespace: below the Bengali
    # block or between it and the table's end (Bengali letters are most of a text)
    maybe = np.flatnonzero((points < 0x0980) | ((points >= 0x0A00) & (points < _SPACE_LIMIT)))
    space = np.zeros(len(points), dtype=bool)
    space[maybe] = _IS_SPACE[points[maybe]]
    starts_mask = ~space
    starts_mask[1:] &= space[:-1]
    starts = np.flatnonzero(starts_mask)
    bases = np.zeros(len(texts), dtype=np.int64)
    np.cumsum([len(text) + 1 for text in texts[:-1]], out=bases[1:])
    owner = np.searchsorted(bases, starts, side="right") - 1
    result: Int64Array = starts - bases[owner]
    return result


def encode(
    starts: Int64Array, ends: Int64Array, dropped: npt.NDArray[np.bool_], counts: Array
) -> dict[str, Array]:
    """The span arrays (by suffix) of docs holding ``counts[d]`` words each, words given
    doc after doc by ``starts``, ``ends`` and ``dropped``."""
    counts = np.asarray(counts, dtype=np.int64)
    docs = len(counts)
    total = int(counts.sum())
    first = np.cumsum(counts) - counts
    previous_end = np.zeros(total, dtype=np.int64)
    if total:
        previous_end[1:] = ends[:-1]
        has = counts > 0
        previous_end[first[has]] = 0
    values = np.empty((total, 2), dtype=np.int64)
    values[:, 0] = starts - previous_end
    values[:, 1] = (ends - starts) * 2 + dropped.astype(np.int64)
    if total and (int(values.min()) < 0):
        raise ValueError("word spans overlap or run backwards")
    largest = np.zeros(docs, dtype=np.int64)
    if total:
        row_max = np.maximum(values[:, 0], values[:, 1])
        has = counts > 0
        largest[has] = np.maximum.reduceat(row_max, first[has])
    width = np.where(largest < 2**8, 1, np.where(largest < 2**16, 2, 4)).astype(np.uint8)
    sizes = counts * 2 * width.astype(np.int64)
    ptr = np.zeros(docs + 1, dtype=np.int64)
    np.cumsum(sizes, out=ptr[1:])
    if not bool((width > 1).any()):  # the usual case: every number fits a byte
        return {SPANS: values.astype(np.uint8).ravel(), SPANPTR: ptr, SPANWIDTH: width}
    out = np.empty(int(ptr[-1]), dtype=np.uint8)
    word_width = np.repeat(width, counts)
    for size, dtype in _DTYPES.items():
        chosen = word_width == size
        if not chosen.any():
            continue
        data = values[chosen].astype(dtype).view(np.uint8).ravel()
        picked = width == size
        place = np.repeat(
            ptr[:-1][picked] - (np.cumsum(sizes[picked]) - sizes[picked]), sizes[picked]
        )
        out[place + np.arange(len(data), dtype=np.int64)] = data
    return {SPANS: out, SPANPTR: ptr, SPANWIDTH: width}


def decode(
    spans: Array, ptr: Array, width: Array, doc: int
) -> tuple[Int64Array, Int64Array, npt.NDArray[np.bool_]]:
    """``(starts, ends, dropped)`` of the words of ``doc`` (ValueError if damaged)."""
    begin, end, size = int(ptr[doc]), int(ptr[doc + 1]), int(width[doc])
    dtype = _DTYPES.get(size)
    if dtype is None or (end - begin) % (2 * size):
        raise ValueError(f"doc {doc}: {end - begin} span bytes at width {size}")
    values = np.frombuffer(np.asarray(spans[begin:end]).tobytes(), dtype=dtype).astype(np.int64)
    lengths = values[1::2]
    dropped = (lengths & 1).astype(bool)
    values[1::2] = lengths >> 1
    edges = np.cumsum(values)
    return edges[0::2], edges[1::2], dropped


def select(
    found: Sequence[tuple[Array, Array, Array] | None], picked: Sequence[Array]
) -> dict[str, Array]:
    """The span arrays (by suffix) of the docs ``picked[i]`` (ascending) of segments
    whose spans are ``found[i]``, in order: what a merge keeps, the bytes copied as
    they are. None (``{}``) unless every segment keeps spans: one written
    before them makes the new segment fall back to re-analysis for its highlights."""
    if not found or any(spans is None for spans in found):
        return {}
    pieces: list[Array] = []
    sizes: list[Array] = []
    widths: list[Array] = []
    for spans_found, docs in zip(found, picked, strict=True):
        assert spans_found is not None
        spans, ptr, width = spans_found
        docs = np.asarray(docs, dtype=np.int64)
        ptr64 = np.asarray(ptr, dtype=np.int64)
        begin, end = ptr64[docs], ptr64[docs + 1]
        size = end - begin
        pieces.append(np.asarray(spans)[run_positions(begin, size)])
        sizes.append(size)
        widths.append(np.asarray(width)[docs])
    all_sizes = np.concatenate(sizes) if sizes else np.zeros(0, np.int64)
    ptr_out = np.zeros(len(all_sizes) + 1, dtype=np.int64)
    np.cumsum(all_sizes, out=ptr_out[1:])
    return {
        SPANS: np.concatenate(pieces).astype(np.uint8) if pieces else np.zeros(0, np.uint8),
        SPANPTR: ptr_out,
        SPANWIDTH: np.concatenate(widths).astype(np.uint8) if widths else np.zeros(0, np.uint8),
    }


def check(
    spans: Array, ptr: Array, width: Array, max_doc: int, fail: Callable[[str], None]
) -> None:
    """Cheap structure checks (lengths, pointers, widths), as a segment opens."""
    if len(width) != max_doc or len(ptr) != max_doc + 1:
        fail(f"word spans: {len(width)} widths and {len(ptr)} pointers for {max_doc} docs")
        return
    if max_doc == 0:
        return
    if int(ptr[0]) != 0 or int(ptr[-1]) != len(spans) or bool(np.any(ptr[1:] < ptr[:-1])):
        fail("word span pointers are not ascending from 0 to the span bytes")
        return
    sizes = np.asarray(width, dtype=np.int64)
    if not bool(np.isin(sizes, (1, 2, 4)).all()):
        fail("a word span width is not 1, 2 or 4")
    elif bool(np.any(np.remainder(np.diff(np.asarray(ptr, dtype=np.int64)), 2 * sizes) != 0)):
        fail("a doc's word span bytes are not whole words")


def check_words(
    spans: Array, ptr: Array, width: Array, lengths: Array, texts: Callable[[int], str | None]
) -> list[str]:
    """Deeper checks for verify: per doc, the kept words number the field's length and
    the last word ends inside the stored text (``texts(doc)``)."""
    problems: list[str] = []
    for doc in range(len(width)):
        try:
            _, ends, dropped = decode(spans, ptr, width, doc)
        except ValueError as error:
            problems.append(f"word spans: {error}")
            continue
        kept = int(np.count_nonzero(~dropped))
        if kept != int(lengths[doc]):
            problems.append(f"word spans: doc {doc} has {kept} words, its length is {lengths[doc]}")
        text = texts(doc)
        if len(ends) and int(ends[-1]) > len(text or ""):
            problems.append(f"word spans: doc {doc}'s words run past its stored text")
        if len(problems) >= 10:
            break
    return problems
