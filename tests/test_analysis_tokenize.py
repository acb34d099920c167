"""Word segmentation and token invariants: offsets, combining marks, chunked = whole text."""

from __future__ import annotations

import pickle
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

import bnsearch
from bnsearch.analysis import Analyzer, IcuWordTokenizer, StopFilter, bengali_analyzer
from bnsearch.analysis.icu_bridge import ICU_VERSION, word_spans
from bnsearch.errors import AnalysisError

MARK_CATEGORIES = {"Mn", "Mc", "Me"}

# Text the way it arrives in the wild: Bengali words, marks in odd places, joiners, danda,
# punctuation, Latin, digits, emoji (astral), control characters and all kinds of spaces.
PIECES = st.sampled_from(
    [
        "বাংলাদেশের",
        "বৈঠকে",
        "পুলিশ",
        "১৫টি",
        "এবং",
        "র\u200d্যাব",
        "স\u09cd\u200dত",
        "\u09be",
        "\u09cd",
        "\u09bc",
        "\u200c",
        "\u200d",
        "।",
        "॥",
        "-",
        ".",
        ",",
        ":",
        "(",
        ")",
        "‘",
        "’",
        "abc",
        "ICC",
        "3.14",
        "😀",
        "👍🏽",
        "\x00",
        "\x07",
        " ",
        "  ",
        "\n",
        "\t",
        "\u00a0",
        "\u2003",
        "مرحبا",
        "中文",
        "ক",
        "ি",
        "ে",
        "া",
    ]
)
TEXTS = st.lists(PIECES, max_size=30).map("".join) | st.text(max_size=60)


def surfaces(analyzer: Analyzer, text: str) -> list[str]:
    return [text[t.start : t.end] for t in analyzer.iter_tokens(text, keep_dropped=True)]


@given(TEXTS)
def test_no_token_starts_with_a_combining_mark(text: str) -> None:
    for token in bengali_analyzer().tokens(text):
        assert token.term
        assert unicodedata.category(token.term[0]) not in MARK_CATEGORIES
        assert unicodedata.category(text[token.start]) not in MARK_CATEGORIES


def test_a_word_opened_by_a_number_sign_is_found_by_what_follows_it() -> None:
    # hypothesis found ':\u0600': indexed as the term '\u0600' (ICU starts a word with the
    # Arabic number sign after punctuation), while the sign typed alone gave no term
    analyzer = bengali_analyzer()
    for text, words in ((":\u0600", []), ("(\u0601১২", ["১২"]), ("ক:\u0600খ", ["ক", "খ"])):
        tokens = analyzer.tokens(text)
        assert [text[t.start : t.end] for t in tokens] == words, text
        for token in tokens:
            assert analyzer.terms(text[token.start : token.end]) == [token.term]
    assert analyzer.terms(":\u0600") == analyzer.terms("\u0600") == []


@given(TEXTS)
def test_offsets_slice_the_original_text(text: str) -> None:
    analyzer = bengali_analyzer()
    previous_end = 0
    for position, token in enumerate(analyzer.iter_tokens(text, keep_dropped=True)):
        surface = text[token.start : token.end]
        assert surface and not any(char.isspace() for char in surface)
        assert token.start >= previous_end
        assert token.position == position
        assert analyzer.term(surface) == (token.term or None)
        previous_end = token.end


@given(TEXTS)
def test_chunked_segmentation_equals_icu_on_the_whole_text(text: str) -> None:
    signs = MARK_CATEGORIES | {"Cf"}
    expected = [text[s:e] for s, e in word_spans(text)]
    for at, word in enumerate(expected):  # the signs a word opens with are no part of it
        while word and unicodedata.category(word[0]) in signs:
            word = word[1:]
        expected[at] = word
    expected = [word for word in expected if word]
    assert surfaces(bengali_analyzer(stopwords=None, stem=False), text) == expected


@given(TEXTS)
def test_chunk_terms_cut_the_term_sequence_per_chunk(text: str) -> None:
    chunks = text.split()
    fresh = bengali_analyzer()  # nothing cached: every chunk analyzed in one batch
    expected = bengali_analyzer().term_sequence(text)
    entries = fresh.chunk_terms(chunks)
    assert len(entries) == len(chunks)
    assert [term for entry in entries for term in entry] == expected
    assert fresh.chunk_terms(chunks) == entries  # the second time from the cache


@given(TEXTS)
def test_term_sequence_tokens_and_terms_agree(text: str) -> None:
    analyzer = bengali_analyzer()
    sequence = analyzer.term_sequence(text)
    tokens = analyzer.tokens(text)
    assert [t.term for t in tokens] == [t for t in sequence if t is not None]
    assert [t.position for t in tokens] == [i for i, t in enumerate(sequence) if t is not None]
    assert analyzer.terms(text) == [t.term for t in tokens]
    # a second call (warm cache) gives the same answer
    assert analyzer.term_sequence(text) == sequence


