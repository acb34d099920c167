"""Query latency (p50, p99) and throughput: bnsearch and its peers on the same corpus, same run.

Corpora: the BQA passages and BeliN articles together (``../shared``, about 4,000
documents), or synthetic news articles (``--synthetic N``) stitched from windows of real
BQA/BeliN text so that term statistics and phrases are realistic. Query kinds: one word,
several words (BQA questions), a two-word phrase, a prefix, and several words filtered by
section. The peers get the same ICU words (``bengali_analyzer(stem=False,
stopwords=None)``), split on spaces; bnsearch uses its default analysis.

Two modes, every timing end to end from the query string (analysis included):

* ``ids``: the ids of the top 10;
* ``page``: what a results page shows, ten hits with their title and a highlighted body
  snippet (bnsearch: ``search()`` with its defaults; tantivy: search, doc fetch and
  ``SnippetGenerator`` on the stored body; whoosh: search, stored fields and
  ``hit.highlights``).

``--processes`` also measures queries per second of one process and of two processes
serving one on-disk index (memory-mapped; each process opens it itself).

    .venv/bin/python benchmarks/bench_query.py                      # BQA + BeliN
    .venv/bin/python benchmarks/bench_query.py --synthetic 100000 --no-whoosh
    .venv/bin/python benchmarks/bench_query.py --synthetic 1000000 --no-whoosh --modes ids

Also a pytest-benchmark entry: ``pytest benchmarks/bench_query.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import bnsearch
from bnsearch.analysis import bengali_analyzer
from bnsearch.articles import Article
from bnsearch.index import Index
from bnsearch.search import BM25FParams, Searcher

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SECTIONS = ("জাতীয়", "রাজনীতি", "অর্থনীতি", "খেলা", "আন্তর্জাতিক", "বিনোদন", "শিক্ষা", "ধর্ম")
KINDS = ("one-word", "multi-word", "phrase", "prefix", "filtered")


def real_texts(shared: Path) -> list[str]:
    texts = []
    for name in ("bqa_passages.jsonl", "belin_religious_news.jsonl"):
        path = shared / "corpus" / name
        if path.exists():
            with open(path, encoding="utf-8") as handle:
                texts.extend(json.loads(line)["body"] for line in handle if line.strip())
    return texts


def shared_articles(shared: Path) -> list[Article]:
    """The BQA passages and the BeliN articles, with sections dealt in turn (so a section
    filter keeps an eighth of them, whatever the corpus)."""
    articles = []
    for name in ("bqa_passages.jsonl", "belin_religious_news.jsonl"):
        path = shared / "corpus" / name
        if not path.exists():
            continue
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                row = json.loads(line)
                articles.append(
                    Article(
                        id=row["id"],
                        title=row.get("title") or "",
                        body=row["body"],
                        section=(SECTIONS[len(articles) % len(SECTIONS)],),
                    )
                )
    return articles


def synthetic_articles(texts: Sequence[str], count: int, *, seed: int = 7) -> Iterator[Article]:
    """``count`` articles: a title of 8 real words and a body of six 20-word real windows."""
    rng = random.Random(seed)
    words = [text.split() for text in texts]
    words = [w for w in words if len(w) > 30]
    for number in range(count):
        source = words[rng.randrange(len(words))]
        start = rng.randrange(len(source) - 8)
        title = " ".join(source[start : start + 8])
        parts = []
        for _ in range(6):
            chunk = words[rng.randrange(len(words))]
            at = rng.randrange(len(chunk) - 20)
            parts.append(" ".join(chunk[at : at + 20]))
        yield Article(
            id=f"syn-{number}",
            title=title,
            body=" ".join(parts),
            section=(SECTIONS[rng.randrange(len(SECTIONS))],),
        )


def make_queries(
    shared: Path, texts: Sequence[str], per_kind: int, seed: int = 11
) -> dict[str, list[str]]:
    rng = random.Random(seed)
    icu = bengali_analyzer(stem=False, stopwords=None)
    vocabulary: dict[str, int] = {}
    for text in texts[:3000]:
        for term in icu.terms(text):
            vocabulary[term] = vocabulary.get(term, 0) + 1
    common = [w for w, c in vocabulary.items() if c >= 20 and len(w) > 2 and not w.isascii()]
    questions = []
    path = shared / "eval" / "bqa_dev_questions.jsonl"
    if path.exists():
        with open(path, encoding="utf-8") as handle:
            questions = [json.loads(line)["question"] for line in handle if line.strip()]
    rng.shuffle(questions)
    phrases = []
    while len(phrases) < per_kind:
        words = texts[rng.randrange(len(texts))].split()
        at = rng.randrange(max(len(words) - 2, 1))
        pair = [re.sub(r"[^\u0980-\u09ff]", "", w) for w in words[at : at + 2]]
        if len(pair) == 2 and all(len(w) > 1 for w in pair):
            phrases.append(" ".join(pair))
    return {
        "one-word": rng.sample(common, per_kind),
        "multi-word": questions[:per_kind],
        "phrase": phrases,
        "prefix": [w[:3] for w in rng.sample(common, per_kind)],
        "filtered": questions[per_kind : 2 * per_kind],
    }


# -- systems ------------------------------------------------------------------------------------
#: What a runner gives back: ids (mode "ids") or (id, title, snippet markup) rows ("page").
Runner = Callable[[str, str], Sequence[Any]]
MODES = ("ids", "page")


def bnsearch_index(
    articles: Sequence[Article] | Iterator[Article], path: Path | None = None
) -> tuple[Index, float]:
    started = time.perf_counter()
    index = Index.create(path) if path is not None else Index.in_memory()
    with index.writer() as writer:
        for article in articles:
            writer.add(article)
    return index, time.perf_counter() - started


def bnsearch_runner(
    index: Index,
    mode: str,
    params: BM25FParams | None = None,
    *,
    cold: bool = False,
    seen_words: bool = False,
) -> Runner:
    """``cold``: before each search the searcher forgets its prepared queries and all
    it kept for their words (as for a query of words never seen: parse, analysis,
    compile, dictionary lookups, document frequencies every time). With ``seen_words``
    it keeps what it knows of each word and forgets the queries (kept plans and the
    compiled core's arguments of each combination of several words): a new query of
    words met before. (What is kept per word includes a unit's own core arguments,
    searched alone: a one-word query, whose word this row searched alone in an earlier
    round, lays out nothing; a word with spelling variants is a combination of several
    units, laid out again.)"""
    searcher = Searcher(index.reader(), params=params)

    def forget() -> None:
        searcher._plans.clear()
        if seen_words:
            searcher._ctx.calls.clear()
        else:
            searcher._ctx.forget_queries()

    def run(kind: str, text: str) -> Sequence[Any]:
        if kind == "phrase":
            text = f'"{text}"'
        elif kind == "prefix":
            text = f"{text}*"
        section = {"section": SECTIONS[0]} if kind == "filtered" else None
        if mode == "ids":
            return searcher.search(
                text, limit=10, filter=section, highlight=False, stored=False
            ).ids
        results = searcher.search(text, limit=10, filter=section)
        return [(hit.id, hit.title, hit.snippet.markup() if hit.snippet else "") for hit in results]

    if cold:
        run.before = forget  # type: ignore[attr-defined]  # called by measure(), untimed
    return run


class Tantivy:
    """A tantivy index of the same articles (ICU words split on spaces), in RAM or on disk.

    ``stored_text`` keeps title and body in tantivy's doc store (for pages: the snippet
    generator reads the stored body); without it only the id is stored, so fetching the
    ids of a top 10 does not decompress bodies (as bnsearch's ids-only search does not).
    """

    def __init__(
        self,
        articles: Sequence[Article],
        path: Path | None = None,
        *,
        stored_text: bool = True,
        reuse: bool = False,
    ) -> None:
        import tantivy

        self.tantivy = tantivy
        self.icu = bengali_analyzer(stem=False, stopwords=None)
        started = time.perf_counter()
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        builder.add_text_field("section", stored=False, tokenizer_name="raw")
        builder.add_text_field("title", stored=stored_text, tokenizer_name="whitespace")
        builder.add_text_field("body", stored=stored_text, tokenizer_name="whitespace")
        self.schema = builder.build()
        self.path = path
        if reuse and path is not None and (path / "meta.json").exists():
            self._store, self.build = tantivy.Index.open(str(path)), 0.0  # an earlier run's
            return
        store = tantivy.Index(self.schema, path=str(path)) if path else tantivy.Index(self.schema)
        writer = store.writer(heap_size=500_000_000, num_threads=1)
        for a in articles:
            writer.add_document(
                tantivy.Document(
                    id=a.id,
                    section=a.section[0],
                    title=" ".join(self.icu.terms(a.title)),
                    body=" ".join(self.icu.terms(a.body)),
                )
            )
        writer.commit()
        writer.wait_merging_threads()
        self.build = time.perf_counter() - started
        self._store = store

    def runner(self, mode: str) -> Runner:
        tantivy, schema, icu = self.tantivy, self.schema, self.icu
        store = tantivy.Index.open(str(self.path)) if self.path else self._store
        return _tantivy_runner(tantivy, store, schema, icu, mode)


def _tantivy_runner(tantivy: Any, store: Any, schema: Any, icu: Any, mode: str) -> Runner:
    store.reload()
    searcher = store.searcher()
    should, must = tantivy.Occur.Should, tantivy.Occur.Must

    def words_query(text: str) -> Any:
        clauses = [
            (should, tantivy.Query.term_query(schema, field, w))
            for w in icu.terms(text)
            for field in ("title", "body")
        ]
        return tantivy.Query.boolean_query(clauses)

    def run(kind: str, text: str) -> Sequence[Any]:
        if kind == "phrase":
            query = tantivy.Query.phrase_query(schema, "body", icu.terms(text))
        elif kind == "prefix":
            prefix = re.escape(icu.normalize(text))
            query = tantivy.Query.regex_query(schema, "body", prefix + ".*")
        elif kind == "filtered":
            query = tantivy.Query.boolean_query(
                [
                    (must, words_query(text)),
                    (must, tantivy.Query.term_query(schema, "section", SECTIONS[0])),
                ]
            )
        else:
            query = words_query(text)
        found = searcher.search(query, 10)
        if mode == "ids":
            return [searcher.doc(address)["id"][0] for _, address in found.hits]
        snippets = tantivy.SnippetGenerator.create(searcher, query, schema, "body")
        rows = []
        for _, address in found.hits:
            doc = searcher.doc(address)
            rows.append((doc["id"][0], doc["title"][0], snippets.snippet_from_doc(doc).to_html()))
        return rows

    return run


def whoosh_runner(
    articles: Sequence[Article], folder: str
) -> tuple[Callable[[str], Runner], float]:
    from whoosh import fields, index, query
    from whoosh.analysis import SpaceSeparatedTokenizer

    icu = bengali_analyzer(stem=False, stopwords=None)
    started = time.perf_counter()
    schema = fields.Schema(
        id=fields.ID(stored=True),
        section=fields.ID(),
        title=fields.TEXT(analyzer=SpaceSeparatedTokenizer(), stored=True),
        body=fields.TEXT(analyzer=SpaceSeparatedTokenizer(), stored=True),
    )
    store = index.create_in(folder, schema)
    writer = store.writer(limitmb=512)
    for a in articles:
        writer.add_document(
            id=a.id,
            section=a.section[0],
            title=" ".join(icu.terms(a.title)),
            body=" ".join(icu.terms(a.body)),
        )
    writer.commit()
    build = time.perf_counter() - started
    searcher = store.searcher()

    def words_query(text: str) -> Any:
        return query.Or(
            [query.Term(field, w) for w in icu.terms(text) for field in ("title", "body")]
        )

    def make(mode: str) -> Runner:
        def run(kind: str, text: str) -> Sequence[Any]:
            filter_ = None
            if kind == "phrase":
                built: Any = query.Phrase("body", icu.terms(text))
            elif kind == "prefix":
                built = query.Prefix("body", icu.normalize(text))
            else:
                built = words_query(text)
                if kind == "filtered":
                    filter_ = query.Term("section", SECTIONS[0])
            found = searcher.search(built, limit=10, filter=filter_)
            if mode == "ids":
                return [hit["id"] for hit in found]
            return [(hit["id"], hit["title"], hit.highlights("body")) for hit in found]

        return run

    return make, build


def measure(
    run: Runner, queries: dict[str, list[str]], rounds: int = 1
) -> dict[str, tuple[float, float]]:
    """``kind -> (p50 ms, p99 ms)``; every query runs once to warm up, then is timed
    ``rounds`` times and keeps its fastest time. A round is a pass over every kind, so a
    query's timings lie seconds apart: on a shared machine the best of them drops the
    moments (often a second or more) when another job held the core. A runner with a
    ``before`` attribute (a cold runner's forgetting) has it called before each query,
    outside the timing."""
    before: Callable[[], None] = getattr(run, "before", lambda: None)
    for kind in KINDS:
        for text in queries[kind]:
            before()
            run(kind, text)
    best = {kind: [float("inf")] * len(queries[kind]) for kind in KINDS}
    for _ in range(rounds):
        for kind in KINDS:
            times = best[kind]
            for number, text in enumerate(queries[kind]):
                before()
                started = time.perf_counter()
                run(kind, text)
                times[number] = min(times[number], (time.perf_counter() - started) * 1000)
    return {
        kind: (statistics.median(times), float(np.percentile(times, 99)))
        for kind, times in best.items()
    }


# -- throughput: one process, and two serving one index --------------------------------------
def _serve(
    system: str, folder: str, queries: dict[str, list[str]], seconds: float, start: Any
) -> int:
    """In a fresh process: open the index at ``folder``, warm up, then answer pages of
    every kind in turn for ``seconds``; the number answered."""
    if system == "bnsearch":
        run = bnsearch_runner(Index.open(folder), "page")
    else:
        import tantivy

        store = tantivy.Index.open(folder)
        icu = bengali_analyzer(stem=False, stopwords=None)
        run = _tantivy_runner(tantivy, store, store.schema, icu, "page")
    mixed = [(kind, text) for kind in KINDS for text in queries[kind]]
    for kind, text in mixed:
        run(kind, text)
    start.wait()
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        kind, text = mixed[done % len(mixed)]
        run(kind, text)
        done += 1
    return done


def throughput(
    system: str, folder: Path, queries: dict[str, list[str]], processes: int, seconds: float
) -> float:
    """Pages per second of ``processes`` processes serving the one index at ``folder``."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(processes)
        with context.Pool(processes) as pool:
            counts = pool.starmap(
                _serve, [(system, str(folder), queries, seconds, start)] * processes
            )
    return sum(counts) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--synthetic", type=int, default=0, help="N synthetic articles")
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--no-whoosh", action="store_true")
    parser.add_argument("--no-tantivy", action="store_true")
    parser.add_argument("--index-dir", type=Path, help="build bnsearch's index here (on disk)")
    parser.add_argument(
        "--reuse-index",
        action="store_true",
        help="open the bnsearch index already in --index-dir (built by an earlier run)",
    )
    parser.add_argument(
        "--tantivy-dir",
        type=Path,
        help="keep tantivy's two indexes here; with --reuse-index, open them if present",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="time each query this many times, keep the best"
    )
    parser.add_argument(
        "--processes",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also measure pages/s of 1 and 2 processes on one on-disk index, this long each",
    )
    args = parser.parse_args()
    texts = real_texts(args.shared)
    if not texts:
        print(f"no corpus under {args.shared}")
        return 2
    if args.synthetic:
        articles = list(synthetic_articles(texts, args.synthetic))
        corpus = f"{args.synthetic:,} synthetic articles"
    else:
        articles = shared_articles(args.shared)
        corpus = f"BQA passages + BeliN articles ({len(articles):,})"
    queries = make_queries(args.shared, texts, args.queries)
    print(
        f"# {corpus}, {args.queries} queries per kind, best of {args.rounds} per query, "
        f"{time.strftime('%Y-%m-%d %H:%M')}, compiled core: {bnsearch.accelerated}"
    )
    with tempfile.TemporaryDirectory() as folder:
        index_dir = args.index_dir or Path(folder) / "bnsearch"
        if args.reuse_index and (index_dir / "meta.json").exists():
            index, build = Index.open(index_dir), 0.0  # built by an earlier run
        else:
            index, build = bnsearch_index(articles, index_dir)
        systems: list[tuple[str, Callable[[str], Runner], float]] = [
            ("bnsearch", lambda mode: bnsearch_runner(index, mode), build),
            (
                "bnsearch, queries of words not seen before",
                lambda mode: bnsearch_runner(index, mode, cold=True),
                build,
            ),
            (
                "bnsearch, new queries of words seen before",
                lambda mode: bnsearch_runner(index, mode, cold=True, seen_words=True),
                build,
            ),
            (
                "bnsearch, plain BM25F",
                lambda mode: bnsearch_runner(
                    index, mode, BM25FParams(proximity=0.0, exact_forms=0.0)
                ),
                build,
            ),
        ]
        tantivy_root = args.tantivy_dir or Path(folder)
        tantivy_dir = tantivy_root / "tantivy"
        if not args.no_tantivy:
            tantivy_dir.mkdir(parents=True, exist_ok=True)
            (tantivy_root / "tantivy-ids").mkdir(exist_ok=True)
            reuse = args.reuse_index
            pages = Tantivy(articles, tantivy_dir, reuse=reuse)
            ids = Tantivy(articles, tantivy_root / "tantivy-ids", stored_text=False, reuse=reuse)
            systems.append(
                (
                    "tantivy (ICU words)",
                    lambda mode: (ids if mode == "ids" else pages).runner(mode),
                    pages.build,
                )
            )
        if not args.no_whoosh:
            (Path(folder) / "whoosh").mkdir()
            make, whoosh_build = whoosh_runner(articles, str(Path(folder) / "whoosh"))
            systems.append(("whoosh (ICU words)", make, whoosh_build))
        for mode in args.modes:
            header = " | ".join(f"{k} p50 / p99" for k in KINDS)
            print(f"\n{mode}:\n| system | index s | {header} |")
            print("| --- | ---: |" + " ---: |" * len(KINDS))
            for name, make_runner, seconds in systems:
                figures = measure(make_runner(mode), queries, args.rounds)
                cells = " | ".join(f"{p50:.3f} / {p99:.3f}" for p50, p99 in figures.values())
                print(f"| {name} | {seconds:.1f} | {cells} |", flush=True)
        if args.processes > 0:
            print("\npages per second (mixed kinds), one on-disk index:")
            print("| system | 1 process | 2 processes | ratio |\n| --- | ---: | ---: | ---: |")
            served = [("bnsearch", index_dir)]
            if not args.no_tantivy:
                served.append(("tantivy", tantivy_dir))
            small = {kind: texts_[:50] for kind, texts_ in queries.items()}
            for name, where in served:
                one = throughput(name, where, small, 1, args.processes)
                two = throughput(name, where, small, 2, args.processes)
                print(f"| {name} | {one:.0f} | {two:.0f} | {two / one:.2f}x |", flush=True)
    return 0


# -- pytest-benchmark entries (BQA + BeliN; skipped without ../shared) -------------------------
SYSTEMS = ("bnsearch", "bnsearch-bm25f", "tantivy", "whoosh")


def _runner(system: str, articles: Sequence[Article], folder: str) -> Runner:
    if system == "bnsearch":
        return bnsearch_runner(bnsearch_index(articles)[0], "ids")
    if system == "bnsearch-bm25f":
        params = BM25FParams(proximity=0.0, exact_forms=0.0)
        return bnsearch_runner(bnsearch_index(articles)[0], "ids", params)
    if system == "tantivy":
        Path(folder, "t").mkdir()
        return Tantivy(articles, Path(folder, "t"), stored_text=False).runner("ids")
    return whoosh_runner(articles, folder)[0]("ids")


_RUNNERS: dict[str, Runner] = {}


def test_bench_shared(benchmark: Any, system: str, kind: str, tmp_path_factory: Any) -> None:
    """One round = every query of one kind once; the same queries for every system.

    ``pytest benchmarks/bench_query.py --benchmark-only``; compare rows of one group.
    """
    import pytest

    if not (SHARED / "corpus" / "bqa_passages.jsonl").exists():
        pytest.skip("BQA passages not found in ../shared")
    pytest.importorskip(system.split("-")[0])
    if system not in _RUNNERS:  # one index per system for all kinds
        folder = str(tmp_path_factory.mktemp(system))
        _RUNNERS[system] = _runner(system, shared_articles(SHARED), folder)
    run = _RUNNERS[system]
    queries = make_queries(SHARED, real_texts(SHARED), 50)[kind]
    for text in queries:  # warm up caches, as a long-running service would be
        run(kind, text)
    benchmark.group = f"shared-{kind}"
    benchmark.extra_info["queries"] = len(queries)

    def all_queries() -> None:
        for text in queries:
            run(kind, text)

    benchmark(all_queries)


def pytest_generate_tests(metafunc: Any) -> None:
    if metafunc.function.__name__ == "test_bench_shared":
        metafunc.parametrize("system", SYSTEMS)
        metafunc.parametrize("kind", KINDS)


if __name__ == "__main__":
    raise SystemExit(main())
