"""A unit's live document frequency (:mod:`bnsearch.search.unitstats`): the compiled count
(a unit's longest slice searched, not walked, where nothing is deleted) equals the numpy
reference, on the shared corpora with deletes across
segments (a word in title and body, a few slices merged, many slices marked) and on
random slices of both doc widths. Skipped where ``_units`` was not built or without
../shared."""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np
import pytest

from bnsearch.errors import IndexFormatError
from bnsearch.index import Index
from bnsearch.index.blockmax import BLOCK
from bnsearch.search import unitstats

from .conftest import corpora_with_deletes


def _units_module() -> ModuleType:
    try:
        return importlib.import_module("bnsearch.search._units")
    except ImportError as error:  # pragma: no cover - depends on the build
        pytest.skip(f"the compiled unit counts are not built: {error}")


@pytest.fixture(scope="module")
def corpus_index() -> Index:
    return corpora_with_deletes()


def _check(units: list[list[list[np.ndarray]]], segments: list) -> list[int]:
    compiled = _units_module()
    lives = [s.live if s.del_count else None for s in segments]
    sizes = [s.max_doc for s in segments]
    want = unitstats.numpy_live_doc_freqs(units, lives, sizes)
    assert compiled.live_doc_freqs(units, lives, sizes) == want
    # the slices read in place where the engine's ``Pieces`` hold them (``at``)
    held = [[([], slices, None) for slices in per_segment] for per_segment in units]
    assert compiled.live_doc_freqs(held, lives, sizes, 1) == want
    assert unitstats.numpy_live_doc_freqs(held, lives, sizes, 1) == want
    assert unitstats.live_doc_freqs(tuple(held), tuple(lives), tuple(sizes), 1) == want
    # the same counts as if nothing were deleted, where every doc is live
    assert compiled.live_doc_freqs(units, [None] * len(segments), sizes) == (
        unitstats.numpy_live_doc_freqs(units, [None] * len(segments), sizes)
    )
    return want


def test_words_in_title_and_body_on_the_corpora(corpus_index: Index) -> None:
    segments = list(corpus_index.reader().segments)
    assert len(segments) == 3 and all(s.del_count for s in segments[:2])
    fields = ("title", "body")
    words = sorted({t for s in segments for t in s.terms("title")})[::3]
    units = [
        [[part[1] for part in s.term_slices(word, fields)] for s in segments] for word in words
    ]
    both = sum(1 for unit in units if any(len(slices) == 2 for slices in unit))
    assert both > 300  # (words in both fields: the searched slice is met)
    counts = _check(units, segments)
    # the counts are a union's: above either field's own count where both hold the word
    body = [
        sum(
            int(np.count_nonzero(s.live[p[1]]))
            for s in segments
            for p in s.term_slices(w, ("body",))
        )
        for w in words
    ]
    assert all(c >= b for c, b in zip(counts, body, strict=True))
    assert sum(c > b for c, b in zip(counts, body, strict=True)) > 50


