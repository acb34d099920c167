"""Continuous publishing: single-article commits, with six links against none, in one run.

Run: ``python benchmarks/bench_publishing.py N COMMITS [--keep DIR] [--no-tantivy]
[--search]`` (e.g. ``10000 1000``; the default pytest entry runs
``BNSEARCH_BENCH_PUBLISH=20000,200``).

The two variants are measured side by side in ONE process, so that the load of a shared
machine falls on both alike (separate runs of each moved by 1.6x on the 2-core machine):

* two indexes of the same ``N`` synthetic articles (the BeliN word model of
  ``bench_indexing``): ``links``, each article with six related headlines (titles of
  other articles), and ``plain``, none; built in the same process in alternating batches
  (``bench_indexing.interleaved_build``);
* one long-lived writer on each (a newsroom's indexer); each of the ``COMMITS`` new
  articles is added and committed on its own into both, one after the other, the order
  flipped at every commit (``links`` gets six headlines of published articles, ``plain``
  the same article without them);
* ``tantivy``: a child process stepped in lockstep (commit ``i`` between the two
  bnsearch commits ``i``) makes the same single-document commits into its own index of
  the same articles (pre-analyzed by bnsearch, as in ``bench_indexing``). A child, so
  that its indexing and merge threads never count in the bnsearch CPU times.

Each commit's wall time and CPU time (``time.process_time``: this process only, so
fsync waits and other processes' work are excluded) are taken. Reported per variant:
build seconds (wall, CPU), commit p50 / p99 / mean / max of both, and how many commits
merged segments; then the ratios ``links`` / ``plain`` of the CPU p50 and mean and of the
wall p50, the median of the per-commit CPU ratios (commit ``i`` of one against commit
``i`` of the other), and the CPU p50 ratio of the first and the second half of the
commits (when the halves disagree, the run is noise-bound).

``--search``: after each commit, each variant's searcher is refreshed and searches a word
of the new article's title (default fields, anchors included: the first search of a
segment whose anchors an update changed builds its anchors field); the CPU time of that
is reported apart (``refresh_search``), so the commit figures stay comparable.

``--keep DIR``: the three indexes are built once into ``DIR`` (``built.json`` records the
build) and every later run with the same ``DIR`` commits into copies of them (hard links
for bnsearch, whose segments are never changed; a plain copy for tantivy), so a 100k run
does not rebuild for minutes; the kept indexes never change.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_indexing import RELATED_PER_ARTICLE, SyntheticCorpus, interleaved_build, run_tantivy
from corpus import BELIN, load_records

VARIANTS = ("plain", "links")
BUILT = "built.json"


def _articles(size: int, commits: int, links: bool) -> tuple[list[Any], list[Any]]:
    """The ``size`` built articles and the ``commits`` new ones of a variant (the same
    articles in both; with ``links``, six related headlines each, the new ones naming
    built articles)."""
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


def _median(values: Sequence[float]) -> float:
    return float(np.median(np.asarray(values, dtype=np.float64)))


# -- tantivy, in a child process stepped by the parent ------------------------------------
def tantivy_child(size: int, commits: int, folder: Path, kept: Path | None) -> None:
    """Build (or copy from ``kept``) tantivy's index of the built articles, print
    ``ready``, then make commit ``i`` each time a line ``i`` arrives on stdin and print
    its wall and CPU seconds as JSON; ``end`` stops."""
    import tantivy

    from bnsearch.analysis import default_analyzer

    base, new = _articles(size, commits, False)
    built: dict[str, Any] = {}
    if kept is not None and (kept / "tantivy").is_dir():
        shutil.copytree(kept / "tantivy", folder / "tantivy")
    else:
        built = run_tantivy(base, folder)
        if kept is not None:
            shutil.copytree(folder / "tantivy", kept / "tantivy")
    del base
    index = tantivy.Index.open(str(folder / "tantivy"))
    whitespace = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    index.register_tokenizer("ws", whitespace)
    analyzer = default_analyzer()
    writer = index.writer(heap_size=64_000_000, num_threads=1)
    print(json.dumps({"ready": True, "build_s": built.get("seconds")}), flush=True)
    for line in sys.stdin:
        if line.strip() == "end":
            break
        article = new[int(line)]
        began, began_cpu = time.perf_counter(), time.process_time()
        doc = tantivy.Document()
        doc.add_text("id", article.id)
        doc.add_bytes("title", article.title.encode())
        doc.add_bytes("body", article.body.encode())
        doc.add_text("title_terms", " ".join(analyzer.terms(article.title)))
        doc.add_text("body_terms", " ".join(analyzer.terms(article.body)))
        doc.add_text("section", " ".join(article.section))
        writer.add_document(doc)
        writer.commit()
        wall, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        print(json.dumps([wall, cpu]), flush=True)
    writer.wait_merging_threads()


class _Tantivy:
    """The parent's end of :func:`tantivy_child`."""

    def __init__(self, size: int, commits: int, folder: Path, kept: Path | None) -> None:
        command = [sys.executable, __file__, "tantivy-child", str(size), str(commits)]
        command += ["--folder", str(folder)] + (["--keep", str(kept)] if kept else [])
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.build_s = self._read()["build_s"]

    def _read(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the tantivy child ended (rc {self.process.wait()})")
        return json.loads(line)

    def commit(self, number: int) -> tuple[float, float]:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{number}\n")
        self.process.stdin.flush()
        wall, cpu = self._read()
        return wall, cpu

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("end\n")
        self.process.stdin.close()
        self.process.wait()


# -- bnsearch ----------------------------------------------------------------------------
def _indexes(
    size: int, commits: int, folder: Path, kept: Path | None
) -> tuple[dict[str, Path], dict[str, Any]]:
    """The two variants' indexes in ``folder`` (built, or copied from ``kept``) and what
    their build measured (empty when copied)."""
    from bench_publishing_scale import copy_index

    from bnsearch.index import Index

    paths = {variant: folder / variant for variant in VARIANTS}
    if kept is not None and (kept / BUILT).is_file():
        for variant, path in paths.items():
            copy_index(kept / variant, path)
        return paths, json.loads((kept / BUILT).read_text())
    articles = {variant: _articles(size, commits, variant == "links")[0] for variant in VARIANTS}
    if kept is None:
        built = interleaved_build({v: (paths[v], a) for v, a in articles.items()})
    else:
        built = interleaved_build({v: (kept / v / "idx", a) for v, a in articles.items()})
        built["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        (kept / BUILT).write_text(json.dumps(built) + "\n")
        for variant, path in paths.items():
            copy_index(kept / variant, path)
    for variant, path in paths.items():
        assert Index.open(path).reader().doc_count == size, variant
    return paths, built


def _summary(walls: list[float], cpus: list[float], merges: int) -> dict[str, Any]:
    wall, cpu = _percentiles(walls), _percentiles(cpus)
    return {
        **{f"wall_{key}": value for key, value in wall.items()},
        **{f"cpu_{key}": value for key, value in cpu.items()},
        "merge_commits": merges,
    }


def run(
    size: int,
    commits: int,
    *,
    kept: Path | None = None,
    tantivy: bool = True,
    search: bool = False,
) -> dict[str, Any]:
    """The interleaved run (see the module docstring); returns its report."""
    from bnsearch.index import Index

    folder = Path(tempfile.mkdtemp(prefix="publish-", dir=kept))
    peer = None
    try:
        paths, built = _indexes(size, commits, folder, kept)
        new = {variant: _articles(size, commits, variant == "links")[1] for variant in VARIANTS}
        if tantivy:
            peer = _Tantivy(size, commits, folder, kept)
        walls: dict[str, list[float]] = {name: [] for name in (*VARIANTS, "tantivy")}
        cpus: dict[str, list[float]] = {name: [] for name in walls}
        merges = dict.fromkeys(VARIANTS, 0)
        writers = {variant: Index.open(paths[variant]).writer() for variant in VARIANTS}
        searchers = {variant: Index.open(paths[variant]).searcher() for variant in VARIANTS}
        looks: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        load = [os.getloadavg()[0]]
        began_run = time.time()
        try:
            for number in range(commits):
                order = VARIANTS if number % 2 == 0 else VARIANTS[::-1]
                steps: list[tuple[str, Callable[[], None]]] = []
                for variant in order:
                    steps.append((variant, _committer(writers[variant], new[variant][number])))
                    if variant == order[0] and peer is not None:
                        steps.append(("tantivy", _stepper(peer, number, walls, cpus)))
                for name, step in steps:
                    if name == "tantivy":
                        step()
                        continue
                    began, began_cpu = time.perf_counter(), time.process_time()
                    result = step()
                    cpus[name].append(time.process_time() - began_cpu)
                    walls[name].append(time.perf_counter() - began)
                    merges[name] += bool(result.merged_segments)  # type: ignore[attr-defined]
                    if search:  # a newsroom's searcher sees the commit: refresh, search
                        began_cpu = time.process_time()
                        searchers[name] = searchers[name].refresh()
                        searchers[name].search(new[name][number].title.split()[0], limit=10)
                        looks[name].append(time.process_time() - began_cpu)
                if number % 50 == 49:
                    load.append(os.getloadavg()[0])
        finally:
            for writer in writers.values():
                writer.close()
            if peer is not None:
                peer.close()
        for variant in VARIANTS:
            assert Index.open(paths[variant]).reader().doc_count == size + commits, variant
        report: dict[str, Any] = {
            "articles": size,
            "commits": commits,
            "started": time.strftime("%H:%M:%S UTC", time.gmtime(began_run)),
            "minutes": round((time.time() - began_run) / 60, 1),
            "load_min_max": [min(load), max(load)],
            "build": built,
        }
        for variant in VARIANTS:
            report[variant] = _summary(walls[variant], cpus[variant], merges[variant])
            if search:
                lookups = {f"cpu_{k}": v for k, v in _percentiles(looks[variant]).items()}
                report[variant]["refresh_search"] = lookups
        if peer is not None:
            report["tantivy"] = _summary(walls["tantivy"], cpus["tantivy"], 0)
            report["tantivy"]["build_s"] = peer.build_s
        report["ratio"] = _ratios(walls, cpus)
        report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return report
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _committer(writer: Any, article: Any) -> Callable[[], Any]:
    def step() -> Any:
        writer.add(article)
        return writer.commit()

    return step


def _stepper(
    peer: _Tantivy, number: int, walls: dict[str, list[float]], cpus: dict[str, list[float]]
) -> Callable[[], None]:
    def step() -> None:
        wall, cpu = peer.commit(number)
        walls["tantivy"].append(wall)
        cpus["tantivy"].append(cpu)

    return step


def _ratios(walls: dict[str, list[float]], cpus: dict[str, list[float]]) -> dict[str, float]:
    """``links`` / ``plain``: of the CPU p50 and mean, of the wall p50, the median of the
    per-commit CPU ratios, and the CPU p50 ratio of each half of the commits."""
    links, plain = np.asarray(cpus["links"]), np.asarray(cpus["plain"])
    half = len(links) // 2
    return {
        "cpu_p50": round(_median(links) / _median(plain), 3),
        "cpu_mean": round(float(links.mean() / plain.mean()), 3),
        "wall_p50": round(_median(walls["links"]) / _median(walls["plain"]), 3),
        "cpu_paired_median": round(_median(links / plain), 3),
        "cpu_p50_first_half": round(_median(links[:half]) / _median(plain[:half]), 3),
        "cpu_p50_second_half": round(_median(links[half:]) / _median(plain[half:]), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("articles", nargs="?", help="N (or tantivy-child)")
    parser.add_argument("rest", nargs="*", type=int)
    parser.add_argument("--keep", type=Path, help="build once into DIR, commit into copies")
    parser.add_argument("--no-tantivy", action="store_true")
    parser.add_argument(
        "--search",
        action="store_true",
        help="after each commit, refresh a searcher and search a word of the new title "
        "(its CPU time is reported apart: refresh_search)",
    )
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    kept = args.keep.resolve() if args.keep else None
    if kept is not None:
        kept.mkdir(parents=True, exist_ok=True)
    if args.articles == "tantivy-child":
        size, commits = args.rest
        tantivy_child(size, commits, args.folder, kept)
        return
    size, (commits,) = int(args.articles), args.rest
    report = run(size, commits, kept=kept, tantivy=not args.no_tantivy, search=args.search)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
    sys.exit(0)


# -- pytest-benchmark entry point -----------------------------------------------------
import pytest  # noqa: E402

pytestmark = pytest.mark.benchmark(group="publishing")
SCALE = [int(v) for v in os.environ.get("BNSEARCH_BENCH_PUBLISH", "20000,200").split(",")]


def run_child(size: int, commits: int) -> dict[str, Any]:
    command = [sys.executable, __file__, str(size), str(commits)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench_publishing failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_single_article_commits(benchmark: Any) -> None:
    """``COMMITS`` single-article commits into two indexes of ``N`` synthetic articles
    (six links each, and none), interleaved; tantivy stepped beside them."""
    if not BELIN.is_file():
        pytest.skip(f"benchmark corpus not found: {BELIN}")
    result = benchmark.pedantic(run_child, args=tuple(SCALE), rounds=1, iterations=1)
    benchmark.extra_info.update(result)
