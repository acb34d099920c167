"""Highlights, letters and edit distance, the term dictionary, romanized keys, suggestions."""

from __future__ import annotations

import html
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnsearch.analysis import default_analyzer
from bnsearch.search.fuzzy import TermDictionary, edit_distance, letters
from bnsearch.search.highlight import best_fragment, highlight_all, matcher_for
from bnsearch.search.romanize import RomanIndex, bengali_key, is_romanized, latin_key
from bnsearch.search.suggest import complete_query, did_you_mean

ANALYZER = default_analyzer()


def marked(fragment: object) -> list[str]:
    text = fragment.text  # type: ignore[attr-defined]
    return [text[s:e] for s, e in fragment.spans]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "form",
    [
        "NFC",
        "NFD",
    ],
)
def test_highlight_marks_whole_words_in_any_normal_form(form: str) -> None:
    text = unicodedata.normalize(form, "ঢাকায় বড় বৈঠক হয়েছে। পুলিশ বাহিনী রাস্তায় ছিল।")
    fragment = highlight_all(text, ANALYZER, matcher_for(ANALYZER.terms("বড় রাস্তা")))
    words = marked(fragment)
    assert [unicodedata.normalize("NFC", w) for w in words] == ["বড়", "রাস্তায়"]
    for start, end in fragment.spans:
        assert unicodedata.category(text[start])[0] != "M"
        assert end == len(text) or unicodedata.category(text[end])[0] != "M"


def test_highlight_legacy_nukta_and_zwj_forms() -> None:
    precomposed = "\u09df"  # য় as one code point (NFC decomposes it)
    text = f"সময়{precomposed} র\u200d্যাব ত্\u200dসঙ্গে"
    matcher = matcher_for(ANALYZER.terms("র্যাব"))
    assert marked(highlight_all(text, ANALYZER, matcher)) == ["র\u200d্যাব"]


def test_snippet_picks_the_passage_with_most_query_terms() -> None:
    filler = "এটি একটি সাধারণ বাক্য যেখানে কিছু নেই। " * 12
    text = filler + "বন্যায় সিলেট ও সুনামগঞ্জে ত্রাণ পৌঁছেছে। " + filler
    matcher = matcher_for(ANALYZER.terms("বন্যা ত্রাণ সুনামগঞ্জ"))
    fragment = best_fragment(text, ANALYZER, matcher, fragment_chars=120)
    assert text[fragment.start : fragment.end] == fragment.text
    assert len(fragment.text) <= 121
    assert marked(fragment) == ["বন্যায়", "সুনামগঞ্জে", "ত্রাণ"]
    assert fragment.truncated_before and fragment.truncated_after
    html = fragment.markup()
    assert html.startswith("…") and "<mark>ত্রাণ</mark>" in html


def test_snippet_without_a_match_is_the_start() -> None:
    text = "প্রথম বাক্য। দ্বিতীয় বাক্য।"
    fragment = best_fragment(text, ANALYZER, matcher_for(["অনুপস্থিত"]), fragment_chars=12)
    assert text.startswith(fragment.text) and not fragment.spans
    assert fragment.text == "প্রথম বাক্য"  # ends on a word edge


def test_markup_escapes_html() -> None:
    fragment = highlight_all("<b>বাজেট</b>", ANALYZER, matcher_for(["বাজেট"]))
    assert fragment.markup() == "&lt;b&gt;<mark>বাজেট</mark>&lt;/b&gt;"
    for special in "&<>\"'":  # each character html.escape replaces, alone in a text
        text = f"বাজেট {special}ঘাটতি"
        fragment = highlight_all(text, ANALYZER, matcher_for(["বাজেট"]))
        expected = "<mark>বাজেট</mark> " + html.escape(f"{special}ঘাটতি")
        assert fragment.markup() == expected != fragment.markup(escape=None)


