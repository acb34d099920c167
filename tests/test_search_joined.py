"""A unit's joined memo (``_kernel.join_unit``) scores as the walk of its slices does.

Several units scored slice by slice read a unit with a memo from it (its docs, each
doc's saturated score, whether a posting of the doc earns the exact-form bonus) instead
of each slice's frequencies and the docs' multipliers. On random units (one to four
slices of uint16 or int32 docs, term frequencies of every stored width, multipliers
with ties and zeros, form flags, bonuses) ``score_segment`` with the memos must give
the same docs, scores (exactly), counts and pruning as without them: exhaustive,
the best ``keep``, MaxScore pruning with and without a count to reach first, masks.
Skipped without the built extension.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from .conftest import compiled_core

TF_TYPES = (np.uint8, np.uint16, np.uint32, np.int64)


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return compiled_core()


def _unit(rng: np.random.Generator, max_doc: int) -> list[tuple[Any, Any, Any, Any]]:
    """A unit's slices: (docs, tfs, multipliers, forms or None)."""
    slices = []
    for _ in range(int(rng.integers(1, 5))):
        size = int(rng.integers(0, max_doc // 2))
        docs = np.sort(rng.choice(max_doc, size, replace=False))
        docs = docs.astype(np.uint16 if max_doc < 65536 and rng.random() < 0.5 else np.int32)
        tfs = rng.integers(1, 6, size).astype(TF_TYPES[int(rng.integers(0, 4))])
        mult = rng.choice([0.0, 0.25, 0.5, 1.5], max_doc).astype(np.float32)
        if rng.random() < 0.5:
            mult = rng.random(max_doc).astype(np.float32)
        forms = rng.integers(0, 8, size).astype(np.uint8) if rng.random() < 0.7 else None
        slices.append((docs, tfs, mult, forms))
    return slices


def _arguments(units: list[list[tuple[Any, Any, Any, Any]]], rng: np.random.Generator) -> Any:
    docs, tfs, mults, forms, owners = [], [], [], [], []
    for u, slices in enumerate(units):
        for d, t, m, f in slices:
            docs.append(d)
            tfs.append(t)
            mults.append(m)
            forms.append(f)
            owners.append(u)
    n = len(units)
    weights = (rng.random(n) * 5 + 0.01).astype(np.float32)
    bonuses = np.where(rng.random(n) < 0.5, rng.random(n) * 2, 0).astype(np.float32)
    flags = rng.integers(0, 4, n).astype(np.uint8)
    # (MaxScore wants the units in order of falling weight + bonus)
    order = np.argsort(-(weights.astype(np.float64) + bonuses), kind="stable")
    weights, bonuses, flags = weights[order], bonuses[order], flags[order]
    return docs, tfs, mults, forms, np.array(owners, np.int32), weights, flags, bonuses


@pytest.mark.parametrize("seed", range(6))
def test_joined_units_score_as_their_slices(core: ModuleType, seed: int) -> None:
    rng = np.random.default_rng(seed)
    k1 = np.float32(1.2)
    compared = pruned = 0
    for _ in range(60):
        max_doc = int(rng.choice([40, 300, 3000]))
        units = [_unit(rng, max_doc) for _ in range(int(rng.integers(2, 6)))]
        docs, tfs, mults, forms, owners, weights, flags, bonuses = _arguments(units, rng)
        # the units' slices in the order of ``owners`` (unit 0's first): regroup by owner
        by_unit: list[list[int]] = [[] for _ in units]
        for p, u in enumerate(owners.tolist()):
            by_unit[u].append(p)
        joined = []
        for u, ps in enumerate(by_unit):
            flag = int(flags[u]) if bonuses[u] else 0
            picked = [[column[p] for p in ps] for column in (docs, tfs, mults, forms)]
            joined.append(core.join_unit(*picked, flag, k1, float(weights[u]), max_doc))
        arrays = (docs, tfs, mults, forms, owners, weights, flags, bonuses, k1)
        mask = rng.random(max_doc) < 0.7 if rng.random() < 0.3 else None
        for keep, prune, need in ((0, False, 0), (5, False, 0), (7, True, 0), (3, True, 50)):
            args = (mask, max_doc, keep, prune, need, None, 0.0, None, 0)
            plain = core.score_segment(*arrays, *args)
            memo = core.score_segment(*arrays, *args, joined)
            assert plain[0].tolist() == memo[0].tolist()
            assert plain[1].tolist() == memo[1].tolist()  # (exactly the same floats)
            assert plain[2:] == memo[2:]
            compared += 1
            pruned += bool(memo[3])
        # the memo is what is read: other scores in it give other scores
        if any(len(j[0]) for j in joined):
            doubled = [(d, s * 2, h) for d, s, h in joined]
            exhaustive = core.score_segment(*arrays, None, max_doc, 0)
            changed = core.score_segment(
                *arrays, None, max_doc, 0, False, 0, None, 0.0, None, 0, doubled
            )
            assert exhaustive[1].tolist() != changed[1].tolist()
    assert compared == 240 and pruned >= 5


def test_a_joined_memo_is_the_slices_summed_then_saturated(core: ModuleType) -> None:
    """Two slices (a title beside a body): a doc in both sums both ``x`` in float64
    and rounds once; the bonus is held where any posting of the doc has the flags."""
    mult_t = np.array([2.0, 0.5, 1.0, 1.0], np.float32)
    mult_b = np.array([1.0, 0.25, 0.75, 3.0], np.float32)
    docs_t, tfs_t, forms_t = np.array([1, 3], np.int32), np.array([2, 1], np.uint8), None
    docs_b = np.array([0, 1, 2], np.uint16)
    tfs_b = np.array([1, 3, 2], np.uint16)
    forms_b = np.array([1, 3, 2], np.uint8)
    k1, weight = np.float32(1.2), np.float32(2.0)
    docs, scores, held = core.join_unit(
        [docs_t, docs_b], [tfs_t, tfs_b], [mult_t, mult_b], [forms_t, forms_b], 2, k1,
        float(weight), 4,
    )  # fmt: skip
    x = {
        0: np.float64(np.float32(1 * 1.0)),
        1: np.float64(np.float32(2 * 0.5)) + np.float64(np.float32(3 * np.float32(0.25))),
        2: np.float64(np.float32(2 * 0.75)),
        3: np.float64(np.float32(1 * 1.0)),
    }
    wanted = [np.float32(np.float32(v) / (np.float32(v) + k1)) * weight for v in x.values()]
    assert docs.tolist() == [0, 1, 2, 3]
    assert scores.tolist() == [float(np.float32(w)) for w in wanted]
    assert held.tolist() == [0, 1, 1, 0]
    assert core.join_unit([docs_b], [tfs_b], [mult_b], [forms_b], 0, k1, 2.0, 4)[2] is None


def test_bad_memos_and_slices_are_refused(core: ModuleType) -> None:
    docs = np.array([0, 2], np.int32)
    tfs = np.array([1, 1], np.uint8)
    mult = np.ones(3, np.float32)
    with pytest.raises(ValueError, match="ascend"):
        core.join_unit([docs[::-1].copy()], [tfs], [mult], [None], 0, 1.2, 1.0, 3)
    with pytest.raises(ValueError, match="ascend"):
        core.join_unit([docs], [tfs], [mult], [None], 0, 1.2, 1.0, 2)  # (doc 2 of 2)
    with pytest.raises(ValueError, match="shorter"):
        core.join_unit([docs], [tfs], [mult[:2]], [None], 0, 1.2, 1.0, 3)
    arrays = (
        [docs, docs], [tfs, tfs], [mult, mult], [None, None], np.array([0, 1], np.int32),
        np.array([2.0, 1.0], np.float32), np.zeros(2, np.uint8), np.zeros(2, np.float32),
        np.float32(1.2),
    )  # fmt: skip
    good = core.join_unit([docs], [tfs], [mult], [None], 0, 1.2, 1.0, 3)
    rest = (None, 3, 0, False, 0, None, 0.0, None, 0)
    with pytest.raises(ValueError, match="every unit"):
        core.score_segment(*arrays, *rest, [good])
    with pytest.raises(ValueError, match="int32, float32"):
        core.score_segment(*arrays, *rest, [good, (docs, good[1][:1], None)])
    with pytest.raises(ValueError, match="joined memo"):
        core.score_segment(*arrays, *rest, [good, [docs, good[1], None]])
