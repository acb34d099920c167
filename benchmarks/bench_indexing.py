"""Indexing throughput, index size and peak memory: bnsearch against whoosh and tantivy.

Run: ``pytest benchmarks/bench_indexing.py --benchmark-only`` (``--corpus-limit N`` for a
quick look; ``BNSEARCH_BENCH_SCALE=10000,100000,1000000`` in the environment for the full
synthetic scaling run, default 10,000 only). Each engine runs once in a fresh subprocess,
so every one starts with a cold analyzer cache and reports its own peak memory
(``ru_maxrss`` of the process and its worker processes). All engines analyze with the
same bnsearch analyzer (``default_analyzer``):

* ``bnsearch_1proc`` / ``bnsearch_2proc``: ``Index.create`` + ``writer(processes=...)``,
  every article added, one commit (title, body and section indexed; text stored);
* ``whoosh``: whoosh 2.7 with ``BengaliWhooshAnalyzer`` on title and body, text stored,
  one writer process (whoosh's default);
* ``tantivy``: tantivy-py, each field pre-analyzed by bnsearch and joined with spaces, a
  ``whitespace`` tokenizer, text stored, ``num_threads=1``. Tantivy's indexing thread runs
  beside the Python thread that analyzes, so on a 2-core machine it uses two cores even
  with one writer thread.

``extra_info`` per row: ``articles_per_s``, ``mb_per_s`` (UTF-8 title + body), ``seconds``,
``index_mb``, ``bytes_per_article``, ``index_mb_no_store`` and ``size_vs_text``
(bnsearch without ``store.*``: the postings, dictionaries, norms, ids and link data, as a
share of the raw text), ``peak_rss_mb``.

The scaling run (``synthetic_<n>``) indexes synthetic articles drawn from the BeliN
corpus's own word frequencies and body lengths (a unigram model, seeded). Up to 100,000
articles are generated before the clock starts; larger runs are generated in a stream
(a million articles never sit in memory at once) and the generation time is subtracted.

Runs for people: ``links-ab N [ROUNDS] [--one-process | --apart]`` (the same articles
built with six related headlines each and without, each variant in its own process, the
two started together, CPU per variant, of it the system's, and minor page faults;
``--apart``: one variant after the other; ``--one-process``: interleaved in one process,
as before the seventh session),
``links-parts N`` (the two variants as ``links-ab`` builds them, with a timer around
each of the writer's and builder's parts, :data:`LINK_PARTS`: where the links build's
extra CPU goes, part by part, and each graph update and segment build's own) and
``anchors-splice KEPT WORK [ROUNDS]`` (a reader after one link commit into a copy of a
kept links build: each updated segment's anchors field built from scratch against
spliced into the field built before the commit, alternated).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: find corpus.py
from corpus import BELIN, load_records

#: Synthetic runs up to this size are generated before timing; larger ones stream, and
#: their generation time is subtracted (with workers, generation competes for the cores,
#: so streamed multi-process figures are pessimistic).
MATERIALIZE_UP_TO = 100_000
#: Related headlines per article in the links variant (``*_links`` engines).
RELATED_PER_ARTICLE = 6


# -- the corpus -------------------------------------------------------------------------
def text_mb(records: list[dict[str, Any]]) -> float:
    return sum(len(r["title"].encode()) + len(r["body"].encode()) for r in records) / 1e6


class SyntheticCorpus:
    """Articles drawn from the real corpus's word frequencies and body lengths."""

    def __init__(self, records: list[dict[str, Any]], *, seed: int = 7) -> None:
        counts: Counter[str] = Counter()
        lengths = []
        title_lengths = []
        for record in records:
            words = record["body"].split()
            counts.update(words)
            lengths.append(len(words))
            title_lengths.append(max(1, len(record["title"].split())))
        self.words = np.array(list(counts), dtype=object)
        freq = np.array(list(counts.values()), dtype=np.float64)
        self.cumulative = np.cumsum(freq / freq.sum())
        self.lengths = np.array(lengths)
        self.title_lengths = np.array(title_lengths)
        self.sections = sorted({str(r.get("section") or "") for r in records})
        self.seed = seed
        self.generation_seconds = 0.0
        self.mb = 0.0

    def _sample(self, rng: np.random.Generator, count: int) -> list[str]:
        picks = np.searchsorted(self.cumulative, rng.random(count), side="right")
        return list(self.words[np.minimum(picks, len(self.words) - 1)])

    def articles(self, count: int, chunk: int = 1000) -> Iterator[Any]:
        from bnsearch.articles import Article

        rng = np.random.default_rng(self.seed)
        for start in range(0, count, chunk):
            began = time.perf_counter()
            size = min(chunk, count - start)
            body_lengths = rng.choice(self.lengths, size=size)
            title_lengths = rng.choice(self.title_lengths, size=size)
            words = self._sample(rng, int(body_lengths.sum() + title_lengths.sum()))
            batch = []
            position = 0
            for number in range(size):
                title = " ".join(words[position : position + title_lengths[number]])
                position += title_lengths[number]
                body = " ".join(words[position : position + body_lengths[number]])
                position += body_lengths[number]
                self.mb += (len(title.encode()) + len(body.encode())) / 1e6
                batch.append(
                    Article(
                        id=f"syn-{start + number}",
                        title=title,
                        body=body,
                        section=self.sections[(start + number) % len(self.sections)],
                    )
                )
            self.generation_seconds += time.perf_counter() - began
            yield from batch

    def linked_articles(self, count: int, links: int = RELATED_PER_ARTICLE) -> list[Any]:
        """:meth:`articles` where each article lists ``links`` related headlines: the titles
        of other articles (drawn at random, seeded), as a news page does."""
        import attrs

        articles = list(self.articles(count))
        began = time.perf_counter()
        rng = np.random.default_rng(self.seed + 1)
        titles = [article.title for article in articles]
        picks = rng.integers(0, max(count - 1, 1), size=(count, links))
        linked = []
        for number, article in enumerate(articles):
            others = [int(p) + (int(p) >= number) for p in picks[number]]  # never itself
            related = [titles[other] for other in others if other < count]
            linked.append(attrs.evolve(article, related=related))
        self.generation_seconds += time.perf_counter() - began
        return linked


