"""The compiled count of a word's two slices with nothing deleted (``_units``: the
longer slice read against a bit table of the shorter one's docs, with no branch on the
docs read): the same counts as numpy's, and a doc outside the segment anywhere in the
longer slice (not only at its ends: a list out of order) is a format error that leaves
no bit behind."""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np
import pytest

from bnsearch.errors import IndexFormatError
from bnsearch.search import unitstats


def _units_module() -> ModuleType:
    try:
        return importlib.import_module("bnsearch.search._units")
    except ImportError as error:  # pragma: no cover - depends on the build
        pytest.skip(f"the compiled unit counts are not built: {error}")


@pytest.mark.parametrize(
    "kinds",
    [(np.uint16, np.uint16), (np.int32, np.uint16), (np.uint16, np.int32), (np.int32, np.int32)],
)
def test_two_slices_count_as_numpys(kinds: tuple[type, type]) -> None:
    compiled = _units_module()
    rng = np.random.default_rng(7)
    for trial in range(60):
        max_doc = int(rng.integers(1, 5000))
        many = np.sort(rng.choice(max_doc, size=int(rng.integers(1, max_doc + 1)), replace=False))
        few = np.sort(
            rng.choice(max_doc, size=max(1, len(many) // int(rng.integers(1, 20))), replace=False)
        )
        units = [[[few.astype(kinds[0]), many.astype(kinds[1])]]]
        got = compiled.live_doc_freqs(units, [None], [max_doc])
        assert got == unitstats.numpy_live_doc_freqs(units, [None], [max_doc]), trial
        assert got == [len(np.union1d(few, many))], trial


@pytest.mark.parametrize("bad", [-1, 6, 40000])
@pytest.mark.parametrize("kind", [np.uint16, np.int32])
def test_a_doc_outside_inside_the_longer_slice_is_a_format_error(bad: int, kind: type) -> None:
    compiled = _units_module()
    if bad < 0 and kind is np.uint16:
        bad = 65535
    many = np.array([0, 1, bad, 3, 4, 5], np.int64).astype(kind)
    few = np.array([0], kind)
    with pytest.raises(IndexFormatError):
        compiled.live_doc_freqs([[[few, many]]], [None], [6])
    good = [np.array([1], kind), np.array([0, 2, 3, 4, 5], kind)]
    assert compiled.live_doc_freqs([[good]], [None], [6]) == [6]
    assert compiled.live_doc_freqs([[[np.array([0], kind), good[1]]]], [None], [6]) == [5]
