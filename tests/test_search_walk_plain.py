"""The compiled core's plain walk (every posting of a slice, no block bounds) against a
numpy sum written here, on random segments.

``score_segment`` is called with several units of one to three slices each (a slice
summed into the unit's ``x``, the last finishing it), random multipliers, form flags
and exact-form bonuses, with and without a mask, exhaustive and pruned (the candidates'
postings only). Every doc's score must be the reference's; a doc outside the segment
after good postings is a format error and the next call is unharmed. Skipped without
the built extension.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from bnsearch.errors import IndexFormatError

from .conftest import compiled_core

K1 = 1.2


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return compiled_core()


def _random_segment(rng: np.random.Generator) -> dict[str, Any]:
    max_doc = int(rng.integers(50, 2000))
    n_units = int(rng.integers(1, 5))
    doc_type = np.uint16 if rng.random() < 0.5 else np.int32
    docs, tfs, mults, forms, owners = [], [], [], [], []
    for unit in range(n_units):
        for _ in range(int(rng.integers(1, 4))):
            length = int(rng.integers(1, max_doc))
            docs.append(np.sort(rng.choice(max_doc, size=length, replace=False)).astype(doc_type))
            tf_type = rng.choice([np.uint8, np.uint16, np.uint32])
            tfs.append(rng.integers(1, 9, size=length).astype(tf_type))
            mults.append(rng.random(max_doc).astype(np.float32))
            with_forms = rng.random() < 0.6
            forms.append(rng.integers(0, 4, size=length).astype(np.uint8) if with_forms else None)
            owners.append(unit)
    weights = (rng.random(n_units) * 3 + 0.1).astype(np.float32)
    flags = rng.integers(1, 4, size=n_units).astype(np.uint8)
    bonuses = np.where(rng.random(n_units) < 0.6, rng.random(n_units), 0).astype(np.float32)
    order = np.argsort(-(weights + bonuses), kind="stable")  # (pruning wants them falling)
    rank = np.empty(n_units, np.int64)
    rank[order] = np.arange(n_units)
    owners_arr = rank[np.array(owners)].astype(np.int32)
    by_owner = np.argsort(owners_arr, kind="stable")
    mask = rng.random(max_doc) < 0.7 if rng.random() < 0.5 else None
    return {
        "docs": [docs[p] for p in by_owner],
        "tfs": [tfs[p] for p in by_owner],
        "mults": [mults[p] for p in by_owner],
        "forms": [forms[p] for p in by_owner],
        "owners": owners_arr[by_owner],
        "weights": weights[order],
        "flags": flags[order],
        "bonuses": bonuses[order],
        "mask": mask,
        "max_doc": max_doc,
    }


def _reference(seg: dict[str, Any]) -> np.ndarray[Any, Any]:
    """Every doc's score (NaN: no match): a unit's float32 ``x`` summed over its slices,
    saturated in float32, the bonus once where a posting's flags hold the unit's."""
    max_doc = seg["max_doc"]
    acc = np.zeros(max_doc, np.float64)
    matched = np.zeros(max_doc, bool)
    for unit in range(len(seg["weights"])):
        xsum = np.zeros(max_doc, np.float64)
        earned = np.zeros(max_doc, bool)
        hit = np.zeros(max_doc, bool)
        for p in np.flatnonzero(seg["owners"] == unit):
            d = seg["docs"][p].astype(np.int64)
            xsum[d] += seg["tfs"][p].astype(np.float32) * seg["mults"][p][d]
            hit[d] = True
            if seg["forms"][p] is not None and seg["bonuses"][unit] != 0:
                flag = seg["flags"][unit]
                earned[d[(seg["forms"][p] & flag) == flag]] = True
        x = xsum.astype(np.float32)
        saturated = (x / (x + np.float32(K1))).astype(np.float32) * seg["weights"][unit]
        acc[hit] += saturated[hit].astype(np.float64)
        acc[earned] += np.float64(seg["bonuses"][unit])
        matched |= hit
    if seg["mask"] is not None:
        matched &= seg["mask"]
    return np.where(matched, acc, np.nan)


def _call(core: ModuleType, seg: dict[str, Any], keep: int = 0, prune: bool = False) -> Any:
    return core.score_segment(
        seg["docs"],
        seg["tfs"],
        seg["mults"],
        seg["forms"],
        seg["owners"],
        seg["weights"],
        seg["flags"],
        seg["bonuses"],
        K1,
        seg["mask"],
        seg["max_doc"],
        keep,
        prune,
    )


@pytest.mark.parametrize("seed", range(40))
def test_every_docs_score_is_the_numpy_sum(core: ModuleType, seed: int) -> None:
    rng = np.random.default_rng(seed)
    seg = _random_segment(rng)
    want = _reference(seg)
    docs, scores, count, _ = _call(core, seg)
    expected = np.flatnonzero(~np.isnan(want))
    assert docs.tolist() == expected.tolist()
    assert count == len(expected)
    np.testing.assert_allclose(scores, want[expected].astype(np.float32), rtol=1e-6)
    keep = int(rng.integers(1, 20))
    for prune in (False, True):
        best, best_scores, total, _ = _call(core, seg, keep, prune)
        ranked = sorted(
            zip(scores.tolist(), docs.tolist(), strict=True), key=lambda s: (-s[0], s[1])
        )
        assert sorted(best.tolist()) == sorted(d for _, d in ranked[:keep])
        assert best_scores.tolist() == [scores[docs.tolist().index(d)] for d in best.tolist()]
        assert total <= count if prune else total == count


def test_a_doc_outside_the_segment_after_good_postings_is_a_format_error(core: ModuleType) -> None:
    seg = _random_segment(np.random.default_rng(99))
    for bad in (-1, seg["max_doc"], seg["max_doc"] + 70000):
        broken = dict(seg)
        last = seg["docs"][-1].astype(np.int64)
        broken["docs"] = [*seg["docs"][:-1], np.append(last, bad).astype(np.int32)]
        broken["tfs"] = [*seg["tfs"][:-1], np.append(seg["tfs"][-1], 1).astype(np.uint8)]
        forms = seg["forms"][-1]
        broken["forms"] = [
            *seg["forms"][:-1],
            None if forms is None else np.append(forms, 3).astype(np.uint8),
        ]
        with pytest.raises(IndexFormatError, match="outside its segment"):
            _call(core, broken)
        docs, scores, _, _ = _call(core, seg)  # (the shared tables left clean)
        want = _reference(seg)
        assert docs.tolist() == np.flatnonzero(~np.isnan(want)).tolist()
        np.testing.assert_allclose(scores, want[docs].astype(np.float32), rtol=1e-6)
