"""The sharded index on a real Dask cluster: a LocalCluster of two worker processes
talking TCP on loopback (one per module: starting one takes seconds)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bnsearch.articles import Article, read_articles
from bnsearch.distributed import ShardedIndex
from bnsearch.distributed.pagerows import LazyRow
from bnsearch.index import Index
from tests.conftest import shared_file

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    # A LocalCluster closes a worker's nanny for good when no worker of that name is back
    # ``lost-worker-timeout`` (15 s) after a removal; killed twice within that time, the
    # second restart may be under way at that moment (on a loaded machine it was, and the
    # cluster went on with one worker). These tests kill workers on purpose: wait longer.
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "10 minutes"}):
        yield from _cluster_client()


def _cluster_client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    return list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))[:900]


def _wait_for_workers(client: Any, count: int = 2) -> None:
    client.wait_for_workers(count, timeout=60)


def _set_crash(client: Any, point: str | None, workers: list[str] | None = None) -> None:
    def setter(value: str | None) -> None:
        if value is None:
            os.environ.pop("BNSEARCH_CRASH_AT", None)
        else:
            os.environ["BNSEARCH_CRASH_AT"] = value

    client.run(setter, point, workers=workers)


def _open_shards() -> list[str]:
    """(On a worker) the shard folders this process keeps open."""
    from bnsearch.distributed import shard

    return sorted(shard._open)


def _worker_pids(client: Any) -> dict[str, int]:
    return client.run(os.getpid)


def untied(results: Any) -> list[tuple[float, str]]:
    """``(score, id)`` of the hits whose score no other hit of the page shares, and is
    not the last (equal scores may come in either order, and a tie at the page's end may
    be cut either way)."""
    scores = [hit.score for hit in results]
    last = scores[-1] if scores else None
    return [
        (hit.score, hit.id) for hit in results if scores.count(hit.score) == 1 and hit.score != last
    ]


QUERIES = [
    "ইসলাম ধর্ম",
    '"পবিত্র কোরআন"',
    "নামা*",
    "ঈদ +নামাজ -মসজিদ",
    "মসজিদ",
    "রমজান মাসে রোজা রাখা",  # spelling variants gathered on the workers
]


def test_build_and_search_on_workers(client: Any, articles: list[Article], tmp_path: Path) -> None:
    one = Index.create(tmp_path / "one")
    with one.writer() as writer:
        writer.add_many(articles)
    sharded = ShardedIndex.create(tmp_path / "s", shards=4)
    pids = set(_worker_pids(client).values())
    assert os.getpid() not in pids and len(pids) == 2  # work goes to other processes
    sharded.add(articles, client=client)
    assert sharded.doc_count == len(articles)
    for number, path in enumerate(sharded.shard_paths):
        assert Index.open(path).generation == sharded.manifest.generations[number] > 0
    on_cluster = sharded.searcher(client=client)
    over_tasks = sharded.searcher(client=client, resident=False)
    here = sharded.searcher()
    reference = one.searcher()
    for query in QUERIES:
        a = reference.search(query, limit=10)
        b = on_cluster.search(query, limit=10)
        c = here.search(query, limit=10)
        d = over_tasks.search(query, limit=10)
        assert [(h.id, h.score, h.fields, h.highlights) for h in d] == [
            (h.id, h.score, h.fields, h.highlights) for h in b
        ]
        assert b.total == a.total == c.total == d.total > 0
        assert [h.score for h in b] == [h.score for h in c]
        assert [h.score for h in b] == pytest.approx([h.score for h in a], rel=1e-9)
        assert untied(b) == untied(c) == untied(a)
        assert b.hits[0].fields == c.hits[0].fields
        assert b.hits[0].highlights == c.hits[0].highlights
        # on the cluster a row came without its body; reading it fetched the page's
        assert isinstance(b.hits[1].fields, LazyRow) and "body" in b.hits[1].fields
        second = b.hits[1]
        assert second.fields["body"] == next(x.body for x in articles if x.id == second.id)
    # each worker keeps the shards it searched open
    opened = client.run(_open_shards)
    assert sorted(p for paths in opened.values() for p in paths) == sorted(
        str(p) for p in sharded.shard_paths
    )
    sharded.delete([articles[0].id], client=client)
    assert on_cluster.refresh().doc_count == len(articles) - 1


@pytest.mark.parametrize("resident", [False, True], ids=["tasks", "hosts"])
def test_worker_lost_mid_query_is_retried(
    client: Any, articles: list[Article], tmp_path: Path, resident: bool
) -> None:
    """Over tasks Dask re-runs the task elsewhere; over resident hosts the runner sends
    the lost worker's calls again to a live worker."""
    sharded = ShardedIndex.create(tmp_path / "s", shards=4)
    sharded.add(articles[:400], client=client)
    searcher = sharded.searcher(client=client, resident=resident)
    before = searcher.search("ইসলাম ধর্ম পালন", limit=10)
    hosts = list(getattr(searcher._runner, "_slots", []))
    victim = sorted(_worker_pids(client))[0]
    old_pid = _worker_pids(client)[victim]
    _set_crash(client, "shard-search", workers=[victim])
    try:
        after = searcher.search("ইসলাম ধর্ম পালন", limit=10)
    finally:
        _wait_for_workers(client)
        _set_crash(client, None)
    assert old_pid not in _worker_pids(client).values()  # the worker did die
    assert [(h.id, h.score) for h in after] == [(h.id, h.score) for h in before]
    assert [(h.fields, h.highlights) for h in after] == [(h.fields, h.highlights) for h in before]
    assert after.total == before.total
    if resident:  # the lost worker's slot points at a live worker; the other one was kept
        now = searcher._runner._slots  # type: ignore[union-attr]
        assert [a == b for a, b in zip(hosts, now, strict=True)] == [False, True]
        assert victim not in now and set(now) <= set(_worker_pids(client))
        assert searcher.refresh().search("ইসলাম ধর্ম পালন", limit=10).ids == after.ids


