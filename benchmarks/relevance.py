"""Relevance on the BQA development questions: bnsearch next to whoosh and tantivy.

Run from the repository root (needs ``../shared``)::

    .venv/bin/python benchmarks/relevance.py            # the table in docs/relevance.md
    .venv/bin/python benchmarks/relevance.py --grid     # also the k1 / b / proximity grid

Every system indexes ``bqa_passages.jsonl`` and answers every question of
``bqa_dev_questions.jsonl`` (top 10); the metrics are MRR@10, Recall@1 and Recall@10.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

from evaluate import (
    TABLE_HEADER,
    build_index,
    evaluate_bnsearch,
    evaluate_tantivy,
    evaluate_whoosh,
    load_passages,
    load_questions,
)

from bnsearch.index import FieldSpec, Schema
from bnsearch.search import BM25FParams

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--grid", action="store_true", help="print the tuning grid too")
    parser.add_argument("--no-peers", action="store_true", help="skip whoosh and tantivy")
    args = parser.parse_args()
    passages_path = args.shared / "corpus" / "bqa_passages.jsonl"
    questions_path = args.shared / "eval" / "bqa_dev_questions.jsonl"
    if not passages_path.exists() or not questions_path.exists():
        print(f"BQA data not found under {args.shared}", file=sys.stderr)
        return 2
    passages = load_passages(passages_path)
    questions = load_questions(questions_path)
    print(
        f"# {len(passages)} passages, {len(questions)} questions; "
        f"{time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
        f"{platform.machine()}"
    )
    default_index = build_index(passages)
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
