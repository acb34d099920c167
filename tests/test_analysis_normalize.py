"""Canonical spelling: golden table, idempotence, and index/query agreement."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bnsearch.analysis import analyze, bengali_analyzer, fold_digits, normalize_text, normalize_word
from bnsearch.analysis.normalize import INVISIBLE_CHARACTERS

GOLDEN = Path(__file__).parent / "data" / "normalize_golden.tsv"

# Bengali block, joiners, marks, digits and a few Latin letters: the material of real bugs.
BENGALI_SOUP = st.text(
    alphabet=st.sampled_from(
        [chr(c) for c in range(0x0980, 0x0A00) if unicodedata.category(chr(c)) != "Cn"]
        + ["\u200c", "\u200d", "\u00ad", "\ufeff", "a", "Z", "5", "\u0964"]
    ),
    max_size=12,
)


def decode(cell: str) -> str:
    return (
        cell.encode("ascii", "backslashreplace").decode("unicode_escape") if "\\u" in cell else cell
    )


def golden_rows() -> list[tuple[str, str]]:
    rows = []
    for line in GOLDEN.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            raw, expected = line.split("\t")
            rows.append((decode(raw), decode(expected)))
    return rows


def test_golden_normalization_table() -> None:
    rows = golden_rows()
    assert len(rows) >= 15
    wrong = [
        (raw, normalize_word(raw), expected)
        for raw, expected in rows
        if normalize_word(raw) != expected
    ]
    assert wrong == []


def test_bengali_and_ascii_digits_are_one_term() -> None:
    assert analyze("১৫") == analyze("15") == ["15"]
    assert analyze("১৫টি") == ["15"]
    assert analyze("৩২৮টি অ্যাপার্টমেন্ট")[0] == "328"
    assert fold_digits("১০০৮ শিশু") == "1008 শিশু"


def test_encodings_of_one_word_give_one_term() -> None:
    precomposed = "ঢাকা\u09df"  # not a word; just the precomposed য়
    decomposed = "ঢাকা\u09af\u09bc"
    assert analyze(precomposed) == analyze(decomposed)
    assert analyze("র\u200d্যাবের") == analyze("র্যাবের") == analyze("র\u200c্যাবের")
    nfd = unicodedata.normalize("NFD", "পুলিশের কোনো বৈঠকে")
    assert analyze(nfd) == analyze("পুলিশের কোনো বৈঠকে")


@given(BENGALI_SOUP)
def test_normalization_is_idempotent(word: str) -> None:
    once = normalize_word(word)
    assert normalize_word(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert not INVISIBLE_CHARACTERS.intersection(once)


@given(st.lists(BENGALI_SOUP, max_size=6))
def test_batch_normalization_equals_word_by_word(words: list[str]) -> None:
    from bnsearch.analysis import BengaliNormalizer

    normalizer = BengaliNormalizer()
    expected = [normalize_word(w) or None for w in words]
    assert normalizer.batch(list(words)) == expected


def test_normalize_text_makes_headline_keys() -> None:
    a = "ইউনূস-টুর্ক  ফোনালাপ:\u200c নির্বাচনে ভুয়া তথ্য"
    b = "ইউনূস-টুর্ক ফোনালাপ: নির্বাচনে ভু\u09df\u09be তথ্য"
    assert a != b
    assert normalize_text(a) == normalize_text(b)


@given(st.text(max_size=80))
def test_index_and_query_analysis_agree(text: str) -> None:
    """Every indexed term is found again when its surface word is typed as a query."""
    analyzer = bengali_analyzer()
    for token in analyzer.tokens(text):
        assert analyzer.terms(text[token.start : token.end]) == [token.term]
