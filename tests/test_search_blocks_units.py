"""Block-max pruning of several units (a word and its folded spellings) in the compiled
core, against its exhaustive pass, on random postings.

``score_segment`` is called directly with two or three units: the first's longest slice
(a word's body) long and walked by blocks, every other slice (the word's title, its
folded spellings' title and body) short beside it and merged in doc order, their docs
drawn mostly from the walked slice's (a doc in both) and some not. With random
multipliers, form flags, bonuses, ``k1``, masks, floors, pages and counts to reach first,
the best ``keep`` and their scores (every bit) must be those of the exhaustive pass
(per-doc tables), with and without MaxScore asked for; the count exact unless a block
was skipped, then at least ``min_total`` and at most the true count. Skipped without
the built extension.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

import bnsearch.search.searcher as searcher_module
from bnsearch.errors import IndexFormatError
from bnsearch.search import Searcher
from bnsearch.search.engine import _flat_units

from .conftest import compiled_core
from .test_search_blocks_random import BLOCK, _random_multipliers, exhaustive_page
from .test_search_pruning import _compare, _lone_words, corpus_searcher  # noqa: F401


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return compiled_core()


def _word_and_spellings(rng: np.random.Generator, large: bool) -> dict[str, Any]:
    """Two or three units, the first with a long slice and maybe a short one, the
    others one or two short slices each (all short slices together at most a quarter
    of the long one), units in order of falling bound (weight + bonus)."""
    max_doc = int(rng.integers(600, 5000))
    if large:
        max_doc += 1 << 18  # (a segment where the sparse units' merge would serve)
    doc_type = np.int32 if large or rng.random() < 0.5 else np.uint16
    longest_n = int(rng.integers(BLOCK + 1, min(max_doc, 4000)))
    body = np.sort(rng.choice(max_doc, size=longest_n, replace=False))
    n_units = int(rng.integers(2, 4))
    shapes = [(0, True)] + ([(0, False)] if rng.random() < 0.6 else [])
    for unit in range(1, n_units):
        shapes += [(unit, False)] * int(rng.integers(1, 3))
    room = max(1, longest_n // 4 // max(1, len(shapes) - 1))
    docs, tfs, mults, forms, owners = [], [], [], [], []
    for unit, walked in shapes:
        if walked:
            picked = body
        else:
            length = int(rng.integers(0, room + 1))
            inside = rng.random() < 0.7  # (mostly docs the walked slice holds)
            pool = body if inside else np.arange(max_doc)
            picked = np.sort(rng.choice(pool, size=min(length, len(pool)), replace=False))
        docs.append(picked.astype(doc_type))
        tf_type = rng.choice([np.uint8, np.uint16, np.uint32, np.int64])
        tfs.append(rng.integers(1, int(rng.choice([2, 5, 50])), size=len(picked)).astype(tf_type))
        mults.append(_random_multipliers(rng, max_doc))
        with_forms = rng.random() < 0.6
        forms.append(rng.integers(0, 4, size=len(picked)).astype(np.uint8) if with_forms else None)
        owners.append(unit)
    # the walked slice need not be the first of its unit's
    if shapes[1:2] == [(0, False)] and rng.random() < 0.5:
        for items in (docs, tfs, mults, forms):
            items[0], items[1] = items[1], items[0]
    walked = 1 if docs[0] is not None and len(docs[0]) < longest_n else 0
    bounds = np.sort(rng.uniform(0.2, 5, size=n_units))[::-1] + 0.05 * np.arange(n_units)[::-1]
    bonuses = np.array([float(rng.choice([0.0, rng.uniform(0, 2)])) for _ in bounds], np.float32)
    weights = np.maximum(bounds - bonuses, 0.1).astype(np.float32)
    order = np.argsort(-(weights.astype(np.float64) + bonuses), kind="stable")
    weights, bonuses = weights[order], bonuses[order]  # (falling bounds, as MaxScore asks)
    flags = np.array([int(rng.integers(0, 4)) for _ in range(n_units)], np.uint8)
    k1 = float(rng.choice([0.0, 0.3, 1.2]))
    mask = None if rng.random() < 0.5 else rng.random(max_doc) < rng.uniform(0.2, 1.0)
    arrays = (docs, tfs, mults, forms, np.array(owners, np.int32), weights, flags, bonuses)
    return {
        "arrays": (*arrays, k1, mask, max_doc),
        "walked": walked,
        "keep": int(rng.integers(1, 40)),
        "min_total": int(rng.integers(0, 300)),
    }


def _blocks(
    rng: np.random.Generator, arrays: tuple[Any, ...], walked: int, positive: bool
) -> tuple[Any, ...]:
    """The walked slice's block bounds (its blocks' largest ``x``, or looser), maybe
    the OR of their form flags, a memo of exact maxima, the blocks' first docs and
    whether every posting scores, as the engine gives them."""
    docs, tfs, mults, forms = (items[walked] for items in arrays[:4])
    x = tfs.astype(np.float32) * mults[docs.astype(np.int64)]
    starts = np.arange(0, len(x), BLOCK)
    bounds = np.maximum.reduceat(x, starts).astype(np.float32)
    if rng.random() < 0.3:
        bounds *= np.float32(rng.uniform(1, 2))
    block_forms = None
    if forms is not None and rng.random() < 0.7:
        block_forms = np.bitwise_or.reduceat(forms, starts).astype(np.uint8)
    memo = np.full(int(rng.choice([2, 4])) * len(bounds), np.nan, dtype=np.float32)
    firsts = np.ascontiguousarray(docs[::BLOCK], dtype=np.int32) if rng.random() < 0.7 else None
    return walked, bounds, block_forms, memo, firsts, positive


@pytest.mark.parametrize("large", [False, True])
def test_a_word_and_its_spellings_skip_blocks_with_the_exhaustive_page(
    core: ModuleType, large: bool
) -> None:
    rng = np.random.default_rng(20261207 + large)
    skipped = 0
    for number in range(250 if large else 500):
        case = _word_and_spellings(rng, large)
        arrays, keep = case["arrays"], case["keep"]
        every_docs, every_scores, every_count, best, floor = exhaustive_page(
            core, rng, arrays, keep, 0.3
        )
        positive = bool(rng.random() < 0.5)
        if positive:  # (every x > 0: a skipped block's postings may be counted unread)
            arrays = (arrays[0], arrays[1], [m + np.float32(0.01) for m in arrays[2]], *arrays[3:])
            every_docs, every_scores, every_count, best, floor = exhaustive_page(
                core, rng, arrays, keep, 0.3
            )
        blocks = _blocks(rng, arrays, case["walked"], positive)
        for call, prune in enumerate((False, True, True)):  # (the last reads the filled memo)
            docs, scores, count, skipping = core.score_segment(
                *arrays, keep, prune, case["min_total"], blocks, floor
            )
            assert docs.tolist() == best.tolist(), (number, call)
            expected = every_scores[np.searchsorted(every_docs, best)]
            assert scores.tolist() == expected.tolist(), (number, call)
            if skipping:
                assert min(case["min_total"], every_count) <= count <= every_count, number
            else:
                assert count == every_count, (number, call)
            skipped += bool(skipping) and not prune
    assert skipped > (40 if large else 80)  # (blocks were skipped: seeds fixed)


def test_blocks_must_name_a_slice_of_the_first_unit(core: ModuleType) -> None:
    """Blocks are of the first unit's slice (the one with the largest bound): naming
    another unit's slice is refused, never walked as the first's."""
    max_doc = 1000
    docs = [np.arange(0, 600, dtype=np.int32), np.arange(0, 20, dtype=np.int32)]
    tfs = [np.ones(len(d), np.uint8) for d in docs]
    mults = [np.ones(max_doc, np.float32)] * 2
    figures = (np.array([0, 1], np.int32), np.array([2, 1], np.float32), np.zeros(2, np.uint8))
    arrays = (docs, tfs, mults, [None, None], *figures, np.zeros(2, np.float32), 0.3, None)
    bounds = np.ones(1, np.float32)
    with pytest.raises(ValueError, match="first unit"):
        core.score_segment(*arrays, max_doc, 10, True, 0, (1, bounds, None))


@pytest.mark.parametrize("where", ["walked", "beside"])
def test_several_units_naming_a_doc_outside_the_segment_raise(core: ModuleType, where: str) -> None:
    """A doc outside the segment in the walked slice or in a slice beside it raises
    IndexFormatError: never a read out of bounds."""
    max_doc = 2000
    body = np.arange(0, 1800, 2, dtype=np.int32)
    short = np.array([3, 5, 9], dtype=np.int32)
    for bad in (-1, max_doc, max_doc + 500):
        docs = [body.copy(), short.copy()]
        if where == "walked":
            docs[0][-1] = bad
        else:
            docs[1][-1] = bad
        tfs = [np.ones(len(d), np.uint8) for d in docs]
        mults = [np.ones(max_doc, np.float32)] * 2
        x = np.ones((len(body) + BLOCK - 1) // BLOCK, np.float32)
        with pytest.raises(IndexFormatError, match="outside its segment"):
            core.score_segment(
                docs,
                tfs,
                mults,
                [None, None],
                np.array([0, 1], np.int32),
                np.array([2, 1], np.float32),
                np.zeros(2, np.uint8),
                np.zeros(2, np.float32),
                0.3,
                None,
                max_doc,
                10,
                True,
                0,
                (0, x, None),
            )


def _units(searcher: Searcher, text: str) -> int:
    """How many units the compiled core scores for ``text`` (0: none, or no bag)."""
    compiled = searcher._prepare(text, None, romanized=False).compiled
    return len((_flat_units(compiled) if compiled is not None else None) or [])


def test_words_with_spellings_skip_blocks_with_the_same_page_on_the_corpora(
    corpus_searcher: Searcher,  # noqa: F811 (the fixture imported above)
    core: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the real corpora (the count to reach lowered to 30), a word whose analysis
    adds folded spellings is handed to the core with its first unit's block bounds
    where its other slices are short beside that unit's body: the page and its scores
    stay those of the exhaustive pass and of the numpy path."""
    monkeypatch.setattr(searcher_module, "TRACK_TOTAL_HITS", 30)
    words = [word for word in _lone_words(400) if _units(corpus_searcher, word) > 1]
    handed = []
    score_segments = core.score_segments

    def spy(calls: list[Any], *rest: Any) -> Any:
        if any(len(call[0][5]) > 1 and call[2] is not None for call in calls):
            handed.append(calls)
        return score_segments(calls, *rest)

    class Spied:
        def __getattr__(self, name: str) -> Any:
            return spy if name == "score_segments" else getattr(core, name)

    _compare(corpus_searcher, Spied(), words, 30)  # type: ignore[arg-type]
    assert len(words) > 30 and len(handed) >= 10  # (seen: 44 words, blocks for 19)
