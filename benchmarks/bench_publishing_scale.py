"""Continuous publishing at scale: single-article commits into a kept 1M-article index.

``bench_publishing.py`` builds its index in every run, which is fine at 20k-100k and too
slow at a million (a 1M build takes tens of minutes on the 2-core machine). This script
builds the large index ONCE into a folder that is kept, and times commits on copies of it:

    python benchmarks/bench_publishing_scale.py build bench-1m --size 1000000
    python benchmarks/bench_publishing_scale.py commits bench-1m --commits 120
    python benchmarks/bench_publishing_scale.py reader bench-1m

``build``: ``--size`` synthetic articles (the BeliN word model of ``bench_indexing``), each
with six related headlines (titles of other articles, drawn at random, seeded, as
``SyntheticCorpus.linked_articles`` does), streamed into one writer and committed every
``--commit-every`` articles; the titles are written to ``titles.txt`` beside the index (the
commits draw their headlines from them) and ``built.json`` records the build. A finished
build is never redone; a stopped one resumes after its last commit (same arguments).

``commits``: each variant runs in a fresh subprocess on a hard-linked copy of the built
index (segments are immutable and every commit writes new files and renames the manifest,
so the kept index is never changed and every run starts from the same commit):

* ``links``: ``--commits`` new articles, each listing six headlines of built articles,
  each added and committed on its own through one long-lived writer;
* ``plain``: the same new articles without related headlines (the peer).

Reported per variant: writer open seconds, commit latency p50/p99/mean/first/max (ms) and
CPU p50 (the committing thread's: a background merge's thread is not counted), the
process's resident memory (MB) after the index is opened, after the first commit and at
the end, and its peak; the generations the commits made beyond one each (installed
background merges) and the seconds ``close()`` took (it waits for a merge still running
and installs it).

``--merge-factor N`` commits under ``MergePolicy(merge_factor=N)`` (2: the kept index's
large segments are merged at the first commit, the case of a tier merge landing in a
one-article commit), ``--background-docs 0`` runs every merge inside its commit (the
code before background merges; default: the policy's threshold). ``--pause S`` waits S
seconds between commits (not timed: a site publishing now and then, so a background
merge can finish and be installed among the commits). ``--search-after`` also times, after
each commit (not counted in the commit's figures), a searcher's refresh and its first
search for the first word of the article just published (``search_after_*``): what a
site's search pays for the new snapshot.

``reader``: a fresh reader's first ``related()``, then its link reports (unresolved and
ambiguous lists, in-link counts of the prior) on the kept index, time and resident memory,
in two fresh subprocesses: ``census`` (the reader's way) and ``graph`` (through the whole
link graph, the reader's way before the census; the peer).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_indexing import RELATED_PER_ARTICLE, SyntheticCorpus
from bench_publishing import _percentiles
from corpus import load_records

INDEX, TITLES, BUILT = "idx", "titles.txt", "built.json"
VARIANTS = ("plain", "links")
WAYS = ("graph", "census")


def rss_mb() -> float:
    """The process's resident memory now (``/proc/self/statm``), in MB."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def linked_stream(corpus: SyntheticCorpus, titles: list[str]) -> Iterator[Any]:
    """The corpus's articles again (same seed), each with six other articles' titles."""
    import attrs

    count = len(titles)
    rng = np.random.default_rng(corpus.seed + 1)
    picks = rng.integers(0, max(count - 1, 1), size=(count, RELATED_PER_ARTICLE))
    for number, article in enumerate(corpus.articles(count)):
        others = [int(p) + (int(p) >= number) for p in picks[number]]  # never itself
        yield attrs.evolve(article, related=[titles[o] for o in others if o < count])


def corpus_for(body_words: int, *, seed: int = 7) -> SyntheticCorpus:
    """The BeliN word model; with ``body_words`` > 0, bodies cut to at most that many
    words (the titles and links are the model's own)."""
    corpus = SyntheticCorpus(load_records(), seed=seed)
    if body_words > 0:
        corpus.lengths = np.minimum(corpus.lengths, body_words)
    return corpus


