"""The compiled core against the numpy path, on the real corpora (BQA passages + BeliN).

Both paths run in this one process (the core is swapped for ``None`` to get the numpy
path), over an index of three segments with deletes in the first two: every query kind
must give the same ids in the same order, the same scores (within 1e-9), the same totals,
facets, snippets and marks, and the same MRR@10 on the BQA development questions.
Skipped without ../shared or without the built extension.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from bnsearch.articles import Article, read_articles
from bnsearch.errors import IndexFormatError
from bnsearch.index import Index
from bnsearch.search import BM25FParams, Results, Searcher, kernel

from .conftest import compiled_core, index_of, query_path, shared_file

SECTION = "ধর্ম"


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return compiled_core()


@pytest.fixture(scope="module")
def corpus_index() -> Index:
    """BQA passages, then BeliN articles, then 300 BeliN articles again (each replaces
    its older copy: deletes in the BeliN segment) and 100 BQA passages with a section
    (deletes in the BQA segment); merges off, so three segments stay."""
    bqa = list(read_articles(shared_file("corpus/bqa_passages.jsonl")))
    belin = list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))
    again = belin[::8][:300] + [
        Article(id=a.id, title=a.title, body=a.body, section=(SECTION,)) for a in bqa[::15][:100]
    ]
    return index_of(bqa, belin, again, keep_deletes=True)


@pytest.fixture(scope="module")
def searcher(corpus_index: Index) -> Searcher:
    searcher = Searcher(corpus_index.reader())
    assert len(searcher.reader.segments) == 3
    assert sum(s.del_count for s in searcher.reader.segments) == 400
    return searcher


@pytest.fixture(scope="module")
def questions() -> list[dict[str, Any]]:
    path = shared_file("eval/bqa_dev_questions.jsonl")
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _both(
    searcher: Searcher, core: ModuleType, query: str, **options: Any
) -> tuple[Results, Results]:
    with query_path(core):
        compiled = searcher.search(query, **options)
    with query_path(None):
        reference = searcher.search(query, **options)
    return compiled, reference


def _assert_same(compiled: Results, reference: Results, query: str) -> None:
    assert compiled.ids == reference.ids, query
    assert compiled.total == reference.total, query
    for mine, theirs in zip(compiled.hits, reference.hits, strict=True):
        assert abs(mine.score - theirs.score) <= 1e-9, (query, mine.id)
        assert mine.highlights == theirs.highlights, (query, mine.id)
        assert mine.fields == theirs.fields


def test_dev_questions_rank_the_same(
    searcher: Searcher, core: ModuleType, questions: list[dict[str, Any]]
) -> None:
    matched = 0
    for row in questions[::4]:
        compiled, reference = _both(searcher, core, row["question"], highlight=False)
        _assert_same(compiled, reference, row["question"])
        matched += compiled.total > 0
    assert matched > 300  # the questions do find passages: the comparison is not empty


def test_mrr_is_the_same(
    searcher: Searcher, core: ModuleType, questions: list[dict[str, Any]]
) -> None:
    def mrr(path: ModuleType | None) -> float:
        total = 0.0
        with query_path(path):
            for row in questions:
                ids = searcher.search(row["question"], stored=False, highlight=False).ids
                if row["passage_id"] in ids:
                    total += 1.0 / (ids.index(row["passage_id"]) + 1)
        return total / len(questions)

    compiled, reference = mrr(core), mrr(None)
    assert reference > 0.9  # the index answers the questions (not a vacuous comparison)
    assert abs(compiled - reference) <= 0.001


def _words(searcher: Searcher) -> list[str]:
    """Common, middling and rare body words of the index, as typed in the text."""
    belin = shared_file("corpus/belin_religious_news.jsonl")
    with belin.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["body"] for _, line in zip(range(40), lines, strict=False)]
    words = [w for text in texts for w in text.split()[5:200:37] if len(w) > 2]
    return list(dict.fromkeys(words))[:40]


@pytest.mark.parametrize(
    "kind", ["one-word", "several", "phrase", "prefix", "filtered", "page-two", "boolean"]
)
def test_query_kinds_give_the_same_page(searcher: Searcher, core: ModuleType, kind: str) -> None:
    words = _words(searcher)
    assert len(words) >= 20
    compared = 0
    for number, word in enumerate(words):
        other = words[(number * 7 + 3) % len(words)]
        options: dict[str, Any] = {}
        if kind == "one-word":
            query = word
        elif kind == "several":
            query = f"{word} {other} {words[(number + 11) % len(words)]}"
        elif kind == "phrase":
            query = f'"{word} {other}"'
        elif kind == "prefix":
            query = f"{word[:2]}*"
        elif kind == "filtered":
            query = f"{word} {other}"
            options["filter"] = {"section": SECTION}
        elif kind == "page-two":
            query = f"{word} {other}"
            options.update(limit=7, offset=7)
        else:
            query = f"+{word} {other} -{words[(number + 5) % len(words)]}"
        compiled, reference = _both(searcher, core, query, **options)
        _assert_same(compiled, reference, query)
        if kind in ("one-word", "several", "filtered"):
            assert dict(compiled.facets) == dict(reference.facets), query
        compared += bool(compiled.hits)
    assert compared >= 10  # most queries find something


@pytest.mark.parametrize("compiled", [True, False])
def test_explain_gives_exactly_the_search_score(
    corpus_index: Index, core: ModuleType, compiled: bool
) -> None:
    """explain() and search() share one preparation and scoring: the top value is the
    score itself (not a sum that rounds alike), for every kind of query, with the prior."""
    searcher = Searcher(corpus_index.reader(), params=BM25FParams(link_prior=0.3))
    words = _words(searcher)
    queries = [
        f"{words[0]} {words[1]} {words[2]}",
        words[3],
        f'"{words[4]} {words[5]}" {words[6]}',
        f"+{words[7]} {words[8]}",
        f"{words[9][:2]}*",
    ]
    checked = 0
    with query_path(core if compiled else None):
        for query in queries:
            for hit in searcher.search(query, limit=5, stored=False).hits:
                explained = searcher.explain(query, hit.id)
                assert explained.value == hit.score, query
                assert explained.details, query
                checked += 1
    assert checked >= 15


def test_a_long_query_and_a_short_prefix_stay_the_same(
    searcher: Searcher, core: ModuleType, questions: list[dict[str, Any]]
) -> None:
    long_query = " ".join(row["question"] for row in questions[:400])  # thousands of words
    compiled, reference = _both(searcher, core, long_query, highlight=False)
    _assert_same(compiled, reference, "long")
    assert any("distinct words" in note for note in compiled.notes)
    compiled, reference = _both(searcher, core, "প্র*", highlight=False)
    _assert_same(compiled, reference, "প্র*")
    assert compiled.total > 1000


def test_bad_arrays_raise_the_library_error(core: ModuleType, searcher: Searcher) -> None:
    """A doc id outside the segment raises IndexFormatError (never a write out of
    bounds), and leaves the core's reused tables clean for the next search."""
    docs = np.array([0, 5], dtype=np.int32)
    tfs = np.ones(2, dtype=np.uint8)
    mult = np.ones(4, dtype=np.float32)
    owners = np.zeros(1, dtype=np.int32)
    ones = np.ones(1, dtype=np.float32)
    with pytest.raises(IndexFormatError, match="outside its segment"):
        core.score_segment(
            [docs], [tfs], [mult], [None], owners, ones, np.zeros(1, np.uint8), ones, 0.3, None, 4
        )
    good = np.array([0, 3], dtype=np.int32)  # doc 0 scored, then the bad doc 5
    with pytest.raises(IndexFormatError):
        core.score_segment(
            [good, docs],
            [tfs, tfs],
            [mult, mult],
            [None, None],
            np.array([0, 1], np.int32),
            np.ones(2, np.float32),
            np.zeros(2, np.uint8),
            np.zeros(2, np.float32),
            0.3,
            None,
            4,
        )
    for query in ("নামাজ রোজা", "ঢাকা"):
        compiled, reference = _both(searcher, core, query, highlight=False)
        _assert_same(compiled, reference, query)
        assert compiled.total > 0