def test_danda_splits_words_without_a_space() -> None:
    assert bnsearch.analyze("চুক্তি হয়।এ চুক্তির") == bnsearch.analyze("চুক্তি হয়। এ চুক্তির")
    assert [w for w in surfaces(bengali_analyzer(stopwords=None), "ক॥খ")] == ["ক", "খ"]


def test_punctuation_spaces_and_emoji_are_dropped_latin_and_numbers_kept() -> None:
    text = "(অব.) ‘পাকিস্তান’ — ICC 3.14 😀!"
    assert surfaces(bengali_analyzer(stopwords=None), text) == ["অব", "পাকিস্তান", "ICC", "3.14"]


def test_offsets_are_code_points_even_after_astral_characters() -> None:
    text = "😀👍🏽 বৈঠকে 𝔘 ঢাকায়"
    tokens = bengali_analyzer().tokens(text)
    assert [text[t.start : t.end] for t in tokens] == ["বৈঠকে", "𝔘", "ঢাকায়"]  # 𝔘 is a letter


def test_stopwords_keep_their_positions() -> None:
    tokens = bengali_analyzer().tokens("পাকিস্তান ও বাংলাদেশ")
    assert [(t.term, t.position) for t in tokens] == [("পাকিস্তান", 0), ("বাংলাদেশ", 2)]
    assert bengali_analyzer(stopwords=None).terms("পাকিস্তান ও বাংলাদেশ")[1] == "ও"
    assert "এবং" not in bnsearch.analyze("ঢাকা এবং চট্টগ্রাম")


def test_custom_stopwords_are_normalized_and_named() -> None:
    analyzer = bengali_analyzer(stopwords=["ঢাকা\u09df"])
    assert analyzer.terms("ঢাকায় ঢাকা") == ["ঢাকা"]
    assert analyzer.identity != bengali_analyzer().identity


@pytest.mark.parametrize("bad", [b"\xe0\xa6\x95", None, 15, ["ক"]])
def test_non_str_input_is_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="expects str"):
        bnsearch.analyze(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "   \n\t ", "।।", "😀😀", "\x00\x01\x1f", "...!!!"])
def test_text_without_words_gives_no_tokens(text: str) -> None:
    assert bnsearch.analyze(text) == []


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=100))
def test_any_text_never_raises_and_never_yields_empty_terms(text: str) -> None:
    assert all(bnsearch.analyze(text))


def test_identity_names_the_chain_and_icu_version() -> None:
    identity = bengali_analyzer().identity
    assert ICU_VERSION in identity
    assert "stem" in identity and "stop" in identity
    assert bengali_analyzer(stem=False).identity != identity
    assert bengali_analyzer(loose=True).identity != identity
    assert bengali_analyzer().identity == identity


def test_analyzer_pickles_without_its_cache() -> None:
    analyzer = bengali_analyzer()
    analyzer.terms("বাংলাদেশের মানুষ")
    copy = pickle.loads(pickle.dumps(analyzer))
    assert copy.identity == analyzer.identity
    assert copy.terms("বাংলাদেশের মানুষ") == analyzer.terms("বাংলাদেশের মানুষ")


def test_composition_with_pipe_and_its_errors() -> None:
    analyzer = IcuWordTokenizer() | StopFilter()
    assert analyzer.terms("ঢাকা এবং") == ["ঢাকা"]
    with pytest.raises(AnalysisError, match="tokenizer"):
        analyzer | IcuWordTokenizer()  # type: ignore[operator]
    with pytest.raises(AnalysisError, match="not a term filter"):
        analyzer | str.upper  # type: ignore[operator]


def test_normalize_keeps_half_typed_words_for_prefix_queries() -> None:
    analyzer = bengali_analyzer()
    assert analyzer.normalize("প্র") == "প্র"
    assert analyzer.normalize("বাংলাদেশের") == "বাংলাদেশের"  # no stemming
    assert analyzer.normalize("১৫") == "15"


def test_loose_folding_merges_spelling_variants_only_when_asked() -> None:
    loose = bengali_analyzer(loose=True)
    assert loose.terms("শরীর") == loose.terms("সরির")
    assert bnsearch.analyze("শরীর") != bnsearch.analyze("সরির")


def test_cache_limit_keeps_results_correct() -> None:
    analyzer = bengali_analyzer()
    small = Analyzer(tokenizer=analyzer.tokenizer, filters=analyzer.filters, cache_size=3)
    text = "এক দুই তিন চার পাঁচ ছয় সাত বাংলাদেশের"
    assert small.terms(text) == analyzer.terms(text)
    assert small.terms(text) == analyzer.terms(text)
