"""numpy idioms more than one room needs: the gather index of several runs of an array."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def run_positions(starts: npt.ArrayLike, counts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The positions ``starts[0]`` .. ``starts[0] + counts[0] - 1``, then those of the
    next run, and so on, in one int64 array: ``values[run_positions(s, c)]`` is the runs
    of ``values`` joined, without a Python loop a run."""
    lengths: npt.NDArray[Any] = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(lengths)
    found: npt.NDArray[np.int64] = np.repeat(
        np.asarray(starts, dtype=np.int64) - (ends - lengths), lengths
    )
    found += np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64)
    return found
