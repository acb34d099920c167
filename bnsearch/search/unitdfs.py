"""A unit's live document frequency over a snapshot, from its posting slices.

One rule: a document counts once however many of the unit's slices (fields, a
prefix's expansions) hold it, and only if live. :func:`live_doc_freqs` counts it for
the new units of a query on the compiled path (``_units.pyx``: a unit's longest slice
is searched, not walked, where nothing is deleted) or, where that module was not built,
with numpy (:func:`numpy_live_doc_freqs`: the reference the compiled count is tested
against; the numpy evaluation path counts the same union in ``Evaluator._combine``).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from bnsearch.search import kernel

#: ``units[u][s]``: the doc arrays (ascending, each unique) of unit ``u`` in segment ``s``.
UnitSlices = Sequence[Sequence[Sequence[npt.NDArray[Any]]]]

#: The compiled count, or None (numpy counts).
core: ModuleType | None = kernel.companion("_units")


def live_doc_freqs(
    units: UnitSlices,
    lives: Sequence[npt.NDArray[np.bool_] | None],
    max_docs: Sequence[int],
) -> list[int]:
    """Per unit, its live documents over the segments (``lives[s]``: segment ``s``'s
    live docs, None when it has no deletions; ``max_docs[s]``: its doc count)."""
    if core is not None:
        found: list[int] = core.live_doc_freqs(units, list(lives), list(max_docs))
        return found
    return numpy_live_doc_freqs(units, lives, max_docs)


def numpy_live_doc_freqs(
    units: UnitSlices,
    lives: Sequence[npt.NDArray[np.bool_] | None],
    max_docs: Sequence[int],
) -> list[int]:
    """:func:`live_doc_freqs` with numpy (the reference)."""
    out: list[int] = []
    for per_segment in units:
        total = 0
        for slices, live in zip(per_segment, lives, strict=True):
            if not slices:
                continue
            docs = slices[0] if len(slices) == 1 else np.unique(np.concatenate(slices))
            total += len(docs) if live is None else int(np.count_nonzero(live[docs]))
        out.append(total)
    return out