def test_resident_hosts_answer_without_tasks(
    client: Any, articles: list[Article], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once its hosts exist, a search (and an explain) on the cluster submits no Dask
    task: every step is a call to the hosts, which run on the workers."""
    sharded = ShardedIndex.create(tmp_path / "s", shards=4)
    sharded.add(articles[:400], client=client)
    searcher = sharded.searcher(client=client)  # resident by default
    here = sharded.searcher()
    searcher.search("মসজিদ", limit=1)
    submitted: list[Any] = []
    real = client.submit
    monkeypatch.setattr(client, "submit", lambda *a, **k: submitted.append(a) or real(*a, **k))
    for query in QUERIES:
        a, b = here.search(query, limit=10), searcher.search(query, limit=10)
        assert b.total == a.total > 0
        assert [(h.id, h.score, h.fields, h.highlights) for h in b] == [
            (h.id, h.score, h.fields, h.highlights) for h in a
        ]
        assert searcher.explain(query, a.hits[0].id) == here.explain(query, a.hits[0].id)
        # without highlights a short page comes with the query step
        c, d = here.search(query, highlight=False), searcher.search(query, highlight=False)
        assert [(h.id, h.score, h.fields) for h in d] == [(h.id, h.score, h.fields) for h in c]
        assert all(h.fields and not h.highlights for h in d)
    assert submitted == []
    opened = {path for paths in client.run(_open_shards).values() for path in paths}
    assert {str(p) for p in sharded.shard_paths} <= opened  # the workers hold the shards


def test_worker_killed_mid_build(client: Any, articles: list[Article], tmp_path: Path) -> None:
    sharded = ShardedIndex.create(tmp_path / "s", shards=2)
    sharded.add(articles[:300], client=client)
    generations = [Index.open(p).generation for p in sharded.shard_paths]
    counts = [Index.open(p).doc_count for p in sharded.shard_paths]
    scheduler_failures = client.run_on_scheduler(
        lambda dask_scheduler: dask_scheduler.allowed_failures
    )

    def allow(n: int) -> None:
        client.run_on_scheduler(
            lambda dask_scheduler, n: setattr(dask_scheduler, "allowed_failures", n), n=n
        )

    # no second chance: the build fails, and every shard stays at its last commit
    allow(0)
    _set_crash(client, "segment-written")
    try:
        with pytest.raises(Exception, match=r"(?i)killed|worker"):
            sharded.add(articles[300:600], client=client, retries=0)
    finally:
        allow(scheduler_failures)
        _wait_for_workers(client)
        time.sleep(0.5)
        _set_crash(client, None)
    for path, generation, count in zip(sharded.shard_paths, generations, counts, strict=True):
        index = Index.open(path)
        assert index.generation == generation and index.doc_count == count
        assert index.reader().doc_count == count
    reopened = ShardedIndex.open(sharded.path)
    assert reopened.manifest.commit == 1 and list(reopened.manifest.generations) == generations
    # with the scheduler's retries a killed worker's shard is rebuilt on another one
    victim = sorted(_worker_pids(client))[1]
    _set_crash(client, "segment-written", workers=[victim])
    try:
        reopened.add(articles[300:600], client=client)
    finally:
        _wait_for_workers(client)
        _set_crash(client, None)
    assert reopened.doc_count == 600
    assert reopened.searcher(client=client).search("মসজিদ", limit=0).total == (
        sharded.searcher().search("মসজিদ", limit=0).total
    )


def test_cli_index_and_search_through_a_scheduler(
    client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from bnsearch.cli import main

    source = shared_file("corpus/bqa_passages.jsonl")
    address = client.scheduler.address
    sharded = tmp_path / "s"
    plain = tmp_path / "one"
    assert (
        main(
            ["index", str(source), "--index", str(sharded), "--shards", "3", "--scheduler", address]
        )
        == 0
    )
    assert "doc count: 1534, shards: 3" in capsys.readouterr().out
    assert main(["index", str(source), "--index", str(plain)]) == 0
    capsys.readouterr()
    for query in ("বাংলাদেশের রাজধানী", "মুক্তিযুদ্ধ*"):
        assert main(["search", query, "--index", str(plain), "--json"]) == 0
        one = json.loads(capsys.readouterr().out)
        # a sharded folder is recognised by its manifest; with and without a scheduler
        assert main(["search", query, "--index", str(sharded), "--json"]) == 0
        here = json.loads(capsys.readouterr().out)
        assert (
            main(["search", query, "--index", str(sharded), "--json", "--scheduler", address]) == 0
        )
        there = json.loads(capsys.readouterr().out)
        assert one["total"] == here["total"] == there["total"] > 0
        # equal scores may come in another order (write order vs shard order)
        ranked = sorted((-round(h["score"], 6), h["id"]) for h in one["hits"])
        assert sorted((-round(h["score"], 6), h["id"]) for h in here["hits"]) == ranked
        assert sorted((-round(h["score"], 6), h["id"]) for h in there["hits"]) == ranked
    assert main(["index", str(source), "--index", str(sharded), "--shards", "4"]) == 1
    assert "has 3 shards, not 4" in capsys.readouterr().err


def test_a_host_call_past_its_timeout_is_a_clear_error(client: Any) -> None:
    """A host that does not answer in time raises the library's own error (naming the
    timeout) instead of waiting for ever; the host answers again once it is free."""
    from bnsearch.distributed.hosts import HostRunner, HostTimeoutError
    from bnsearch.errors import BnSearchError

    runner = HostRunner(client, timeout=0.5)
    assert runner.map(len, [("ab",), ("abc",)]) == [2, 3]  # hosts made, answering
    began = time.perf_counter()
    with pytest.raises(HostTimeoutError, match=r"within 0\.5 s") as caught:
        runner.map(time.sleep, [(3.0,)])
    assert time.perf_counter() - began < 2.5  # it did not wait for the sleep
    assert isinstance(caught.value, BnSearchError)
    runner.timeout = 30.0
    assert runner.map(len, [("abcd",), ("a",)]) == [4, 1]
    runner.close()


def _kept_statistics() -> int:
    from bnsearch.distributed import shard

    return len(shard._statistics)


def _drop_statistics() -> None:
    from bnsearch.distributed import shard

    shard._statistics.clear()


def test_statistics_travel_once_and_again_when_a_worker_lacks_them(
    client: Any, articles: list[Article], tmp_path: Path
) -> None:
    """A query's statistics go to each worker with its first search, later searches
    name them by token; a worker that no longer keeps them gets them again (the answer
    is the same)."""
    sharded = ShardedIndex.create(tmp_path / "s", shards=4)
    sharded.add(articles[:400], client=client)
    searcher = sharded.searcher(client=client)
    here = sharded.searcher()
    client.run(_drop_statistics)
    first = searcher.search("ইসলাম ধর্ম পালন", limit=10)
    assert list(client.run(_kept_statistics).values()) == [1, 1]
    second = searcher.search("ইসলাম ধর্ম পালন", limit=5, offset=2)  # by token
    client.run(_drop_statistics)
    third = searcher.search("ইসলাম ধর্ম পালন", limit=10)  # sent again
    assert list(client.run(_kept_statistics).values()) == [1, 1]
    expected = here.search("ইসলাম ধর্ম পালন", limit=10)
    for found in (first, third):
        assert [(h.id, h.score, h.fields, h.highlights) for h in found] == [
            (h.id, h.score, h.fields, h.highlights) for h in expected
        ]
    assert second.ids == expected.ids[2:7]


def test_a_host_error_travels_back_as_itself(client: Any) -> None:
    """A shard function's exception is raised where the call was made (as itself); an
    answer that cannot travel is the library's error; the hosts answer rightly after."""
    import threading

    from bnsearch.distributed.hostplugin import HostCallError
    from bnsearch.distributed.hosts import HostRunner

    runner = HostRunner(client)
    with pytest.raises(ValueError, match="invalid literal"):
        runner.map(int, [("12",), ("x",)])
    with pytest.raises(HostCallError, match="could not travel back"):
        runner.map(threading.Lock, [(), ()])
    assert runner.map(int, [("12",), ("7",), ("3",)]) == [12, 7, 3]
    runner.close()


