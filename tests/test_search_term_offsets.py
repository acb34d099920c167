"""The compiled offsets of a term's postings (the rerank's long lists) equal the numpy
reference's (:meth:`SegmentReader.term_positions`) for every kind of tfs."""

from __future__ import annotations

import numpy as np
import pytest

from bnsearch import Article, Index
from bnsearch.search import phrases

core = pytest.importorskip("bnsearch.search._positions")


def _reference(tfs: np.ndarray, first: int) -> np.ndarray:
    """The numpy offsets: ``first``, then each posting's end."""
    offsets = np.empty(len(tfs) + 1, dtype=np.int64)
    offsets[0] = first
    np.cumsum(tfs, out=offsets[1:])
    offsets[1:] += first
    return offsets


@pytest.mark.parametrize(
    "dtype", ["uint8", "uint16", "uint32", "int64", "int32", "int16", ">u4", "<i8"]
)
@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_the_offsets_are_numpys_for_every_kind_of_tfs(dtype: str, n: int) -> None:
    rng = np.random.default_rng(n)
    top = min(np.iinfo(np.dtype(dtype)).max, 300)
    tfs = rng.integers(1, top, size=n, endpoint=True).astype(dtype)
    for first in (0, 5, 2**40):
        got = core.term_offsets(tfs, first)
        assert got.dtype == np.int64
        assert got.tolist() == _reference(tfs, first).tolist()
    if n > 1:  # (a strided view: copied, same offsets)
        view = tfs[::2]
        assert core.term_offsets(view, 3).tolist() == _reference(view, 3).tolist()


def test_the_widest_tfs_keep_every_bit() -> None:
    """Sums past 2**32 (uint32 tfs) and large int64 tfs are added in int64, not wrapped."""
    for dtype in ("uint32", "int64"):
        tfs = np.array([2**32 - 1, 2**32 - 1, 7], dtype=dtype)
        assert core.term_offsets(tfs, 1).tolist() == _reference(tfs, 1).tolist()
    small = np.array([255, 255, 255], dtype=np.uint8)
    assert core.term_offsets(small, 0).tolist() == [0, 255, 510, 765]


def test_a_segments_offsets_are_the_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    """:func:`phrases.term_positions` on the compiled core gives the segment's own
    (numpy) offsets for every term of a field."""
    index = Index.in_memory()
    with index.writer() as writer:
        for i in range(40):
            body = " ".join(["ঢাকা"] * (1 + i % 5) + ["চট্টগ্রাম", "যানজট"] * (i % 3))
            writer.add(Article(id=f"a{i}", title="খবর", body=body))
    segment = index.reader().segments[0]
    monkeypatch.setattr(phrases, "_compiled", lambda: core)
    checked = 0
    for field in ("body", "title"):
        for term in segment.terms(field):
            reference = segment.term_positions(field, term)
            got = phrases.term_positions(segment, field, term)
            assert got is not None and reference is not None
            assert got[0].tolist() == reference[0].tolist()
            assert got[1].tolist() == reference[1].tolist()
            checked += 1
    assert checked >= 4
