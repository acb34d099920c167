"""Continuous publishing: single-article commits into a large index, with and without links.

Run: ``python benchmarks/bench_publishing.py N COMMITS`` (e.g. ``100000 1000``; the default
pytest entry runs ``BNSEARCH_BENCH_PUBLISH=20000,200``). Each variant runs in a fresh
subprocess:

* ``bnsearch_links`` / ``bnsearch``: ``N`` synthetic articles (the BeliN word model of
  ``bench_indexing``) indexed in one commit, with six related headlines each (titles of
  other articles) or none; then ``COMMITS`` new articles, each added and committed on its
  own through one long-lived writer (a newsroom's indexer), each new article listing six
  headlines of existing articles (or none);
* ``tantivy``: the same ``N`` articles (pre-analyzed by bnsearch, as in
  ``bench_indexing``), then the same ``COMMITS`` single-document commits.

Reported per variant: build seconds, commit latency p50, p99, mean, first and slowest
(ms), the commit's CPU time p50 (bnsearch), peak RSS; and for bnsearch with links, the
link graph's bytes per link (``tracemalloc`` over a graph built from the index's
segments).
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_indexing import RELATED_PER_ARTICLE, SyntheticCorpus, run_tantivy
from corpus import BELIN, load_records


def _articles(size: int, commits: int, links: bool) -> tuple[list[Any], list[Any]]:
    import attrs

    corpus = SyntheticCorpus(load_records())
    articles = (
        corpus.linked_articles(size + commits) if links else list(corpus.articles(size + commits))
    )
    base, new = articles[:size], articles[size:]
    if links:  # the new articles list headlines of articles already published
        rng = np.random.default_rng(11)
        picks = rng.integers(0, size, size=(commits, RELATED_PER_ARTICLE))
        new = [
            attrs.evolve(article, related=[base[int(p)].title for p in row])
            for article, row in zip(new, picks, strict=True)
        ]
    return base, new


def _percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 1),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "mean_ms": round(1000 * sum(ordered) / len(ordered), 1),
        # a new writer's first commit (it built the whole link graph before issue 12's
        # persisted key maps) and the slowest (a merge)
        "first_ms": round(1000 * times[0], 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def run_bnsearch(size: int, commits: int, links: bool, folder: Path) -> dict[str, Any]:
    from bnsearch.index import Index
    from bnsearch.index.links import graph_from_segments

    base, new = _articles(size, commits, links)
    index = Index.create(folder / "idx")
    began = time.perf_counter()
    with index.writer() as writer:
        writer.add_many(base)
    build = time.perf_counter() - began
    times, cpu = [], []
    with index.writer() as writer:
        for article in new:
            began, began_cpu = time.perf_counter(), time.process_time()
            writer.add(article)
            writer.commit()
            times.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
    result: dict[str, Any] = {"build_s": round(build, 2), **_percentiles(times)}
    # on a loaded machine the wall time of a commit is mostly waiting for a core: its
    # CPU time (this process; fsync waits excluded) is the steadier measure of its work
    result["cpu_p50_ms"] = round(1000 * sorted(cpu)[len(cpu) // 2], 1)
    reader = index.reader()
    assert reader.doc_count == size + commits
    if links:
        tracemalloc.start()
        graph = graph_from_segments(reader.segments, reader.find)
        used = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        result["graph_links"] = graph.link_count
        result["graph_bytes_per_link"] = round(used / max(graph.link_count, 1))
    return result


def run_tantivy_commits(size: int, commits: int, folder: Path) -> dict[str, Any]:
    import tantivy

    from bnsearch.analysis import default_analyzer

    base, new = _articles(size, commits, False)
    built = run_tantivy(base, folder)
    index = tantivy.Index.open(str(folder / "tantivy"))
    whitespace = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    index.register_tokenizer("ws", whitespace)
    analyzer = default_analyzer()
    writer = index.writer(heap_size=64_000_000, num_threads=1)
    times = []
    for article in new:
        began = time.perf_counter()
        doc = tantivy.Document()
        doc.add_text("id", article.id)
        doc.add_bytes("title", article.title.encode())
        doc.add_bytes("body", article.body.encode())
        doc.add_text("title_terms", " ".join(analyzer.terms(article.title)))
        doc.add_text("body_terms", " ".join(analyzer.terms(article.body)))
        doc.add_text("section", " ".join(article.section))
        writer.add_document(doc)
        writer.commit()
        times.append(time.perf_counter() - began)
    writer.wait_merging_threads()
    return {"build_s": round(built["seconds"], 2), **_percentiles(times)}


def child_main(variant: str, size: int, commits: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"publish-{variant}-"))
    try:
        if variant == "tantivy":
            result = run_tantivy_commits(size, commits, folder)
        else:
            result = run_bnsearch(size, commits, variant == "bnsearch_links", folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def run_child(variant: str, size: int, commits: int) -> dict[str, Any]:
    command = [sys.executable, __file__, variant, str(size), str(commits)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


VARIANTS = ("bnsearch", "bnsearch_links", "tantivy")

if __name__ == "__main__":
    if len(sys.argv) == 4:
        print(json.dumps(child_main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
    else:  # a report for people: every variant, one after the other, in this run
        size, commits = int(sys.argv[1]), int(sys.argv[2])
        for name in VARIANTS:
            print(name, json.dumps(run_child(name, size, commits)), flush=True)
    sys.exit(0)


# -- pytest-benchmark entry point -----------------------------------------------------
import os  # noqa: E402

import pytest  # noqa: E402

pytestmark = pytest.mark.benchmark(group="publishing")
SCALE = [int(v) for v in os.environ.get("BNSEARCH_BENCH_PUBLISH", "20000,200").split(",")]


@pytest.mark.parametrize("variant", VARIANTS)
def test_single_article_commits(benchmark: Any, variant: str) -> None:
    """``COMMITS`` single-article commits into an index of ``N`` synthetic articles."""
    if not BELIN.is_file():
        pytest.skip(f"benchmark corpus not found: {BELIN}")
    result = benchmark.pedantic(run_child, args=(variant, *SCALE), rounds=1, iterations=1)
    benchmark.extra_info.update(result)