# -- engines (each runs in a child process) -----------------------------------------------
def folder_size(path: Path, *, skip_prefix: str | None = None) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            if skip_prefix is None or not name.startswith(skip_prefix):
                total += os.path.getsize(os.path.join(root, name))
    return total


def run_bnsearch(articles: Any, folder: Path, processes: int) -> dict[str, Any]:
    from bnsearch.index import Index

    index = Index.create(folder / "idx")
    began, cpu = time.perf_counter(), time.process_time()
    with index.writer(processes=processes) as writer:
        count = writer.add_many(articles)
    seconds = time.perf_counter() - began
    cpu = time.process_time() - cpu  # this process only (the writer's, with one process)
    reader = index.reader()
    assert reader.doc_count == count, (reader.doc_count, count)
    return {
        "count": count,
        "seconds": seconds,
        "cpu_seconds": round(cpu, 2),
        "segments": len(reader.segments),
        "index_bytes": folder_size(folder / "idx"),
        "index_bytes_no_store": folder_size(folder / "idx", skip_prefix="store."),
    }


def interleaved_build(
    variants: Mapping[str, tuple[Path, Sequence[Any]]], *, batch: int = 1000
) -> dict[str, Any]:
    """Build one index per variant (name -> (index folder, its articles)) in this
    process, every writer open at once: ``batch`` articles are added to each writer in
    turn (the order flipped every round), then each commits in turn. Alternating keeps a
    shared machine's load on every variant alike. Returns per variant its wall and CPU
    seconds (``time.process_time``: this process only), of them the system's
    (``sys_seconds``: page faults and file writes, which vary with the machine's memory
    state more than the rest) and the minor page faults (``page_faults``), and ``ratio``:
    each variant's CPU seconds over the first's."""
    from bnsearch.index import Index

    names = list(variants)
    writers = {name: Index.create(variants[name][0]).writer() for name in names}
    wall = dict.fromkeys(names, 0.0)
    cpu = dict.fromkeys(names, 0.0)
    system = dict.fromkeys(names, 0.0)
    faults = dict.fromkeys(names, 0)
    longest = max(len(articles) for _, articles in variants.values())

    def timed(name: str, call: Callable[[], Any]) -> None:
        used = resource.getrusage(resource.RUSAGE_SELF)
        began, began_cpu = time.perf_counter(), time.process_time()
        call()
        cpu[name] += time.process_time() - began_cpu
        wall[name] += time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_SELF)
        system[name] += after.ru_stime - used.ru_stime
        faults[name] += after.ru_minflt - used.ru_minflt

    try:
        for round_no, low in enumerate(range(0, longest, batch)):
            for name in names if round_no % 2 == 0 else names[::-1]:
                part = variants[name][1][low : low + batch]
                timed(name, lambda w=writers[name], p=part: w.add_many(p))
        for name in names:
            timed(name, writers[name].commit)
    finally:
        for writer in writers.values():
            writer.close()
    result: dict[str, Any] = {
        name: {
            "seconds": round(wall[name], 2),
            "cpu_seconds": round(cpu[name], 2),
            "sys_seconds": round(system[name], 2),
            "page_faults": faults[name],
        }
        for name in names
    }
    result["ratio_cpu"] = {name: round(cpu[name] / cpu[names[0]], 3) for name in names[1:]}
    result["ratio_wall"] = {name: round(wall[name] / wall[names[0]], 3) for name in names[1:]}
    return result


