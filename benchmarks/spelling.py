"""Spelling help on the BQA dev questions: did-you-mean and ranking of slipped questions.

Run from the repository root (needs ``../shared``)::

    .venv/bin/python benchmarks/spelling.py

Makes one slip per question (``benchmarks/slips.py``, seeded) and reports

* did-you-mean (``Searcher.suggest``): the share of slipped words it restores, the share
  of clean questions it leaves unchanged, per kind of slip, and its time per question
  (median and p99 over the slipped and the clean questions, best of three);
* ranking: MRR@10 of the clean questions and of the same questions slipped, with the
  folded-spelling match on and off.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import (
    Question,
    bqa_files,
    build_index,
    evaluate_bnsearch,
    load_passages,
    load_questions,
)
from slips import Slip, slip_questions

from bnsearch.search import BM25FParams, Searcher

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@attrs.frozen(kw_only=True)
class SuggestFigures:
    restored: int
    slipped: int
    clean_unchanged: int
    clean: int
    by_kind: dict[str, tuple[int, int]]
    changed_clean: tuple[tuple[str, str], ...]
    missed: tuple[tuple[str, str, str | None], ...]


def restored(searcher: Searcher, slip: Slip) -> tuple[bool, str | None]:
    """Whether ``suggest`` gives the slipped word back as asked (other words aside)."""
    fixed = searcher.suggest(slip.text)
    if fixed is None:
        return False, None
    analyzer = searcher.schema.analyzer("body")
    chunks = fixed.split()
    if len(chunks) <= slip.word_index:
        return False, fixed
    got = analyzer.normalize(chunks[slip.word_index])
    return got == analyzer.normalize(slip.word), fixed


def suggest_figures(
    searcher: Searcher, questions: Sequence[Question], slips: Sequence[Slip]
) -> SuggestFigures:
    by_kind: dict[str, list[int]] = {}
    good = 0
    missed = []
    for slip in slips:
        ok, fixed = restored(searcher, slip)
        good += ok
        tally = by_kind.setdefault(slip.kind, [0, 0])
        tally[0] += ok
        tally[1] += 1
        if not ok:
            missed.append((slip.word, slip.slipped, fixed))
    changed = []
    for question in questions:
        fixed = searcher.suggest(question.text)
        if fixed is not None:
            changed.append((question.text, fixed))
    return SuggestFigures(
        restored=good,
        slipped=len(slips),
        clean_unchanged=len(questions) - len(changed),
        clean=len(questions),
        by_kind={k: (v[0], v[1]) for k, v in sorted(by_kind.items())},
        changed_clean=tuple(changed),
        missed=tuple(missed),
    )


def suggest_times(searcher: Searcher, texts: Sequence[str], rounds: int = 3) -> list[float]:
    """Per text, the best of ``rounds`` times of ``suggest`` in ms."""
    best = [float("inf")] * len(texts)
    for _ in range(rounds):
        for i, text in enumerate(texts):
            started = time.perf_counter()
            searcher.suggest(text)
            best[i] = min(best[i], (time.perf_counter() - started) * 1000)
    return best


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--show", type=int, default=0, help="print N misses and changes")
    args = parser.parse_args()
    passages_path, questions_path = bqa_files(args.shared)
    questions = load_questions(questions_path)
    index = build_index(load_passages(passages_path))
    searcher = Searcher(index.reader())
    analyzer = searcher.schema.analyzer("body")
    dictionary = searcher._ctx.dictionary("body")
    slips = slip_questions(
        [(q.qid, q.text, q.passage_id) for q in questions], analyzer, dictionary.__contains__
    )
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M')} UTC; {len(questions)} questions, {len(slips)} slipped"
    )
    figures = suggest_figures(searcher, questions, slips)
    print(
        f"suggest restores {figures.restored}/{figures.slipped} "
        f"({figures.restored / figures.slipped:.1%}); leaves clean questions unchanged "
        f"{figures.clean_unchanged}/{figures.clean} ({figures.clean_unchanged / figures.clean:.1%})"
    )
    for kind, (ok, n) in figures.by_kind.items():
        print(f"  {kind}: {ok}/{n} ({ok / n:.0%})")
    for word, slipped, fixed in figures.missed[: args.show]:
        print(f"  missed: {word} -> {slipped}: {fixed}")
    for text, fixed in figures.changed_clean[: args.show]:
        print(f"  changed clean: {text} -> {fixed}")
    for name, texts in (
        ("slipped", [s.text for s in slips]),
        ("clean", [q.text for q in questions]),
    ):
        times = suggest_times(searcher, texts)
        print(
            f"suggest time, {name} questions: median {statistics.median(times):.3f} ms, "
            f"p99 {percentile(times, 0.99):.3f} ms, max {max(times):.3f} ms"
        )
    slipped_questions = [Question(qid=s.qid, text=s.text, passage_id=s.passage_id) for s in slips]
    same_clean = [Question(qid=s.qid, text=s.original, passage_id=s.passage_id) for s in slips]
    for name, params in (
        ("defaults", BM25FParams()),
        ("no folded spellings", BM25FParams(spelling=0.0)),
    ):
        clean = evaluate_bnsearch(index, same_clean, params=params, system=f"{name}, clean")
        slipped = evaluate_bnsearch(
            index, slipped_questions, params=params, system=f"{name}, slipped"
        )
        print(clean.row())
        print(slipped.row())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
