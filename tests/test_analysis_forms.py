"""Analysis room: form flags and the analyzer cut before its stemmer."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnsearch.analysis import bengali_analyzer, default_analyzer, normalize_word
from bnsearch.analysis.forms import ENDING_KINDS, form_flag, has_form, inflection_split
from bnsearch.analysis.pipeline import Analyzer

from .conftest import shared_file

WORDS = [
    "মামলাটি", "মামলা", "মামলার", "বাংলাদেশের", "পুলিশ", "জেলাগুলোতে", "গল্পটি",
    "ভাইরাসটি", "শিক্ষকদের", "ঢাকায়", "বৈঠকে", "সরকার", "করেছেন", "১৫টি", "এবং",
]  # fmt: skip


def test_the_bare_form_has_no_flag() -> None:
    assert form_flag("পুলিশ", "পুলিশ") == 0
    assert form_flag("মামলাটি", None) == 0


def bits(*kinds: str) -> int:
    names = [name for name, _ in ENDING_KINDS]
    return sum(1 << names.index(kind) for kind in kinds)


@pytest.mark.parametrize(
    ("word", "kinds"),
    [
        ("মামলাটি", ("classifier",)),
        ("মামলাটির", ("classifier", "genitive")),
        ("মামলার", ("genitive",)),
        ("মামলাকে", ("objective",)),
        ("জেলাগুলোতে", ("plural", "locative")),
        ("শিক্ষকদের", ("genitive",)),
        ("দেশেও", ("locative", "emphatic")),
        ("করেছেন", ("verb",)),
    ],
)
def test_flags_name_the_kinds_of_ending_removed(word: str, kinds: tuple[str, ...]) -> None:
    word = normalize_word(word)
    stem = default_analyzer().term(word)
    assert stem is not None and stem != word
    assert form_flag(word, stem) == bits(*kinds)


def test_an_unknown_ending_is_other() -> None:
    assert form_flag("abcxyz", "abc") == bits("other")


def test_a_posting_has_a_form_when_it_has_all_its_kinds() -> None:
    both = bits("classifier", "genitive")
    assert has_form(both, bits("classifier")) and has_form(both, both)
    assert not has_form(bits("classifier"), both)
    assert not has_form(both, 0)


def test_split_halves_compose_to_the_whole_chain() -> None:
    analyzer = default_analyzer()
    split = inflection_split(analyzer)
    assert split is not None
    text = " ".join(WORDS)
    surfaces = split.surfaces.term_sequence(text)
    terms, _ = split.terms_and_flags([s for s in surfaces if s is not None])
    assert terms == analyzer.terms(text)
    assert inflection_split(analyzer) is split  # one split per analyzer: caches stay warm


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([*WORDS, "।", "12", "abc", "কি"]), max_size=12))
def test_split_agrees_with_the_chain_on_any_text(words: list[str]) -> None:
    """Index-time (surfaces, then stems) and query-time (whole chain) analysis agree."""
    analyzer = default_analyzer()
    split = inflection_split(analyzer)
    assert split is not None
    text = " ".join(words)
    surfaces = [s for s in split.surfaces.term_sequence(text) if s is not None]
    terms, _ = split.terms_and_flags(surfaces)
    assert [t for t in terms if t is not None] == analyzer.terms(text)


def test_query_flags_or_the_forms_typed() -> None:
    split = inflection_split(default_analyzer())
    assert split is not None
    flags = split.query_flags("মামলাটি মামলার পুলিশ")
    case = normalize_word("মামলা")
    assert flags[case] == form_flag(normalize_word("মামলাটি"), case) | form_flag(
        normalize_word("মামলার"), case
    )
    assert flags[normalize_word("পুলিশ")] == 0


def test_a_chain_without_a_stemmer_has_no_split() -> None:
    assert inflection_split(bengali_analyzer(stem=False)) is None


def _reference_flag(surface: str, term: str | None) -> int:
    """form_flag the plain way: at each step, test every ending, longest first."""
    if term is None or surface == term:
        return 0
    rest = surface[len(term) :] if surface.startswith(term) else surface
    kinds = {
        normalize_word(ending): bit
        for bit, (_, endings) in enumerate(ENDING_KINDS)
        for ending in endings.split()
    }
    flag = 0
    while rest:
        for ending in sorted(kinds, key=len, reverse=True):
            if rest.endswith(ending):
                flag |= 1 << kinds[ending]
                rest = rest[: -len(ending)]
                break
        else:
            return flag | 1 << (len(ENDING_KINDS) - 1)
    return flag


_ENDINGS = [normalize_word(e) for _, endings in ENDING_KINDS for e in endings.split()]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["মামলা", "সরকার", "আদালত", "বই", "ক"]),
    st.lists(st.sampled_from([*_ENDINGS, "া", "্", "ক", "x"]), max_size=4),
    st.booleans(),
)
def test_form_flag_equals_the_plain_search(stem: str, endings: list[str], cut: bool) -> None:
    surface = stem + "".join(endings)
    term = stem[:-1] if cut and len(stem) > 1 else stem
    assert form_flag(surface, term) == _reference_flag(surface, term)
    assert form_flag(surface, None) == 0


def test_query_terms_kept_per_chunk_are_the_whole_chains_terms() -> None:
    """A query's ``(term, flag)`` pairs read from the per-chunk memo (warmed by other
    texts sharing chunks, punctuation and stopwords included) are what the analyzer cut
    before its stemmer gives the whole text, and their terms the whole chain's terms."""
    analyzer = default_analyzer()
    split = inflection_split(analyzer)
    assert split is not None
    path = shared_file("eval/bqa_dev_questions.jsonl")
    with path.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["question"] for _, line in zip(range(300), lines, strict=False)]
    texts += [" ".join(t.split()[::-1]) for t in texts]  # the same chunks, other texts
    texts += ["মামলাটি, (পুলিশ)  এবং\tমামলার।", "", "   ", "১৫টি-জেলাগুলোতে"]
    for text in texts:
        found = split.query_terms(text)
        assert found == split._query_terms(text), text
        assert [term for term, _ in found] == analyzer.terms(text), text
    assert split._chunks  # (the memo was read: the chunks of the reversed texts were met)
    with pytest.raises(TypeError):
        split.query_terms(b"bytes")  # type: ignore[arg-type]


def test_the_stem_cache_starting_over_keeps_the_words_it_was_asked_for() -> None:
    """The split's (stem, flag) cache starts over past its bound; a batch holding words
    seen before and enough new ones to pass the bound still gets every word's pair (it
    raised KeyError: the words seen before were cleared with the cache, not computed)."""
    whole = bengali_analyzer()
    small = Analyzer(tokenizer=whole.tokenizer, filters=whole.filters, cache_size=4)
    split = inflection_split(small)
    assert split is not None
    fresh = inflection_split(bengali_analyzer())
    assert fresh is not None
    split.terms_and_flags(WORDS[:3])
    asked = [WORDS[0], *WORDS[3:5], WORDS[1]]  # 3 known + 2 new > 4
    assert split.terms_and_flags(asked) == fresh.terms_and_flags(asked)
    assert split.terms_and_flags(WORDS) == fresh.terms_and_flags(WORDS)
