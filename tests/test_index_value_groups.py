"""A handful of docs' value postings cut per group (``builder._group_maxima``,
``builder.postings_fields``) against each group taken alone."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bnsearch.index.builder import _group_maxima, postings_field, postings_fields
from bnsearch.index.schema import news_schema


@pytest.mark.parametrize("seed", range(12))
def test_group_maxima_are_each_groups_own(seed: int) -> None:
    """One reduction gives each group its own largest value: empty groups first, in
    the middle and last, values past the last bound left out."""
    rng = random.Random(seed)
    sizes = [rng.choice([0, 0, 1, 2, 5]) for _ in range(rng.randrange(1, 8))]
    bounds = [0]
    for size in sizes:
        bounds.append(bounds[-1] + size)
    tail = rng.randrange(0, 3)  # (values past the groups: not theirs)
    values = np.array([rng.randrange(0, 70_000) for _ in range(bounds[-1] + tail)], dtype=np.int64)
    want = [
        int(values[bounds[number] : bounds[number + 1]].max()) if size else 0
        for number, size in enumerate(sizes)
    ]
    assert _group_maxima(values, bounds) == want


@pytest.mark.parametrize("seed", range(8))
def test_postings_of_several_groups_are_each_groups_alone(seed: int) -> None:
    """``postings_fields`` of several groups (term -> doc -> held) gives each group the
    arrays ``postings_field`` gives it alone (values and dtypes): groups without
    postings among them, frequencies and positions past 255 in some."""
    rng = random.Random(seed)
    schema = news_schema()
    spec = next(s for s in schema.fields if s.source == "anchors")
    words = [f"w{n}" for n in range(9)]
    tables, lengths, sizes, alone = [], [], [], []
    for _ in range(rng.randrange(1, 6)):
        size = rng.randrange(1, 5)
        flat: dict[tuple[str, int], list[int]] = {}
        own_lengths = []
        for doc in range(size):
            count = 0 if rng.random() < 0.3 else rng.randrange(1, 6)
            if count and rng.random() < 0.2:
                count = 300
            for position in range(count):
                held = flat.setdefault((rng.choice(words), doc), [0])
                held[0] |= rng.randrange(0, 4)
                held.append(position * rng.choice([1, 1, 300]))
            own_lengths.append(count)
        table: dict[str, dict[int, list[int]]] = {}
        for term, doc in sorted(flat):
            table.setdefault(term, {})[doc] = flat[(term, doc)]
        tables.append(table)
        lengths.extend(own_lengths)
        sizes.append(size)
        alone.append(postings_field(spec, flat, own_lengths, size, True))
    got = postings_fields(spec, tables, lengths, sizes, True)
    assert len(got) == len(alone)
    for arrays, want in zip(got, alone, strict=True):
        assert arrays.keys() == want.keys()
        for key, value in want.items():
            if isinstance(value, list):
                assert arrays[key] == value
            else:
                assert arrays[key].dtype == value.dtype, key
                assert np.array_equal(arrays[key], value), key