def test_markup_pieces_are_escaped_by_the_given_function_or_none() -> None:
    """Markup is the text's pieces between the marks, each escaped (a text with nothing
    to escape skips the calls), whatever the escape function and the mark strings."""
    text = "বাজেট ঘাটতি বাড়ছে, বাজেট কমছে না"
    fragment = highlight_all(text, ANALYZER, matcher_for(["বাজেট"]))
    assert len(fragment.spans) == 2
    pieces = ["", "বাজেট", " ঘাটতি বাড়ছে, ", "বাজেট", " কমছে না"]
    tagged = [f"<{piece}>" for piece in pieces]
    assert fragment.markup("[", "]", escape=lambda piece: f"<{piece}>") == "".join(
        (tagged[0], "[", tagged[1], "]", tagged[2], "[", tagged[3], "]", tagged[4])
    )
    assert fragment.markup("{", "}", escape=None) == "{বাজেট} ঘাটতি বাড়ছে, {বাজেট} কমছে না"
    assert fragment.markup() == "<mark>বাজেট</mark> ঘাটতি বাড়ছে, <mark>বাজেট</mark> কমছে না"


def test_letters_keep_marks_with_their_base() -> None:
    assert letters("কী") == ("কী",)
    assert letters("ক্ষমা") == ("ক্", "ষ", "মা")
    assert letters("বড়") == ("ব", "ড়")


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("কি", "কী", 1),
        ("বাজেট", "বাজট", 1),
        ("নিরবাচন", "নির্বাচন", 1),
        ("ক", "ক", 0),
        ("", "কখ", 2),
        ("ঢাকা", "ঢাক", 1),
    ],
)
def test_edit_distance_in_letters(a: str, b: str, distance: int) -> None:
    assert edit_distance(letters(a), letters(b)) == distance
    assert edit_distance(letters(b), letters(a)) == distance


def test_edit_distance_limit_stops_early() -> None:
    assert edit_distance(letters("অনেক লম্বা শব্দ"), letters("ক"), 2) == 3


def test_term_dictionary_prefix_and_fuzzy() -> None:
    dictionary = TermDictionary(["প্রথম", "প্রধান", "প্রথম", "পুলিশ", "বাজেট", "বাজার"], [5, 3, 2, 4, 6, 1])
    assert dictionary.doc_freq("প্রথম") == 7  # merged over segments
    assert dictionary.top_prefixed("প্র", 5) == ["প্রথম", "প্রধান"]
    assert dictionary.top_prefixed("x", 5) == []
    assert dictionary.fuzzy("বাজট", 1) == [("বাজেট", 1)]
    # three letters allow one edit only, so বাজার (two edits) stays out
    assert dictionary.fuzzy("বাজট", 2) == [("বাজেট", 1)]
    assert ("প্রধান", 2) in dictionary.fuzzy("প্রথমান", 2)
    assert dictionary.fuzzy("ক", 2) == []  # one letter allows no edit


def test_phonetic_keys_meet() -> None:
    assert latin_key("pakistan") == bengali_key("পাকিস্তান") == "pkstn"
    assert latin_key("sofor") == bengali_key("সফর")
    assert latin_key("bangladesh") == bengali_key("বাংলাদেশ")
    assert latin_key("jodi") == bengali_key("যদি")
    assert is_romanized("dhaka") and not is_romanized("ঢাকা") and not is_romanized("dhaka1")


def test_roman_index_candidates() -> None:
    dictionary = TermDictionary(["পাকিস্তান", "সফর", "সাফারি", "ঢাকা"], [9, 5, 1, 7])
    roman = RomanIndex(dictionary)
    assert roman.candidates("pakistan", normalize=ANALYZER.term)[0] == "পাকিস্তান"
    assert roman.candidates("sofor")[0] == "সফর"
    assert roman.candidates("ঢাকা") == []


