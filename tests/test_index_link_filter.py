"""The filter of the keys the big segments' link edges name (linkmaps.hash_filter, held
by JoinedDocMaps): no key an edge names is turned away, most others are, and a writer
skipping those segments' edge lookups for the keys it turns away resolves as a
resolution from scratch does."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from test_index_link_updates import random_article, run_random_updates

from bnsearch.index import Index, MergePolicy, linkmaps, links


@pytest.mark.parametrize("sizes", [[], [0], [1], [7, 0, 3], [64], [4096, 5], [20_000, 300]])
@pytest.mark.parametrize("ascending", [True, False])
def test_a_filter_holds_every_hash_and_turns_most_others_away(
    sizes: list[int], ascending: bool
) -> None:
    """Every hash of every part passes (the extremes 0 and 2**64 - 1 among them, a hash
    repeated, parts sharing a byte of the filter, parts not ascending); random other
    hashes pass at about FILTER_BITS's rate (under 12% here), none when nothing is in."""
    rng = np.random.default_rng(sum(sizes) + len(sizes))
    parts = []
    for size in sizes:
        part = rng.integers(0, 2**64 - 1, size, dtype=np.uint64, endpoint=True)
        if size >= 2:
            part[:2] = [0, 2**64 - 1]
            part[-1] = part[0]  # (a key two edges name)
        parts.append(np.sort(part) if ascending else part)
    found = linkmaps.hash_filter(parts)
    total = sum(len(set(part.tolist())) for part in parts)
    assert len(found[1]) * 8 >= linkmaps.FILTER_BITS * total
    for part in parts:
        assert all(linkmaps.filter_holds(found, value) for value in part.tolist())
    others = rng.integers(0, 2**64 - 1, 4000, dtype=np.uint64, endpoint=True).tolist()
    passed = sum(linkmaps.filter_holds(found, value) for value in others)
    assert passed <= 0.12 * len(others)
    if total == 0:
        assert passed == 0


@pytest.fixture
def filtered(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Segments of two docs or more joined (tests' segments are small); the filter's
    answers counted: [may be named, named by none]."""
    monkeypatch.setattr(linkmaps, "JOINED_DOCS", 2)
    answers = [0, 0]
    may_name = linkmaps.JoinedDocMaps.may_name

    def counted(self: Any, keys: Any) -> bool:
        result = may_name(self, keys)
        answers[0 if result else 1] += 1
        return result

    monkeypatch.setattr(linkmaps.JoinedDocMaps, "may_name", counted)
    return answers


@pytest.mark.parametrize("seed", range(8))
def test_random_updates_with_the_big_segments_edge_lookups_filtered_match_from_scratch(
    seed: int, filtered: list[int]
) -> None:
    """Random adds (targets arriving after their linkers among them), upserts, deletes,
    rollbacks, merges and new writers, each commit checked against a resolution from
    scratch, the joined segments' edge lookups skipped when the filter turns every key
    of the batch away."""
    run_random_updates(
        Index.in_memory(),
        seed=seed,
        buffer_mb=128.0,
        processes=1,
        merge_policy=MergePolicy(merge_factor=2, floor_docs=1, background_docs=None),
    )
    assert filtered[1] > 0


def test_random_updates_go_wrong_with_a_filter_letting_nothing_through(
    filtered: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filter that let nothing through would skip the links naming a new article:
    with may_name always ``False`` the random updates go wrong (so the test above
    checks the skip)."""
    monkeypatch.setattr(linkmaps.JoinedDocMaps, "may_name", lambda self, keys: False)
    failed = 0
    for seed in range(8):
        try:
            run_random_updates(
                Index.in_memory(),
                seed=seed,
                buffer_mb=128.0,
                processes=1,
                merge_policy=MergePolicy(merge_factor=2, floor_docs=1, background_docs=None),
            )
        except AssertionError:
            failed += 1
    assert failed > 0


def test_every_key_a_members_edge_names_may_be_named() -> None:
    """Each target id, URL key and title key a big segment's link names passes the
    joined filter (a deleted linker's too: the maps keep deleted docs' edges)."""
    rng = random.Random(5)
    index = Index.in_memory()
    with index.writer() as writer:
        for number in range(300):
            writer.add(random_article(rng, f"n{number}"))
        writer.delete("n7")
    segments = index.reader().segments
    joined = linkmaps.JoinedDocMaps(list(segments))
    named = 0
    for segment in segments:
        maps = links.segment_link_maps(segment)
        for keys in maps.edges_keys(range(len(segment.link_src))):
            for key in filter(None, keys):
                assert joined.may_name([key]), key
                named += 1
    assert named > 0
    assert not joined.may_name(["", ""])