def test_per_unit_arrays_as_python_or_numpy_arrays(core: ModuleType) -> None:
    """The per-unit arrays (owners, weights, flags, bonuses) are read the same from the
    Python arrays the core's layout makes and from numpy arrays; another dtype or shape
    is a ValueError naming the array (not a write or read out of bounds)."""
    from array import array

    docs = [np.array([0, 2, 3], np.int32), np.array([1, 2], np.int32)]
    tfs = [np.array([1, 2, 1], np.uint8), np.array([3, 1], np.uint8)]
    mult = [np.linspace(0.5, 1.5, 4, dtype=np.float32)] * 2
    forms = [np.array([1, 0, 1], np.uint8), np.array([0, 1], np.uint8)]
    figures = (
        np.array([0, 1], np.int32),
        np.array([1.5, 0.7], np.float32),
        np.array([1, 0], np.uint8),
        np.array([0.25, 0.0], np.float32),
    )
    python = (array("i", [0, 1]), array("f", [1.5, 0.7]), array("B", [1, 0]), array("f", [0.25, 0]))
    for keep in (0, 2):
        want = core.score_segment(docs, tfs, mult, forms, *figures, 0.9, None, 4, keep)
        got = core.score_segment(docs, tfs, mult, forms, *python, 0.9, None, 4, keep)
        assert want[0].tolist() == got[0].tolist()
        assert want[1].tolist() == got[1].tolist()
        assert want[2:] == got[2:] and want[2] == 4  # (every doc matches)
    wrong = {
        "owners": array("l", [0, 1]),
        "weights": figures[1].astype(np.float64),
        "flags": [1, 0],
        "bonuses": np.zeros((2, 1), np.float32),
    }
    for at, (name, bad) in enumerate(wrong.items()):
        args = list(figures)
        args[at] = bad
        with pytest.raises(ValueError, match=name):
            core.score_segment(docs, tfs, mult, forms, *args, 0.9, None, 4)