def run_whoosh(articles: Any, folder: Path) -> dict[str, Any]:
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, KEYWORD, TEXT, Schema

    from bnsearch.integrations.whoosh import BengaliWhooshAnalyzer

    analyzer = BengaliWhooshAnalyzer()
    schema = Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(stored=True, analyzer=analyzer),
        body=TEXT(stored=True, analyzer=analyzer),
        section=KEYWORD(stored=True),
    )
    (folder / "whoosh").mkdir()
    index = whoosh_index.create_in(str(folder / "whoosh"), schema)
    began = time.perf_counter()
    writer = index.writer()
    count = 0
    for article in articles:
        writer.add_document(
            id=article.id, title=article.title, body=article.body, section=" ".join(article.section)
        )
        count += 1
    writer.commit()
    seconds = time.perf_counter() - began
    return {"count": count, "seconds": seconds, "index_bytes": folder_size(folder / "whoosh")}


def run_tantivy(articles: Any, folder: Path) -> dict[str, Any]:
    import tantivy

    from bnsearch.analysis import default_analyzer

    analyzer = default_analyzer()
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_bytes_field("title", stored=True, indexed=False)  # the original text
    builder.add_bytes_field("body", stored=True, indexed=False)
    builder.add_text_field("title_terms", tokenizer_name="ws")  # bnsearch terms, indexed
    builder.add_text_field("body_terms", tokenizer_name="ws")
    builder.add_text_field("section", stored=True, tokenizer_name="raw")
    schema = builder.build()
    (folder / "tantivy").mkdir()
    index = tantivy.Index(schema, path=str(folder / "tantivy"))
    whitespace = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    index.register_tokenizer("ws", whitespace)
    began = time.perf_counter()
    writer = index.writer(heap_size=256_000_000, num_threads=1)
    count = 0
    for article in articles:
        # stored originals, and the bnsearch terms (pre-analyzed) as the indexed fields
        doc = tantivy.Document()
        doc.add_text("id", article.id)
        doc.add_bytes("title", article.title.encode())
        doc.add_bytes("body", article.body.encode())
        doc.add_text("title_terms", " ".join(analyzer.terms(article.title)))
        doc.add_text("body_terms", " ".join(analyzer.terms(article.body)))
        doc.add_text("section", " ".join(article.section))
        writer.add_document(doc)
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    seconds = time.perf_counter() - began
    return {"count": count, "seconds": seconds, "index_bytes": folder_size(folder / "tantivy")}


