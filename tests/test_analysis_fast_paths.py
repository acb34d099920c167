"""The indexing fast paths give exactly what the plain per-word chain gives.

The index analyzes and stems through batched, memoized paths (the stemmer's endings
indexed by a word's last two characters, ``batch`` methods of the filters, form flags
memoized per cut-off ending, chunk entries regrouped from one flat list). Each test here
compares a fast path with a plain reference: the per-word filter chain
(:meth:`Analyzer.term`) or a verbatim copy of the earlier implementation, on generated
words and, when ``../shared`` is there, on every distinct form of the BeliN corpus.
"""

from __future__ import annotations

import unicodedata
from itertools import chain

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bnsearch.analysis import (
    BengaliStemmer,
    NumberClassifierFilter,
    StopFilter,
    bengali_analyzer,
    default_analyzer,
    normalize_text,
    normalize_word,
    stem_word,
)
from bnsearch.analysis import forms as forms_module
from bnsearch.analysis import normalize as normalize_module
from bnsearch.analysis import stemmer as stemmer_module
from bnsearch.analysis.forms import form_flag, inflection_split
from bnsearch.analysis.pipeline import IcuWordTokenizer, _regroup
from bnsearch.index.builder import _stem_ranks

from .conftest import iter_jsonl_texts, shared_file


# -- reference implementations (the code before the fast paths, kept verbatim) ---------
def _reference_by_last_char() -> dict[str, tuple[tuple[str, int, bool], ...]]:
    by_last: dict[str, tuple[tuple[str, int, bool], ...]] = {}
    for entry in stemmer_module._TABLE:
        by_last[entry[0][-1]] = (*by_last.get(entry[0][-1], ()), entry)
    return by_last


_REFERENCE_BY_LAST_CHAR = _reference_by_last_char()


def reference_stem_word(word: str, *, min_letters: int = 2) -> str:
    """stem_word as it was: every ending that shares the word's last character, in order."""
    layer_done = -1
    while word and word not in stemmer_module._WHOLE_WORDS:
        root = stemmer_module._IRREGULAR.get(word)
        if root is not None and layer_done < stemmer_module._CASE:
            return root
        for ending, layer, needs_vowel in _REFERENCE_BY_LAST_CHAR.get(word[-1], ()):
            if layer <= layer_done or not word.endswith(ending):
                continue
            stem = word[: -len(ending)]
            if not stemmer_module._cut_allowed(word, ending, stem, needs_vowel, min_letters):
                continue
            word, layer_done = stem, layer
            break
        else:
            return word
    return word


def reference_form_flag(surface: str, term: str | None) -> int:
    """form_flag as it was, without the memo of cut-off endings."""
    if term is None or surface == term:
        return 0
    rest = surface[len(term) :] if surface.startswith(term) else surface
    flag = 0
    while rest:
        for length in forms_module._ENDING_LENGTHS:
            kind = forms_module._KIND_OF_ENDING.get(rest[-length:]) if length <= len(rest) else None
            if kind is not None:
                flag |= 1 << kind
                rest = rest[:-length]
                break
        else:
            return flag | 1 << forms_module._OTHER_BIT
    return flag


def reference_stem_ranks(stem_of: list[str | None]) -> tuple[list[str], list[int]]:
    """The builder's stem ranks as they were (comprehensions)."""
    sorted_terms = sorted({stem for stem in stem_of if stem is not None})
    stem_rank = {stem: number for number, stem in enumerate(sorted_terms)}
    return sorted_terms, [-1 if s is None else stem_rank[s] for s in stem_of]


# -- generated words -------------------------------------------------------------------
STEMS = ["বাংলাদেশ", "মামলা", "সরকার", "বৈঠক", "ঢাকা", "পুলিশ", "ভারত", "কমিটি", "নেতা",
         "কর", "ছেলে", "মেয়ে", "শিক্ষক", "পরিষদ", "ব্যাংক", "ক", "অবসরপ্রাপ্ত", "abc", "15"]  # fmt: skip
ENDINGS = ["", "ের", "এর", "য়ের", "র", "কে", "তে", "য়ে", "য়", "ে", "েছিলেন", "ছে", "চ্ছে",
           "লেন", "েননি", "গুলো", "গুলির", "দের", "রা", "টি", "টির", "টা", "খানা", "গণ",
           "বৃন্দ", "সমূহ", "ই", "ও", "ি", "া", "ং", "্", "x"]  # fmt: skip
