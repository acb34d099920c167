"""Index room: the one CSR postings builder (merges and anchor updates share it)."""

from __future__ import annotations

import random

import pytest

from bnsearch.index.postings import union_vocabulary


@pytest.mark.parametrize("seed", range(5))
def test_union_vocabulary_is_the_sorted_union_with_every_terms_new_id(seed: int) -> None:
    rng = random.Random(seed)
    words = [f"শব্দ{rng.randrange(5000)}" for _ in range(20000)]
    for _ in range(60):  # a big list with small ones (the binary-search path) and balanced
        sizes = [rng.choice([1, 5, 50, 3000]) for _ in range(rng.randrange(1, 4))]
        lists = [sorted(set(rng.sample(words, size))) for size in sizes]
        vocab, maps = union_vocabulary(lists)
        assert vocab == sorted(set().union(*lists))
        for terms, ids in zip(lists, maps, strict=True):
            assert [vocab[i] for i in ids.tolist()] == terms
    assert union_vocabulary([]) == ([], [])
