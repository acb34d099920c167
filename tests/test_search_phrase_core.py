"""The compiled position reads (``_positions``) against the numpy reference: the same
phrase frequencies and term offsets, over random text where phrases match often (words
repeated within a doc, gaps, repeated phrase words), and bad arguments refused."""

from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import compiled_core, query_path

from bnsearch import Article, Index
from bnsearch.search import phrases

WORDS = ["ঢাকা", "শহর", "নদী", "বাজার", "মানুষ", "সরকার", "খেলা", "বৃষ্টি", "আকাশ", "গ্রাম"]


def _index(seed: int) -> Index:
    rng = random.Random(seed)
    index = Index.in_memory()
    for batch in range(2):  # two segments
        with index.writer() as writer:
            for number in range(150):
                length = rng.choice((3, 8, 40, 300))  # long docs: tfs and positions above 255
                words = WORDS[: rng.randint(2, len(WORDS))]
                body = " ".join(rng.choice(words) for _ in range(length))
                title = " ".join(rng.sample(WORDS, 3))
                writer.add(Article(id=f"{batch}-{number}", title=title, body=body))
    return index


def _phrases(terms: list[str], rng: random.Random) -> list[tuple[tuple[int, str], ...]]:
    found = []
    for _ in range(300):
        size = rng.choice((2, 2, 3, 4))
        words = [rng.choice(terms) for _ in range(size)]
        shifts = list(range(size))
        if rng.random() < 0.3:  # a dropped stopword between two words
            shifts = [0, *sorted(rng.sample(range(1, size + 2), size - 1))]
        found.append(tuple(zip(shifts, words, strict=True)))
    found.append(((0, terms[0]), (1, terms[0])))  # one word twice
    found.append(((0, terms[0]), (1, "নেই-এমন")))  # a word the field lacks
    return found


@pytest.mark.parametrize("seed", [1, 2])
def test_compiled_phrase_frequencies_equal_the_numpy_ones(seed: int) -> None:
    if phrases.core is None:
        pytest.skip("the compiled position reads are not built")
    index = _index(seed)
    reader = index.reader()
    rng = random.Random(seed)
    matched = 0
    for segment in reader.segments:
        for field in ("title", "body"):
            terms = segment.terms(field)
            for phrase in _phrases(terms, rng):
                with query_path(compiled_core()):
                    fast = phrases.phrase_frequencies(segment, field, phrase)
                with query_path(None):
                    slow = phrases.phrase_frequencies(segment, field, phrase)
                assert fast[0].dtype == slow[0].dtype and fast[1].dtype == slow[1].dtype
                np.testing.assert_array_equal(fast[0], slow[0])
                np.testing.assert_array_equal(fast[1], slow[1])
                matched += len(fast[0]) > 0
    assert matched > 200  # the phrases mostly match: the comparison is not of empties


def test_compiled_term_offsets_equal_the_numpy_ones() -> None:
    if phrases.core is None:
        pytest.skip("the compiled position reads are not built")
    segment = _index(3).reader().segments[0]
    for term in segment.terms("body"):
        with query_path(compiled_core()):
            fast = phrases.term_positions(segment, "body", term)
        with query_path(None):
            slow = phrases.term_positions(segment, "body", term)
        assert fast is not None and slow is not None
        assert fast[1].dtype == np.int64
        for ours, theirs in zip(fast, slow, strict=True):
            np.testing.assert_array_equal(ours, theirs)


def test_compiled_phrase_frequencies_refuse_bad_arguments() -> None:
    core = phrases.core
    if core is None:
        pytest.skip("the compiled position reads are not built")
    docs = np.array([1, 4], dtype=np.int32)
    tfs = np.array([2, 1], dtype=np.uint8)
    positions = np.array([0, 3, 1], dtype=np.uint16)
    found = core.phrase_frequencies([docs, docs], [tfs, tfs], [0, 0], [0, 0], positions)
    np.testing.assert_array_equal(found[0], [1, 4])
    np.testing.assert_array_equal(found[1], [2, 1])
    with pytest.raises(IndexError):  # positions past the array
        core.phrase_frequencies([docs], [tfs], [1], [0], positions)
    with pytest.raises(IndexError):  # the second word's positions past the array
        core.phrase_frequencies([docs, docs], [tfs, tfs], [0, 1], [0, 1], positions)
    with pytest.raises(IndexError):
        core.phrase_frequencies([docs], [tfs], [-1], [0], positions)
    with pytest.raises(ValueError):
        core.phrase_frequencies([docs], [tfs[:1]], [0], [0], positions)
    with pytest.raises(ValueError):
        core.phrase_frequencies([docs, docs], [tfs], [0, 0], [0, 0], positions)
