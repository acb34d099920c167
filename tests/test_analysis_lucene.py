"""The Lucene-compatible Bengali chain against the outputs documented in the research note.

Expected values come from ``research/lucene-bengali.md``: Lucene's own test assertions,
the OpenSearch ``_analyze`` example, and the rule and weakness tables (§3, §6).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bnsearch.analysis import Analyzer, analyze, default_analyzer
from bnsearch.analysis.lucene import (
    DEAD_DEFAULT_STOPWORDS,
    LUCENE_BENGALI_NORMALIZATION,
    LUCENE_SUFFIX_GROUPS,
    LuceneStopFilter,
    indic_normalize,
    lucene_bengali_analyzer,
    lucene_bengali_normalize,
    lucene_bengali_stem,
)
from bnsearch.analysis.pipeline import TermFilter

ZWJ = "\u200d"
YYA = "\u09df"  # য় precomposed
RRA = "\u09dc"  # ড় precomposed


def composed(text: str) -> str:
    """The precomposed-nukta spelling the Lucene chain outputs (the note is NFC, decomposed)."""
    return text.replace("য\u09bc", YYA).replace("ড\u09bc", RRA).replace("ঢ\u09bc", "\u09dd")


@pytest.fixture(scope="module")
def lucene() -> Analyzer:
    return lucene_bengali_analyzer()


@pytest.fixture(scope="module")
def lucene_nostop() -> Analyzer:
    return lucene_bengali_analyzer(stopwords=None)


# -- the OpenSearch _analyze example ------------------------------------------------------
OPENSEARCH_TEXT = "ছাত্ররা বিশ্ববিদ্যালয়ে পড়াশোনা করে। তাদের নম্বরগুলি ১২৩৪৫৬।"
OPENSEARCH_OUTPUT = "ছাত্র বিসসবিদালয় পরাসোন তা নমমর 123456"


def test_opensearch_example_token_for_token_with_its_stopword() -> None:
    # Of the sentence's words only করে is on Lucene's list; give the chain that list.
    analyzer = lucene_bengali_analyzer(stopwords=["করে"])
    assert analyzer.terms(OPENSEARCH_TEXT) == composed(OPENSEARCH_OUTPUT).split()


def test_opensearch_example_with_default_list_also_drops_tadera() -> None:
    # Caveat: bnsearch's list (the default) also holds তাদের, which Lucene's does not.
    expected = [t for t in composed(OPENSEARCH_OUTPUT).split() if t != "তা"]
    assert lucene_bengali_analyzer().terms(OPENSEARCH_TEXT) == expected


def test_opensearch_example_without_stopwords_keeps_kore(lucene_nostop: Analyzer) -> None:
    terms = lucene_nostop.terms(OPENSEARCH_TEXT)
    assert terms[3] == "কর"  # করে: normalized, then -ে stripped
    assert len(terms) == 7


def test_stopwords_keep_their_positions() -> None:
    sequence = lucene_bengali_analyzer(stopwords=["করে"]).term_sequence(OPENSEARCH_TEXT)
    assert sequence[3] is None
    assert len(sequence) == 7


# -- §3: BengaliNormalizer, rule by rule ---------------------------------------------------
NORMALIZER_CASES = [
    ("চাঁদ", "চাদ"),  # 1 chandrabindu deleted
    ("তীর", "তির"),  # 2
    ("ভূল", "ভুল"),  # 3
    ("অনূপ", "অনুপ"),  # 3
    ("বাঙলা", "বাংলা"),  # 5
    ("সঙ্গে", "সং্গে"),  # 5, even inside ঙ্গ: dangling virama
    ("ব্যাক্তি", "বেক্তি"),  # 6a word-initial ya-phala
    ("জ্যেষ্ঠ", "জেেস্ঠ"),  # 6a before an existing e-kar: doubled
    ("সন্ধ্যা", "সন্ধা"),  # 6b
    ("কার্যক্রম", "কারক্রম"),  # 6b also after reph
    ("জন্য", "জন"),
    ("ন্যায়", "নেয়"),
    ("স্বদেশ", "সদেস"),  # 7a
    ("তত্ত্ব", "তত্ত"),  # 7b after a conjunct
    ("বিশ্ব", "বিসস"),  # 7c gemination (of the already normalized স)
    ("নির্বাচন", "নিররাচন"),  # 7c on reph + ব
    ("সর্বোচ্চ", "সররোচ্চ"),
    ("পূর্ব", "পুরর"),
    ("উঃ", "উহ"),  # 8 final, short word
    ("পুনঃ", "পুন"),  # 8 final, long word
    ("দুঃখ", "দুখখ"),  # 8 mid-word
    ("শরীর", "সরির"),  # 9 and 2
    ("সশস্ত্র", "সসস্ত্র"),
    ("কণা", "কনা"),  # 10
    ("প্রতিরক্ষা", "প্রতিরক্সা"),  # 4 is dead: ক্ষ -> ক্স by rule 9
]


@pytest.mark.parametrize(("word", "expected"), NORMALIZER_CASES)
def test_normalizer_rules(word: str, expected: str) -> None:
    assert lucene_bengali_normalize(indic_normalize(word)) == composed(expected)


def test_nukta_rule_needs_the_precomposed_letter() -> None:
    # rule 11 alone: precomposed ড় -> র; the decomposed ড + ় is left alone ...
    assert lucene_bengali_normalize("বা" + RRA + "ী") == "বারি"
    assert lucene_bengali_normalize("বাড\u09bcী") == "বাড\u09bcি"
    # ... but the analyzer composes first, so both spellings give the same term.
    analyzer = lucene_bengali_analyzer(stopwords=None)
    assert analyzer.terms("বাড\u09bcি") == analyzer.terms("বা" + RRA + "ি") == ["বার"]
    assert analyzer.terms("সড\u09bcক") == ["সরক"]


def test_ba_phala_after_conjunct_needs_index_five() -> None:
    # rule 7b applies from i = 5 only; at i = 4 the consonant is doubled instead (7c)
    assert lucene_bengali_normalize("অক্ত্ব") == "অক্ত"
    assert lucene_bengali_normalize("ক্ত্ব") == "ক্তত"


def test_khanda_ta() -> None:
    assert indic_normalize("ত্" + ZWJ) == "ৎ"  # Lucene TestBengaliFilters
    assert lucene_bengali_normalize("ৎ") == "ত"  # rule 12
    assert lucene_bengali_normalize(indic_normalize("হঠাত্" + ZWJ)) == "হঠাত"


def test_dead_khio_rule_fires_only_on_ka_virama_i() -> None:
    # The rule compares with ি (U+09BF) where ষ was meant, so only this odd input triggers it.
    assert lucene_bengali_normalize("ক্ি") == "খ"
    assert lucene_bengali_normalize("অক্িম") == "অকখম"
    assert lucene_bengali_normalize("ক্ষ") == "ক্স"


def test_indic_normalization_rows() -> None:
    assert indic_normalize("অা") == "আ"
    assert indic_normalize("ক\u09c7\u09be") == "ক\u09cb"  # split o-kar
    assert indic_normalize("ক\u09c7\u09d7") == "ক\u09cc"  # split au-kar
    assert indic_normalize("য\u09bc") == YYA
    assert indic_normalize("র" + ZWJ + "্যাব") == "র" + ZWJ + "্যাব"  # ZWJ elsewhere kept


def test_zwj_is_never_removed(lucene_nostop: Analyzer) -> None:
    assert lucene_nostop.terms("র" + ZWJ + "্যাব") != lucene_nostop.terms("র্যাব")


def _reference_indic_scan(text: str) -> str:
    """Lucene's left-to-right composition scan, literally, for the property test below."""
    rows = {
        ("অ", "া", None): "আ",
        ("ড", "\u09bc", None): RRA,
        ("ঢ", "\u09bc", None): "\u09dd",
        ("য", "\u09bc", None): YYA,
        ("ত", "্", ZWJ): "ৎ",
        ("\u09c7", "\u09be", None): "\u09cb",
        ("\u09c7", "\u09d7", None): "\u09cc",
    }
    chars = list(text)
    i = 0
    while i < len(chars):
        for (first, second, third), out in rows.items():
            if chars[i] != first or i + 1 >= len(chars) or chars[i + 1] != second:
                continue
            if third is not None and (i + 2 >= len(chars) or chars[i + 2] != third):
                continue
            chars[i : i + (3 if third else 2)] = [out]
            break
        i += 1
    return "".join(chars)


