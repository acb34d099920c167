"""Link graph memory and build time: the compact graph against main's dict-of-sets graph.

    python benchmarks/bench_link_graph.py 100000 200000 --old-max 200000 --big 1000000

Synthetic articles: N articles, each with a Bengali title (eight words drawn from a
5,000-word vocabulary by a fixed mixing of the article number, about 60 characters), a URL,
and six related headlines that are titles of other articles drawn at random (so targets
arrive after their linkers); 1% of the titles repeat another's (ambiguous links) and 3% of
the headlines match nothing. Keys are given to the graph directly (``update(added=...)``,
the way the index feeds it), so the analyzer is not measured.

Each graph is built in a fresh process: ``update`` with all N articles at once (the
index's ``graph_from_segments``), the input dropped, then 1,000 single-article commits (a
new article with six links to published ones, ``update`` of one: the writer's path), then
200 deletes. Reported per run: build seconds; the growth of the resident set (RSS,
/proc) over the process before the input was made, after the build, after the commits,
and at its peak (VmHWM: the build's temporaries included); in a second process with
tracemalloc on, what the graph still holds after the input is dropped, and the peak; the
mean single commit and delete. The old graph is main's code
(``git show 4a08a39:bnsearch/articles/links.py``) imported from a temporary file at run
time, never committed.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

OLD_COMMIT = "4a08a39"
LINKS = 6
_LETTERS = "কখগঘচছজঝটঠডঢণতথদধনপফবভমযরলশষসহড়য়ংািীুূেৈোৌ্"


def vocabulary(size: int = 5000) -> list[str]:
    rng = np.random.default_rng(7)
    words = set()
    while len(words) < size:
        length = int(rng.integers(3, 8))
        words.add("".join(_LETTERS[int(i)] for i in rng.integers(0, len(_LETTERS), length)))
    return sorted(words)


def titles(count: int) -> list[str]:
    words = vocabulary()
    rng = np.random.default_rng(11)
    result: list[str] = []
    for block in range(0, count, 65536):
        picks = rng.integers(0, len(words), size=(min(65536, count - block), 8))
        result += [" ".join(words[w] for w in row) for row in picks.tolist()]
    repeat = rng.integers(0, count, size=count // 100)  # 1% share another's title
    for target, source in zip(
        repeat.tolist(), rng.integers(0, count, len(repeat)).tolist(), strict=True
    ):
        result[target] = result[source]
    return result


def rows(
    names: list[str], first: int, count: int, seed: int
) -> Iterator[tuple[str, str, str, tuple[tuple[str, str, str], ...]]]:
    """The articles ``first`` .. ``first + count - 1``, made a block at a time (so the
    input never sits in memory whole)."""
    rng = np.random.default_rng(seed)
    for block in range(first, first + count, 4096):
        size = min(4096, first + count - block)
        targets = rng.integers(0, len(names), size=(size, LINKS)).tolist()
        missing = (rng.random((size, LINKS)) < 0.03).tolist()
        for offset in range(size):
            number = block + offset
            links = tuple(
                (f"নেই {number} {k}" if missing[offset][k] else names[t], "", "")
                for k, t in enumerate(targets[offset])
            )
            yield (
                f"a{number:08d}",
                names[number % len(names)],
                f"http://news.example.com/{number % 97}/{number}",
                links,
            )


def rss(field: str = "VmRSS") -> int:
    """This process's resident set (``VmHWM``: its peak so far), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def load_graph(which: str) -> Any:
    if which == "new":
        from bnsearch.articles.links import LinkGraph

        return LinkGraph
    source = subprocess.run(
        ["git", "show", f"{OLD_COMMIT}:bnsearch/articles/links.py"],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout
    folder = tempfile.mkdtemp()
    path = Path(folder) / "old_links.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_links", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LinkGraph


def one_run(which: str, count: int, trace: bool) -> dict[str, Any]:
    graph_class = load_graph(which)
    # a small graph first: the modules the build imports (numpy's among them) load before
    # the process is measured, as they would in a writer that has run before
    graph_class().update(added=rows(titles(2000), 0, 2000, seed=1))
    gc.collect()
    if trace:
        tracemalloc.start()
    before = rss()
    names = titles(count)  # the input, dropped after the build (the graph keeps its copy)
    start = time.perf_counter()
    graph = graph_class()
    graph.update(added=rows(names, 0, count, seed=1))
    build = time.perf_counter() - start
    result: dict[str, Any] = {"graph": which, "articles": count, "links": graph.link_count}
    del names
    gc.collect()
    if trace:
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result.update(traced_mb=round(current / 2**20, 1), traced_peak_mb=round(peak / 2**20, 1))
        result["traced_bytes_per_link"] = round(current / graph.link_count, 1)
        return result
    result.update(build_s=round(build, 2), rss_build_mb=round((rss() - before) / 2**20, 1))
    # 1,000 commits of one new article linking to six published ones (their title keys
    # read back from the graph), then 200 deletes
    rng = np.random.default_rng(2)
    commits = [
        (
            f"new{number}",
            f"নতুন খবর {number}",
            f"http://news.example.com/new/{number}",
            tuple(
                (graph.keys_of(f"a{int(t):08d}")[0], "", "") for t in rng.integers(0, count, LINKS)
            ),
        )
        for number in range(1000)
    ]
    start = time.perf_counter()
    for row in commits:
        graph.update(added=[row])
    result["commit_ms"] = round((time.perf_counter() - start) / len(commits) * 1000, 3)
    start = time.perf_counter()
    for number in range(0, count, max(1, count // 200))[:200]:
        graph.update(removed=[f"a{number:08d}"])
    result["delete_ms"] = round((time.perf_counter() - start) / 200 * 1000, 3)
    del commits
    gc.collect()
    result["rss_mb"] = round((rss() - before) / 2**20, 1)
    result["rss_bytes_per_link"] = round((rss() - before) / graph.link_count)
    result["rss_peak_mb"] = round((rss("VmHWM") - before) / 2**20, 1)
    try:  # glibc keeps freed heap pages (the input, the build's temporaries): give them back
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        result["rss_trimmed_mb"] = round((rss() - before) / 2**20, 1)
    except (OSError, AttributeError):
        pass
    if hasattr(graph, "nbytes"):
        result["arrays_mb"] = round(graph.nbytes / 2**20, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 200_000])
    parser.add_argument("--old-max", type=int, default=200_000, help="largest N for main's graph")
    parser.add_argument("--big", type=int, nargs="*", default=[], help="N for the new graph only")
    parser.add_argument("--run", nargs=3, metavar=("GRAPH", "N", "TRACE"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.run:
        which, count, trace = options.run
        print(json.dumps(one_run(which, int(count), trace == "1")))
        return
    plan = [
        (g, n) for n in options.sizes for g in ("old", "new") if g == "new" or n <= options.old_max
    ]
    plan += [("new", n) for n in options.big]
    for which, count in plan:
        merged: dict[str, Any] = {}
        for trace in ("0", "1"):
            done = subprocess.run(
                [sys.executable, __file__, "--run", which, str(count), trace],
                check=True,
                capture_output=True,
                text=True,
            )
            merged.update(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(merged), flush=True)


if __name__ == "__main__":
    main()