# words made of stems and stacked endings, and arbitrary Bengali-block strings
WORDS = st.one_of(
    st.tuples(st.sampled_from(STEMS), st.lists(st.sampled_from(ENDINGS), max_size=3)).map(
        lambda parts: normalize_word(parts[0] + "".join(parts[1])) or "ক"
    ),
    st.text(alphabet=st.characters(min_codepoint=0x0980, max_codepoint=0x09FF), min_size=1),
)


@settings(max_examples=400, deadline=None)
@given(WORDS, st.integers(min_value=1, max_value=3))
def test_stem_word_matches_the_reference(word: str, min_letters: int) -> None:
    assert stem_word(word, min_letters=min_letters) == reference_stem_word(
        word, min_letters=min_letters
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(WORDS, st.sampled_from(["", "abc", "১৫টি", "মামলাটি"]), st.none())))
def test_stemmer_batch_is_the_filter_word_by_word(terms: list[str | None]) -> None:
    for stemmer in (BengaliStemmer(), BengaliStemmer(min_letters=3, protected=["মামলাটি"])):
        assert stemmer.batch(terms) == [stemmer(t) if t else None for t in terms]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(WORDS, st.sampled_from(["", "15টি", "3.5কোটি", "3rd", "এবং"]))))
def test_other_filters_batch_like_word_by_word(terms: list[str]) -> None:
    for term_filter in (NumberClassifierFilter(), StopFilter(), StopFilter.of(["মামলা"])):
        assert term_filter.batch(list(terms)) == [term_filter(t) if t else None for t in terms]


@settings(max_examples=300, deadline=None)
@given(WORDS, st.integers(min_value=0, max_value=4))
def test_form_flag_matches_the_reference_twice(surface: str, cut: int) -> None:
    """A flag from the memo (second call) equals one computed afresh, for any stem."""
    term = surface[: len(surface) - cut] if cut < len(surface) else None
    for stem in (term, stem_word(surface), "অন্য"):
        assert form_flag(surface, stem) == reference_form_flag(surface, stem)
        assert form_flag(surface, stem) == reference_form_flag(surface, stem)


ANALYZERS = [
    default_analyzer(),
    bengali_analyzer(stopwords=None),
    bengali_analyzer(min_stem_letters=3, protected=["মামলাটি"]),
    bengali_analyzer(loose=True),
    bengali_analyzer(stem=False),
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(WORDS, st.sampled_from(["১৫টি", "এবং", "ABC", "\u200c", "।"]))))
def test_filter_words_is_the_chain_word_by_word(words: list[str]) -> None:
    for analyzer in ANALYZERS:
        assert analyzer.filter_words(words) == [analyzer.term(word) for word in words]


@settings(max_examples=150, deadline=None)
@given(st.lists(WORDS, max_size=40))
def test_split_terms_and_flags_are_the_whole_chain_and_reference_flags(words: list[str]) -> None:
    for analyzer in ANALYZERS:
        split = inflection_split(analyzer)
        if split is None:
            continue
        surfaces = [s for s in split.surfaces.filter_words(words) if s is not None]
        terms, flags = split.terms_and_flags(surfaces)
        assert terms == [analyzer.term(word) for word in surfaces]
        assert flags == [reference_form_flag(s, t) for s, t in zip(surfaces, terms, strict=True)]


@given(st.lists(st.integers(min_value=0, max_value=4), max_size=50))
def test_regroup_cuts_the_flat_list_by_counts(counts: list[int]) -> None:
    flat = list(range(sum(counts)))
    groups = _regroup(flat, counts)
    assert list(map(len, groups)) == counts
    assert list(chain.from_iterable(groups)) == flat
    assert all(isinstance(group, tuple) for group in groups)


CHUNKS = ["বাংলাদেশের", "ঢাকা-চট্টগ্রাম", "।", "(ঢাকা)", "১৫টি", "এবং", "COVID-19",
          "খেলা,খেলা", "\u09be", "\u200c", "মামলাটি", "a.b.c", "😀"]  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(CHUNKS)))
def test_chunk_terms_are_the_chain_on_each_word_of_the_chunk(chunks: list[str]) -> None:
    """Per chunk, the per-word chain over the chunk's ICU words (a fresh analyzer, so the
    chunks go through the batch path, not the cache)."""
    for analyzer in (bengali_analyzer(), bengali_analyzer(stopwords=None, stem=False)):
        got = analyzer.chunk_terms(chunks)
        spans = [analyzer.tokenizer.spans(chunk) for chunk in chunks]
        expected = [
            tuple(analyzer.term(chunk[s:e]) for s, e in chunk_spans)
            for chunk, chunk_spans in zip(chunks, spans, strict=True)
        ]
        assert got == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12).filter(lambda t: not t or not t.isspace()), max_size=30))
