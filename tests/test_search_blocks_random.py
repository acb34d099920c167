"""Block-max pruning in the compiled core against its exhaustive pass, on random postings.

The corpus tests (test_search_pruning.py) show that pages stay the same on real text;
here ``score_segment`` is called directly with random slices of one unit (a word in
several fields: the longest slice walked by blocks, the others summed first), random
multipliers, form flags and exact-form bonuses, masks (deleted or filtered docs), page
sizes and counts to reach first, with the tightest sound block bounds (each block's
largest ``x``) or looser ones. The best ``keep`` and their scores must be those of the
exhaustive pass; the count exact unless a block was skipped, then at least ``min_total``
and at most the true count. Skipped without the built extension.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from bnsearch.errors import IndexFormatError

from .conftest import compiled_core

BLOCK = 128  # bnsearch.index.blockmax.BLOCK (the core's block size)


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return compiled_core()


def _random_multipliers(rng: np.random.Generator, max_doc: int) -> np.ndarray[Any, Any]:
    """A slice's per-doc multipliers: every doc its own, all equal (many ties), or a
    few length codes."""
    kind = int(rng.integers(0, 3))
    if kind == 0:
        return rng.random(max_doc).astype(np.float32)
    if kind == 1:
        return np.full(max_doc, 0.5, dtype=np.float32)
    return rng.choice(np.array([0.1, 0.2, 0.9], np.float32), size=max_doc)


def _random_unit(rng: np.random.Generator) -> dict[str, Any]:
    """One unit's slices in one segment, its scoring figures and a page to find."""
    max_doc = int(rng.integers(200, 3000))
    n_slices = int(rng.integers(1, 4))
    longest_n = int(rng.integers(BLOCK + 1, max_doc))
    others = max(1, longest_n // 4 // max(1, n_slices - 1))  # short beside the longest
    lengths = [longest_n] + [int(rng.integers(1, others + 1)) for _ in range(n_slices - 1)]
    with_forms = bool(rng.random() < 0.5)
    doc_type = np.uint16 if rng.random() < 0.5 else np.int32
    docs, tfs, mults, forms = [], [], [], []
    for length in lengths:
        docs.append(np.sort(rng.choice(max_doc, size=length, replace=False)).astype(doc_type))
        tf_type = rng.choice([np.uint8, np.uint16, np.uint32])
        tfs.append(rng.integers(1, int(rng.choice([2, 5, 50])), size=length).astype(tf_type))
        mults.append(_random_multipliers(rng, max_doc))
        forms.append(rng.integers(0, 4, size=length).astype(np.uint8) if with_forms else None)
    order = rng.permutation(n_slices)  # the longest need not come first
    docs, tfs, mults, forms = ([items[i] for i in order] for items in (docs, tfs, mults, forms))
    return lone_unit_case(rng, (docs, tfs, mults, forms), with_forms, max_doc)


def lone_unit_case(
    rng: np.random.Generator, slices: tuple[Any, ...], with_forms: bool, max_doc: int
) -> dict[str, Any]:
    """:func:`_random_case` of one unit's slices (docs, tfs, multipliers, forms) with a
    random weight and, ``with_forms``, maybe an exact-form bonus and its flag."""
    bonus = float(rng.choice([0.0, rng.uniform(0, 3)])) if with_forms else 0.0
    flag = int(rng.integers(1, 4)) if bonus else 0
    figures = (
        np.zeros(len(slices[0]), dtype=np.int32),
        np.array([rng.uniform(0.1, 5)], dtype=np.float32),
        np.array([flag], dtype=np.uint8),
        np.array([bonus], dtype=np.float32),
    )
    return _random_case(rng, (*slices, *figures), max_doc)


def _random_case(rng: np.random.Generator, slices: tuple[Any, ...], max_doc: int) -> dict[str, Any]:
    """``score_segment``'s arguments from slices and figures (docs, tfs, multipliers,
    forms, owners, weights, flags, bonuses), with a random ``k1`` and mask, and a page
    to find: its size and the matches to count first."""
    k1 = float(rng.choice([0.0, 0.3, 1.2]))  # (drawn in this order: the seeds' cases)
    mask = None if rng.random() < 0.5 else rng.random(max_doc) < rng.uniform(0.2, 1.0)
    return {
        "arrays": (*slices, k1, mask, max_doc),
        "keep": int(rng.integers(1, 60)),
        "min_total": int(rng.integers(0, 300)),
    }


def _block_bounds(
    rng: np.random.Generator, arrays: tuple[Any, ...]
) -> tuple[int, np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
    """The longest slice (the first of the longest), per block its largest ``x`` (or
    a looser bound) and, sometimes, the OR of its form flags."""
    docs, tfs, mults, forms = arrays[:4]
    longest = max(range(len(docs)), key=lambda i: (len(docs[i]), -i))
    x = tfs[longest].astype(np.float32) * mults[longest][docs[longest].astype(np.int64)]
    starts = np.arange(0, len(x), BLOCK)
    bounds = np.maximum.reduceat(x, starts).astype(np.float32)
    if rng.random() < 0.3:
        bounds *= np.float32(rng.uniform(1, 2))
    block_forms = None
    if forms[longest] is not None and rng.random() < 0.7:
        block_forms = np.bitwise_or.reduceat(forms[longest], starts).astype(np.uint8)
    return longest, bounds, block_forms


def test_skipped_blocks_keep_the_exhaustive_page_on_random_postings(core: ModuleType) -> None:
    rng = np.random.default_rng(20261206)
    skipped = 0
    for case in range(600):
        unit = _random_unit(rng)
        arrays, keep, min_total = unit["arrays"], unit["keep"], unit["min_total"]
        every_docs, every_scores, every_count, _ = core.score_segment(*arrays)
        best = np.sort(every_docs[np.lexsort((every_docs, -every_scores))[:keep]])
        blocks = _block_bounds(rng, arrays)
        docs, scores, count, skipping = core.score_segment(*arrays, keep, False, min_total, blocks)
        assert docs.tolist() == best.tolist(), case
        assert scores.tolist() == every_scores[np.searchsorted(every_docs, best)].tolist(), case
        # without blocks (a short list, or none kept): every posting read, the count exact
        plain_docs, plain_scores, plain_count, plain_skipping = core.score_segment(
            *arrays, keep, False, min_total
        )
        assert plain_docs.tolist() == best.tolist() and not plain_skipping, case
        assert plain_scores.tolist() == scores.tolist() and plain_count == every_count, case
        if skipping:
            skipped += 1
            assert min(min_total, every_count) <= count <= every_count, case
        else:
            assert count == every_count, case
    assert skipped > 50  # (the bounds did skip: 600 cases, seed fixed)


def _exact_maxima(arrays: tuple[Any, ...], longest: int) -> np.ndarray[Any, Any]:
    """Per block of the longest slice: its largest ``x`` and the largest ``x`` of its
    postings that earn the unit's bonus (-inf: none does), as the core's memo holds them."""
    docs, tfs, mults, forms = (items[longest] for items in arrays[:4])
    flag, bonus = int(arrays[6][0]), float(arrays[7][0])
    x = tfs.astype(np.float32) * mults[docs.astype(np.int64)]
    starts = np.arange(0, len(x), BLOCK)
    earns = np.zeros(len(x), dtype=bool)
    if forms is not None and flag and bonus:
        earns = (forms & flag) == flag
    best_form = np.maximum.reduceat(np.where(earns, x, -np.inf).astype(np.float32), starts)
    out = np.empty(2 * len(starts), dtype=np.float32)
    out[0::2] = np.maximum.reduceat(x, starts)
    out[1::2] = best_form
    return out


def _at_most_two_slices(rng: np.random.Generator, arrays: tuple[Any, ...]) -> list[Any]:
    """A random unit's arguments cut to two of its slices where it has more (one or two
    slices: a word in title and body)."""
    out = list(arrays)
    n = len(out[0])
    if n > 2:
        keep_slices = sorted(rng.choice(n, size=2, replace=False).tolist())
        for i in range(4):
            out[i] = [out[i][j] for j in keep_slices]
        out[4] = np.zeros(2, dtype=np.int32)
    return out


def test_exact_block_maxima_kept_between_calls_keep_the_page(core: ModuleType) -> None:
    """With a memo of exact block maxima (the fourth item of ``blocks``), the core
    reads a block's exact maxima where its loose bound cannot skip it, writes them into
    the memo, and a second call with the filled memo skips by them at once: both calls
    give the exhaustive page and scores; what the memo holds equals each block's maxima
    (the largest ``x``, and the largest of the postings earning the bonus). Every other
    case also gives each block's first doc (a skipped block's postings are then never
    read)."""
    rng = np.random.default_rng(20261207)
    filled = skipped = 0
    for case in range(400):
        unit = _random_unit(rng)
        arrays, keep, min_total = unit["arrays"], unit["keep"], unit["min_total"]
        every_docs, every_scores, every_count, _ = core.score_segment(*arrays)
        best = np.sort(every_docs[np.lexsort((every_docs, -every_scores))[:keep]])
        longest, bounds, block_forms = _block_bounds(rng, arrays)
        memo = np.full(2 * len(bounds), np.nan, dtype=np.float32)
        firsts = arrays[0][longest][::BLOCK].astype(np.int32) if case % 2 else None
        blocks = (longest, bounds, block_forms, memo, firsts)
        for call in range(2):
            docs, scores, count, skipping = core.score_segment(
                *arrays, keep, False, min_total, blocks
            )
            assert docs.tolist() == best.tolist(), (case, call)
            assert scores.tolist() == every_scores[np.searchsorted(every_docs, best)].tolist()
            assert count <= every_count and (skipping or count == every_count), (case, call)
            skipped += skipping
        known = ~np.isnan(memo)
        assert (known[0::2] == known[1::2]).all()  # (a block's two maxima come together)
        expected = _exact_maxima(arrays, longest)
        assert memo[known].tolist() == expected[known].tolist(), case
        filled += int(known.any())
    assert filled > 50 and skipped > 100  # (the memo was read and used: seed fixed)


def test_a_memo_is_what_the_core_skips_by(core: ModuleType) -> None:
    """The core trusts a filled memo over the loose bounds (it is what makes a kept
    query cheaper): a memo saying no block scores makes it skip every block once
    ``min_total`` matches are counted, where the loose bounds skip none."""
    max_doc = 4096
    docs = [np.arange(0, max_doc, 2, dtype=np.int32)]
    tfs = [np.ones(len(docs[0]), dtype=np.uint8)]
    mults = [np.ones(max_doc, dtype=np.float32)]
    unit = (np.zeros(1, np.int32), np.ones(1, np.float32), np.zeros(1, np.uint8))
    arrays = (docs, tfs, mults, [None], *unit, np.zeros(1, np.float32), 1.2, None, max_doc)
    n_blocks = len(docs[0]) // BLOCK
    loose = np.full(n_blocks, 1.0, dtype=np.float32)  # (every posting reaches the page)
    _, _, count, skipping = core.score_segment(*arrays, 10, False, 256, (0, loose, None))
    assert count == len(docs[0]) and not skipping
    memo = np.zeros(2 * n_blocks, dtype=np.float32)
    memo[1::2] = -np.inf
    found, _, count, skipping = core.score_segment(*arrays, 10, False, 256, (0, loose, None, memo))
    assert skipping and count == 256 and found.tolist() == list(range(0, 20, 2))
    with pytest.raises(ValueError):
        core.score_segment(*arrays, 10, False, 256, (0, loose, None, memo[:-1]))
    with pytest.raises(ValueError):
        core.score_segment(*arrays, 10, False, 256, (0, loose, None, memo.astype(np.float64)))
    with pytest.raises(ValueError):
        firsts = docs[0][::BLOCK][:-1]
        core.score_segment(*arrays, 10, False, 256, (0, loose, None, memo, firsts))


@pytest.mark.parametrize("large", [False, True])
def test_a_lone_unit_naming_a_doc_outside_the_segment_raises(core: ModuleType, large: bool) -> None:
    """A lone unit's page (one or two slices, merged without per-doc tables) from
    postings that name a doc outside the segment, in either slice, before or after the
    other's docs, raises IndexFormatError: never a read out of bounds; so do two units
    of one slice each (merged in doc order where sparse: the larger segment)."""
    max_doc = core.MERGE_MIN_DOCS_ + 4000 if large else 400
    good = np.arange(0, 300, 7 if large else 1, dtype=np.int32)
    mult = np.ones(max_doc, dtype=np.float32)
    for units in (1, 2):
        owners = np.zeros(2, np.int32) if units == 1 else np.array([0, 1], np.int32)
        figures = (np.ones(units, np.float32), np.zeros(units, np.uint8))
        for bad in ([-1, 5], [5, max_doc], [3, max_doc + 600], [7, -2]):
            short = np.array(bad, dtype=np.int32)
            cases = [[good, short], [short, good]]
            if units == 1:
                cases.append([np.append(good, max_doc + 100).astype(np.int32)])
            for slices in cases:
                n = len(slices)
                with pytest.raises(IndexFormatError, match="outside its segment"):
                    core.score_segment(
                        slices,
                        [np.ones(len(d), np.uint8) for d in slices],
                        [mult] * n,
                        [None] * n,
                        owners[:n],
                        *figures,
                        np.zeros(units, np.float32),
                        0.3,
                        None,
                        max_doc,
                        10,
                    )


def test_postings_whose_x_is_zero_are_summed_safely(core: ModuleType) -> None:
    """A doc in several of a unit's slices whose ``x`` is zero (a crafted zero term
    frequency, or a zero multiplier) is listed once among the docs to finish: it was
    listed once per posting, past the list's room (min(postings, docs) + 1), which
    overran the heap (a crash in malloc) when the slices held more postings than docs."""
    max_doc, n = 1000, 40
    docs = [np.arange(max_doc, dtype=np.int32) for _ in range(n)]
    tfs = [np.ones(max_doc, dtype=np.uint8) for _ in range(n)]
    mults = [np.zeros(max_doc, dtype=np.float32) for _ in range(n - 1)]
    mults.append(np.ones(max_doc, dtype=np.float32))  # one slice scores: the others add 0
    unit = (np.zeros(n, np.int32), np.ones(1, np.float32), np.zeros(1, np.uint8))
    for _ in range(5):
        found, scores, count, _ = core.score_segment(
            docs, tfs, mults, [None] * n, *unit, np.zeros(1, np.float32), 1.2, None, max_doc
        )
        assert count == max_doc and found.tolist() == list(range(max_doc))
        assert np.allclose(scores, 1 / (1 + 1.2))


def _random_units(rng: np.random.Generator, core: ModuleType) -> dict[str, Any]:
    """Two units of one or two slices each (a word and its folded spelling), their
    postings sparse in a large segment: what the core merges in doc order."""
    max_doc = int(rng.integers(400, 5000)) + core.MERGE_MIN_DOCS_  # (large: merged)
    n_units = int(rng.integers(2, 3))
    per_unit = [int(rng.integers(1, 3)) for _ in range(n_units)]
    room = int(rng.integers(1, 2500))  # (total postings * 4 < max_doc)
    doc_type = np.int32  # (uint16 docs serve segments of at most 65,536 docs: never merged)
    docs, tfs, mults, forms, owners = [], [], [], [], []
    pool = rng.choice(max_doc, size=min(max_doc, 3 * room), replace=False)  # (docs shared)
    for unit, slices in enumerate(per_unit):
        for _ in range(slices):
            length = int(rng.integers(0, room + 1))
            docs.append(np.sort(rng.choice(pool, size=min(length, len(pool)), replace=False)))
            docs[-1] = docs[-1].astype(doc_type)
            tf_type = rng.choice([np.uint8, np.uint16, np.uint32, np.int64])
            tfs.append(
                rng.integers(1, int(rng.choice([2, 5, 50])), size=len(docs[-1])).astype(tf_type)
            )
            mults.append(_random_multipliers(rng, max_doc))
            with_forms = rng.random() < 0.6
            forms.append(
                rng.integers(0, 4, size=len(docs[-1])).astype(np.uint8) if with_forms else None
            )
            owners.append(unit)
    # units in order of falling bounds (weight + bonus), as pruning asks
    bounds = np.sort(rng.uniform(0.2, 5, size=n_units))[::-1] + 0.05 * np.arange(n_units)[::-1]
    bonuses = np.array([float(rng.choice([0.0, rng.uniform(0, 0.1)])) for _ in bounds], np.float32)
    weights = (bounds - bonuses).astype(np.float32)
    flags = np.array([int(rng.integers(0, 4)) for _ in range(n_units)], np.uint8)
    figures = (np.array(owners, dtype=np.int32), weights, flags, bonuses)
    return _random_case(rng, (docs, tfs, mults, forms, *figures), max_doc)


def exhaustive_page(
    core: ModuleType, rng: np.random.Generator, arrays: tuple[Any, ...], keep: int, chance: float
) -> tuple[Any, Any, int, Any, float]:
    """The exhaustive pass over ``arrays`` (its docs, scores and count), a floor (with
    probability ``chance`` a score that occurs, else 0) and the best ``keep`` of the docs
    scoring at least it (score, then doc; returned ascending)."""
    every_docs, every_scores, every_count, _ = core.score_segment(*arrays)
    ranked = np.lexsort((every_docs, -every_scores))
    floor = 0.0
    if rng.random() < chance and len(ranked):
        floor = float(every_scores[ranked[int(rng.integers(0, len(ranked)))]])
    above = ranked[every_scores[ranked] >= np.float32(floor)]
    return every_docs, every_scores, every_count, np.sort(every_docs[above[:keep]]), floor


def test_several_sparse_units_merged_keep_the_exhaustive_page(core: ModuleType) -> None:
    """Several units of a few sparse slices (a word and its folded spellings) asked for
    their best ``keep`` are merged in doc order: the page, its scores (every bit) and
    the count are the exhaustive pass's (per-doc tables), with or without pruning
    asked for and a floor; every posting is read, so the count is exact."""
    rng = np.random.default_rng(61206)
    floored = 0
    for case in range(300):
        units = _random_units(rng, core)
        arrays, keep = units["arrays"], units["keep"]
        every_docs, every_scores, every_count, best, floor = exhaustive_page(
            core, rng, arrays, keep, 0.4
        )
        floored += floor > 0
        for prune in (False, True):
            docs, scores, count, pruned = core.score_segment(
                *arrays, keep, prune, units["min_total"], None, floor
            )
            assert docs.tolist() == best.tolist(), case
            assert scores.tolist() == every_scores[np.searchsorted(every_docs, best)].tolist(), case
            assert count == every_count and not pruned, case
    assert floored > 80


def test_skipped_blocks_counted_unread_keep_the_page(core: ModuleType) -> None:
    """Where every posting of the block-walked slice scores (``positive`` in
    ``blocks``) and no mask drops one, a lone unit's blocks may be skipped from the first
    full page, their postings counted unread: the page and scores stay the exhaustive
    pass's, the count stays between ``min_total`` and the true count, and blocks are
    skipped even when ``min_total`` is the slice's whole length (before, a block was
    skipped only once that many matches were read)."""
    rng = np.random.default_rng(7061206)
    early = 0
    for case in range(600):
        unit = _random_unit(rng)
        arrays = _at_most_two_slices(rng, unit["arrays"])
        arrays[2] = [m + np.float32(0.01) for m in arrays[2]]  # (every x > 0)
        arrays[9] = None  # (no mask)
        arrays = tuple(arrays)
        keep = unit["keep"]
        every_docs, every_scores, every_count, _ = core.score_segment(*arrays)
        best = np.sort(every_docs[np.lexsort((every_docs, -every_scores))[:keep]])
        longest, bounds, block_forms = _block_bounds(rng, arrays)
        length = len(arrays[0][longest])
        min_total = int(rng.choice([0, int(rng.integers(0, length + 1)), length]))
        memo = np.full(2 * len(bounds), np.nan, dtype=np.float32)
        firsts = np.ascontiguousarray(arrays[0][longest][::BLOCK], dtype=np.int32)
        for _ in range(2):  # (the second call skips by the memo the first filled)
            blocks = (longest, bounds, block_forms, memo, firsts, True)
            docs, scores, count, skipping = core.score_segment(
                *arrays, keep, False, min_total, blocks
            )
            assert docs.tolist() == best.tolist(), case
            assert scores.tolist() == every_scores[np.searchsorted(every_docs, best)].tolist()
            if skipping:
                assert min(min_total, every_count) <= count <= every_count, case
                early += min_total == length
            else:
                assert count == every_count, case
    assert early > 20  # (skipped with min_total the whole slice: 600 cases, seed fixed)


def _random_bag(rng: np.random.Generator) -> dict[str, Any]:
    """A bag of words in one segment: two to six units of one to three slices, their
    postings sparse or dense beside the segment (the core's touched list or its dense
    table), units in order of falling bound (as pruning asks), and a mask keeping from
    almost none to every doc (a filter, deletes)."""
    max_doc = int(rng.integers(300, 4000))
    n_units = int(rng.integers(2, 7))
    spread = float(rng.choice([0.02, 0.2, 0.9]))  # (a slice's postings: share of the docs)
    docs, tfs, mults, forms, owners = [], [], [], [], []
    for unit in range(n_units):
        for _ in range(int(rng.integers(1, 4))):
            length = int(rng.integers(1, max(2, int(spread * max_doc))))
            docs.append(np.sort(rng.choice(max_doc, size=length, replace=False)))
            docs[-1] = docs[-1].astype(np.uint16 if rng.random() < 0.5 else np.int32)
            tf_type = rng.choice([np.uint8, np.uint16, np.uint32])
            tfs.append(rng.integers(1, int(rng.choice([2, 5, 50])), size=length).astype(tf_type))
            mults.append(_random_multipliers(rng, max_doc))
            with_forms = rng.random() < 0.5
            forms.append(rng.integers(0, 4, size=length).astype(np.uint8) if with_forms else None)
            owners.append(unit)
    bounds = np.sort(rng.uniform(0.2, 5, size=n_units))[::-1] + 0.05 * np.arange(n_units)[::-1]
    bonuses = np.array([float(rng.choice([0.0, rng.uniform(0, 0.1)])) for _ in bounds], np.float32)
    weights = (bounds - bonuses).astype(np.float32)
    flags = np.array([int(rng.integers(0, 4)) for _ in range(n_units)], np.uint8)
    k1 = float(rng.choice([0.0, 0.3, 1.2]))
    mask = rng.random(max_doc) < float(rng.choice([0.01, 0.125, 0.5, 0.97, 1.0]))
    return {
        "slices": (docs, tfs, mults, forms, np.array(owners, np.int32), weights, flags, bonuses),
        "k1": k1,
        "mask": mask,
        "max_doc": max_doc,
        "keep": int(rng.choice([0, int(rng.integers(1, 60))])),
        # (0: a later segment's, past the count to reach: the floor alone may prune)
        "min_total": int(rng.choice([0, int(rng.integers(0, 300))])),
    }


def test_a_mask_changes_which_docs_of_a_bag_return_never_their_scores(
    core: ModuleType,
) -> None:
    """A mask (a filter, deletes) keeps docs out of a bag of words' results: the core
    reads no posting of a doc it drops, and picks its per-doc bookkeeping by the share
    of docs the mask keeps. The docs, scores (every bit) and count are those of the pass
    without a mask, restricted to the docs it keeps: for every match (``keep`` 0) and
    for the best ``keep``, pruned or not, with a floor (a pruned count is a lower bound
    of at least ``min_total``). Dense bags with a page keep per-chunk bounds of their
    scores and skip chunks by them (a bound taken before a doc's last addition failed
    this), and a floor may prune with no count to reach before finding the segment's
    own ``keep``-th."""
    rng = np.random.default_rng(13706)
    pruned_cases = 0
    for case in range(500):
        bag = _random_bag(rng)
        slices, k1, mask, max_doc = bag["slices"], bag["k1"], bag["mask"], bag["max_doc"]
        every_docs, every_scores, _, _ = core.score_segment(*slices, k1, None, max_doc)
        kept = mask[every_docs]
        every_docs, every_scores = every_docs[kept], every_scores[kept]
        keep = bag["keep"]
        ranked = np.lexsort((every_docs, -every_scores))
        floor = 0.0
        if keep and len(ranked) and rng.random() < 0.4:
            floor = float(every_scores[ranked[int(rng.integers(0, len(ranked)))]])
        above = ranked[every_scores[ranked] >= np.float32(floor)]
        best = np.sort(every_docs[above[:keep]]) if keep else every_docs
        for prune in (False, True):
            docs, scores, count, pruned = core.score_segment(
                *slices, k1, mask, max_doc, keep, prune, bag["min_total"], None, floor
            )
            assert docs.tolist() == best.tolist(), case
            assert scores.tolist() == every_scores[np.searchsorted(every_docs, best)].tolist()
            if pruned:
                pruned_cases += 1
                assert min(bag["min_total"], len(every_docs)) <= count <= len(every_docs), case
            else:
                assert count == len(every_docs), case
    assert pruned_cases > 30  # (masked bags did prune: 500 cases, seed fixed)


def _other_maxima(arrays: tuple[Any, ...], longest: int, firsts: np.ndarray[Any, Any]) -> Any:
    """Per block of the longest slice: the largest ``x`` of the other slice's postings in
    the block's doc range (from its first doc to the next block's; the first from 0, the
    last to the segment's end) and the largest of those earning the bonus (-inf: none)."""
    other = 1 - longest
    docs, tfs, mults, forms = (items[other] for items in arrays[:4])
    flag, bonus = int(arrays[6][0]), float(arrays[7][0])
    x = tfs.astype(np.float32) * mults[docs.astype(np.int64)]
    earns = np.zeros(len(x), dtype=bool)
    if forms is not None and flag and bonus:
        earns = (forms & flag) == flag
    block = np.searchsorted(firsts[1:], docs, side="right")
    out = np.full(2 * len(firsts), -np.inf, dtype=np.float32)
    np.maximum.at(out, 2 * block, x)
    np.maximum.at(out, 2 * block + 1, np.where(earns, x, -np.inf).astype(np.float32))
    return out


def test_a_memo_of_the_other_slice_passes_its_docs_unread_with_the_same_page(
    core: ModuleType,
) -> None:
    """A memo of four floats a block also keeps, for a word in title and body, the
    largest ``x`` of the title's postings in each block's doc range (and of those earning
    the bonus): written as the core first reads them, equal to those maxima; a second
    call passes a skipped block's title docs unread where that bound cannot reach the
    page, with the exhaustive page and scores and the same count as a memo of two
    floats a block gives (the docs passed are those whose own bounds could not reach)."""
    rng = np.random.default_rng(6121207)
    filled = 0
    for case in range(500):
        unit = _random_unit(rng)
        if len(unit["arrays"][0]) == 1:
            continue
        arrays = tuple(_at_most_two_slices(rng, unit["arrays"]))
        keep, min_total = unit["keep"], unit["min_total"]
        every_docs, every_scores, every_count, _ = core.score_segment(*arrays)
        best = np.sort(every_docs[np.lexsort((every_docs, -every_scores))[:keep]])
        longest, bounds, block_forms = _block_bounds(rng, arrays)
        firsts = np.ascontiguousarray(arrays[0][longest][::BLOCK], dtype=np.int32)
        positive = bool(rng.random() < 0.5)
        wide = np.full(4 * len(bounds), np.nan, dtype=np.float32)
        narrow = np.full(2 * len(bounds), np.nan, dtype=np.float32)
        for call in range(2):
            counts = []
            for memo in (wide, narrow):
                blocks = (longest, bounds, block_forms, memo, firsts if call or case % 2 else None)
                docs, scores, count, _ = core.score_segment(
                    *arrays, keep, False, min_total, (*blocks, positive)
                )
                assert docs.tolist() == best.tolist(), (case, call)
                assert scores.tolist() == every_scores[np.searchsorted(every_docs, best)].tolist()
                counts.append(count)
            assert counts[0] == counts[1] <= every_count, (case, call)
        other = wide[2 * len(bounds) :]
        known = ~np.isnan(other)
        assert (known[0::2] == known[1::2]).all()
        expected = _other_maxima(arrays, longest, firsts)
        assert other[known].tolist() == expected[known].tolist(), case
        filled += int(known.all())
    assert filled > 100  # (the title's maxima were written: seed fixed)


def _title_beside_body(rng: np.random.Generator) -> tuple[tuple[Any, ...], int]:
    """A word's body (dense in its segment) and title slices: title docs near one another
    in the body's order and far apart, some with a body posting and some without, all
    with the typed form (their bonus lifts their bounds to the page, so a skipped block
    looks each one up among its postings), and the block size of the body."""
    max_doc = int(rng.integers(2000, 6000))
    body = np.sort(rng.choice(max_doc, size=int(max_doc * rng.uniform(0.3, 0.7)), replace=False))
    picked: list[int] = []
    at = int(rng.integers(0, 4))
    while at < len(body) and len(picked) * 4 < len(body) - 8:
        if rng.random() < 0.7:
            picked.append(int(body[at]))  # (a doc the body holds)
        else:
            picked.append(int(body[at]) + 1)  # (maybe one it lacks)
        at += int(rng.choice([1, 2, 3, 9, 17, 40, 130]))  # (within a few steps, or far)
    title = np.unique(np.array(picked, dtype=np.int64))
    title = title[title < max_doc]
    doc_type = np.uint16 if rng.random() < 0.5 else np.int32
    docs = [body.astype(doc_type), title.astype(doc_type)]
    tfs = [rng.integers(1, 4, size=len(d)).astype(np.uint8) for d in docs]
    mults = [_random_multipliers(rng, max_doc) for _ in docs]
    forms = [
        (rng.random(len(body)) < 0.1).astype(np.uint8),
        np.ones(len(title), dtype=np.uint8),
    ]
    figures = (
        np.zeros(2, dtype=np.int32),
        np.array([rng.uniform(0.5, 2)], dtype=np.float32),
        np.array([1], dtype=np.uint8),
        np.array([rng.uniform(1, 4)], dtype=np.float32),
    )
    k1 = float(rng.choice([0.3, 1.2]))
    return (docs, tfs, mults, forms, *figures, k1, None, max_doc), len(body)


def test_title_docs_looked_up_in_skipped_blocks_keep_the_page(core: ModuleType) -> None:
    """A skipped block's title docs whose bounds reach the page are found among the
    block's postings (a few steps in order, then halving): next to the last one found
    or far from it, held by the body or not, at a block's first or last posting. Pages
    and scores are the exhaustive pass's, the count at most the true one."""
    rng = np.random.default_rng(712001)
    skipped = 0
    for case in range(300):
        arrays, body_n = _title_beside_body(rng)
        keep = int(rng.integers(1, 12))
        every_docs, every_scores, every_count, _ = core.score_segment(*arrays)
        best = np.sort(every_docs[np.lexsort((every_docs, -every_scores))[:keep]])
        longest, bounds, block_forms = _block_bounds(rng, arrays)
        assert longest == 0 and len(bounds) == (body_n + BLOCK - 1) // BLOCK
        firsts = np.ascontiguousarray(arrays[0][0][::BLOCK], dtype=np.int32)
        memo = np.full(4 * len(bounds), np.nan, dtype=np.float32)
        for call in range(2):  # (the second reads the memo the first wrote)
            blocks = (longest, bounds, block_forms, memo, firsts, bool(case % 2))
            docs, scores, count, pruned = core.score_segment(*arrays, keep, False, 0, blocks)
            assert docs.tolist() == best.tolist(), (case, call)
            assert scores.tolist() == every_scores[np.searchsorted(every_docs, best)].tolist()
            assert count <= every_count
            skipped += bool(pruned)
    assert skipped > 300  # (blocks were skipped and their title docs looked up: seed fixed)


def _other_x(arrays: tuple[Any, ...], longest: int, scale: float = 1.0) -> np.ndarray[Any, Any]:
    """The other slice's ``x`` per posting (``tf * mult[doc]`` in float32, as the engine
    hands it to the core), times ``scale``."""
    docs, tfs, mults = (items[1 - longest] for items in arrays[:3])
    x = np.multiply(tfs, mults[docs.astype(np.int64)], dtype=np.float32)
    return (x * np.float32(scale)).astype(np.float32)


def _joined(
    core: ModuleType, arrays: tuple[Any, ...], longest: int, scale: float = 1.0
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Per posting of the other slice, its doc's ``x`` summed over both slices (float64,
    rounded once; times ``scale`` where the walked slice holds the doc) and whether the
    walked slice holds it, with that posting's form flags."""
    docs = arrays[0][1 - longest]
    walked_docs, walked_tfs, walked_mults, walked_forms = (items[longest] for items in arrays[:4])
    x = _other_x(arrays, longest)
    at = np.minimum(np.searchsorted(walked_docs, docs), len(walked_docs) - 1)
    held = walked_docs[at] == docs
    wx = np.multiply(walked_tfs[at], walked_mults[docs.astype(np.int64)], dtype=np.float32)
    summed = (x.astype(np.float64) + wx.astype(np.float64)).astype(np.float32)
    joined = np.where(held, summed * np.float32(scale), x).astype(np.float32)
    in_walked = held.astype(np.uint16) * np.uint16(core.JOINED_HELD_)
    if walked_forms is not None:
        in_walked |= np.where(held, walked_forms[at], 0).astype(np.uint16)
    return joined, in_walked


def test_the_other_slice_read_by_its_x_keeps_page_count_and_memo(core: ModuleType) -> None:
    """A word's title beside its body, the title's ``x`` per posting handed in (the
    seventh item of ``blocks``, read in order instead of each doc's multiplier): the same
    docs, scores, count and memo as the core gives reading the multipliers, over calls
    that fill the memo and calls that read it; random units cut to two slices and titles
    whose docs are looked up in skipped blocks."""
    rng = np.random.default_rng(7121207)
    skipped = 0
    for case in range(400):
        if case % 2:
            arrays, _ = _title_beside_body(rng)
            keep, min_total = int(rng.integers(1, 12)), 0
        else:
            unit = _random_unit(rng)
            if len(unit["arrays"][0]) == 1:
                continue
            arrays = tuple(_at_most_two_slices(rng, unit["arrays"]))
            keep, min_total = unit["keep"], unit["min_total"]
        longest, bounds, block_forms = _block_bounds(rng, arrays)
        firsts = np.ascontiguousarray(arrays[0][longest][::BLOCK], dtype=np.int32)
        positive = bool(rng.random() < 0.5)
        memos = [np.full(4 * len(bounds), np.nan, dtype=np.float32) for _ in range(3)]
        handed = [
            (None, None, None),
            (_other_x(arrays, longest), None, None),
            (_other_x(arrays, longest), *_joined(core, arrays, longest)),
        ]
        for call in range(2):
            found = []
            for memo, other in zip(memos, handed, strict=True):
                blocks = (longest, bounds, block_forms, memo, firsts, positive, *other)
                docs, scores, count, pruned = core.score_segment(
                    *arrays, keep, False, min_total, blocks
                )
                found.append((docs.tolist(), scores.tolist(), count, pruned))
            assert found[0] == found[1] == found[2], (case, call)
            skipped += bool(found[1][3])
        assert np.array_equal(memos[0], memos[1], equal_nan=True), case
        assert np.array_equal(memos[0], memos[2], equal_nan=True), case
    assert skipped > 200  # (blocks were skipped: seed fixed)


def test_the_other_slice_x_is_what_the_core_reads(core: ModuleType) -> None:
    """The title's ``x`` handed in is what the core scores the title's postings by (a
    doubled ``x`` changes the scores of the docs the title holds), and one of another
    length is refused; so are the joined sums (a skipped block's title docs held by the
    body are scored by them: doubled, some page's scores change)."""
    rng = np.random.default_rng(7121208)
    changed = joined_read = 0
    for _ in range(50):
        arrays, _ = _title_beside_body(rng)
        longest, bounds, block_forms = _block_bounds(rng, arrays)
        memo = np.full(4 * len(bounds), np.nan, dtype=np.float32)
        blocks = (longest, bounds, block_forms, memo, None, False)
        plain = core.score_segment(*arrays, 5, False, 0, (*blocks, None))
        memo[:] = np.nan
        doubled = core.score_segment(*arrays, 5, False, 0, (*blocks, _other_x(arrays, longest, 2)))
        changed += plain[1].tolist() != doubled[1].tolist()
        with pytest.raises(ValueError, match="other slice"):
            core.score_segment(*arrays, 5, False, 0, (*blocks, _other_x(arrays, longest)[1:]))
        x = _other_x(arrays, longest)
        for scale in (1, 2):
            memo[:] = np.nan
            joined = core.score_segment(
                *arrays, 5, False, 0, (*blocks, x, *_joined(core, arrays, longest, scale))
            )
            if scale == 1:
                assert joined[1].tolist() == plain[1].tolist()
        joined_read += joined[1].tolist() != plain[1].tolist()
        with pytest.raises(ValueError, match="joined"):
            core.score_segment(
                *arrays, 5, False, 0, (*blocks, x, x[1:], _joined(core, arrays, longest)[1][1:])
            )
    assert changed > 40 and joined_read > 10


def test_join_other_is_the_numpy_join(core: ModuleType) -> None:
    """``join_other`` (what the engine hands the core) gives the title's ``x``, the sums
    and the held flags the numpy join gives, for titles beside bodies and random units of
    two slices, of both doc types; None where a title doc lies outside the segment."""
    rng = np.random.default_rng(7121209)
    for case in range(300):
        if case % 2:
            arrays, _ = _title_beside_body(rng)
        else:
            arrays = tuple(_at_most_two_slices(rng, _random_unit(rng)["arrays"]))
            if len(arrays[0]) == 1:
                continue
        longest = max(range(2), key=lambda i: (len(arrays[0][i]), -i))
        other = 1 - longest
        found = core.join_other(
            *(items[other] for items in arrays[:3]),
            *(items[longest] for items in arrays[:4]),
        )
        joined, in_walked = _joined(core, arrays, longest)
        assert found[0].tolist() == _other_x(arrays, longest).tolist(), case
        assert found[1].tolist() == joined.tolist(), case
        assert found[2].tolist() == in_walked.tolist(), case
    docs = np.array([1, 5, 900], dtype=np.int32)
    ones = np.ones(3, np.uint8)
    mult = np.ones(100, np.float32)
    assert core.join_other(docs, ones, mult, docs[:2], ones[:2], mult, None) is None
