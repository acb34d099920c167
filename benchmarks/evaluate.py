"""Relevance evaluation: index passages, run questions, report MRR@10, Recall@1 and @10.

Written for the BQA set beside the project (``../shared/corpus/bqa_passages.jsonl`` and
``../shared/eval/bqa_dev_questions.jsonl``: each question names the one passage that
answers it), and for any data of that shape. :func:`evaluate_bnsearch` runs bnsearch;
:func:`evaluate_whoosh` and :func:`evaluate_tantivy` run the peers on the same data, with
their default analysis or with bnsearch's ICU words fed in (``analysis="icu"``: the text
is segmented and normalized by ``bengali_analyzer(stem=False, stopwords=None)`` and the
peer indexes the words split on spaces). whoosh and tantivy are imported only when used.

``benchmarks/relevance.py`` prints the table that ``docs/relevance.md`` records.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from bnsearch.analysis import Analyzer, bengali_analyzer
from bnsearch.articles import Article, read_articles
from bnsearch.index import Index, Schema
from bnsearch.search.scoring import BM25FParams
from bnsearch.search.searcher import Searcher


@attrs.frozen(kw_only=True)
class Question:
    """One evaluation question and the id of the passage that answers it."""

    qid: str
    text: str
    passage_id: str


@attrs.frozen(kw_only=True)
class Metrics:
    """Ranking quality over a question set (each question has one relevant passage)."""

    system: str
    mrr_at_10: float
    recall_at_1: float
    recall_at_10: float
    questions: int
    ms_per_query: float = 0.0

    def row(self) -> str:
        """A markdown table row."""
        return (
            f"| {self.system} | {self.mrr_at_10:.4f} | {self.recall_at_1:.4f} | "
            f"{self.recall_at_10:.4f} | {self.ms_per_query:.3f} |"
        )


TABLE_HEADER = (
    "| system | MRR@10 | Recall@1 | Recall@10 | ms/query |\n| --- | ---: | ---: | ---: | ---: |"
)


def bqa_files(shared: Path) -> tuple[Path, Path]:
    """The BQA passages and dev questions under the shared folder ``shared``; exits (status
    1) saying where it looked when either is missing."""
    passages = shared / "corpus" / "bqa_passages.jsonl"
    questions = shared / "eval" / "bqa_dev_questions.jsonl"
    if not passages.exists() or not questions.exists():
        raise SystemExit(
            f"BQA data not found under {shared} (looked for {passages} and {questions})"
        )
    return passages, questions


def load_passages(path: str | Path) -> list[Article]:
    """Passages of a JSONL file (``id``, ``body``, optional ``title``) as articles."""
    return list(read_articles(path))


def load_questions(path: str | Path) -> list[Question]:
    """Questions of a JSONL file (``qid``, ``question``, ``passage_id``)."""
    questions = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                questions.append(
                    Question(qid=row["qid"], text=row["question"], passage_id=row["passage_id"])
                )
    return questions


def score_rankings(
    system: str,
    questions: Sequence[Question],
    rank: Callable[[str], Sequence[str]],
) -> Metrics:
    """Run ``rank(question) -> top ids`` for every question and compute the metrics."""
    reciprocal = at_1 = at_10 = 0.0
    started = time.perf_counter()
    for question in questions:
        ranked = list(rank(question.text))[:10]
        if question.passage_id in ranked:
            position = ranked.index(question.passage_id)
            reciprocal += 1.0 / (position + 1)
            at_10 += 1
            at_1 += position == 0
    elapsed = time.perf_counter() - started
    n = max(len(questions), 1)
    return Metrics(
        system=system,
        mrr_at_10=reciprocal / n,
        recall_at_1=at_1 / n,
        recall_at_10=at_10 / n,
        questions=len(questions),
        ms_per_query=elapsed * 1000 / n,
    )


def build_index(passages: Iterable[Article], schema: Schema | None = None) -> Index:
    """An in-memory bnsearch index of the passages."""
    index = Index.in_memory(schema=schema)
    with index.writer() as writer:
        for article in passages:
            writer.add(article)
    return index


def evaluate_bnsearch(
    index: Index,
    questions: Sequence[Question],
    *,
    params: BM25FParams | None = None,
    system: str = "bnsearch",
) -> Metrics:
    """bnsearch on an index built by :func:`build_index` (questions as typed)."""
    searcher = Searcher(index.reader(), params=params)

    def rank(text: str) -> list[str]:
        return searcher.search(text, limit=10, highlight=False, stored=False).ids

    return score_rankings(system, questions, rank)


def icu_words() -> Analyzer:
    """The analysis fed to peers in "icu" mode: ICU words, normalized, nothing dropped."""
    return bengali_analyzer(stem=False, stopwords=None)


_TANTIVY_SYNTAX = re.compile(r"[+\-&|!(){}\[\]^\"~*?:\\/'<>=]")


def evaluate_whoosh(
    passages: Sequence[Article], questions: Sequence[Question], *, analysis: str = "default"
) -> Metrics:
    """whoosh (BM25F, its defaults) with its default analyzer or with ICU words."""
    from whoosh import fields, index, query
    from whoosh.analysis import SpaceSeparatedTokenizer, StandardAnalyzer

    icu = icu_words() if analysis == "icu" else None
    analyzer = SpaceSeparatedTokenizer() if icu else StandardAnalyzer()
    schema = fields.Schema(id=fields.ID(stored=True), body=fields.TEXT(analyzer=analyzer))
    with tempfile.TemporaryDirectory() as folder:
        store = index.create_in(folder, schema)
        writer = store.writer()
        for article in passages:
            body = " ".join(icu.terms(article.body)) if icu else article.body
            writer.add_document(id=article.id, body=body)
        writer.commit()
        with store.searcher() as searcher:

            def rank(text: str) -> list[str]:
                words = icu.terms(text) if icu else [t.text for t in analyzer(text)]
                if not words:
                    return []
                found = searcher.search(query.Or([query.Term("body", w) for w in words]), limit=10)
                return [hit["id"] for hit in found]

            return score_rankings(f"whoosh ({analysis})", questions, rank)


def evaluate_tantivy(
    passages: Sequence[Article], questions: Sequence[Question], *, analysis: str = "default"
) -> Metrics:
    """tantivy (BM25, its defaults) with its default tokenizer or with ICU words."""
    import tantivy

    icu = icu_words() if analysis == "icu" else None
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("body", stored=False, tokenizer_name="whitespace" if icu else "default")
    schema = builder.build()
    store = tantivy.Index(schema)
    writer = store.writer(heap_size=100_000_000, num_threads=1)
    for article in passages:
        body = " ".join(icu.terms(article.body)) if icu else article.body
        writer.add_document(tantivy.Document(id=article.id, body=body))
    writer.commit()
    writer.wait_merging_threads()
    store.reload()
    searcher = store.searcher()

    def rank(text: str) -> list[str]:
        if icu:
            words = icu.terms(text)
            if not words:
                return []
            built: Any = tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", w)) for w in words]
            )
        else:
            cleaned = _TANTIVY_SYNTAX.sub(" ", text).strip()
            if not cleaned:
                return []
            built, _errors = store.parse_query_lenient(cleaned, ["body"])
        found = searcher.search(built, 10)
        return [searcher.doc(address)["id"][0] for _, address in found.hits]

    return score_rankings(f"tantivy ({analysis})", questions, rank)
