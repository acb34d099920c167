"""Results pages, bnsearch against tantivy, interleaved: each query is answered by both
systems back to back, in three rounds, and each keeps its best time a query.

``bench_query.py --modes page`` times one system's every query, then the next system's:
on a shared machine the load moves between the two halves and the ratio with it (runs a
minute apart gave 1.4x and 2.2x for the same code). Interleaving puts both systems under
the same load. Same corpus, queries and runners as ``bench_query.py`` (BQA + BeliN).

    .venv/bin/python benchmarks/bench_pages.py [--queries 100]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench_query import (
    KINDS,
    SHARED,
    Tantivy,
    bnsearch_index,
    bnsearch_runner,
    make_queries,
    real_texts,
    shared_articles,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--queries", type=int, default=100, help="queries per kind")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    articles = shared_articles(args.shared)
    if not articles:
        print(f"no corpus under {args.shared}")
        return 2
    queries = make_queries(args.shared, real_texts(args.shared), args.queries)
    with tempfile.TemporaryDirectory() as folder:
        index, _ = bnsearch_index(articles, Path(folder) / "bnsearch")
        (Path(folder) / "tantivy").mkdir()
        tantivy = Tantivy(articles, Path(folder) / "tantivy")
        runs = {"bnsearch": bnsearch_runner(index, "page"), "tantivy": tantivy.runner("page")}
        hits: dict[str, dict[str, list[int]]] = {name: {k: [] for k in KINDS} for name in runs}
        for kind in KINDS:  # warm up (and count each page's hits)
            for text in queries[kind]:
                for name, run in runs.items():
                    hits[name][kind].append(len(run(kind, text)))
        best = {name: {k: [float("inf")] * len(queries[k]) for k in KINDS} for name in runs}
        for _ in range(args.rounds):
            for kind in KINDS:
                for number, text in enumerate(queries[kind]):
                    for name, run in runs.items():
                        started = time.perf_counter()
                        run(kind, text)
                        took = (time.perf_counter() - started) * 1000
                        best[name][kind][number] = min(best[name][kind][number], took)
    p50 = {
        name: {k: statistics.median(v) for k, v in kinds.items()} for name, kinds in best.items()
    }
    print(
        f"# {len(articles):,} articles, {args.queries} queries a kind, best of {args.rounds}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    print("| page p50 ms | " + " | ".join(KINDS) + " |")
    print("| --- |" + " ---: |" * len(KINDS))
    for name in runs:
        print(f"| {name} | " + " | ".join(f"{p50[name][k]:.3f}" for k in KINDS) + " |")
    ratios = (p50["bnsearch"][k] / p50["tantivy"][k] for k in KINDS)
    print("| bnsearch / tantivy | " + " | ".join(f"{r:.2f}x" for r in ratios) + " |")
    for name in runs:  # what a page holds differs where the engines match differently
        cells = " | ".join(f"{statistics.mean(hits[name][k]):.1f}" for k in KINDS)
        print(f"| {name}: hits a page (mean) | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
