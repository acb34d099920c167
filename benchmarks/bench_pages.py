"""Results pages, bnsearch against tantivy, interleaved: each query is answered by both
systems back to back, in three rounds, and each keeps its best time a query.

``bench_query.py --modes page`` times one system's every query, then the next system's:
on a shared machine the load moves between the two halves and the ratio with it (runs a
minute apart gave 1.4x and 2.2x for the same code). Interleaving puts both systems under
the same load. Same corpora, queries and runners as ``bench_query.py``: BQA + BeliN, or
synthetic articles (``--synthetic N``; with ``--index-dir``/``--tantivy-dir`` and
``--reuse-index``, indexes an earlier run of either script built).

    .venv/bin/python benchmarks/bench_pages.py [--queries 100]
    .venv/bin/python benchmarks/bench_pages.py --synthetic 100000 --queries 50 \
        --index-dir /work/bench/b100000 --tantivy-dir /work/bench/t100000 --reuse-index

``--second-index DIR`` adds a second bnsearch index of the same articles (e.g. one whose
stored blocks are in another codec) to the same interleaved rounds, as a third system.
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
    synthetic_articles,
)

from bnsearch.articles import Article
from bnsearch.index import Index


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--queries", type=int, default=100, help="queries per kind")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--synthetic", type=int, default=0, help="N synthetic articles")
    parser.add_argument("--index-dir", type=Path, help="bnsearch's index here (on disk)")
    parser.add_argument("--tantivy-dir", type=Path, help="tantivy's indexes here")
    parser.add_argument(
        "--reuse-index", action="store_true", help="open the indexes in those folders"
    )
    parser.add_argument(
        "--second-index", type=Path, help="another bnsearch index of the same articles"
    )
    args = parser.parse_args()
    texts = real_texts(args.shared)
    if not texts:
        print(f"no corpus under {args.shared}")
        return 2
    queries = make_queries(args.shared, texts, args.queries)
    with tempfile.TemporaryDirectory() as folder:
        index_dir = args.index_dir or Path(folder) / "bnsearch"
        tantivy_dir = (args.tantivy_dir or Path(folder)) / "tantivy"
        reuse = args.reuse_index and (index_dir / "meta.json").exists()
        articles: list[Article] = []  # made only for an index to build
        if not reuse or not (tantivy_dir / "meta.json").exists():
            if args.synthetic:
                articles = list(synthetic_articles(texts, args.synthetic))
            else:
                articles = shared_articles(args.shared)
        index = Index.open(index_dir) if reuse else bnsearch_index(articles, index_dir)[0]
        tantivy_dir.mkdir(parents=True, exist_ok=True)
        tantivy = Tantivy(articles, tantivy_dir, reuse=args.reuse_index)
        runs = {"bnsearch": bnsearch_runner(index, "page"), "tantivy": tantivy.runner("page")}
        if args.second_index:
            runs["bnsearch, second index"] = bnsearch_runner(Index.open(args.second_index), "page")
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
        f"# {args.synthetic or 'BQA + BeliN'} articles, {args.queries} queries a kind, "
        f"best of {args.rounds}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    print("| page p50 ms | " + " | ".join(KINDS) + " |")
    print("| --- |" + " ---: |" * len(KINDS))
    for name in runs:
        print(f"| {name} | " + " | ".join(f"{p50[name][k]:.3f}" for k in KINDS) + " |")
    for name in runs:
        if name != "tantivy":
            ratios = (p50[name][k] / p50["tantivy"][k] for k in KINDS)
            print(f"| {name} / tantivy | " + " | ".join(f"{r:.2f}x" for r in ratios) + " |")
    for name in runs:  # what a page holds differs where the engines match differently
        cells = " | ".join(f"{statistics.mean(hits[name][k]):.1f}" for k in KINDS)
        print(f"| {name}: hits a page (mean) | {cells} |")
    # the same page sizes: the queries where both engines show as many hits
    ours, theirs = "bnsearch", "tantivy"
    same = {
        k: [
            n
            for n, pair in enumerate(zip(hits[ours][k], hits[theirs][k], strict=True))
            if pair[0] == pair[1]
        ]
        for k in KINDS
    }
    cells = []
    for kind in KINDS:
        if not same[kind]:
            cells.append("-")
            continue
        mine, other = (
            statistics.median(best[x][kind][n] for n in same[kind]) for x in (ours, theirs)
        )
        cells.append(f"{mine / other:.2f}x ({len(same[kind])})")
    print("| bnsearch / tantivy, as many hits (queries) | " + " | ".join(cells) + " |")
    cells = []
    for kind in KINDS:  # all time over all hits shown: a page's cost per hit
        per_hit = [sum(best[x][kind]) / max(sum(hits[x][kind]), 1) for x in runs]
        cells.append(" / ".join(f"{cost * 1000:.0f}" for cost in per_hit) + " us")
    print(f"| a hit, {' / '.join(runs)} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