def test_without_the_extension_numpy_runs_after_one_warning(tmp_path: Any) -> None:
    """A missing extension (here: an import that fails) gives one warning line, the numpy
    path, and ``bnsearch.accelerated`` False; searches still work."""
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('default')\n"
        "sys.modules['bnsearch.search._kernel'] = None\n"
        "import bnsearch\n"
        "from bnsearch import Article, Index, Searcher\n"
        "index = Index.in_memory()\n"
        "with index.writer() as w:\n"
        "    w.add(Article(id='a', title='ঢাকার খবর', body='ঢাকায় বৃষ্টি হয়েছে'))\n"
        "for _ in range(3):\n"
        "    ids = Searcher(index.reader()).search('বৃষ্টি').ids\n"
        "print(bnsearch.accelerated, ids)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != kernel.PURE_PYTHON_ENV}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
    )
    assert done.stdout.strip() == "False ['a']"
    warned = [line for line in done.stderr.splitlines() if "compiled core is not built" in line]
    assert len(warned) == 1, done.stderr


def test_the_environment_variable_forces_numpy() -> None:
    code = "import bnsearch, bnsearch.search.kernel as k; print(bnsearch.accelerated, k.core)"
    env = {**os.environ, kernel.PURE_PYTHON_ENV: "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.strip() == "False None"
    assert "compiled core" not in done.stderr  # asked for: no warning


def test_private_tables_give_the_same_results(searcher: Searcher, core: ModuleType) -> None:
    """While one call holds the core's shared tables (another thread's search, entered
    from a finalizer), a call works on private tables: same results."""
    queries = ["নামাজ রোজা ইফতার", "ঢাকা", '"ইসলামী ব্যাংক"', "প্র*"]
    with query_path(core):
        shared = [searcher.search(q, highlight=False, stored=False) for q in queries]
        core._hold_shared_tables(True)
        try:
            private = [searcher.search(q, highlight=False, stored=False) for q in queries]
        finally:
            core._hold_shared_tables(False)
        again = [searcher.search(q, highlight=False, stored=False) for q in queries]
    for first, second, third in zip(shared, private, again, strict=True):
        assert first.total > 0
        assert first.ids == second.ids == third.ids
        assert [h.score for h in first.hits] == [h.score for h in second.hits]
        assert first.total == second.total == third.total


def test_an_index_on_disk_searches_the_same_on_both_paths(core: ModuleType, tmp_path: Any) -> None:
    """Memory-mapped segment files (what a service opens) read by the core as by numpy;
    the index is written by the same code whichever path searches it."""
    belin = list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))[:600]
    index = Index.create(tmp_path / "index")
    for batch in (belin[:300], belin[300:]):
        with index.writer() as writer:
            for article in batch:
                writer.add(article)
    searcher = Searcher(Index.open(tmp_path / "index").reader())
    compared = 0
    for query in ("নামাজ রোজা ইফতার", "মসজিদ", '"ইসলামী ব্যাংক"', "ইসলা*", "+মসজিদ -ঢাকা"):
        compiled, reference = _both(searcher, core, query)
        _assert_same(compiled, reference, query)
        compared += len(compiled.hits)
    assert compared >= 20


