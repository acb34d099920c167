"""A sharded index on a LocalCluster against one index in one process, in the same run.

Build: ``n`` synthetic articles (the indexing benchmark's generator, drawn from BeliN's
word frequencies) written by one process (``Index.writer()``), then as a 4-shard index by
a LocalCluster of 2 worker processes (one thread each); wall time, and cores busy = CPU
seconds of the client and the workers (psutil) over the wall time. Queries: p50/p90 of
the same queries on the one index and on the sharded one (in this process, and fanned out
to the cluster). Run: ``python benchmarks/bench_distributed.py 20000`` (prints JSON);
``--build`` measures the builds only (adding a 2-shard ``add_sources`` build), with the
workers' statistical profiler off (it samples every thread's stack every 10 ms: about
a fifth more CPU per article in a one-worker build here); ``--no-add`` leaves out
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


def cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system + times.children_user + times.children_system
    return total


def measured(pids: list[int], count: int, build: Any) -> dict[str, Any]:
    """``build()`` timed: wall seconds, articles/s, CPU-seconds of ``pids`` and cores busy."""
    cpu0, began = cpu_seconds(pids), time.perf_counter()
    build()
    wall = time.perf_counter() - began
    cpu = cpu_seconds(pids) - cpu0
    return {
        "seconds": round(wall, 2),
        "articles_per_s": round(count / wall),
        "cores_busy": round(cpu / wall, 2),
        "cpu_seconds": round(cpu, 1),
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
        "p50_ms": round(statistics.median(ordered), 2),
        "p90_ms": round(ordered[int(len(ordered) * 0.9)], 2),
    }


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
    if build_only:  # the workers' profiler: off for a build cluster (docs/distributed.md)
        os.environ["DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED"] = "False"
        result["worker_profiler"] = False
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    client = Client(cluster)
    try:
        worker_pids = list(client.run(os.getpid).values())
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
        for shards in (4, 2) if build_only else (4,):
            from_files = ShardedIndex.create(folder / f"from-files-{shards}", shards=shards)
            add_sources = functools.partial(from_files.add_sources, sources, client=client)
            found = measured(every, count, add_sources)
            found["speedup"] = round(
                found["articles_per_s"] / result["one_process"]["articles_per_s"], 2
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
        # queries
        single = one.searcher()
        here = sharded.searcher()
        there = sharded.searcher(client=client)
        result["query_one_index"] = summary(latencies(lambda q: single.search(q), rounds))
        result["query_4_shards_in_process"] = summary(latencies(lambda q: here.search(q), rounds))
        result["query_4_shards_localcluster"] = summary(
            latencies(lambda q: there.search(q), rounds)
        )

        def cold(q: str) -> Any:
            there._known.clear()  # the statistics steps every time, as for a new query
            return there.search(q)

        result["query_4_shards_localcluster_cold"] = summary(latencies(cold, rounds))

        def trivial() -> Any:
            return client.gather([client.submit(len, [n], pure=False) for n in range(4)])

        result["dask_4_trivial_tasks"] = summary(latencies(lambda q: trivial(), rounds))
        result["query_overhead_p50_ms"] = round(
            result["query_4_shards_localcluster"]["p50_ms"] - result["query_one_index"]["p50_ms"],
            2,
        )
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(folder, ignore_errors=True)
    result["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result["load_average_1min_at_end"] = round(os.getloadavg()[0], 1)
    return result


if __name__ == "__main__":
    numbers = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    found = main(
        int(numbers[0]) if numbers else 20_000,
        build_only="--build" in sys.argv,
        add="--no-add" not in sys.argv,
    )
    print(json.dumps(found, indent=1))