def test_batch_words_are_the_chunks_cut_by_their_spans(pieces: list[str]) -> None:
    chunks = [chunk for piece in pieces for chunk in piece.split()]
    chunks += [c for c in CHUNKS if len(chunks) % 2]  # with and without the plain-only path
    tokenizer = IcuWordTokenizer()
    spans = tokenizer.batch_spans(chunks)
    words, counts = tokenizer.batch_words(chunks)
    assert counts == list(map(len, spans))
    assert words == [
        c[s:e] for c, chunk_spans in zip(chunks, spans, strict=True) for s, e in chunk_spans
    ]
    plain = [c for c in CHUNKS if tokenizer.batch_words([c])[1] == [1]][:4]
    assert tokenizer.batch_words(plain) == (
        [c[s:e] for c in plain for s, e in tokenizer.spans(c)],
        [1] * len(plain),
    )


@given(st.lists(st.one_of(st.none(), st.sampled_from(["খ", "ক", "কখ", "a", "", "\x00"]))))
def test_stem_ranks_match_the_reference(stem_of: list[str | None]) -> None:
    stem_of = [s or None for s in stem_of]  # the split never hands out ""
    sorted_terms, rank = _stem_ranks(stem_of)
    expected_terms, expected_rank = reference_stem_ranks(stem_of)
    assert sorted_terms == expected_terms
    assert rank.dtype == np.int32 and rank.tolist() == expected_rank


def test_every_belin_form_stems_and_flags_like_the_reference() -> None:
    """All distinct surface forms of the BeliN corpus (66,000 or so): stems, flags and the
    split's batch path equal the per-word references."""
    path = shared_file("corpus/belin_religious_news.jsonl")
    analyzer = bengali_analyzer()  # a fresh one: its split's memo starts empty
    split = inflection_split(analyzer)
    assert split is not None
    text_forms = (split.surfaces.terms(text) for text in iter_jsonl_texts(path))
    forms = list(dict.fromkeys(chain.from_iterable(text_forms)))
    assert len(forms) > 50_000
    terms, flags = split.terms_and_flags(forms)
    stemmer = BengaliStemmer()
    assert terms == [stemmer(form) for form in forms]
    assert [stem_word(f) for f in forms] == [reference_stem_word(f) for f in forms]
    assert flags == [reference_form_flag(f, t) for f, t in zip(forms, terms, strict=True)]
    assert sum(1 for f, t in zip(forms, terms, strict=True) if f != t) > 20_000  # it stems


# -- normalization ---------------------------------------------------------------------
def reference_normalize_word(word: str) -> str:
    """normalize_word as it was: ``str.translate`` for steps 2 and 6."""
    if "\u200d" in word:
        word = word.replace("ত্\u200d", "ৎ")
    word = word.translate(normalize_module._DROP_INVISIBLE_FOLD_DIGITS).casefold()
    word = unicodedata.normalize("NFC", word)
    return word.replace("অা", "আ") if "অা" in word else word


def reference_normalize_text(text: str) -> str:
    """normalize_text as it was: one normalize_word call per word."""
    return " ".join(reference_normalize_word(word) for word in text.split())


def test_the_regex_fold_changes_exactly_what_translate_changes_in_all_of_unicode() -> None:
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    table = normalize_module._LazyTable(drop=normalize_module.INVISIBLE_CHARACTERS)
    assert normalize_module._drop_invisible_fold_digits(everything) == everything.translate(table)


NORMALIZE_PIECES = st.sampled_from(
    ["ত্\u200d", "অা", "ে", "া", "ৗ", "য়", "য\u09bc", "১৫", "٣", "\u200c", "\u200b", "\u00ad",
     "ẞ", "Σ", "ﬁ", "Å", "\u0301", "e\u0301", "ᄀ", "ᅡ", " ", "\n", "\u00a0", "\u3000", "\u180e"]
)  # fmt: skip
NORMALIZE_TEXTS = st.lists(NORMALIZE_PIECES, max_size=20).map("".join) | st.text(max_size=40)


@settings(max_examples=400, deadline=None)
@given(NORMALIZE_TEXTS)
def test_normalize_word_and_text_match_the_references(text: str) -> None:
    assert normalize_word(text) == reference_normalize_word(text)
    assert normalize_text(text) == reference_normalize_text(text)


def test_belin_titles_normalize_like_the_reference() -> None:
    path = shared_file("corpus/belin_religious_news.jsonl")
    texts = list(iter_jsonl_texts(path, limit=600))
    assert [normalize_text(t) for t in texts] == [reference_normalize_text(t) for t in texts]
