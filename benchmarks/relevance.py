"""Relevance on the BQA development questions: bnsearch next to whoosh and tantivy.

Run from the repository root (needs ``../shared``)::

    .venv/bin/python benchmarks/relevance.py            # the table in docs/relevance.md
    .venv/bin/python benchmarks/relevance.py --grid     # also the k1 / b / proximity grid
    .venv/bin/python benchmarks/relevance.py --cv       # 2-fold cross-validated defaults

Every system indexes ``bqa_passages.jsonl`` and answers every question of
``bqa_dev_questions.jsonl`` (top 10); the metrics are MRR@10, Recall@1 and Recall@10.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import attrs
from evaluate import (
    TABLE_HEADER,
    Question,
    bqa_files,
    build_index,
    evaluate_bnsearch,
    evaluate_tantivy,
    evaluate_whoosh,
    load_passages,
    load_questions,
)

from bnsearch.index import FieldSpec, Index, Schema
from bnsearch.search import BM25FParams, Searcher

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

#: The 2-fold split: questions shuffled by ``random.Random(CV_SEED)``, cut in two halves.
CV_SEED = 15
#: The grid the cross-validation chooses from.
CV_GRID = {
    "k1": (0.3, 0.5, 0.9, 1.2),
    "b": (0.5, 0.75, 0.9),
    "proximity": (0.0, 0.5, 1.0, 2.0),
    "exact_forms": (0.0, 0.5, 1.0),
    "spelling": (0.0, 0.5),
}


def reciprocal_ranks(
    index: Index, questions: Sequence[Question], params: BM25FParams
) -> list[float]:
    """Per question, 1 / rank of its passage in the top 10 (0 when it is not there)."""
    searcher = Searcher(index.reader(), params=params)
    out = []
    for question in questions:
        ids = searcher.search(question.text, limit=10, highlight=False, stored=False).ids
        out.append(
            1.0 / (ids.index(question.passage_id) + 1) if question.passage_id in ids else 0.0
        )
    return out


def halves(questions: Sequence[Question], seed: int = CV_SEED) -> tuple[list[int], list[int]]:
    """The fixed split: indices of the two halves."""
    order = list(range(len(questions)))
    random.Random(seed).shuffle(order)
    middle = len(order) // 2
    return sorted(order[:middle]), sorted(order[middle:])


def cross_validate(index: Index, questions: Sequence[Question]) -> None:
    """Choose the grid point on one half, report it on the other, both ways."""
    names = list(CV_GRID)
    results: dict[tuple[float, ...], list[float]] = {}
    for values in itertools.product(*CV_GRID.values()):
        params = attrs.evolve(BM25FParams(), **dict(zip(names, values, strict=True)))
        results[values] = reciprocal_ranks(index, questions, params)
    split = halves(questions)

    def mean(values: tuple[float, ...], part: list[int]) -> float:
        ranks = results[values]
        return sum(ranks[i] for i in part) / len(part)

    defaults = tuple(getattr(BM25FParams(), name) for name in names)
    print(
        f"grid: {len(results)} points over {names}; halves of {len(split[0])} and {len(split[1])}"
    )
    print("| tuned on | chosen | MRR@10 on the tuning half | MRR@10 held out | defaults held out |")
    print("| --- | --- | ---: | ---: | ---: |")
    held_out = []
    for tune, test, label in ((split[0], split[1], "half A"), (split[1], split[0], "half B")):
        best = max(results, key=lambda v: (mean(v, tune), v == defaults))
        chosen = ", ".join(f"{n}={v:g}" for n, v in zip(names, best, strict=True))
        held_out.append(mean(best, test))
        print(
            f"| {label} | {chosen} | {mean(best, tune):.4f} | {mean(best, test):.4f} | "
            f"{mean(defaults, test):.4f} |"
        )
    whole = list(range(len(questions)))
    print(f"held-out mean: {sum(held_out) / 2:.4f}; defaults on all: {mean(defaults, whole):.4f}")
    ranked = sorted(results, key=lambda v: -mean(v, whole))[:5]
    for values in ranked:
        point = ", ".join(f"{n}={v:g}" for n, v in zip(names, values, strict=True))
        print(
            f"  {point}: all {mean(values, whole):.4f}, "
            f"A {mean(values, split[0]):.4f}, B {mean(values, split[1]):.4f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--grid", action="store_true", help="print the tuning grid too")
    parser.add_argument("--no-peers", action="store_true", help="skip whoosh and tantivy")
    parser.add_argument("--cv", action="store_true", help="only the 2-fold cross-validation")
    args = parser.parse_args()
    passages_path, questions_path = bqa_files(args.shared)
    passages = load_passages(passages_path)
    questions = load_questions(questions_path)
    print(
        f"# {len(passages)} passages, {len(questions)} questions; "
        f"{time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
        f"{platform.machine()}"
    )
    default_index = build_index(passages)
    if args.cv:
        cross_validate(default_index, questions)
        return 0
    nostem = Schema(fields=(FieldSpec(name="body", source="body", analyzer="bengali-nostem"),))
    nostem_index = build_index(passages, nostem)
    variants = [
        ("bnsearch (defaults)", BM25FParams()),
        ("bnsearch, no exact forms", BM25FParams(exact_forms=0.0)),
        ("bnsearch, no proximity", BM25FParams(proximity=0.0)),
        ("bnsearch, neither bonus", BM25FParams(proximity=0.0, exact_forms=0.0)),
        (
            "bnsearch, classic k1=1.2 b=0.75, neither bonus",
            BM25FParams(k1=1.2, b=0.75, proximity=0.0, exact_forms=0.0),
        ),
    ]
    rows = [
        evaluate_bnsearch(default_index, questions, system=name, params=params)
        for name, params in variants
    ]
    rows += [
        evaluate_bnsearch(nostem_index, questions, system="bnsearch, body not stemmed"),
        evaluate_bnsearch(
            nostem_index,
            questions,
            system="bnsearch, body not stemmed, no proximity",
            params=BM25FParams(proximity=0.0),
        ),
    ]
    if not args.no_peers:
        for analysis in ("default", "icu"):
            rows.append(evaluate_whoosh(passages, questions, analysis=analysis))
            try:
                rows.append(evaluate_tantivy(passages, questions, analysis=analysis))
            except ImportError:
                print("(tantivy not installed: skipped)", file=sys.stderr)
    print(TABLE_HEADER)
    for row in rows:
        print(row.row())
    if args.grid:
        print("\n## grid (default schema)\n")
        print(TABLE_HEADER)
        for k1 in (0.3, 0.5, 0.9, 1.2):
            for proximity in (0.0, 0.5, 1.0, 2.0):
                for exact_forms in (0.0, 0.5, 1.0):
                    params = BM25FParams(k1=k1, proximity=proximity, exact_forms=exact_forms)
                    name = f"k1={k1} proximity={proximity} exact_forms={exact_forms}"
                    print(
                        evaluate_bnsearch(
                            default_index, questions, params=params, system=name
                        ).row()
                    )
        for b in (0.5, 0.9):
            name = f"defaults with b={b}"
            print(
                evaluate_bnsearch(
                    default_index, questions, params=BM25FParams(b=b), system=name
                ).row()
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