@given(st.text(alphabet="অাডঢয\u09bcত্\u200d\u09c7\u09d7কআ", max_size=12))
def test_indic_replacements_equal_the_left_to_right_scan(text: str) -> None:
    assert indic_normalize(text) == _reference_indic_scan(text)


@given(st.text(alphabet=[chr(c) for c in range(0x0981, 0x09E4)] + ["\u200d"], max_size=14))
def test_normalizer_never_grows_a_term(text: str) -> None:
    assert len(lucene_bengali_normalize(text)) <= len(text)


# -- §4: the stemmer table -----------------------------------------------------------------
def test_suffix_table_matches_lucene() -> None:
    sizes = [len(group) for group in LUCENE_SUFFIX_GROUPS]
    assert sizes == [6, 7, 7, 12, 16, 27, 23, 7]
    assert sum(sizes) == 105
    assert len({s for group in LUCENE_SUFFIX_GROUPS for s in group}) == 104  # তে twice
    for cut, group in zip(range(8, 0, -1), LUCENE_SUFFIX_GROUPS, strict=True):
        assert all(len(suffix) == cut for suffix in group), cut
    everything = "".join(s for group in LUCENE_SUFFIX_GROUPS for s in group)
    assert "য\u09bc" not in everything
    assert everything.count(YYA) == 16  # every য় is U+09DF, as in Lucene's source


