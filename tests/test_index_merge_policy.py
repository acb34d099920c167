"""The merge policy's selection rule over whole commit sequences (no index is written:
``MergePolicy.select`` is run on segment entries the way a writer runs it at commit).

The rule under test (bnsearch/index/merge.py): a segment is not merged with segments much
smaller than itself, so one-article commits into a large index merge among themselves
instead of rewriting the large segment every ``merge_factor`` commits; the segment count
stays bounded, and every doc is kept.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from bnsearch.index import MergePolicy
from bnsearch.index.manifest import SegmentEntry


def publish(
    policy: MergePolicy, commits: list[int], base: Sequence[int] = ()
) -> tuple[int, int, list[int]]:
    """Commit segments of ``commits`` docs one after another onto segments of ``base``
    docs (merged first as the policy selects, not counted), merging what the policy
    selects after each commit until it selects nothing (as the writer does). Returns the
    docs written by the commits' merges, the largest segment count seen after a commit's
    merges and the final segment sizes."""
    names = (f"s{number}" for number in itertools.count())
    entries = [SegmentEntry(name=next(names), max_doc=size) for size in base]

    def merge() -> int:
        nonlocal entries
        written = 0
        while groups := policy.select(entries):
            merged = [sum(entries[index].max_doc for index in group) for group in groups]
            written += sum(merged)
            gone = {index for group in groups for index in group}
            entries = [entry for index, entry in enumerate(entries) if index not in gone]
            entries += [SegmentEntry(name=next(names), max_doc=n) for n in merged]
        return written

    merge()
    written = most = 0
    for size in commits:
        entries.append(SegmentEntry(name=next(names), max_doc=size))
        written += merge()
        most = max(most, len(entries))
    return written, most, sorted(entry.max_doc for entry in entries)


def entries(*sizes: int) -> list[SegmentEntry]:
    return [SegmentEntry(name=f"s{index}", max_doc=size) for index, size in enumerate(sizes)]


def test_a_large_segment_is_not_merged_with_much_smaller_ones() -> None:
    policy = MergePolicy()  # merge_factor 8, floor_docs 2,000: tier 0 below 16,000 docs
    assert policy.select(entries(10_000, 1, 1, 1, 1, 1, 1, 1)) == []
    # the eighth one-doc segment: the small ones merge among themselves
    assert policy.select(entries(10_000, *[1] * 8)) == [list(range(1, 9))]
    # segments just under a tier boundary are not rewritten for one new article
    assert policy.select(entries(*[15_000] * 7, 1)) == []
    # ... but equal ones merge as before, and so do small ones grown to the large one's
    # size (the large one outweighs them by no more than merge_factor)
    assert policy.select(entries(*[15_000] * 8)) == [list(range(8))]
    assert policy.select(entries(10_000, *[200] * 7)) == [list(range(8))]
    # the members too small for a larger one wait; the larger ones still merge
    assert policy.select(entries(1, 1, 1, *[5_000] * 8)) == [list(range(3, 11))]


def test_one_article_commits_into_10k_do_not_rewrite_it() -> None:
    """Before this rule the 10k segment was merged again every eighth commit: 300
    one-article commits wrote about 1,400 docs per article; now a handful."""
    written, most, sizes = publish(MergePolicy(), [1] * 300, base=[10_000])
    assert written / 300 <= 4 * math.log(10_300, 8) + 2, written
    assert sum(sizes) == 10_300
    assert 10_000 in sizes  # never rewritten
    assert most <= 7 * (math.log(10_300, 8) + 2)


@settings(max_examples=60, deadline=None)
@given(
    merge_factor=st.integers(2, 8),
    floor_docs=st.sampled_from([1, 10, 100, 2_000]),
    base=st.lists(st.sampled_from([1, 100, 5_000, 15_000]), max_size=3),
    commits=st.lists(st.sampled_from([1, 1, 1, 1, 3, 20, 200]), min_size=1, max_size=400),
)
def test_random_commit_sequences_keep_docs_bound_segments_and_merge_work(
    merge_factor: int, floor_docs: int, base: list[int], commits: list[int]
) -> None:
    policy = MergePolicy(merge_factor=merge_factor, floor_docs=floor_docs)
    written, most, sizes = publish(policy, commits, base)
    total = sum(base) + sum(commits)
    assert sum(sizes) == total  # every doc kept
    levels = math.log(max(total, merge_factor), merge_factor)
    # about merge_factor - 1 segments a level of sizes merge_factor apart
    assert most <= (merge_factor - 1) * (levels + 2) + len(base), (most, sizes)
    # write amplification: docs merged per committed doc, about log_merge_factor(N)
    assert written / sum(commits) <= 4 * levels + 2, written
