"""A sharded index on a LocalCluster against one index in one process, in the same run.

Build: ``n`` synthetic articles (the indexing benchmark's generator, drawn from BeliN's
word frequencies) written by one process (``Index.writer()``), then as a 4-shard index by
a LocalCluster of 2 worker processes (one thread each); wall time, and cores busy = CPU
seconds of the client and the workers (psutil) over the wall time. Queries: p50/p90 of
the same queries on the one index and on the sharded one (in this process, and fanned out
to the cluster over Dask tasks and over resident hosts, :mod:`bnsearch.distributed.hosts`),
with the floors (trivial tasks, a trivial call to each host). Run:
``python benchmarks/bench_distributed.py 20000`` (prints JSON); the query part alone
(indexes built in this process): ``python benchmarks/bench_distributed.py 100000 --queries``
(``--keep DIR``: built in DIR once, opened by later runs; the ``web_page`` rows read
each hit as the web service shows it).
``--build`` measures the builds only (adding a 2-shard ``add_sources`` build and one
process reading the same JSONL files), on a build cluster: the workers' statistical
profiler off (it samples every thread's stack every 10 ms: about a fifth more CPU per
article in a one-worker build here), the system monitor every 5 s and the event loop
tick every second (Dask's defaults, 0.5 s and 20 ms, cost an idle 2-worker
LocalCluster about 0.07 of a core here; these, 0.03), the memory monitors and work
stealing every second (0.015 of a core then), and the workers' imports done
before the clock starts (as the one process's are); ``--no-add`` leaves out
``add(articles)`` (the articles through the scheduler).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_indexing import SyntheticCorpus
from corpus import load_records

QUERIES = [
    "ধর্ম উৎসব",
    "মসজিদ",
    "ইসলাম ধর্ম পালন",
    '"পবিত্র কোরআন"',
    "নামা*",
    "পূজা মন্দির দর্শন",
    "title:হজ",
    "ঈদ +নামাজ",
]


#: Dask settings of a build cluster (``--build``; docs/distributed.md). The memory
#: monitors (each worker's and its nanny's, 100 ms by default) and the scheduler's work
#: stealing (100 ms) every second: an idle 2-worker LocalCluster then costs 8 CPU-ms a
#: second in the client's process and 3-3.5 in each worker, against 12-16.5 and 7 with
#: the first three settings alone (sixth session, 16c).
BUILD_CLUSTER = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing-interval": "1s",
}


def import_build() -> None:
    """What a shard build imports, imported on a worker before the clock starts."""
    import bnsearch.distributed.build  # noqa: F401


def cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system + times.children_user + times.children_system
    return total


def measured(pids: list[int], count: int, build: Any) -> dict[str, Any]:
    """``build()`` timed: wall seconds, articles/s, CPU-seconds of ``pids`` (in all and
    per process: this one first, then the workers) and cores busy."""
    each = [cpu_seconds([pid]) for pid in pids]
    began = time.perf_counter()
    build()
    wall = time.perf_counter() - began
    spent = [cpu_seconds([pid]) - before for pid, before in zip(pids, each, strict=True)]
    cpu = sum(spent)
    return {
        "seconds": round(wall, 2),
        "articles_per_s": round(count / wall),
        "cores_busy": round(cpu / wall, 2),
        "cpu_seconds": round(cpu, 1),
        "cpu_seconds_per_process": [round(value, 2) for value in spent],
    }


def latencies(search: Any, rounds: int) -> list[float]:
    for query in QUERIES:  # warm: open shards, term dictionaries
        search(query)
    found = []
    for _ in range(rounds):
        for query in QUERIES:
            began = time.perf_counter()
            search(query)
            found.append((time.perf_counter() - began) * 1000)
    return found


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p10_ms": round(ordered[int(len(ordered) * 0.1)], 2),  # the least disturbed runs
        "p50_ms": round(statistics.median(ordered), 2),
        "p90_ms": round(ordered[int(len(ordered) * 0.9)], 2),
    }


def read_page(results: Any) -> Any:
    """What a results page shows: every hit's stored fields and highlights (one index
    makes highlights when first read; a sharded page carries them)."""
    for hit in results:
        dict(hit.fields)
        dict(hit.highlights)
    return results


def web_page(results: Any) -> Any:
    """What the web service reads of a results page (``bnsearch.web.payload.hit_json``:
    title, URL, section, date, every highlight; not the body, which a sharded page on a
    cluster fetches only when read)."""
    from bnsearch.web.payload import hit_json

    return [hit_json(hit) for hit in results]


def query_part(client: Any, one: Any, sharded: Any, rounds: int) -> dict[str, Any]:
    """p50/p90 of the same queries on one index and on the sharded one: in this process,
    over Dask tasks (``resident=False``) and over resident hosts (each worker called
    directly over Dask's comm from this thread: ``query_overhead_p50_ms_hosts`` is the
    earlier sessions' ``query_overhead_p50_ms_actors_direct``), with the statistics
    remembered and cold; and the floors: 4 trivial tasks, a trivial call to each host."""
    from bnsearch.distributed.hosts import HostRunner

    out: dict[str, Any] = {}
    single = one.searcher()
    here = sharded.searcher()
    before = cpu_seconds([os.getpid()])
    out["query_one_index"] = summary(latencies(lambda q: single.search(q), rounds))
    out["query_one_index"]["cpu_ms_per_query"] = round(
        (cpu_seconds([os.getpid()]) - before) * 1000 / ((rounds + 1) * len(QUERIES)), 2
    )
    out["query_one_index_page_read"] = summary(
        latencies(lambda q: read_page(single.search(q)), rounds)
    )
    out["query_one_index_web_page"] = summary(
        latencies(lambda q: web_page(single.search(q)), rounds)
    )
    out["query_4_shards_in_process"] = summary(latencies(lambda q: here.search(q), rounds))
    # ids and stored rows without highlights: the fan-out's own cost, apart from the
    # highlights (a one-index page makes them only when read)
    out["query_one_index_no_highlights"] = summary(
        latencies(lambda q: single.search(q, highlight=False), rounds)
    )

    def on(user: Any, searcher: Any, name: str) -> None:
        # CPU of this process (client, and the LocalCluster's scheduler) and the workers
        pids = [os.getpid(), *user.run(os.getpid).values()]
        before = cpu_seconds(pids)
        out[f"query_4_shards_localcluster_{name}"] = summary(
            latencies(lambda q: searcher.search(q), rounds)
        )
        spent = cpu_seconds(pids) - before
        out[f"query_4_shards_localcluster_{name}"]["cpu_ms_per_query"] = round(
            spent * 1000 / ((rounds + 1) * len(QUERIES)), 2
        )

        def cold(q: str) -> Any:
            searcher._known.clear()  # the statistics steps every time, as for a new query
            return searcher.search(q)

        out[f"query_4_shards_localcluster_{name}_cold"] = summary(latencies(cold, rounds))
        out[f"query_4_shards_localcluster_{name}_no_highlights"] = summary(
            latencies(lambda q: searcher.search(q, highlight=False), rounds)
        )
        out[f"query_4_shards_localcluster_{name}_web_page"] = summary(
            latencies(lambda q: web_page(searcher.search(q)), rounds)
        )

    def host_floor(user: Any, name: str) -> None:
        runner = HostRunner(user)
        hosts = len(runner.groups(len(sharded.shard_paths)))
        # one call to each host, as a step of a search makes (the earlier sessions'
        # dask_2_trivial_actor_calls row)
        out[f"trivial_call_to_each_host{name}"] = summary(
            latencies(lambda q: runner.map(len, [((),)] * hosts), rounds)
        )
        runner.close()

    on(client, sharded.searcher(client=client, resident=False), "tasks")
    on(client, sharded.searcher(client=client), "hosts")
    host_floor(client, "")

    def trivial() -> Any:
        return client.gather([client.submit(len, [n], pure=False) for n in range(4)])

    out["dask_4_trivial_tasks"] = summary(latencies(lambda q: trivial(), rounds))
    base = out["query_one_index"]["p50_ms"]
    for name in ("tasks", "hosts"):
        key = f"query_4_shards_localcluster_{name}"
        out[f"query_overhead_p50_ms_{name}"] = round(out[key]["p50_ms"] - base, 2)
        out[f"query_overhead_p50_ms_{name}_vs_page_read"] = round(
            out[key]["p50_ms"] - out["query_one_index_page_read"]["p50_ms"], 2
        )
        out[f"query_overhead_p50_ms_{name}_web_page"] = round(
            out[f"{key}_web_page"]["p50_ms"] - out["query_one_index_web_page"]["p50_ms"], 2
        )
        out[f"query_overhead_p50_ms_{name}_no_highlights"] = round(
            out[f"{key}_no_highlights"]["p50_ms"] - out["query_one_index_no_highlights"]["p50_ms"],
            2,
        )
    return out


def queries_only(count: int, rounds: int = 15, keep: Path | None = None) -> dict[str, Any]:
    """The query part alone: one index and 4 shards built in this process (no Dask
    build), then :func:`query_part` on a LocalCluster of 2 worker processes. With
    ``keep``, the two indexes are built there once and opened by later runs."""
    from distributed import Client, LocalCluster

    from bnsearch.distributed import ShardedIndex
    from bnsearch.index import Index

    folder = keep or Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    folder.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "articles": count,
        "load_average_1min_at_start": round(os.getloadavg()[0], 1),
    }
    try:
        done = folder / f"built-{count}"
        if keep is not None and done.exists():
            one = Index.open(folder / "one")
            sharded = ShardedIndex.open(folder / "sharded")
        else:
            shutil.rmtree(folder / "one", ignore_errors=True)
            shutil.rmtree(folder / "sharded", ignore_errors=True)
            articles = list(SyntheticCorpus(load_records()).articles(count))
            one = Index.create(folder / "one")
            with one.writer() as writer:
                writer.add_many(articles)
            sharded = ShardedIndex.create(folder / "sharded", shards=4)
            sharded.add(articles)
            del articles
            done.touch()
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
        try:
            result.update(query_part(client, one, sharded, rounds))
        finally:
            client.close()
            cluster.close()
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    result["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result["load_average_1min_at_end"] = round(os.getloadavg()[0], 1)
    return result


def main(
    count: int, rounds: int = 15, *, build_only: bool = False, add: bool = True
) -> dict[str, Any]:

    from distributed import Client, LocalCluster

    from bnsearch.distributed import ShardedIndex
    from bnsearch.index import Index

    corpus = SyntheticCorpus(load_records())
    articles = list(corpus.articles(count))
    folder = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    result: dict[str, Any] = {
        "articles": count,
        "text_mb": round(corpus.mb, 1),
        "load_average_1min_at_start": round(os.getloadavg()[0], 1),
    }
    if build_only:  # a build cluster's settings (docs/distributed.md)
        import dask

        dask.config.set(BUILD_CLUSTER)
        result["build_cluster"] = BUILD_CLUSTER
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    client = Client(cluster)
    try:
        worker_pids = list(client.run(os.getpid).values())
        if build_only:
            client.run(import_build)
        # one process
        mine = [os.getpid()]
        one = Index.create(folder / "one")

        def build_one() -> None:
            with one.writer() as writer:
                writer.add_many(articles)

        result["one_process"] = measured(mine, count, build_one)
        # 4 shards on 2 workers
        sharded = ShardedIndex.create(folder / "sharded", shards=4)
        every = mine + worker_pids
        if add:
            result["dask_2_workers_4_shards"] = measured(
                every, count, lambda: sharded.add(articles, client=client)
            )
        # the same articles read by the shard tasks themselves from a JSONL file
        from bnsearch.articles.jsonl import article_to_record

        # an archive is many files: 4 here, so the routing tasks run in parallel too
        sources = [folder / f"articles-{n}.jsonl" for n in range(4)]
        for n, source in enumerate(sources):
            with source.open("w", encoding="utf-8") as out:
                for article in articles[n::4]:
                    out.write(json.dumps(article_to_record(article), ensure_ascii=False) + "\n")
        if build_only:  # the same files read by one process (as `bnsearch index` does)
            from bnsearch.articles import read_articles

            files = Index.create(folder / "one-from-files")

            def build_files() -> None:
                with files.writer() as writer:
                    for source in sources:
                        writer.add_many(read_articles(source))

            result["one_process_from_files"] = measured(mine, count, build_files)
        for shards in (4, 2) if build_only else (4,):
            from_files = ShardedIndex.create(folder / f"from-files-{shards}", shards=shards)
            add_sources = functools.partial(from_files.add_sources, sources, client=client)
            found = measured(every, count, add_sources)
            found["speedup"] = round(
                found["articles_per_s"] / result["one_process"]["articles_per_s"], 2
            )
            if build_only:
                found["speedup_vs_one_from_files"] = round(
                    found["articles_per_s"] / result["one_process_from_files"]["articles_per_s"],
                    2,
                )
            result[f"dask_2_workers_{shards}_shards_add_sources"] = found
        result["build_speedup_add_sources"] = result["dask_2_workers_4_shards_add_sources"][
            "speedup"
        ]
        if add:
            result["build_speedup"] = round(
                result["dask_2_workers_4_shards"]["articles_per_s"]
                / result["one_process"]["articles_per_s"],
                2,
            )
        if build_only:
            result["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            result["load_average_1min_at_end"] = round(os.getloadavg()[0], 1)
            return result
        result.update(query_part(client, one, sharded, rounds))
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(folder, ignore_errors=True)
    result["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result["load_average_1min_at_end"] = round(os.getloadavg()[0], 1)
    return result


if __name__ == "__main__":
    if (
        "--queries" in sys.argv
    ):  # the query part alone: python bench_distributed.py 100000 --queries
        numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
        # --keep DIR: build the two indexes in DIR once, open them in later runs
        kept = sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None
        print(
            json.dumps(
                queries_only(numbers[0] if numbers else 20_000, keep=Path(kept) if kept else None),
                indent=1,
            )
        )
    else:
        numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
        found = main(
            numbers[0] if numbers else 20_000,
            build_only="--build" in sys.argv,
            add="--no-add" not in sys.argv,
        )
        print(json.dumps(found, indent=1))
