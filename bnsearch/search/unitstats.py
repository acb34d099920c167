"""What a new unit's record (:class:`~.engine.UnitArgs`) computes from its posting
slices: its live document frequency over a snapshot and, searched alone, the block
bounds of its longest slice in a segment. Each in compiled code (``_units.pyx``) or,
where that module was not built, with numpy: the reference the compiled code is tested
against (``tests/test_search_unitstats.py``).

* Live document frequency: a document counts once however many of the unit's slices
  (fields, a prefix's expansions) hold it, and only if live (the numpy evaluation path
  counts the same union in ``Evaluator._combine``). Compiled, a unit's longest slice is
  counted by its length where nothing is deleted and the shorter ones looked up in it.
* Block bounds: per block of a slice a bound on its postings' ``x``, the block's
  largest tf times the largest multiplier at or above its smallest length code (in
  float32, as the core computes ``x``), the memo of exact block maxima (four NaNs a
  block) and each block's first doc.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from bnsearch.arrays import distinct
from bnsearch.index.blockmax import BLOCK
from bnsearch.search import kernel

Array = npt.NDArray[Any]
Floats = npt.NDArray[np.float32]
#: ``(bound, exact, firsts)`` of a slice's blocks (:func:`block_bounds`)
Bounds = tuple[Floats, Floats, npt.NDArray[np.int32]]
#: ``units[u][s]``: the doc arrays (ascending, each unique) of unit ``u`` in segment ``s``
#: (or, for :func:`live_doc_freqs`' ``at``, a sequence holding them at ``at``).
UnitSlices = Sequence[Sequence[Sequence[Any]]]

#: The compiled count, or None (numpy counts).
core: ModuleType | None = kernel.companion("_units")


def live_doc_freqs(
    units: UnitSlices,
    lives: Sequence[npt.NDArray[np.bool_] | None],
    max_docs: Sequence[int],
    at: int = -1,
) -> list[int]:
    """Per unit, its live documents over the segments (``lives[s]``: segment ``s``'s
    live docs, None when it has no deletions; ``max_docs[s]``: its doc count; ``at``:
    the doc arrays are ``units[u][s][at]``, as the engine's ``Pieces`` hold them at 1)."""
    if core is not None:
        # (lists passed as they are: the context's are lists, a copy a call was 0.1 us)
        found: list[int] = core.live_doc_freqs(
            units if isinstance(units, list) else list(units),
            lives if isinstance(lives, list) else list(lives),
            max_docs if isinstance(max_docs, list) else list(max_docs),
            at,
        )
        return found
    return numpy_live_doc_freqs(units, lives, max_docs, at)


def block_bounds(tfs: Array, norms: Array, highest: Floats, docs: Array) -> Bounds:
    """``(bound, exact, firsts)`` of a slice of ``docs`` cut into blocks of
    :data:`~bnsearch.index.blockmax.BLOCK` postings, given per block its largest tf
    (``tfs``) and smallest length code (``norms``), and ``highest`` (256 multipliers:
    per length code the largest at or above it)."""
    if core is not None:
        found: Any = core.block_bounds(tfs, norms, highest, docs, BLOCK)
        if found is not None:  # (None: arrays of other types than the writers write)
            return found  # type: ignore[no-any-return]
    return numpy_block_bounds(tfs, norms, highest, docs)


def numpy_block_bounds(tfs: Array, norms: Array, highest: Floats, docs: Array) -> Bounds:
    """:func:`block_bounds` with numpy (the reference)."""
    bound: Floats = np.multiply(tfs, highest[norms], dtype=np.float32)
    exact: Floats = np.full(4 * len(bound), np.nan, dtype=np.float32)
    firsts = np.ascontiguousarray(docs[::BLOCK], dtype=np.int32)
    return bound, exact, firsts


def numpy_live_doc_freqs(
    units: UnitSlices,
    lives: Sequence[npt.NDArray[np.bool_] | None],
    max_docs: Sequence[int],
    at: int = -1,
) -> list[int]:
    """:func:`live_doc_freqs` with numpy (the reference)."""
    out: list[int] = []
    for per_segment in units:
        total = 0
        for held, live in zip(per_segment, lives, strict=True):
            slices = held if at < 0 else held[at]
            if not slices:
                continue
            docs = slices[0] if len(slices) == 1 else distinct(np.concatenate(slices))
            total += len(docs) if live is None else int(np.count_nonzero(live[docs]))
        out.append(total)
    return out
