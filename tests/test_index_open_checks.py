"""The open checks' short-array path (segment._descends, segment._low_high): arrays up
to segment._SHORT long are checked as lists, longer ones by numpy; both must decide
alike, on both sides of the threshold."""

from __future__ import annotations

import numpy as np
import pytest

from bnsearch.errors import IndexFormatError
from bnsearch.index import segment


@pytest.mark.parametrize("dtype", [np.uint8, np.uint32, np.int32, np.int64, np.uint64])
def test_short_and_long_arrays_are_judged_as_numpy_judges_them(dtype: type) -> None:
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype)
    for length in [*range(0, 8), *range(segment._SHORT - 3, segment._SHORT + 4), 130]:
        for trial in range(20):
            values = rng.integers(info.min, info.max, size=length, dtype=dtype, endpoint=True)
            if trial % 2:
                values.sort()
                if trial % 4 == 1 and length > 1:  # one step back somewhere
                    at = int(rng.integers(1, length))
                    values[at] = values[at - 1] - 1 if values[at - 1] > info.min else values[at]
            expected = bool(np.any(values[1:] < values[:-1]))
            assert segment._descends(values) is expected
            if length:
                assert segment._low_high(values) == (int(values.min()), int(values.max()))
        # a strided column (the stored-block index's) is judged the same
        pairs = np.stack([np.arange(length, dtype=dtype), np.zeros(length, dtype=dtype)], 1)
        assert segment._descends(pairs[:, 0]) is False


def test_pointers_that_step_back_are_refused_short_or_long() -> None:
    def fail(message: str) -> None:
        raise IndexFormatError(message)

    for count in (3, segment._SHORT + 5):
        pointers = np.arange(count + 1, dtype=np.uint32)
        segment._check_pointers(pointers, count, count, fail, "offsets")
        pointers[2], pointers[1] = 1, 2
        with pytest.raises(IndexFormatError, match="offsets are not ascending"):
            segment._check_pointers(pointers, count, count, fail, "offsets")
