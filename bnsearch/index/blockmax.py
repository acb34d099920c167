"""Per-block maxima of a text field's postings: what lets a search skip whole blocks.

The postings of a term with more than :data:`BLOCK` of them are cut into blocks of
:data:`BLOCK` postings (from the term's first posting; the last block may be shorter;
a shorter list has nothing to skip and keeps none). Per block the segment keeps the
largest term frequency (``fld.F.blocktf``), the smallest length code of its docs
(``fld.F.blocknorm``) and, where the field keeps form flags, the OR of its postings'
flags (``fld.F.blockforms``); ``fld.F.blockptr`` (one per term, plus one) is the first
block of each term. With a norm table that falls as length grows (BM25's), no posting of
a block has a larger ``x`` than ``blocktf * table[blocknorm]``: a search whose k-th best
score is above what such a block can give skips its postings (block-max pruning, as
Lucene's impacts and tantivy's block WAND).

One function computes them for the builder and for merges (from the merged postings);
:func:`problems` checks them (verify). Segments written before them lack the arrays
and are searched without skipping; so is an anchor field with anchor updates beside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]

#: Postings per block.
BLOCK = 128
#: The array names (after ``fld.F.``).
NAMES = ("blockptr", "blocktf", "blocknorm", "blockforms")


def block_starts(indptr: Array) -> tuple[Array, Array]:
    """Per term its first block (``blockptr``, one more than terms), and the index of
    every block's first posting."""
    pointer, starts, _ = _blocks(indptr)
    return pointer, starts


def _blocks(indptr: Array) -> tuple[Array, Array, Array]:
    """:func:`block_starts`, and the index after every block's last posting."""
    indptr = np.asarray(indptr, dtype=np.int64)
    counts = indptr[1:] - indptr[:-1]
    # a list of one block has nothing to skip: only longer ones get blocks
    blocks = np.where(counts > BLOCK, (counts + (BLOCK - 1)) // BLOCK, 0)
    pointer = np.zeros(len(blocks) + 1, dtype=np.int64)
    np.cumsum(blocks, out=pointer[1:])
    total = int(pointer[-1])
    within = np.arange(total, dtype=np.int64) - np.repeat(pointer[:-1], blocks)
    starts = np.repeat(indptr[:-1], blocks) + within * BLOCK
    ends = np.minimum(starts + BLOCK, np.repeat(indptr[1:], blocks))
    return pointer, starts, ends


def _reduce(ufunc: np.ufunc, values: Array, starts: Array, ends: Array) -> Array:
    """``ufunc`` over ``values[starts[i]:ends[i]]`` for each block (blocks need not touch:
    the postings of short lists lie between them)."""
    bounds = np.empty(2 * len(starts), dtype=np.int64)
    bounds[0::2], bounds[1::2] = starts, ends
    padded = np.append(values, values[:1])  # (an end may be the last index + 1)
    reduced: Array = ufunc.reduceat(padded, bounds)[0::2]
    return reduced


def block_maxima(
    indptr: Array, docs: Array, tfs: Array, norms: Array, forms: Array | None
) -> dict[str, Array]:
    """The block arrays (by name, see :data:`NAMES`) of one field's postings."""
    if len(docs) <= BLOCK:  # no term has a block (a commit's one-article segment):
        # the empty arrays without the dozen numpy calls that find none
        empty = np.zeros(0, dtype=np.uint8)
        few: dict[str, Array] = {
            "blockptr": np.zeros(len(indptr), dtype=_pointer_dtype(0)),
            "blocktf": np.zeros(0, dtype=np.asarray(tfs).dtype),
            "blocknorm": empty,
        }
        if forms is not None:
            few["blockforms"] = empty.copy()
        return few
    return _block_maxima(indptr, docs, tfs, norms, forms)


def _block_maxima(
    indptr: Array, docs: Array, tfs: Array, norms: Array, forms: Array | None
) -> dict[str, Array]:
    """:func:`block_maxima` computed for any number of postings."""
    pointer, starts, ends = _blocks(indptr)
    out: dict[str, Array] = {"blockptr": pointer.astype(_pointer_dtype(int(pointer[-1])))}
    if len(starts):
        tfs = np.asarray(tfs)
        out["blocktf"] = _reduce(np.maximum, tfs, starts, ends).astype(tfs.dtype)
        codes = np.asarray(norms)[np.asarray(docs)]
        out["blocknorm"] = _reduce(np.minimum, codes, starts, ends).astype(np.uint8)
        if forms is not None:
            flags = np.asarray(forms)
            out["blockforms"] = _reduce(np.bitwise_or, flags, starts, ends).astype(np.uint8)
    else:
        out["blocktf"] = np.zeros(0, dtype=np.asarray(tfs).dtype)
        out["blocknorm"] = np.zeros(0, dtype=np.uint8)
        if forms is not None:
            out["blockforms"] = np.zeros(0, dtype=np.uint8)
    return out


def _pointer_dtype(largest: int) -> type[np.integer[Any]]:
    return np.uint32 if largest <= _UINT32_MAX else np.int64


_UINT32_MAX = 2**32 - 1


def problems(
    arrays: dict[str, Array | None],
    indptr: Array,
    docs: Array,
    tfs: Array,
    norms: Array,
    forms: Array | None,
    *,
    deep: bool,
) -> list[str]:
    """What is wrong with a field's block arrays (``arrays`` by name; absent ones are
    ``None``): missing pieces, wrong lengths, and with ``deep`` values that differ from
    those of the postings."""
    present = [name for name in NAMES if arrays.get(name) is not None]
    if not present:
        return []
    needed = ["blockptr", "blocktf", "blocknorm"] + (["blockforms"] if forms is not None else [])
    missing = [name for name in needed if arrays.get(name) is None]
    if missing:
        return [f"block maxima incomplete: {', '.join(missing)} missing"]
    expected_pointer, starts = block_starts(indptr)
    pointer = arrays["blockptr"]
    assert pointer is not None
    if len(pointer) != len(expected_pointer) or not np.array_equal(
        np.asarray(pointer, dtype=np.int64), expected_pointer
    ):
        return ["block pointers do not match the postings"]
    found: list[str] = []
    for name in needed[1:]:
        value = arrays[name]
        assert value is not None
        if len(value) != len(starts):
            found.append(f"{len(value)} {name} entries for {len(starts)} blocks")
    if found or not deep:
        return found
    expected = block_maxima(indptr, docs, tfs, norms, forms)
    for name in needed[1:]:
        if not np.array_equal(np.asarray(arrays[name]), expected[name]):
            found.append(f"{name} does not match the postings")
    return found
