"""The compiled position reads (``_positions``) against the numpy reference: the same
phrase frequencies and term offsets, over random text where phrases match often (words
repeated within a doc, gaps, repeated phrase words), and bad arguments refused."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from conftest import compiled_core, query_path

from bnsearch import Article, Index
from bnsearch.search import phrases

#: A phrase word as the literal-array calls give it: docs, tfs, first position, shift.
Word = tuple[Any, Any, int, int]

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


def _phrase_call(core: Any, words: Sequence[Word], positions: Any) -> tuple[Any, Any]:
    """``core.phrase_frequencies`` of a phrase's words, each given as ``(docs, tfs, its
    first position, its shift)``: the one shape of the calls with literal arrays."""
    return core.phrase_frequencies(  # type: ignore[no-any-return]
        [word[0] for word in words],
        [(word[1], word[2]) for word in words],  # (places, as the term tables give them)
        [(word[3], "") for word in words],  # (shifts, as a unit's phrase holds them)
        positions,
    )


def test_compiled_phrase_frequencies_refuse_bad_arguments() -> None:
    core = phrases.core
    if core is None:
        pytest.skip("the compiled position reads are not built")
    docs = np.array([1, 4], dtype=np.int32)
    tfs = np.array([2, 1], dtype=np.uint8)
    positions = np.array([0, 3, 1], dtype=np.uint16)
    found = _phrase_call(core, [(docs, tfs, 0, 0), (docs, tfs, 0, 0)], positions)
    np.testing.assert_array_equal(found[0], [1, 4])
    np.testing.assert_array_equal(found[1], [2, 1])
    with pytest.raises(IndexError):  # positions past the array
        _phrase_call(core, [(docs, tfs, 1, 0)], positions)
    with pytest.raises(IndexError):  # the second word's positions past the array
        _phrase_call(core, [(docs, tfs, 0, 0), (docs, tfs, 1, 1)], positions)
    with pytest.raises(IndexError):
        _phrase_call(core, [(docs, tfs, -1, 0)], positions)
    with pytest.raises(ValueError):
        _phrase_call(core, [(docs, tfs[:1], 0, 0)], positions)
    with pytest.raises(ValueError):  # fewer places than words
        core.phrase_frequencies([docs, docs], [(tfs, 0)], [(0, ""), (1, "")], positions)
    with pytest.raises(ValueError):  # fewer shifts than words
        core.phrase_frequencies([docs, docs], [(tfs, 0), (tfs, 0)], [(0, "")], positions)


@pytest.mark.parametrize("seed", [3])
def test_compiled_phrase_frequencies_of_every_kind_agree(seed: int) -> None:
    """The compiled walk is typed by its docs and tfs kinds: each kind a segment writes,
    and terms of different kinds together (all read as the widest), give the counts of
    the terms as the segment holds them."""
    core = phrases.core
    if core is None:
        pytest.skip("the compiled position reads are not built")
    segment = _index(seed).reader().segments[0]
    terms = segment.terms("body")
    rng = random.Random(seed)
    compared = 0
    for phrase in _phrases(terms, rng)[:80]:
        runs = [segment.position_run("body", term) for _, term in phrase]
        if any(run is None for run in runs):
            continue
        positions = runs[0][3]
        words = [
            (run[0], run[1], run[2], shift) for run, (shift, _) in zip(runs, phrase, strict=True)
        ]
        want = _phrase_call(core, words, positions)
        # (every docs kind with every tfs kind: the walk is dispatched per docs kind,
        # then per tfs kind)
        kinds = [
            (doc_kind, tf_kind)
            for doc_kind in (np.uint16, np.int32)
            for tf_kind in (np.uint8, np.uint16, np.uint32, np.int64)
        ]
        for number, (doc_kind, tf_kind) in enumerate(kinds):
            for mixed in (False, True):  # (mixed: the first term's of the next kinds)
                typed = [
                    (docs.astype(doc_kind), tfs.astype(tf_kind), first, shift)
                    for docs, tfs, first, shift in words
                ]
                if mixed:
                    other = kinds[(number + 1) % len(kinds)]
                    docs, tfs, first, shift = words[0]
                    typed[0] = (docs.astype(other[0]), tfs.astype(other[1]), first, shift)
                got = _phrase_call(core, typed, positions)
                assert got[0].dtype == want[0].dtype and got[1].dtype == want[1].dtype
                np.testing.assert_array_equal(got[0], want[0])
                np.testing.assert_array_equal(got[1], want[1])
        compared += len(want[0]) > 0
    assert compared > 20


def test_compiled_position_reads_take_arrays_of_other_kinds() -> None:
    """Docs or tfs of a kind no segment writes (int64 docs, int32 tfs) are read as the
    widest kind the code is typed for (the conversion once read its kind from before
    its tuple of kinds, and crashed)."""
    core = phrases.core
    if core is None:
        pytest.skip("the compiled position reads are not built")
    docs = np.array([1, 4], dtype=np.int64)
    tfs = np.array([2, 1], dtype=np.int32)
    positions = np.array([0, 3, 1], dtype=np.int32)
    found = _phrase_call(core, [(docs, tfs, 0, 0), (docs, tfs, 0, 0)], positions)
    np.testing.assert_array_equal(found[0], [1, 4])
    np.testing.assert_array_equal(found[1], [2, 1])
    np.testing.assert_array_equal(core.term_offsets(tfs, 5), [5, 7, 8])


def test_compiled_phrase_walk_ends_where_a_word_ends() -> None:
    """The walk stops at the first doc of the shortest word past another word's last doc
    and leaves a doc at the first word without it: the counts of the docs before are
    those the numpy reads give, whichever word ends first."""
    core = phrases.core
    if core is None:
        pytest.skip("the compiled position reads are not built")
    # word a: docs 1, 3, 9 (one position each, first in the array: 4, 7, 0); word b:
    # docs 1, 2, 3, 4 (two each, from 3 on: 5 9, 0 1, 2 8, 3 4)
    a = (np.array([1, 3, 9], np.int32), np.array([1, 1, 1], np.uint8), 0, 0)
    b = (np.array([1, 2, 3, 4], np.int32), np.array([2, 2, 2, 2], np.uint8), 3, 1)
    positions = np.array([4, 7, 0, 5, 9, 0, 1, 2, 8, 3, 4], np.uint16)
    for words in ([a, b], [b, a]):  # (the lead first, then second in the lists)
        found = _phrase_call(core, words, positions)
        np.testing.assert_array_equal(found[0], [1, 3])  # "a b": 4-5 in doc 1, 7-8 in doc 3
        np.testing.assert_array_equal(found[1], [1, 1])
