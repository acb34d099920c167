"""Query latency (p50, p99): bnsearch, tantivy and whoosh on the same corpus, same run.

Corpora: the BQA passages (``../shared``), or synthetic news articles (``--synthetic N``)
stitched from windows of real BQA/BeliN text so that term statistics and phrases are
realistic. Query kinds: one word, several words (BQA questions), a two-word phrase, a
prefix, and several words filtered by section. The peers get the same ICU words
(``bengali_analyzer(stem=False, stopwords=None)``), split on spaces; bnsearch uses its
default analysis. Every timing is end to end from the query string (analysis included)
to the ids of the top 10.

    .venv/bin/python benchmarks/bench_query.py                      # BQA passages
    .venv/bin/python benchmarks/bench_query.py --synthetic 100000
    .venv/bin/python benchmarks/bench_query.py --synthetic 1000000 --no-whoosh

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

from bnsearch.analysis import bengali_analyzer
from bnsearch.articles import Article
from bnsearch.index import Index
from bnsearch.search import BM25FParams, Searcher

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SECTIONS = ("জাতীয়", "রাজনীতি", "অর্থনীতি", "খেলা", "আন্তর্জাতিক", "বিনোদন", "শিক্ষা", "ধর্ম")
KINDS = ("one-word", "multi-word", "phrase", "prefix", "filtered")

Runner = Callable[[str, str], Sequence[str]]


def real_texts(shared: Path) -> list[str]:
    texts = []
    for name in ("bqa_passages.jsonl", "belin_religious_news.jsonl"):
        path = shared / "corpus" / name
        if path.exists():
            with open(path, encoding="utf-8") as handle:
                texts.extend(json.loads(line)["body"] for line in handle if line.strip())
    return texts


def bqa_articles(shared: Path) -> list[Article]:
    path = shared / "corpus" / "bqa_passages.jsonl"
    articles = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            row = json.loads(line)
            articles.append(
                Article(
                    id=row["id"],
                    title=row.get("title") or "",
                    body=row["body"],
                    section=(SECTIONS[number % len(SECTIONS)],),
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
    articles: Sequence[Article] | Iterator[Article] | Index, params: BM25FParams | None = None
) -> tuple[Runner, float]:
    index, build = (articles, 0.0) if isinstance(articles, Index) else bnsearch_index(articles)
    searcher = Searcher(index.reader(), params=params)

    def run(kind: str, text: str) -> Sequence[str]:
        if kind == "phrase":
            text = f'"{text}"'
        elif kind == "prefix":
            text = f"{text}*"
        section = {"section": SECTIONS[0]} if kind == "filtered" else None
        return searcher.search(text, limit=10, filter=section, highlight=False, stored=False).ids

    return run, build


def tantivy_runner(articles: Sequence[Article]) -> tuple[Runner, float]:
    import tantivy

    icu = bengali_analyzer(stem=False, stopwords=None)
    started = time.perf_counter()
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("section", stored=False, tokenizer_name="raw")
    builder.add_text_field("title", stored=False, tokenizer_name="whitespace")
    builder.add_text_field("body", stored=False, tokenizer_name="whitespace")
    schema = builder.build()
    store = tantivy.Index(schema)
    writer = store.writer(heap_size=500_000_000, num_threads=1)
    for a in articles:
        writer.add_document(
            tantivy.Document(
                id=a.id,
                section=a.section[0],
                title=" ".join(icu.terms(a.title)),
                body=" ".join(icu.terms(a.body)),
            )
        )
    writer.commit()
    writer.wait_merging_threads()
    store.reload()
    build = time.perf_counter() - started
    searcher = store.searcher()
    should, must = tantivy.Occur.Should, tantivy.Occur.Must

    def words_query(text: str) -> Any:
        clauses = [
            (should, tantivy.Query.term_query(schema, field, w))
            for w in icu.terms(text)
            for field in ("title", "body")
        ]
        return tantivy.Query.boolean_query(clauses)

    def run(kind: str, text: str) -> Sequence[str]:
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
        return [searcher.doc(address)["id"][0] for _, address in found.hits]

    return run, build


def whoosh_runner(articles: Sequence[Article], folder: str) -> tuple[Runner, float]:
    from whoosh import fields, index, query
    from whoosh.analysis import SpaceSeparatedTokenizer

    icu = bengali_analyzer(stem=False, stopwords=None)
    started = time.perf_counter()
    schema = fields.Schema(
        id=fields.ID(stored=True),
        section=fields.ID(),
        title=fields.TEXT(analyzer=SpaceSeparatedTokenizer()),
        body=fields.TEXT(analyzer=SpaceSeparatedTokenizer()),
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

    def run(kind: str, text: str) -> Sequence[str]:
        filter_ = None
        if kind == "phrase":
            built: Any = query.Phrase("body", icu.terms(text))
        elif kind == "prefix":
            built = query.Prefix("body", icu.normalize(text))
        else:
            built = words_query(text)
            if kind == "filtered":
                filter_ = query.Term("section", SECTIONS[0])
        return [hit["id"] for hit in searcher.search(built, limit=10, filter=filter_)]

    return run, build


def measure(
    run: Runner, queries: dict[str, list[str]], rounds: int = 1
) -> dict[str, tuple[float, float]]:
    """``kind -> (p50 ms, p99 ms)``; every query runs once to warm up, then is timed
    ``rounds`` times and keeps its fastest time. A round is a pass over every kind, so a
    query's timings lie seconds apart: on a shared machine the best of them drops the
    moments (often a second or more) when another job held the core."""
    for kind in KINDS:
        for text in queries[kind]:
            run(kind, text)
    best = {kind: [float("inf")] * len(queries[kind]) for kind in KINDS}
    for _ in range(rounds):
        for kind in KINDS:
            times = best[kind]
            for number, text in enumerate(queries[kind]):
                started = time.perf_counter()
                run(kind, text)
                times[number] = min(times[number], (time.perf_counter() - started) * 1000)
    return {
        kind: (statistics.median(times), float(np.percentile(times, 99)))
        for kind, times in best.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--synthetic", type=int, default=0, help="N synthetic articles")
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument("--no-whoosh", action="store_true")
    parser.add_argument("--no-tantivy", action="store_true")
    parser.add_argument("--index-dir", type=Path, help="build bnsearch's index here (on disk)")
    parser.add_argument(
        "--reuse-index",
        action="store_true",
        help="open the bnsearch index already in --index-dir (built by an earlier run)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="time each query this many times, keep the best"
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
        articles = bqa_articles(args.shared)
        corpus = f"BQA passages ({len(articles):,})"
    queries = make_queries(args.shared, texts, args.queries)
    print(
        f"# {corpus}, {args.queries} queries per kind, best of {args.rounds} per query, "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    systems: list[tuple[str, Runner, float]] = []
    if args.reuse_index and args.index_dir is not None and (args.index_dir / "meta.json").exists():
        index, build = Index.open(args.index_dir), 0.0  # built by an earlier run
    else:
        index, build = bnsearch_index(articles, args.index_dir)
    run, _ = bnsearch_runner(index)
    systems.append(("bnsearch", run, build))
    run, _ = bnsearch_runner(index, BM25FParams(proximity=0.0, exact_forms=0.0))
    systems.append(("bnsearch, plain BM25F", run, build))
    if not args.no_tantivy:
        run, build = tantivy_runner(articles)
        systems.append(("tantivy (ICU words)", run, build))
    with tempfile.TemporaryDirectory() as folder:
        if not args.no_whoosh:
            run, build = whoosh_runner(articles, folder)
            systems.append(("whoosh (ICU words)", run, build))
        header = " | ".join(f"{k} p50 / p99" for k in KINDS)
        print(f"| system | index s | {header} |")
        print("| --- | ---: |" + " ---: |" * len(KINDS))
        for name, run, build in systems:
            figures = measure(run, queries, args.rounds)
            cells = " | ".join(f"{p50:.3f} / {p99:.3f}" for p50, p99 in figures.values())
            print(f"| {name} | {build:.1f} | {cells} |", flush=True)
    return 0


# -- pytest-benchmark entries (BQA passages; skipped without ../shared) -------------------------
SYSTEMS = ("bnsearch", "bnsearch-bm25f", "tantivy", "whoosh")


def _runner(system: str, articles: Sequence[Article], folder: str) -> Runner:
    if system == "bnsearch":
        return bnsearch_runner(articles)[0]
    if system == "bnsearch-bm25f":
        return bnsearch_runner(articles, BM25FParams(proximity=0.0, exact_forms=0.0))[0]
    if system == "tantivy":
        return tantivy_runner(articles)[0]
    return whoosh_runner(articles, folder)[0]


_RUNNERS: dict[str, Runner] = {}


def test_bench_bqa(benchmark: Any, system: str, kind: str, tmp_path_factory: Any) -> None:
    """One round = every query of one kind once; the same queries for every system.

    ``pytest benchmarks/bench_query.py --benchmark-only``; compare rows of one group.
    """
    import pytest

    if not (SHARED / "corpus" / "bqa_passages.jsonl").exists():
        pytest.skip("BQA passages not found in ../shared")
    pytest.importorskip(system.split("-")[0])
    if system not in _RUNNERS:  # one index per system for all kinds
        folder = str(tmp_path_factory.mktemp(system))
        _RUNNERS[system] = _runner(system, bqa_articles(SHARED), folder)
    run = _RUNNERS[system]
    queries = make_queries(SHARED, real_texts(SHARED), 50)[kind]
    for text in queries:  # warm up caches, as a long-running service would be
        run(kind, text)
    benchmark.group = f"bqa-{kind}"
    benchmark.extra_info["queries"] = len(queries)

    def all_queries() -> None:
        for text in queries:
            run(kind, text)

    benchmark(all_queries)


def pytest_generate_tests(metafunc: Any) -> None:
    if metafunc.function.__name__ == "test_bench_bqa":
        metafunc.parametrize("system", SYSTEMS)
        metafunc.parametrize("kind", KINDS)


if __name__ == "__main__":
    raise SystemExit(main())