def child_main(engine: str, limit: int | None, synthetic: int | None) -> dict[str, Any]:
    from bnsearch.articles import Article

    records = load_records(limit)
    corpus: SyntheticCorpus | None = None
    if synthetic:
        corpus = SyntheticCorpus(records)
        articles: Any = corpus.articles(synthetic)
        mb = None
        if engine.endswith("_links"):  # six related headlines each: other articles' titles
            articles = corpus.linked_articles(synthetic)
        elif synthetic <= MATERIALIZE_UP_TO:  # generate before the clock starts
            articles = list(articles)
    else:
        articles = [
            Article(
                id=r["id"],
                title=r["title"],
                body=r["body"],
                section=r.get("section"),
                source=r.get("source"),
            )
            for r in records
        ]
        mb = text_mb(records)
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{engine}-"))
    try:
        if engine in ("bnsearch_1proc", "bnsearch_1proc_links"):
            result = run_bnsearch(articles, folder, 1)
        elif engine == "bnsearch_2proc":
            result = run_bnsearch(articles, folder, 2)
        elif engine == "whoosh":
            result = run_whoosh(articles, folder)
        elif engine == "tantivy":
            result = run_tantivy(articles, folder)
        else:
            raise SystemExit(f"unknown engine {engine}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if corpus is not None:
        if (
            synthetic is not None
            and synthetic > MATERIALIZE_UP_TO
            and not engine.endswith("_links")
        ):
            result["seconds"] -= corpus.generation_seconds
        result["generation_seconds"] = corpus.generation_seconds
        mb = corpus.mb
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["peak_rss_mb"] = round(max(own, workers) / 1024, 1)
    result["text_mb"] = mb
    return result


def run_child(
    engine: str, *, limit: int | None = None, synthetic: int | None = None
) -> dict[str, Any]:
    """Run one engine in a fresh interpreter and return its measurements with rates."""
    command = [sys.executable, __file__, engine, str(limit or 0), str(synthetic or 0)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{engine} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    seconds = result["seconds"]
    result["articles_per_s"] = round(result["count"] / seconds, 1)
    result["mb_per_s"] = round(result["text_mb"] / seconds, 2)
    result["index_mb"] = round(result["index_bytes"] / 1e6, 2)
    result["bytes_per_article"] = round(result["index_bytes"] / result["count"])
    if "index_bytes_no_store" in result:
        result["index_mb_no_store"] = round(result["index_bytes_no_store"] / 1e6, 2)
        result["size_vs_text"] = round(result["index_bytes_no_store"] / 1e6 / result["text_mb"], 3)
    return result


def variants_apart(
    order: Sequence[str], size: int, folder: Path, *flags: str
) -> dict[str, dict[str, Any]]:
    """Build each variant of ``order`` (``plain``, ``links``) of ``size`` articles in its
    own process (:func:`links_variant`, with ``flags``), all started together, into
    ``folder / variant``; returns each one's report."""
    children = {
        name: subprocess.Popen(
            [
                sys.executable,
                __file__,
                "links-variant",
                name,
                str(size),
                str(folder / name),
                *flags,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in order
    }
    built = {}
    for name, child in children.items():
        out, _ = child.communicate()
        if child.returncode:
            raise RuntimeError(f"the {name} build failed (exit {child.returncode})")
        built[name] = json.loads(out.strip().splitlines()[-1])
    return built


def links_ab(
    size: int, rounds: int = 1, *, one_process: bool = False, apart: bool = False
) -> dict[str, Any]:
    """The same ``size`` synthetic articles built without links and with six related
    headlines each, ``rounds`` times (the variants' order flipped each round); a run for
    people: ``python benchmarks/bench_indexing.py links-ab N [ROUNDS] [--one-process |
    --apart]``.

    By default each variant builds in its own process (:func:`links_variant`), the two
    started together: a variant's CPU seconds are then its own; ``apart``: one after the
    other (the order flipped each round), so neither shares the machine with the other
    (started together, the plain build ends first and the links build runs its last part
    alone, on a machine then quieter). In one process
    (``one_process``, :func:`interleaved_build`) the writers share the process's caches
    (``title_key``'s, the analyzer's chunk cache): the links writer takes the title keys
    of headlines naming articles the plain writer has not reached yet, which the plain
    writer then finds cached (a 20k round: 17,965 misses against 2,035), so the plain
    variant reads cheaper than it is alone."""
    report: dict[str, Any] = {
        "articles": size,
        "processes": "one" if one_process else "one a variant" + (", apart" if apart else ""),
        "rounds": [],
    }
    if one_process:
        corpus = SyntheticCorpus(load_records())
        linked = corpus.linked_articles(size)
        plain = [attrs.evolve(article, related=[]) for article in linked]
        pairs = {"plain": plain, "links": linked}
    for number in range(rounds):
        folder = Path(tempfile.mkdtemp(prefix="bench-links-ab-"))
        order = ["plain", "links"] if number % 2 == 0 else ["links", "plain"]
        try:
            began = time.strftime("%H:%M:%S UTC", time.gmtime())
            if one_process:
                built = interleaved_build({name: (folder / name, pairs[name]) for name in order})
            elif apart:
                built = {name: variants_apart([name], size, folder)[name] for name in order}
            else:
                built = variants_apart(order, size, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        cpu = {name: built[name]["cpu_seconds"] for name in ("plain", "links")}
        wall = {name: built[name]["seconds"] for name in ("plain", "links")}
        system = {name: built[name]["sys_seconds"] for name in ("plain", "links")}
        faults = {name: built[name]["page_faults"] for name in ("plain", "links")}
        report["rounds"].append(
            {
                "started": began,
                "load": round(os.getloadavg()[0], 2),
                "cpu_s": cpu,
                "sys_s": system,
                "page_faults": faults,
                "wall_s": wall,
                "ratio_cpu": round(cpu["links"] / cpu["plain"], 3),
                "ratio_wall": round(wall["links"] / wall["plain"], 3),
            }
        )
    return report


def links_variant(variant: str, size: int, folder: Path, *, parts: bool = False) -> dict[str, Any]:
    """One variant of :func:`links_ab` built in this process alone (the articles made
    before the clock starts): its wall and CPU seconds; with ``parts``, also the CPU
    seconds of each part of :data:`LINK_PARTS` (``parts``) and each call of
    :data:`PER_CALL_PARTS` (``per_call``)."""
    linked = SyntheticCorpus(load_records()).linked_articles(size)
    articles = linked if variant == "links" else [attrs.evolve(a, related=[]) for a in linked]
    sums, calls = timed_parts() if parts else ({}, {})
    built: dict[str, Any] = interleaved_build({variant: (folder, articles)})[variant]
    if parts:
        built["parts"], built["per_call"] = sums, calls
    return built


#: What ``links-parts`` times, by label: (module, class or ``None``, attribute) of the
#: function wrapped (the name a caller looks up: a module-level function where the writer
#: or builder imported it). Parts nest: "segment builds" holds "stored rows" and "link
#: maps"; "commit" holds "commit anchor update" and the last flush; "add_docs" and
#: "value runs" run as articles are added, outside the segment builds.
LINK_PARTS: dict[str, tuple[str, str | None, str]] = {
    "link keys": ("bnsearch.index.writer", None, "article_keys"),
    "graph updates": ("bnsearch.index.writer", "IndexWriter", "_drain_graph"),
    "commit": ("bnsearch.index.writer", "IndexWriter", "commit"),
    "commit anchor update": ("bnsearch.index.writer", "IndexWriter", "_anchor_fixes"),
    "text fields (add_docs)": ("bnsearch.index.builder", "ChunkTable", "add_docs"),
    "headline fields (value runs)": ("bnsearch.index.builder", "ChunkTable", "value_run"),
    "segment builds": ("bnsearch.index.builder", "SegmentBuilder", "build"),
    "stored rows": ("bnsearch.index.store", "StoreWriter", "add"),
    "link maps": ("bnsearch.index.builder", None, "build_maps"),
    "segment files": ("bnsearch.index.workers", None, "write_segment"),
}
#: Parts whose every call is listed too (they grow with the index, or not).
PER_CALL_PARTS = ("graph updates", "segment builds")
#: Parts whose minor page faults are counted too (``faults PART``: a few calls each; a
#: part called an article would pay a ``getrusage`` an article).
FAULTED_PARTS = (
    "graph updates",
    "commit",
    "commit anchor update",
    "text fields (add_docs)",
    "segment builds",
    "segment files",
)


def timed_parts() -> tuple[dict[str, float], dict[str, list[float]]]:
    """Wrap each function of :data:`LINK_PARTS` in a timer summing its process time
    (CPU seconds of this process); returns the sums (with ``faults PART``: the minor
    page faults of each part of :data:`FAULTED_PARTS`) and, for
    :data:`PER_CALL_PARTS`, each call's, both filled as the wrapped functions run. A
    recursive call is counted once (the outermost)."""
    import importlib

    sums: dict[str, float] = dict.fromkeys(LINK_PARTS, 0.0)
    sums.update({f"faults {label}": 0.0 for label in FAULTED_PARTS})
    calls: dict[str, list[float]] = {label: [] for label in PER_CALL_PARTS}

    def wrapped(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        depth = [0]

        def timer(*args: Any, **kwargs: Any) -> Any:
            if depth[0]:
                return function(*args, **kwargs)
            depth[0] += 1
            faulted = label in FAULTED_PARTS
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt if faulted else 0
            began = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent = time.process_time() - began
                depth[0] -= 1
                sums[label] += spent
                if faulted:
                    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
                    sums[f"faults {label}"] += faults
                if label in calls:
                    calls[label].append(round(spent, 3))

        return timer

    for label, (module_name, owner_name, attribute) in LINK_PARTS.items():
        module = importlib.import_module(module_name)
        owner = module if owner_name is None else getattr(module, owner_name)
        setattr(owner, attribute, wrapped(label, getattr(owner, attribute)))
    # a segment's postings field by field ("field NAME": a segment build's fields, and
    # the anchors field of the last flush and of the commit's anchor update)
    builder = importlib.import_module("bnsearch.index.builder").SegmentBuilder
    field_arrays = builder._field_arrays

    def by_field(self: Any, spec: Any) -> Any:
        began = time.process_time()
        try:
            return field_arrays(self, spec)
        finally:
            label = f"field {spec.name}"
            sums[label] = sums.get(label, 0.0) + time.process_time() - began

    builder._field_arrays = by_field
    return sums, calls


def links_parts(size: int) -> dict[str, Any]:
    """Where a links build's extra CPU goes: the same ``size`` synthetic articles built
    without links and with six related headlines each, each variant in its own process
    (the two started together), with :func:`timed_parts`' timers; per part the CPU
    seconds of each and the difference. A run for people:
    ``python benchmarks/bench_indexing.py links-parts N``."""
    folder = Path(tempfile.mkdtemp(prefix="bench-links-parts-"))
    began = time.strftime("%H:%M:%S UTC", time.gmtime())
    try:
        built = variants_apart(["plain", "links"], size, folder, "--parts")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    plain, links = built["plain"], built["links"]
    return {
        "articles": size,
        "started": began,
        "load": round(os.getloadavg()[0], 2),
        "cpu_s": {"plain": plain["cpu_seconds"], "links": links["cpu_seconds"]},
        "sys_s": {"plain": plain["sys_seconds"], "links": links["sys_seconds"]},
        "page_faults": {"plain": plain["page_faults"], "links": links["page_faults"]},
        "ratio_cpu": round(links["cpu_seconds"] / plain["cpu_seconds"], 3),
        "extra_s": round(links["cpu_seconds"] - plain["cpu_seconds"], 2),
        "parts_s": {
            label: {
                "plain": round(plain["parts"].get(label, 0.0), 3),
                "links": round(links["parts"].get(label, 0.0), 3),
                "extra": round(links["parts"].get(label, 0.0) - plain["parts"].get(label, 0.0), 3),
            }
            for label in dict.fromkeys([*plain["parts"], *links["parts"]])
        },
        "per_call_s": {"plain": plain["per_call"], "links": links["per_call"]},
    }


def anchors_splice(kept: Path, work: Path, rounds: int = 5) -> dict[str, Any]:
    """A reader after one link commit: into a hard-linked copy ``work`` of the kept
    links build ``kept`` (never changed), one article listing the titles of docs of six
    segments is committed; per segment whose anchors it updated, the anchors field is
    built ``rounds`` times each way, alternated, on the same inputs: from scratch
    (``anchorfile.materialize``) and spliced into the field the reader built before the
    commit (``anchorfile.splice``); CPU per build, and the refreshed searcher's first
    search. A run for people: ``python benchmarks/bench_indexing.py anchors-splice KEPT
    WORK [ROUNDS]``."""
    import numpy as np

    from bnsearch.articles import Article
    from bnsearch.index import Index
    from bnsearch.index.anchorfile import materialize, splice

    if work.exists():
        shutil.rmtree(work)
    subprocess.run(["cp", "-al", str(kept), str(work)], check=True)
    index = Index.open(work)
    searcher = index.searcher()
    segments = searcher.reader.segments
    titles = [segments[k].stored(0)["title"] for k in range(min(6, len(segments)))]
    word = titles[0].split()[0]
    searcher.search(word, limit=10)  # every anchors field built
    with index.writer() as writer:
        writer.add(Article(id="splice-ab", title=f"খবর {word}", body=word, related=titles))
    after = searcher.refresh()
    began = time.process_time()
    after.search(word, limit=10)
    first_search = time.process_time() - began
    before = {segment.name: segment for segment in segments}
    times: dict[str, list[float]] = {"materialize": [], "splice": []}
    postings = []
    for segment in after.reader.segments:
        old = before.get(segment.name)
        if old is None or old.anchor_updates == segment.anchor_updates:
            continue
        spec, base = segment.schema["anchors"], segment._fields["anchors"]
        built = old._field("anchors")
        postings.append(len(built.docs))
        for _ in range(rounds):
            began = time.process_time()
            materialize(spec, base, base.terms, segment.anchor_updates, segment.max_doc)
            times["materialize"].append(time.process_time() - began)
            began = time.process_time()
            splice(
                spec, base, base.terms, built, old.anchor_updates, segment.anchor_updates,
                segment.max_doc,
            )  # fmt: skip
            times["splice"].append(time.process_time() - began)
    shutil.rmtree(work, ignore_errors=True)
    medians = {name: float(np.median(values)) * 1000 for name, values in times.items()}
    return {
        "started": time.strftime("%H:%M:%S UTC", time.gmtime()),
        "load": round(os.getloadavg()[0], 2),
        "segments": len(postings),
        "postings": postings,
        "median_ms": {name: round(value, 2) for name, value in medians.items()},
        "ratio": round(medians["materialize"] / medians["splice"], 2),
        "first_search_after_commit_ms": round(first_search * 1000, 1),
    }


if __name__ == "__main__":
    if sys.argv[1] == "anchors-splice":
        rounds_arg = int(sys.argv[4]) if len(sys.argv) > 4 else 5
        print(json.dumps(anchors_splice(Path(sys.argv[2]), Path(sys.argv[3]), rounds_arg)))
        sys.exit(0)
    if sys.argv[1] == "links-ab":
        flags = [arg for arg in sys.argv[2:] if arg.startswith("--")]
        given = [arg for arg in sys.argv[2:] if not arg.startswith("--")]
        rounds_arg = int(given[1]) if len(given) > 1 else 1
        one, apart_arg = "--one-process" in flags, "--apart" in flags
        print(json.dumps(links_ab(int(given[0]), rounds_arg, one_process=one, apart=apart_arg)))
        sys.exit(0)
    if sys.argv[1] == "links-variant":
        with_parts = "--parts" in sys.argv[5:]
        variant_arg, size_arg, folder_arg = sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
        print(json.dumps(links_variant(variant_arg, size_arg, folder_arg, parts=with_parts)))
        sys.exit(0)
    if sys.argv[1] == "links-parts":
        print(json.dumps(links_parts(int(sys.argv[2]))))
        sys.exit(0)
    engine_name, limit_arg, synthetic_arg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(child_main(engine_name, limit_arg or None, synthetic_arg or None)))
    sys.exit(0)


# -- pytest-benchmark entry points ------------------------------------------------------
import pytest  # noqa: E402

pytestmark = pytest.mark.benchmark(group="indexing")

ENGINES = ["bnsearch_1proc", "bnsearch_2proc", "tantivy", "whoosh"]


SCALES = [int(v) for v in os.environ.get("BNSEARCH_BENCH_SCALE", "10000").split(",") if v]


@pytest.fixture(scope="module")
def corpus_limit(request: pytest.FixtureRequest) -> int | None:
    if not BELIN.is_file():
        pytest.skip(f"benchmark corpus not found: {BELIN} (it lives in ../shared beside the repo)")
    limit: int | None = request.config.getoption("--corpus-limit")
    return limit


@pytest.mark.parametrize("engine", ENGINES)
def test_index_belin(benchmark: Any, engine: str, corpus_limit: int | None) -> None:
    """The whole BeliN corpus, one commit, each engine in its own process."""
    result = benchmark.pedantic(
        run_child, args=(engine,), kwargs={"limit": corpus_limit}, rounds=1, iterations=1
    )
    benchmark.extra_info.update(result)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("processes", [1, 2])
def test_index_synthetic(
    benchmark: Any, scale: int, processes: int, corpus_limit: int | None
) -> None:
    """Scaling: synthetic articles from the corpus's word statistics."""
    engine = f"bnsearch_{processes}proc"
    result = benchmark.pedantic(
        run_child, args=(engine,), kwargs={"synthetic": scale}, rounds=1, iterations=1
    )
    benchmark.extra_info.update(result)
    assert result["count"] == scale


LINK_SCALES = [int(v) for v in os.environ.get("BNSEARCH_BENCH_LINK_SCALE", "20000").split(",") if v]


@pytest.mark.parametrize("scale", LINK_SCALES)
@pytest.mark.parametrize("engine", ["bnsearch_1proc_links", "bnsearch_1proc"])
def test_index_synthetic_links(
    benchmark: Any, scale: int, engine: str, corpus_limit: int | None
) -> None:
    """The links variant: the same synthetic articles with six related headlines each
    (titles of other articles), against the same build without links, one process."""
    result = benchmark.pedantic(
        run_child, args=(engine,), kwargs={"synthetic": scale}, rounds=1, iterations=1
    )
    benchmark.extra_info.update(result)
    assert result["count"] == scale
