"""A learned linear ranker over bnsearch's signals, trained on one half of the BQA dev
questions and reported on the other (the split of ``relevance.py --cv``).

Run from the repository root (needs ``../shared``)::

    .venv/bin/python benchmarks/ranker.py

For each question the candidates are the top 50 of the default ranking; each candidate
gets six signals: the BM25F score with every bonus off; what exact forms, proximity and
the folded-spelling match each add at weight 1 (the score with that bonus alone, minus
the plain score); the share of the question's distinct terms it holds (coverage); and
that share weighted by idf. The learned score is a weighted sum, the BM25F weight fixed
at 1; the other weights are chosen by coordinate ascent on MRR@10 over a small grid of
values (three sweeps), on one half, and the result is reported on the other half, both
ways. The shipped defaults are the row "defaults".
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import bqa_files, build_index, load_passages, load_questions
from relevance import SHARED, halves

from bnsearch.search import BM25FParams, Searcher
from bnsearch.search.scoring import idf

SIGNALS = ("bm25f", "exact_forms", "proximity", "spelling", "coverage", "idf_coverage")
#: The values each weight may take (BM25F stays at 1).
GRID: dict[int, tuple[float, ...]] = {
    1: (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
    2: (0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
    3: (0.0, 0.25, 0.5, 1.0, 1.5),
    4: (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0),
    5: (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0),
}

Candidates = tuple[str, list[str], npt.NDArray[np.float64]]  # passage id, ids, signals


def signals(passages_path: Path, questions_path: Path) -> list[Candidates]:
    """Per question: the passage that answers it, the top-50 ids and their signals."""
    questions = load_questions(questions_path)
    reader = build_index(load_passages(passages_path)).reader()
    plain = {"proximity": 0.0, "exact_forms": 0.0, "spelling": 0.0}
    variants = {
        name: Searcher(reader, params=BM25FParams(**{**plain, name: 1.0}))
        for name in ("exact_forms", "proximity", "spelling")
    }
    base = Searcher(reader, params=BM25FParams(**plain))
    default = Searcher(reader)
    analyzer = default.schema.analyzer("body")
    n = reader.doc_count
    out: list[Candidates] = []
    for question in questions:
        ids = default.search(question.text, limit=50, highlight=False, stored=False).ids

        def scores(searcher: Searcher, text: str = question.text) -> dict[str, float]:
            found = searcher.search(text, limit=10_000, highlight=False, stored=False)
            return {hit.id: hit.score for hit in found}

        plain_scores = scores(base)
        extra = {name: scores(searcher) for name, searcher in variants.items()}
        terms = list(dict.fromkeys(analyzer.terms(question.text)))
        holders: list[set[tuple[int, int]]] = []
        weights: list[float] = []
        for term in terms:
            df = reader.doc_freq("body", term)
            weights.append(float(idf(n, df)) if df else 0.0)
            docs: set[tuple[int, int]] = set()
            for segment in reader.segments:
                postings = segment.postings("body", term)
                if postings is not None:
                    docs.update((segment.ordinal, int(d)) for d in postings[0].tolist())
            holders.append(docs)
        rows = []
        for ident in ids:
            where = reader.find(ident)
            has = [where in docs for docs in holders]
            p = plain_scores.get(ident, 0.0)
            rows.append(
                [
                    p,
                    *(extra[name].get(ident, 0.0) - p for name in variants),
                    sum(has) / max(len(terms), 1),
                    sum(w for w, h in zip(weights, has, strict=True) if h)
                    / max(sum(weights), 1e-9),
                ]
            )
        out.append((question.passage_id, ids, np.array(rows, dtype=np.float64).reshape(-1, 6)))
    return out


def mrr(weights: npt.NDArray[np.float64], data: Sequence[Candidates], part: Sequence[int]) -> float:
    total = 0.0
    for i in part:
        passage, ids, rows = data[i]
        if not ids:
            continue
        order = np.argsort(-(rows @ weights), kind="stable")[:10]
        top = [ids[j] for j in order]
        if passage in top:
            total += 1.0 / (top.index(passage) + 1)
    return total / len(part)


def train(
    data: Sequence[Candidates], part: Sequence[int], start: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    weights = start.copy()
    best = mrr(weights, data, part)
    for _ in range(3):
        for k, values in GRID.items():
            for value in values:
                trial = weights.copy()
                trial[k] = value
                found = mrr(trial, data, part)
                if found > best + 1e-9:
                    best, weights = found, trial
    return weights


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    args = parser.parse_args()
    passages, questions = bqa_files(args.shared)
    data = signals(passages, questions)
    first, second = halves(load_questions(questions))
    d = BM25FParams()
    defaults = np.array([1.0, d.exact_forms, d.proximity, d.spelling, 0.0, 0.0])
    print("signals:", ", ".join(SIGNALS))
    print("| trained on | weights | MRR@10 training half | held out | defaults held out |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, tune, test in (("half A", first, second), ("half B", second, first)):
        weights = train(data, tune, defaults)
        shown = ", ".join(f"{s}={w:g}" for s, w in zip(SIGNALS, weights, strict=True))
        print(
            f"| {name} | {shown} | {mrr(weights, data, tune):.4f} | "
            f"{mrr(weights, data, test):.4f} | {mrr(defaults, data, test):.4f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