def test_did_you_mean_keeps_the_typed_suffix() -> None:
    stems = [ANALYZER.term("বাংলাদেশ"), ANALYZER.term("সরকার")]  # the index holds stems
    dictionary = TermDictionary([s for s in stems if s], [50, 40])
    assert did_you_mean("বাংলাদেষের সরকার", dictionary, ANALYZER) == "বাংলাদেশের সরকার"
    assert did_you_mean("বাংলাদেশের সরকার", dictionary, ANALYZER) is None
    assert did_you_mean("", dictionary, ANALYZER) is None


def test_complete_query() -> None:
    dictionary = TermDictionary(["বিশ্ববিদ্যালয়", "বিশ্বকাপ", "ঢাকা"], [3, 9, 5])
    assert complete_query("ঢাকা বিশ্ব", dictionary, ANALYZER) == ["ঢাকা বিশ্বকাপ", "ঢাকা বিশ্ববিদ্যালয়"]
    assert complete_query("ঢাকা ", dictionary, ANALYZER) == []
    assert complete_query("ঢা", dictionary, ANALYZER, limit=1) == ["ঢাকা"]


def _fragment_from_every_token(text: str, matcher: object, fragment_chars: int) -> object:
    """The snippet as chosen over every token of the text (what best_fragment did before
    it built tokens only around the matches): the oracle for the chunked path."""
    from bnsearch.search import highlight

    tokens = ANALYZER.tokens(text)
    matches = [(t.start, t.end, key) for t in tokens if (key := matcher(t.term)) is not None]  # type: ignore[operator]
    if not matches:
        return None
    first, last = highlight._best_window(matches, matcher, fragment_chars)  # type: ignore[arg-type]
    chosen = matches[first : last + 1]
    words = [(t.start, t.end) for t in tokens]
    start, end = highlight._stretch(
        text, lambda _: words, chosen[0][0], chosen[-1][1], fragment_chars
    )
    return (start, end, tuple((first - start, last - start) for first, last, _ in chosen))


_WORDS = [
    "বাংলাদেশের", "সরকার", "নির্বাচন", "কমিশনের", "বৈঠকে", "ঢাকা", "১৫টি", "র\u200d্যাব",
    "প্রধানমন্ত্রী", "বলেন", "এবং", "ও", "তিনি", "বাজেট।", "(পুলিশ)", "কী?", "abc", "১২,৫০০",
    "\u09a1\u09bc\u09be\u0995", "মানুষ,", "নদী", "নদীনদী", "বাংলা", "ঢাকার", "ঢাকা-ঢাকা",
]  # fmt: skip


_GAPS = [" ", "  ", "\n", "\n\n", " \u00a0", "", "\u2003", "\x1c"]


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.sampled_from(_WORDS), min_size=0, max_size=120),
    gaps=st.lists(
        st.sampled_from([" ", "  ", "\n", "\n\n", " \u00a0"]), min_size=120, max_size=120
    ),
    wanted=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3),
    prefix=st.sampled_from(["", "প্র", "বা"]),
    fragment_chars=st.sampled_from([20, 60, 200]),
)
def test_snippet_and_marks_equal_those_chosen_over_every_token(
    words: list[str], gaps: list[str], wanted: list[str], prefix: str, fragment_chars: int
) -> None:
    text = gaps[-1] + "".join(word + gap for word, gap in zip(words, gaps, strict=False))
    terms = [t for w in wanted for t in ANALYZER.terms(w)]
    matcher = matcher_for(terms, [prefix] if prefix else [])
    expected = _fragment_from_every_token(text, matcher, fragment_chars)
    fragment = best_fragment(text, ANALYZER, matcher, fragment_chars=fragment_chars)
    if expected is not None:
        assert (fragment.start, fragment.end, fragment.spans) == expected
    every = [(t.start, t.end) for t in ANALYZER.tokens(text) if matcher(t.term) is not None]
    assert list(highlight_all(text, ANALYZER, matcher).spans) == every
