"""One-byte field-length norms: encode a field's length into a code, decode it back.

Each document stores one byte per text field. Lengths 0..39 are exact; above that the
codes grow geometrically (about 8.6% per step) up to 2**31, so a long article and a
slightly longer one share a code. :data:`NORM_DECODE` is the 256-entry table that gives
the length each code stands for (as float64, ready for BM25 arithmetic); the search room
builds its per-query cache ``k1 * (1 - b + b * NORM_DECODE / avg)`` from it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Lengths below this are encoded exactly.
EXACT_BELOW = 40


def _build_table() -> npt.NDArray[np.int64]:
    table = np.zeros(256, dtype=np.int64)
    table[:EXACT_BELOW] = np.arange(EXACT_BELOW)
    steps = 255 - EXACT_BELOW
    growth = (2.0**31 / EXACT_BELOW) ** (1.0 / steps)
    for code in range(EXACT_BELOW, 256):
        geometric = round(EXACT_BELOW * growth ** (code - EXACT_BELOW))
        table[code] = max(int(table[code - 1]) + 1, geometric)
    return table


_TABLE = _build_table()

#: The length (float64) each one-byte code stands for; strictly increasing, code 0 = 0.
NORM_DECODE: npt.NDArray[np.float64] = _TABLE.astype(np.float64)
NORM_DECODE.setflags(write=False)


def encode_lengths(lengths: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Codes for an array of non-negative lengths: the largest code not above each length."""
    values = np.asarray(lengths, dtype=np.int64)
    codes = np.searchsorted(_TABLE, values, side="right") - 1
    # (the table has 256 entries, so a code never passes 255; only a negative length
    # falls below 0: np.maximum, a third of np.clip's cost on a flush's few lengths)
    return np.maximum(codes, 0).astype(np.uint8)
