"""Search room: several words' position runs from one compiled call
(:meth:`SegmentReader.position_runs`, :meth:`TermTable.position_runs`) are the runs
:meth:`SegmentReader.position_run` gives word by word, and the rerank and the phrase
frequencies read through it give what they give where the call does not serve (a
refreshed reader's deferred anchors: word by word). Skipped where the compiled modules
were not built."""

from __future__ import annotations

import importlib
import random
from typing import Any

import numpy as np
import pytest

from bnsearch import Article, Index
from bnsearch.index import segment as segment_module
from bnsearch.index.segment import SegmentReader, encoded_terms
from bnsearch.search import phrases
from bnsearch.search.searcher import Searcher

from .conftest import compiled_core, index_of, query_path

WORDS = ["ঢাকা", "শহর", "নদী", "বাজার", "মানুষ", "সরকার", "খেলা", "বৃষ্টি", "আকাশ", "গ্রাম"]


def _terms_module() -> Any:
    try:
        return importlib.import_module("bnsearch.index._terms")
    except ImportError as error:  # pragma: no cover - depends on the build
        pytest.skip(f"the compiled term tables are not built: {error}")


def _articles(seed: int, count: int) -> list[Article]:
    rng = random.Random(seed)
    found = []
    for number in range(count):
        words = WORDS[: rng.randint(2, len(WORDS))]
        length = rng.choice((3, 8, 40, 300))  # long docs: tfs above 255
        body = " ".join(rng.choice(words) for _ in range(length))
        title = " ".join(rng.sample(WORDS, 3))
        found.append(Article(id=f"{seed}-{number}", title=title, body=body))
    return found


@pytest.fixture(scope="module")
def index() -> Index:
    return index_of(_articles(1, 200), _articles(2, 150))


@pytest.mark.parametrize("walk", [-1, 0, 40, 10**9])
def test_runs_from_one_call_are_those_looked_up_one_by_one(index: Index, walk: int) -> None:
    """Per word with postings, in the order asked: its docs, and its tfs and first
    position where it has at most ``walk`` postings (else None); words the field lacks,
    None (a lone surrogate) and repeats as asked. Views of the same kinds and writeability."""
    _terms_module()
    if segment_module._TERMS is None:  # (BNSEARCH_PURE_PYTHON: no table serves)
        pytest.skip("the segments read without their compiled term tables")
    asked = 0
    for segment in index.reader().segments:
        for field in ("title", "body"):
            terms = [*segment.terms(field), "নেই", "\ud800", WORDS[0], "", WORDS[0]]
            encoded = encoded_terms(terms)
            assert encoded[terms.index("\ud800")] is None
            found = segment.position_runs(field, encoded, walk)
            assert found is not None
            docs, places, indices, positions = found
            assert indices.dtype == np.int32 and len(indices) == len(docs) == len(places)
            want = [(i, segment.position_run(field, t)) for i, t in enumerate(terms)]
            want = [(i, run) for i, run in want if run is not None and len(run[0])]
            assert indices.tolist() == [i for i, _ in want]
            for (_, run), got_docs, place in zip(want, docs, places, strict=True):
                assert got_docs.dtype == run[0].dtype and np.array_equal(got_docs, run[0])
                assert got_docs.flags.writeable == run[0].flags.writeable
                if len(run[0]) <= walk:
                    tfs, first = place
                    assert tfs.dtype == run[1].dtype and np.array_equal(tfs, run[1])
                    assert first == run[2]
                else:
                    assert place is None
                assert positions is run[3]
                asked += 1
    assert asked > 40


def test_runs_outlive_the_table_they_were_cut_from() -> None:
    """A run's views keep the arrays they were cut from (a table let go meanwhile)."""
    module = _terms_module()
    blob = np.frombuffer("কখগ".encode(), dtype=np.uint8)
    table = module.TermTable(blob, np.array([0, 3, 6, 9], dtype=np.uint32))
    docs, tfs = np.arange(5, dtype=np.int32), np.array([1, 2, 1, 3, 1], dtype=np.uint16)
    assert table.hold(np.array([0, 2, 2, 5], np.uint32), docs, tfs, None)
    assert table.hold_positions(np.array([0, 3, 3], dtype=np.int64))
    found, places, indices = table.position_runs(["গ".encode(), "খ".encode(), b"x"], 2)
    del table, docs, tfs
    assert indices.tolist() == [0] and len(found) == 1 and places == [None]
    assert found[0].tolist() == [2, 3, 4]
    with pytest.raises(ValueError):  # (no position pointers held)
        module.TermTable(blob, np.array([0, 3, 6, 9], dtype=np.uint32)).position_runs([], 1)


def _one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every field read as where its held table does not serve."""
    monkeypatch.setattr(
        SegmentReader, "position_runs", lambda self, field, terms, walk, spans=False: None
    )


def test_phrases_read_word_by_word_match_the_same(
    index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compiled phrase frequencies with every word's run from one call and looked up
    word by word: the same docs and counts."""
    compiled_core()
    rng = random.Random(5)
    seen = 0
    for segment in index.reader().segments:
        for field in ("title", "body"):
            for _ in range(60):
                words = [rng.choice([*WORDS, "নেই"]) for _ in range(rng.choice((2, 3)))]
                phrase = tuple(enumerate(words))
                one_call = phrases.phrase_frequencies(segment, field, phrase)
                with monkeypatch.context() as patch:
                    _one_by_one(patch)
                    by_word = phrases.phrase_frequencies(segment, field, phrase)
                assert np.array_equal(one_call[0], by_word[0])
                assert np.array_equal(one_call[1], by_word[1])
                seen += len(one_call[0]) > 0
    assert seen > 50


def test_the_rerank_read_word_by_word_scores_the_same(
    index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several-words searches with the pair words' runs from one call, word by word
    (their offsets), and on the numpy path: the same ids and scores."""
    core = compiled_core()
    queries = [" ".join(random.Random(n).sample(WORDS, 4)) for n in range(30)]

    def run() -> list[Any]:
        searcher = Searcher(index.reader())
        found = [searcher.search(q, limit=20, highlight=False, stored=False) for q in queries]
        return [(r.ids, [h.score for h in r.hits]) for r in found]

    with query_path(core):
        one_call = run()
        with monkeypatch.context() as patch:
            _one_by_one(patch)
            by_word = run()
    with query_path(None):
        reference = run()
    assert one_call == by_word == reference
    assert sum(len(ids) for ids, _ in one_call) > 300
