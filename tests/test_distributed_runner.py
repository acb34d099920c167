"""The runner of shard tasks on a real Dask cluster (a LocalCluster of two worker
processes): a failure that would fail again (the library's own error: a bad shard, bad
input) is not run again, a transient one (an OSError) is (review finding: every failure
was re-run ``retries`` times, so a bad shard was read three times before its error)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bnsearch.distributed.runner import Runner
from bnsearch.distributed.shard import ShardError
from bnsearch.errors import BnSearchError
from tests.test_distributed_dask import _cluster_client  # (skips without Dask)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    yield from _cluster_client()


def _counting(log: Path, error: BaseException | None, failures: int) -> Any:
    """A task that notes each run in ``log`` and raises ``error`` on its first
    ``failures`` runs (then answers its argument doubled)."""

    def task(value: int) -> int:
        with log.open("a") as notes:
            notes.write(f"{value}\n")
        runs = log.read_text().split().count(str(value))
        if error is not None and runs <= failures:
            raise error
        return value * 2

    return task


def test_the_library_error_is_not_run_again(client: Any, tmp_path: Path) -> None:
    log = tmp_path / "runs"
    task = _counting(log, ShardError("shard 1 is not a shard folder"), failures=99)
    runner = Runner(client, retries=2)
    with pytest.raises(ShardError, match="not a shard folder"):
        runner.map(task, [(1,)])
    assert log.read_text().split() == ["1"]  # (three runs before)
    with pytest.raises(BnSearchError, match="not a shard folder"):
        runner.one(0, _counting(tmp_path / "one", ShardError("not a shard folder"), 99), 5)
    assert (tmp_path / "one").read_text().split() == ["5"]


def test_a_transient_failure_is_run_again(client: Any, tmp_path: Path) -> None:
    log = tmp_path / "runs"
    task = _counting(log, OSError("the disk was busy"), failures=2)
    assert Runner(client, retries=2).map(task, [(1,), (2,)]) == [2, 4]
    assert log.read_text().split().count("1") == 3
    with pytest.raises(OSError, match="busy"):
        Runner(client, retries=1).map(_counting(tmp_path / "again", OSError("busy"), 9), [(1,)])
    assert (tmp_path / "again").read_text().split() == ["1", "1"]
