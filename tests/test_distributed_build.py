"""A shard's build in a process whose malloc thresholds were fixed at its start (a Dask
worker): :func:`bnsearch.heap.bulk_allocation`, which every shard build runs in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import shared_file

from bnsearch import heap
from bnsearch.distributed import ShardedIndex
from bnsearch.distributed.build import SourceBatch, build_shard
from bnsearch.index import Index

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """What ``bulk_allocation`` asks of the C library, recorded instead of done."""
    seen: list[tuple[str, int]] = []

    def mallopt(parameter: int, value: int) -> int:
        seen.append(
            ({heap.M_TRIM_THRESHOLD: "trim", heap.M_MMAP_THRESHOLD: "mmap"}[parameter], value)
        )
        return 1

    monkeypatch.setattr(heap, "_mallopt", lambda: mallopt)
    monkeypatch.setattr(heap, "give_back_memory", lambda: seen.append(("give back", 0)))
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    return seen


def test_a_dask_workers_fixed_trim_threshold_is_lifted_for_the_build_and_put_back(
    calls: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # what a Dask nanny sets
    with heap.bulk_allocation():
        assert calls == [("trim", heap.BUILD_TRIM_THRESHOLD), ("mmap", heap.BUILD_MMAP_THRESHOLD)]
    # the worker's own trim threshold again, glibc's default mmap threshold (fixed, as it
    # was: the variable had turned the dynamic one off), and the free pages given back
    assert calls[2:] == [("trim", 65536), ("mmap", 128 * 1024), ("give back", 0)]


def test_the_thresholds_are_put_back_when_the_build_fails(
    calls: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "262144")
    with pytest.raises(RuntimeError), heap.bulk_allocation():
        raise RuntimeError("the build failed")
    assert calls[2:] == [("trim", 128 * 1024), ("mmap", 262144), ("give back", 0)]


def test_a_process_with_dynamic_thresholds_is_left_alone(calls: list[tuple[str, int]]) -> None:
    with heap.bulk_allocation():
        pass
    assert calls == []  # a threshold once set would stay fixed: glibc's dynamic one is better


BUILD_IN_A_WORKER_LIKE_PROCESS = """
import sys
from bnsearch.distributed.build import SourceBatch, build_shard
from bnsearch.heap import _mallopt
assert _mallopt() is not None  # glibc: the thresholds really are changed
print(build_shard(sys.argv[1], SourceBatch((sys.argv[2],), 1, 2), []))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_a_shard_built_under_a_fixed_trim_threshold_is_the_same_shard(tmp_path: Path) -> None:
    corpus = shared_file("corpus/belin_religious_news.jsonl")
    source = tmp_path / "belin-400.jsonl"
    with corpus.open(encoding="utf-8") as lines, source.open("w", encoding="utf-8") as out:
        for _, line in zip(range(400), lines, strict=False):
            out.write(line)
    here = ShardedIndex.create(tmp_path / "here", shards=2)
    there = ShardedIndex.create(tmp_path / "there", shards=2)
    build_shard(str(here.shard_paths[1]), SourceBatch((str(source),), 1, 2), [])
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            BUILD_IN_A_WORKER_LIKE_PROCESS,
            str(there.shard_paths[1]),
            str(source),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    one, other = Index.open(here.shard_paths[1]), Index.open(there.shard_paths[1])
    assert one.doc_count == other.doc_count > 150  # about half of the 400
    ids = [json.loads(line)["id"] for line in source.read_text(encoding="utf-8").splitlines()]
    mine = {i for i in ids if here.shard_of(i) == 1}
    a, b = one.searcher(), other.searcher()
    for query in ("ইসলাম", "মসজিদ নামাজ", '"পবিত্র কোরআন"', "ধর্ম*"):
        left, right = a.search(query, limit=20), b.search(query, limit=20)
        assert [(h.id, h.score) for h in left] == [(h.id, h.score) for h in right]
        assert {h.id for h in left} <= mine
        assert left.total == right.total > 0