def _pairs_by_definition(
    fields: list[tuple[Any, ...]], docs: np.ndarray, pair_row: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """The proximity bonus as the rule states it: every two occurrences one or two
    positions apart count for their pair; fields weigh by their multiplier."""
    xs = np.zeros((len(weights), len(docs)), dtype=np.float64)
    for entry_docs, entry_offsets, positions, labels, multiplier in fields:
        for column, doc in enumerate(docs.tolist()):
            found = []
            for term_docs, offsets, label in zip(entry_docs, entry_offsets, labels, strict=True):
                at = np.flatnonzero(term_docs == doc)
                if len(at):
                    run = positions[offsets[at[0]] : offsets[at[0] + 1]].tolist()
                    found.extend((p, int(label)) for p in run)
            for p, a in found:
                for q, b in found:
                    row = pair_row[a, b, q - p] if 1 <= q - p <= 2 else -1
                    if row >= 0:
                        xs[row, column] += float(multiplier[doc])
    x = xs.astype(np.float32)
    saturated = x / (x + np.float32(0.3))
    return (weights.astype(np.float64)[:, None] * saturated).sum(axis=0).astype(np.float32)


@pytest.mark.parametrize(
    ("spread", "clustered", "walked"),
    [
        (1, False, False),
        (40_000, False, False),
        (1, True, False),
        (1, False, True),
        (1, True, True),
    ],
)
def test_proximity_scores_count_every_pair_once(
    core: ModuleType, spread: int, clustered: bool, walked: bool
) -> None:
    """The compiled rerank against the rule itself, on random postings: short and long
    lists (merged, and searched from where an even spread puts a doc), positions close
    together (the position table) and far apart (sorted), two fields; ``clustered``:
    postings crowded at both ends of the segment and reranked docs between and among
    them, where that guess is far off; ``walked``: every other entry given by its tfs
    (of each kind, its docs of both) and first position instead of its offsets (found
    by a walk summing the tfs)."""
    rng = np.random.default_rng(spread + clustered)
    max_doc, n_labels = 3000, 4
    pair_row = np.full((n_labels, n_labels, 3), -1, dtype=np.int64)
    pair_row[0, 1, 1], pair_row[1, 3, 2], pair_row[2, 3, 1], pair_row[3, 0, 1] = 0, 1, 2, 3
    weights = np.array([1.5, 0.7, 2.0, 0.9], dtype=np.float32)
    fields = []
    for _ in range(2):
        entry_docs, entry_offsets, runs, start = [], [], [], 0
        for label, size in enumerate((2900, 1500, 600, 40)):
            crowd = np.r_[0:1500, 2700:3000] if clustered else np.arange(max_doc)
            term_docs = np.sort(rng.choice(crowd, min(size, len(crowd)), replace=False))
            term_docs = term_docs.astype(np.int32)
            offsets = [start]
            for _doc in term_docs:
                # one word per position: label L stands at 4k + L
                base = np.sort(rng.choice(12, rng.integers(1, 8), replace=False))
                runs.append(base * n_labels * spread + label)
                start += len(base)
                offsets.append(start)
            entry_docs.append(term_docs)
            entry_offsets.append(np.array(offsets, dtype=np.int64))
        fields.append(
            (
                entry_docs,
                entry_offsets,
                np.concatenate(runs).astype(np.int64),
                np.arange(n_labels, dtype=np.int32),
                rng.uniform(0.5, 2.0, max_doc).astype(np.float32),
            )
        )
    docs = np.sort(rng.choice(max_doc, 50, replace=False)).astype(np.int32)
    expected = _pairs_by_definition(fields, docs, pair_row, weights)
    if walked:  # (the tfs of every kind a segment writes, the docs of both)
        kinds = iter([np.uint8, np.uint16, np.uint32, np.int64])
        for entry_docs, entry_offsets, *_ in fields:
            for e in range(0, len(entry_offsets), 2):
                offsets = entry_offsets[e]
                entry_offsets[e] = (np.diff(offsets).astype(next(kinds)), int(offsets[0]))
                entry_docs[e] = entry_docs[e].astype(np.uint16 if e else np.int32)
    got = core.proximity_scores(fields, docs, pair_row, weights, 0.3)
    assert np.count_nonzero(expected) > 10  # pairs were found: the comparison is not empty
    assert got.dtype == np.float32 and np.array_equal(got, expected)
    # the same docs picked by their indices among more (uint16 docs), each bonus added
    # to its doc's score on a copy of the scores
    pool = np.union1d(docs, rng.choice(max_doc, 30, replace=False)).astype(np.uint16)
    at = np.flatnonzero(np.isin(pool, docs))
    base = rng.uniform(0, 5, len(pool)).astype(np.float32)
    kept = base.copy()
    added = core.proximity_scores(fields, pool, pair_row, weights, 0.3, at, base)
    want = base.copy()
    want[at] += expected
    assert added.dtype == np.float32 and np.array_equal(added, want)
    assert np.array_equal(base, kept)
    every = core.proximity_scores(fields, docs, pair_row, weights, 0.3, None, kept[: len(docs)])
    assert np.array_equal(every, kept[: len(docs)] + expected)
