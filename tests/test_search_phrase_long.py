"""Long phrases in the compiled walk: a phrase of up to eight words keeps its cursors on
the stack, a longer one allocates them (``_positions._frequencies``); both give the numpy
reference's frequencies, called alone and inside a search (``phrase_pieces``)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import compiled_core, query_path

from bnsearch import Article, Index
from bnsearch.search import Searcher, phrases
from bnsearch.search.compiler import _phrase_words

WORDS = ["ঢাকা", "শহর", "নদী", "বাজার", "মানুষ", "সরকার", "খেলা", "বৃষ্টি", "আকাশ", "গ্রাম"]
#: The sentence long phrases are cut from (twelve words, a word repeated).
SENTENCE = [*WORDS, "ঢাকা", "নদী"]


def _index() -> Index:
    rng = random.Random(5)
    index = Index.in_memory()
    with index.writer() as writer:
        for number in range(120):
            parts = []
            for _ in range(rng.randint(1, 6)):
                if rng.random() < 0.5:  # the sentence whole, or cut short
                    parts.extend(SENTENCE[: rng.randint(6, len(SENTENCE))])
                else:
                    parts.extend(rng.choice(WORDS) for _ in range(rng.randint(1, 9)))
            writer.add(Article(id=str(number), title=rng.choice(WORDS), body=" ".join(parts)))
    return index


@pytest.mark.parametrize("size", [2, 7, 8, 9, 12])
def test_a_long_phrase_has_the_numpy_frequencies(size: int) -> None:
    if phrases.core is None:
        pytest.skip("the compiled position reads are not built")
    reader = _index().reader()
    segment = reader.segments[0]
    analyzer = Searcher(reader)._ctx.analyzer("body")
    phrase = _phrase_words(analyzer.term_sequence(" ".join(SENTENCE[:size])))
    assert len(phrase) == size  # (every word kept: the phrase is as long as asked)
    with query_path(compiled_core()):
        fast = phrases.phrase_frequencies(segment, "body", phrase)
    with query_path(None):
        slow = phrases.phrase_frequencies(segment, "body", phrase)
    assert len(slow[0]) > 5  # (the phrase occurs: not a comparison of empties)
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])


@pytest.mark.parametrize("size", [3, 8, 9, 12])
def test_a_long_phrase_searched_scores_alike_on_both_paths(size: int) -> None:
    index = _index()
    text = '"' + " ".join(SENTENCE[:size]) + '"'
    found = []
    for core in (compiled_core(), None):
        with query_path(core):
            results = Searcher(index.reader()).search(text, limit=200, stored=False)
            found.append([(hit.id, hit.score) for hit in results])
    assert len(found[1]) > 5
    assert [hit[0] for hit in found[0]] == [hit[0] for hit in found[1]]
    for ours, theirs in zip(found[0], found[1], strict=True):
        assert ours[1] == pytest.approx(theirs[1], abs=1e-9)