@pytest.mark.parametrize("width", [3, 8, 9, 40])
def test_expansions_merged_or_marked(corpus_index: Index, width: int) -> None:
    """A prefix's expansions in title and body: ``width`` terms' slices per segment (up
    to 8 merged in doc order, more marked)."""
    segments = list(corpus_index.reader().segments)
    body = segments[1].terms("body")
    units = []
    for start in range(0, min(len(body), 6000), 500):
        terms = body[start : start + width // 2 + 1]
        units.append(
            [
                [p[1] for term in terms for p in s.term_slices(term, ("title", "body"))][:width]
                for s in segments
            ]
        )
    _check(units, segments)


def test_random_slices_of_both_widths() -> None:
    compiled = _units_module()
    rng = np.random.default_rng(5)
    for trial in range(300):
        max_doc = int(rng.integers(1, 3000))
        n_segments = int(rng.integers(1, 4))
        lives = [
            None if rng.random() < 0.4 else rng.random(max_doc) < 0.7 for _ in range(n_segments)
        ]
        units = []
        for _ in range(int(rng.integers(1, 5))):
            per_segment = []
            for _ in range(n_segments):
                slices = []
                for _ in range(int(rng.integers(0, 12))):
                    size = int(rng.integers(0, max_doc + 1))
                    docs = np.sort(rng.choice(max_doc, size=size, replace=False))
                    dtype = np.uint16 if max_doc < 65536 and rng.random() < 0.5 else np.int32
                    slices.append(docs.astype(dtype))
                per_segment.append(slices)
            units.append(per_segment)
        sizes = [max_doc] * n_segments
        got = compiled.live_doc_freqs(units, lives, sizes)
        assert got == unitstats.numpy_live_doc_freqs(units, lives, sizes), trial
        held = [[(None, slices) for slices in per_segment] for per_segment in units]
        assert compiled.live_doc_freqs(held, lives, sizes, 1) == got, trial
        assert unitstats.numpy_live_doc_freqs(held, lives, sizes, 1) == got, trial


@pytest.mark.parametrize("slices", [2, 3, 12])
@pytest.mark.parametrize("longer", [False, True])
def test_a_doc_outside_its_segment_is_a_format_error(slices: int, longer: bool) -> None:
    """In a shorter slice or (``longer``) the longest; the next count is still right
    (no mark is left behind)."""
    compiled = _units_module()
    bad = np.array([0, 2, 3, 9], np.int32) if longer else np.array([2, 9], np.int32)
    docs = [np.array([1, 5], np.int32)] * (slices - 1) + [bad]
    with pytest.raises(IndexFormatError):
        compiled.live_doc_freqs([[docs]], [None], [6])
    good = [np.array([1, 5], np.int32), np.array([0, 2, 3, 4], np.int32)]
    assert compiled.live_doc_freqs([[good]], [None], [6]) == [6]


def test_a_searched_slice_outside_its_segment_is_a_format_error() -> None:
    compiled = _units_module()
    many = np.arange(0, 700, dtype=np.int32)
    with pytest.raises(IndexFormatError):
        compiled.live_doc_freqs([[[np.array([3], np.int32), many]]], [None], [600])
    assert compiled.live_doc_freqs([[[np.array([3], np.int32), many]]], [None], [700]) == [700]


def test_block_bounds_equal_numpys_on_the_corpora(corpus_index: Index) -> None:
    """Every term of title and body with blocks, under two fields' multipliers: the
    compiled bounds, memo and first docs equal numpy's (bit for bit)."""
    from bnsearch.search import Searcher

    compiled = _units_module()
    ctx = Searcher(corpus_index.reader())._ctx
    checked = 0
    for segment in corpus_index.reader().segments:
        for field in ("title", "body"):
            highest, _ = ctx.table_ceiling(field, 1.7)
            indptr = segment._field(field).indptr
            for ident in range(len(segment.terms(field))):
                start, end = int(indptr[ident]), int(indptr[ident + 1])
                found = segment.blocks(field, start, end - start)
                if found is None:
                    continue
                docs = segment._field(field).docs[start:end]
                want = unitstats.numpy_block_bounds(found[0], found[1], highest, docs)
                got = compiled.block_bounds(found[0], found[1], highest, docs, BLOCK)
                assert got is not None
                for a, b in zip(got, want, strict=True):
                    assert a.dtype == b.dtype
                    assert a.tobytes() == b.tobytes()
                checked += 1
    assert checked > 100


def test_block_bounds_of_other_types_fall_back_to_numpy() -> None:
    compiled = _units_module()
    highest = np.linspace(2, 0.5, 256, dtype=np.float32)
    tfs, norms = np.array([3, 1], np.uint16), np.array([0, 255], np.uint8)
    docs = np.arange(0, 400, 2, dtype=np.int64)
    assert compiled.block_bounds(tfs, norms, highest, docs, BLOCK) is None
    bound, exact, firsts = unitstats.block_bounds(tfs, norms, highest, docs)
    assert bound.tolist() == [np.float32(3) * highest[0], highest[255]]
    assert np.isnan(exact).all() and len(exact) == 8
    assert firsts.tolist() == [0, 256] and firsts.dtype == np.int32