def build(folder: Path, size: int, commit_every: int, body_words: int) -> None:
    from bnsearch.index import Index

    if (folder / BUILT).is_file():
        print(f"{folder}: already built: {(folder / BUILT).read_text()}")
        return
    folder.mkdir(parents=True, exist_ok=True)
    corpus = corpus_for(body_words)
    began = time.perf_counter()
    if (folder / TITLES).is_file():  # a build stopped earlier: the same articles
        titles = (folder / TITLES).read_text(encoding="utf-8").splitlines()
    else:
        titles = [article.title for article in corpus.articles(size)]  # pass 1: titles only
        (folder / TITLES).write_text("\n".join(titles) + "\n", encoding="utf-8")
    if len(titles) != size:
        sys.exit(f"{folder}: titles.txt holds {len(titles):,} titles, not {size:,}")
    print(f"titles of {size:,} articles in {time.perf_counter() - began:.0f} s", flush=True)
    if (folder / INDEX / "meta.json").is_file():  # resume after the last commit
        index = Index.open(folder / INDEX)
        done = index.reader().doc_count
        print(f"resuming after {done:,} committed articles", flush=True)
    else:
        shutil.rmtree(folder / INDEX, ignore_errors=True)
        index, done = Index.create(folder / INDEX), 0
    began = time.perf_counter()
    commits = []
    stream = itertools.islice(linked_stream(corpus, titles), done, None)
    with index.writer() as writer:
        for number, article in enumerate(stream, done + 1):
            writer.add(article)
            if number % commit_every == 0 or number == size:
                started = time.perf_counter()
                writer.commit()
                commits.append(round(time.perf_counter() - started, 1))
                print(
                    f"{number:,} articles, {time.perf_counter() - began:.0f} s, "
                    f"commit {commits[-1]} s, rss {rss_mb()} MB",
                    flush=True,
                )
    info = {
        "size": size,
        "links_per_article": RELATED_PER_ARTICLE,
        "body_words": body_words or "BeliN lengths",
        "build_s": round(time.perf_counter() - began, 1),
        "resumed_after": done,
        "commit_s": commits,
        "peak_rss_mb": peak_mb(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": os.getloadavg(),
    }
    (folder / BUILT).write_text(json.dumps(info) + "\n")
    print(json.dumps(info))


def new_articles(folder: Path, commits: int, links: bool, body_words: int) -> list[Any]:
    """``commits`` articles not in the index; with ``links``, six built titles each."""
    import attrs

    count = json.loads((folder / BUILT).read_text())["size"]
    rng = np.random.default_rng(11)
    picks = rng.integers(0, count, size=(commits, RELATED_PER_ARTICLE))
    wanted = set(picks.ravel().tolist()) if links else set()
    titles = {}  # only the picked lines: the million titles never sit in this process
    with open(folder / TITLES, encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if number in wanted:
                titles[number] = line.rstrip("\n")
    corpus = corpus_for(body_words, seed=1234)  # other words than the build's
    articles = []
    for number, article in enumerate(corpus.articles(commits)):
        related = [titles[int(p)] for p in picks[number]] if links else []
        articles.append(attrs.evolve(article, id=f"new-{number}", related=related))
    return articles


def copy_index(folder: Path, target: Path) -> Path:
    """A hard-linked copy of the kept index (its lock file is the copy's own)."""
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(["cp", "-al", str(folder / INDEX), str(target)], check=True)
    for name in os.listdir(target):
        if "lock" in name.lower():
            os.unlink(target / name)
    return target


def run_commits(
    folder: Path,
    variant: str,
    commits: int,
    policy: dict[str, int] | None = None,
    pause: float = 0.0,
    search_after: bool = False,
) -> dict[str, Any]:
    from bnsearch.index import Index, MergePolicy

    built = json.loads((folder / BUILT).read_text())
    body_words = built["body_words"] if isinstance(built["body_words"], int) else 0
    articles = new_articles(folder, commits, variant == "links", body_words)
    target = copy_index(folder, folder / f"run-{variant}-{os.getpid()}")
    try:
        result: dict[str, Any] = {"rss_start_mb": rss_mb()}
        began = time.perf_counter()
        index = Index.open(target)
        times, cpu = [], []
        settings: dict[str, int | None] = dict(policy or {})
        if settings.get("background_docs") == 0:
            settings["background_docs"] = None
        writer = index.writer(merge_policy=MergePolicy(**settings))
        try:
            result["open_s"] = round(time.perf_counter() - began, 2)
            result["rss_open_mb"] = rss_mb()
            generation = index.generation
            searcher = index.searcher() if search_after else None
            refreshes: list[float] = []
            searches: list[float] = []
            for article in articles:
                if pause and times:
                    time.sleep(pause)
                began, began_cpu = time.perf_counter(), time.thread_time()
                writer.add(article)
                writer.commit()
                times.append(time.perf_counter() - began)
                cpu.append(time.thread_time() - began_cpu)
                if len(times) == 1:
                    result["rss_first_commit_mb"] = rss_mb()
                if searcher is not None:
                    began = time.perf_counter()
                    searcher = searcher.refresh()
                    refreshes.append(time.perf_counter() - began)
                    began = time.perf_counter()
                    searcher.search(article.title.split()[0], limit=10)
                    searches.append(time.perf_counter() - began)
            result["extra_generations"] = index.generation - generation - len(times)
            result["rss_end_mb"] = rss_mb()
            began = time.perf_counter()
        finally:
            writer.close()
        result["close_s"] = round(time.perf_counter() - began, 2)
        result.update(_percentiles(times))
        result["cpu_p50_ms"] = round(float(np.median(cpu)) * 1000, 1)
        result["commits"] = len(times)
        if searches:
            for name, values in (("refresh", refreshes), ("search_after", searches)):
                result[f"{name}_p50_ms"] = round(float(np.median(values)) * 1000, 1)
                result[f"{name}_p99_ms"] = round(float(np.percentile(values, 99)) * 1000, 1)
        result["peak_rss_mb"] = peak_mb()
        return result
    finally:
        shutil.rmtree(target, ignore_errors=True)


def run_reader(folder: Path, way: str) -> dict[str, Any]:
    """A fresh reader's first related(), link reports and in-link prior on the kept index:
    ``census`` as the reader does them (:func:`bnsearch.index.links.link_census`), ``graph``
    through the whole :class:`LinkGraph` of the segments (what the reader did before)."""
    from bnsearch.index import Index
    from bnsearch.index.reader import _shown
    from bnsearch.search.related import related

    result: dict[str, Any] = {"rss_start_mb": rss_mb()}
    began = time.perf_counter()
    searcher = Index.open(folder / INDEX).searcher()
    reader = searcher.reader
    result["open_s"] = round(time.perf_counter() - began, 2)
    result["rss_open_mb"] = rss_mb()

    def reports() -> tuple[int, int, int]:
        if way == "graph":
            graph = reader.link_graph()
            counts = graph.in_link_counts()
            unresolved = [(link.source, _shown(link.link)) for link in graph.unresolved()]
            ambiguous = [(link.source, _shown(link.link)) for link in graph.ambiguous()]
            return len(unresolved), len(ambiguous), sum(counts.values())
        in_links = reader.in_link_counts()
        return (
            len(reader.unresolved_links()),
            len(reader.ambiguous_links()),
            sum(int(c.sum()) for c in in_links),
        )

    for name, call in (
        ("related_first", lambda: related(searcher, "syn-1234", limit=10)),
        ("related_second", lambda: related(searcher, "syn-777", limit=10)),
        ("reports", reports),
    ):
        began = time.perf_counter()
        value = call()
        result[f"{name}_s"] = round(time.perf_counter() - began, 3)
        result[f"rss_{name}_mb"] = rss_mb()
        if name == "reports":
            result["unresolved"], result["ambiguous"], result["in_links"] = value
    result["peak_rss_mb"] = peak_mb()
    return result


def run_child(arguments: list[str]) -> dict[str, Any]:
    command = [sys.executable, __file__, *arguments]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{arguments} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def policy_of(args: argparse.Namespace) -> dict[str, int]:
    """The ``MergePolicy`` settings the command line asks for (none: the defaults)."""
    settings = {}
    if args.merge_factor:
        settings["merge_factor"] = args.merge_factor
    if args.background_docs >= 0:
        settings["background_docs"] = args.background_docs
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "action", choices=("build", "commits", "reader", "child-commits", "child-reader")
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--commit-every", type=int, default=100_000)
    parser.add_argument("--commits", type=int, default=120)
    parser.add_argument(
        "--body-words", type=int, default=0, help="cut bodies to this many words (0: no cut)"
    )
    parser.add_argument("--variant", choices=VARIANTS, default="links")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--way", choices=WAYS, default="census")
    parser.add_argument("--merge-factor", type=int, default=0, help="0: the policy's default")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between commits")
    parser.add_argument(
        "--background-docs", type=int, default=-1, help="0: every merge inside its commit"
    )
    parser.add_argument(
        "--search-after", action="store_true", help="time a search of each new snapshot"
    )
    args = parser.parse_args()
    folder = args.folder.resolve()
    if args.action == "build":
        build(folder, args.size, args.commit_every, args.body_words)
    elif args.action == "child-commits":
        result = run_commits(
            folder, args.variant, args.commits, policy_of(args), args.pause, args.search_after
        )
        print(json.dumps(result))
    elif args.action == "child-reader":
        print(json.dumps(run_reader(folder, args.way)))
    elif args.action == "reader":
        print("load", os.getloadavg(), flush=True)
        for way in WAYS:
            result = run_child(["child-reader", str(folder), "--way", way])
            print(way, json.dumps(result), "load", os.getloadavg(), flush=True)
    else:
        if not (folder / BUILT).is_file():
            sys.exit(f"{folder}: no finished build (run the build action first)")
        print("index", (folder / BUILT).read_text().strip(), flush=True)
        print("load", os.getloadavg(), flush=True)
        for variant in args.variants.split(","):
            arguments = ["child-commits", str(folder), "--variant", variant]
            arguments += ["--merge-factor", str(args.merge_factor)]
            arguments += ["--background-docs", str(args.background_docs)]
            arguments += ["--pause", str(args.pause)]
            arguments += ["--search-after"] if args.search_after else []
            result = run_child([*arguments, "--commits", str(args.commits)])
            print(variant, json.dumps(result), "load", os.getloadavg(), flush=True)


if __name__ == "__main__":
    main()
