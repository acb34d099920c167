"""The core's layout of a new combination of units (``_kernel.lay_out_units``).

A query of several units met before takes each unit's share of the core's arguments
from its :class:`~bnsearch.search.engine.UnitArgs` and has the core lay them end to
end. These tests give it random shares and figures (ties of bound, negative weights,
units without slices, several segments) and check its layout against the rule written
out in Python: the order MaxScore reads the units in (falling float32 ``weight +
bonus``, summed in double, ties in the order given; no reordering where a weight is
negative), the float32 and uint8 figures in that order, and per segment the slices laid
end to end with their owners and a unit's form flags only where it asks for the bonus.
Skipped without the built extension.
"""

from __future__ import annotations

import random
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from .conftest import compiled_core


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return compiled_core()


def _share(rng: random.Random, unit: int, segment: int) -> tuple[Any, ...]:
    slices = rng.choice([0, 1, 1, 2, 3])
    docs = [np.arange(unit * 10 + i, dtype=np.int32) for i in range(slices)]
    tfs = [np.ones(len(d), dtype=np.uint16) for d in docs]
    mults = [np.full(4, segment + i, dtype=np.float32) for i in range(slices)]
    forms = [np.full(len(d), unit, dtype=np.uint8) for d in docs]
    parts = [("body", d, t, 0) for d, t in zip(docs, tfs, strict=True)]
    return (parts, docs, tfs, mults, forms)


def _expected_order(figures: list[tuple[float, float, int]], prune: bool) -> tuple[list[int], bool]:
    weights = [float(np.float32(w)) for w, _, _ in figures]
    bonuses = [float(np.float32(b)) for _, b, _ in figures]
    prune = prune and all(w >= 0 for w in weights)
    if not prune:
        return list(range(len(figures))), False
    falling = [-(w + b) for w, b in zip(weights, bonuses, strict=True)]
    return sorted(range(len(figures)), key=falling.__getitem__), True


@pytest.mark.parametrize("seed", range(40))
def test_a_combination_is_laid_out_in_maxscore_order(core: ModuleType, seed: int) -> None:
    rng = random.Random(seed)
    units = rng.randint(1, 12)
    segments = rng.randint(1, 4)
    levels = [0.0, 0.5, 1.25, 1.25 + 1e-9, 3.0]  # (ties, and a tie only in double)
    figures = [
        (
            rng.choice(levels) * (-1 if rng.random() < 0.08 else 1),
            rng.choice([0.0, 0.0, 0.25, 0.5]),
            rng.choice([0, 0, 1, 3]),
        )
        for _ in range(units)
    ]
    pieces = [[_share(rng, u, s) for s in range(segments)] for u in range(units)]
    asked = rng.random() < 0.8
    weights, flags, bonuses, prune, order, laid = core.lay_out_units(
        pieces, figures, asked, segments
    )
    expected, expected_prune = _expected_order(figures, asked)
    assert order == expected and prune == expected_prune
    assert list(weights) == [float(np.float32(figures[u][0])) for u in order]
    assert list(bonuses) == [float(np.float32(figures[u][1])) for u in order]
    assert list(flags) == [figures[u][2] for u in order]
    assert len(laid) == segments
    for s, (docs, tfs, mults, forms, owners) in enumerate(laid):
        want_docs = [d for u in order for d in pieces[u][s][1]]
        assert all(a is b for a, b in zip(docs, want_docs, strict=True))
        want_tfs = [t for u in order for t in pieces[u][s][2]]
        want_mults = [m for u in order for m in pieces[u][s][3]]
        assert all(a is b for a, b in zip(tfs, want_tfs, strict=True))
        assert all(a is b for a, b in zip(mults, want_mults, strict=True))
        assert len(tfs) == len(mults) == len(forms) == len(docs)
        want_owners = [i for i, u in enumerate(order) for _ in pieces[u][s][1]]
        assert list(owners) == want_owners and owners.itemsize == 4
        want_forms = [f if figures[u][2] else None for u in order for f in pieces[u][s][4]]
        assert all(
            (a is None and b is None) or a is b for a, b in zip(forms, want_forms, strict=True)
        )


def test_shares_that_do_not_match_the_figures_raise(core: ModuleType) -> None:
    share = ([], [], [], [], [])
    with pytest.raises(ValueError):
        core.lay_out_units([[share]], [], False, 1)
    with pytest.raises(ValueError):
        core.lay_out_units([[share]], [(1.0, 0.0, 0)], False, 2)
    with pytest.raises(OverflowError):
        core.lay_out_units([[share]], [(1.0, 0.0, 300)], False, 1)
    for figures in ([None], [(1.0, 0.0)]):
        with pytest.raises(ValueError):
            core.lay_out_units([[share]], figures, False, 1)
    for pieces in ([[share[:4]]], [[None]], [(share,)]):
        with pytest.raises(ValueError):
            core.lay_out_units(pieces, [(1.0, 0.0, 0)], False, 1)
    with pytest.raises(TypeError):
        core.lay_out_units([[list(share)]], [(1.0, 0.0, 0)], False, 1)