def test_hosts_answer_threads_at_once_and_a_thread_running_an_event_loop(
    client: Any, articles: list[Article], tmp_path: Path
) -> None:
    """Each calling thread talks to the hosts on its own event loop and comms; a thread
    already running an event loop calls through the client's. Searches from several
    threads at once get their own answers."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    sharded = ShardedIndex.create(tmp_path / "s", shards=4)
    sharded.add(articles[:400], client=client)
    searcher = sharded.searcher(client=client)
    here = sharded.searcher()
    expected = {q: [(h.id, h.score, h.highlights) for h in here.search(q)] for q in QUERIES}

    def found(query: str) -> list[Any]:
        return [(h.id, h.score, h.highlights) for h in searcher.search(query)]

    async def inside_a_loop(query: str) -> list[Any]:
        return found(query)  # blocks this loop's thread, as a sync call does

    with ThreadPoolExecutor(4) as pool:
        jobs = [(q, pool.submit(found, q)) for q in QUERIES * 3]
        jobs += [(q, pool.submit(asyncio.run, inside_a_loop(q))) for q in QUERIES]
        for query, job in jobs:
            assert job.result(timeout=120) == expected[query]


def test_a_runner_closes_its_comms_when_closed_or_collected(client: Any) -> None:
    """The comms a runner opened (each calling thread's) close with ``close()``, or when
    the runner is collected: no socket to a worker is left behind."""
    import gc

    from bnsearch.distributed.hosts import HostRunner

    for drop in (True, False):
        runner = HostRunner(client)
        assert runner.map(len, [("ab",), ("abc",)]) == [2, 3]
        loop, comms = runner._local.loop
        opened = [comm for kept in comms.idle.values() for comm in kept]
        assert len(opened) == 2 and not any(comm.closed() for comm in opened)
        if drop:
            del runner
            gc.collect()
        else:
            runner.close()
        assert all(comm.closed() for comm in opened) and loop.is_closed()


def test_a_kept_comm_closed_while_idle_is_opened_again_not_a_lost_worker(client: Any) -> None:
    """A comm kept open between calls may be closed under the runner while idle (the
    worker, or the network, dropping an idle connection). Its next call failed, and the
    live worker was left out for good: with every kept comm closed, the runner found no
    live worker and raised HostLostError. A failed kept comm is now replaced by a new
    one, and only a worker that cannot be reached on a new comm is left out."""
    from bnsearch.distributed.hosts import HostRunner

    runner = HostRunner(client, timeout=3.0)
    assert runner.map(len, [("ab",), ("abc",)]) == [2, 3]
    _, comms = runner._local.loop
    kept = [comm for idle in comms.idle.values() for comm in idle]
    assert len(kept) == 2
    for comm in kept:
        comm.abort()  # (as a connection the other end closed)
    assert runner.map(len, [("ab",), ("abc",), ("abcd",)]) == [2, 3, 4]
    assert runner._dead == set()
    assert len({comm for idle in comms.idle.values() for comm in idle} - set(kept)) == 2
    runner.close()


def test_the_comms_of_a_thread_that_ended_are_closed(client: Any) -> None:
    """Each calling thread has its own event loop and comms. Those of a thread that
    ended stayed open until the runner closed: a web app's pool, which ends idle threads
    and starts new ones, kept a loop and a socket per worker for every thread it ever
    ran. They are closed when a later thread makes its loop."""
    import threading

    from bnsearch.distributed.hosts import HostRunner

    runner = HostRunner(client)
    ended: list[Any] = []

    def call() -> None:
        assert runner.map(len, [("ab",), ("abc",)]) == [2, 3]
        _, comms = runner._local.loop
        ended.extend(comm for idle in comms.idle.values() for comm in idle)

    for _ in range(4):
        thread = threading.Thread(target=call)
        thread.start()
        thread.join()
    assert len(ended) == 8
    assert all(comm.closed() for comm in ended[:6])  # the first three threads'
    assert not any(comm.closed() for comm in ended[6:])  # (the last one's, until another)
    assert len(runner._every) == 1
    call()  # this thread, still running: its loop is kept
    assert all(comm.closed() for comm in ended[:8]) and len(runner._every) == 1
    assert runner.map(len, [("abcd",)]) == [4]
    runner.close()
    assert all(comm.closed() for comm in ended)


def _drop_shard_host_handler(dask_worker: Any) -> None:
    from bnsearch.distributed.hostplugin import HANDLER

    dask_worker.handlers.pop(HANDLER, None)


def _add_shard_host_handler(dask_worker: Any) -> None:
    from bnsearch.distributed.hostplugin import HANDLER, answer

    dask_worker.handlers[HANDLER] = answer


def test_a_worker_without_the_shard_host_handler_is_left_out_not_an_answer(
    client: Any,
) -> None:
    """A worker that has no shard host handler (its plugin torn down while it closes)
    answers a call with Dask's bare reply to an unknown op. Its calls go to a live
    worker, and it is not called again: the answers are those of the live one."""
    from bnsearch.distributed.hosts import HostRunner

    runner = HostRunner(client, timeout=5.0)
    assert runner.map(len, [("ab",), ("abc",)]) == [2, 3]
    without = runner._slots[0]
    client.run(_drop_shard_host_handler, workers=[without])
    try:
        assert runner.map(len, [("a",), ("abcd",), ("abc",), ("ab",)]) == [1, 4, 3, 2]
        assert runner._dead == {without}
        assert set(runner._slots) == set(runner._slots[1:2])
    finally:
        client.run(_add_shard_host_handler, workers=[without])
        runner.close()
