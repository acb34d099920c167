"""Relevance on the BQA development questions (skipped without ../shared).

Measured with the defaults (2026-12-06, see docs/relevance.md): MRR@10 0.953, Recall@1 0.936,
Recall@10 0.983. The floors below sit a little under those figures, so that a change that
loses the exact-form or proximity gains fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bnsearch.index import Index
from bnsearch.search import BM25FParams

from .conftest import benchmark_module

_evaluate = benchmark_module("evaluate")  # the harness lives in benchmarks/evaluate.py
Question = _evaluate.Question
build_index = _evaluate.build_index
evaluate_bnsearch = _evaluate.evaluate_bnsearch
evaluate_tantivy = _evaluate.evaluate_tantivy
load_passages = _evaluate.load_passages
load_questions = _evaluate.load_questions

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PASSAGES = SHARED / "corpus" / "bqa_passages.jsonl"
QUESTIONS = SHARED / "eval" / "bqa_dev_questions.jsonl"

pytestmark = pytest.mark.skipif(
    not (PASSAGES.exists() and QUESTIONS.exists()),
    reason="BQA data not found in ../shared (the relevance test needs it)",
)


@pytest.fixture(scope="module")
def questions() -> list[Question]:
    return load_questions(QUESTIONS)


@pytest.fixture(scope="module")
def index() -> Index:
    return build_index(load_passages(PASSAGES))


def test_bnsearch_defaults_meet_the_floor(index: Index, questions: list[Question]) -> None:
    metrics = evaluate_bnsearch(index, questions)
    print(metrics.row())
    assert metrics.questions == len(questions) > 1000
    assert metrics.mrr_at_10 >= 0.945
    assert metrics.recall_at_1 >= 0.925
    assert metrics.recall_at_10 >= 0.975


def test_proximity_and_tuning_help(index: Index, questions: list[Question]) -> None:
    sample = questions[::3]
    tuned = evaluate_bnsearch(index, sample)
    classic = evaluate_bnsearch(
        index, sample, params=BM25FParams(k1=1.2, b=0.75, proximity=0.0, exact_forms=0.0)
    )
    assert tuned.mrr_at_10 > classic.mrr_at_10


def test_exact_forms_help(index: Index, questions: list[Question]) -> None:
    """Questions copy their passage's inflected forms: preferring them ranks better."""
    with_forms = evaluate_bnsearch(index, questions)
    without = evaluate_bnsearch(index, questions, params=BM25FParams(exact_forms=0.0))
    assert with_forms.mrr_at_10 > without.mrr_at_10 + 0.002


def test_beats_tantivy_with_the_same_words(index: Index, questions: list[Question]) -> None:
    pytest.importorskip("tantivy")
    sample = questions[::3]
    ours = evaluate_bnsearch(index, sample)
    peer = evaluate_tantivy(load_passages(PASSAGES), sample, analysis="icu")
    print(ours.row(), peer.row(), sep="\n")
    assert ours.mrr_at_10 > peer.mrr_at_10