def test_stem_guard_is_len_greater_than_cut_plus_one() -> None:
    assert lucene_bengali_stem("মেয়েরা".replace("য\u09bc", YYA)) == "মে"  # Lucene's own test
    assert lucene_bengali_stem("কলা") == "কল"  # len 3 > 2: -া cut
    assert lucene_bengali_stem("লা") == "লা"  # len 2: nothing cut
    assert lucene_bengali_stem("ছেলে") == "ছে"  # -লে, len 4 > 3


def test_stemmer_alone_is_encoding_sensitive() -> None:
    decomposed = "মেয\u09bcেদের"
    assert lucene_bengali_stem(decomposed) == "মেয\u09bc"
    assert lucene_bengali_stem(composed(decomposed)) == "মে"


@given(st.text(alphabet=[chr(c) for c in range(0x0985, 0x09E0)], max_size=12))
def test_stem_is_a_prefix_and_keeps_two_units(text: str) -> None:
    stem = lucene_bengali_stem(text)
    assert text.startswith(stem)
    assert stem == text or len(stem) >= 2


# -- §6: the whole chain on news words -----------------------------------------------------
CHAIN_CASES = [
    ("পুলিশ", "পুল"),
    ("নেতা", "নে"),
    ("সালে", "সা"),
    ("পেলেন", "পে"),
    ("আমি", "আম"),
    ("বাংলা", "বাং"),
    ("কলকাতা", "কলকা"),
    ("খেলা", "খে"),
    ("মালা", "মা"),
    ("তাদের", "তা"),
    ("শাসনামলে", "সাসনাম"),
    ("সফরকালে", "সফরকা"),
    ("রাওয়ালপিন্ডিতে", "রাওয়ালপিন্ড"),
    ("বৈঠকে", "বৈঠ"),
    ("দুদকে", "দুদ"),
    ("অবসরপ্রাপ্ত", "অবসরপ্রাপ্"),
    ("ব্যক্ত", "বেক্"),
    ("নিরাপত্তা", "নিরাপত্"),
    ("সহযোগিতা", "সহযোগ"),
    ("নির্বাচনে", "নিররাচন"),
    ("সঙ্গে", "সং্গ"),
    ("বাড়ি", "বার"),
    ("প্রতিরক্ষা", "প্রতিরক্স"),
    ("বৈঠক", "বৈঠক"),
    ("সহযোগিতায়", "সহযোগিতায়"),
    ("মেয়ে", "মেয়"),
    ("মেয়েরা", "মে"),
    ("কর্মকর্তারা", "কর্মকর্তা"),
    ("করেছেন", "করে"),
    ("যাচ্ছে", "যাচ্"),
    ("ছাত্রছাত্রীদের", "ছাত্রছাত্রি"),
    ("১৫টি", "15"),
    ("৩২৮টি", "328"),
    ("পাকিস্তানের", "পাকিস্তান"),
    ("সম্পর্ককে", "সম্পর্ক"),
    ("দেশগুলো", "দেস"),
]


@pytest.mark.parametrize(("word", "expected"), CHAIN_CASES)
def test_chain_outputs_from_the_note(lucene_nostop: Analyzer, word: str, expected: str) -> None:
    assert lucene_nostop.terms(word) == [composed(expected)]


def test_default_chain_keeps_apart_what_lucene_merges(lucene_nostop: Analyzer) -> None:
    assert analyze("পুলিশ") != analyze("পুল")
    assert lucene_nostop.terms("পুলিশ") == lucene_nostop.terms("পুল")
    assert lucene_nostop.terms("জন্য") == lucene_nostop.terms("জন")
    # ... and Lucene fails to merge what the default chain does
    assert analyze("বৈঠকে") == analyze("বৈঠক")
    assert lucene_nostop.terms("বৈঠকে") != lucene_nostop.terms("বৈঠক")


def test_normalize_is_lucenes_multiterm_chain(lucene: Analyzer) -> None:
    # no stop filter, no stemmer: for prefix, wildcard and fuzzy terms
    assert lucene.normalize("বাংলাদেশের") == "বাংলাদেসের"
    assert lucene.normalize("করে") == "করে"
    assert lucene.normalize("ABC১২") == "abc12"


# -- stopwords the Lucene way ---------------------------------------------------------------
def test_default_list_dead_entries() -> None:
    assert {"সঙ্গে", "মধ্যে", "জন্য", "দ্বারা", "তাঁর"} <= DEAD_DEFAULT_STOPWORDS
    assert "এবং" not in DEAD_DEFAULT_STOPWORDS


def test_dead_entries_stay_in_the_index_unless_another_entry_catches_them(lucene: Analyzer) -> None:
    assert lucene.terms("সঙ্গে") == ["সং্গ"]  # dead, as in Lucene
    assert lucene.terms("জন্য") == ["জন"]
    assert lucene.terms("তাঁর") == []  # normalizes to তার, which is listed
    assert lucene.terms("এবং") == []


def test_stop_entries_are_composed_like_lucenes_file() -> None:
    # bnsearch's lists are NFC (decomposed nukta); the chain's terms are precomposed.
    stop = LuceneStopFilter(words=["হয\u09bc"])
    assert stop("হ" + YYA) is None
    assert lucene_bengali_analyzer(stopwords=["হয\u09bc"]).terms("হয\u09bc") == []


def test_stop_filter_name_tracks_the_list() -> None:
    a = lucene_bengali_analyzer(stopwords=["করে"]).identity
    b = lucene_bengali_analyzer(stopwords=["করা"]).identity
    assert a != b
    assert a != lucene_bengali_analyzer().identity != default_analyzer().identity


def test_stem_exclusion_accepts_raw_or_normalized_spelling() -> None:
    for spelling in ("পুলিশ", "পুলিস"):
        analyzer = lucene_bengali_analyzer(stopwords=None, stem_exclusion=[spelling])
        assert analyzer.terms("পুলিশ নেতা") == ["পুলিস", "নে"]


def test_filters_are_term_filters() -> None:
    for term_filter in lucene_bengali_analyzer().filters:
        assert isinstance(term_filter, TermFilter)
        assert term_filter.stage in {"normalize", "stop", "stem"}
    assert LUCENE_BENGALI_NORMALIZATION("ঁ") == ""
    assert lucene_bengali_analyzer().terms("ঁ") == []
