"""BengaliWhooshAnalyzer inside a real whoosh index: matching, phrases, highlights, pickling."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

whoosh = pytest.importorskip("whoosh")

from whoosh import index  # noqa: E402
from whoosh.analysis import StandardAnalyzer, StopFilter  # noqa: E402
from whoosh.fields import ID, TEXT, Schema  # noqa: E402
from whoosh.filedb.filestore import RamStorage  # noqa: E402
from whoosh.qparser import QueryParser  # noqa: E402

from bnsearch.analysis import bengali_analyzer, default_analyzer  # noqa: E402
from bnsearch.analysis.lucene import lucene_bengali_analyzer  # noqa: E402
from bnsearch.integrations.whoosh import BengaliWhooshAnalyzer  # noqa: E402

NUKTA = "\u09bc"

DOCS = {
    "meeting": "প্রধানমন্ত্রীর সঙ্গে বৈঠক শেষে মন্ত্রী সাংবাদিকদের বলেন, দেশের ১৫টি জেলায় বন্যা হয়েছে।",
    # the corpus is NFC: ড় is written ড + nukta
    "road": "পুলিশ জানায়, সড" + NUKTA + "ক দুর্ঘটনায় তিনজন নিহত হয়েছেন।",
    "arts": "কলা বিভাগের শিক্ষার্থীরা মানববন্ধন করেছেন।",
    "rights": "সব জাতি, ধর্ম ও ভাষার মানুষের স্বার্থ নিয়ে কথা বলার আহ্বান",
}


def build(analyzer: object) -> index.Index:
    schema = Schema(id=ID(stored=True), body=TEXT(stored=True, analyzer=analyzer))
    ix = RamStorage().create_index(schema)
    writer = ix.writer()
    for doc_id, body in DOCS.items():
        writer.add_document(id=doc_id, body=body)
    writer.commit()
    return ix


def ids(ix: index.Index, query: str) -> set[str]:
    with ix.searcher() as searcher:
        parsed = QueryParser("body", ix.schema).parse(query)
        return {hit["id"] for hit in searcher.search(parsed, limit=None)}


@pytest.fixture(scope="module")
def bengali_ix() -> index.Index:
    return build(BengaliWhooshAnalyzer())


@pytest.fixture(scope="module")
def standard_ix() -> index.Index:
    return build(StandardAnalyzer())


# -- the tokens -----------------------------------------------------------------------------
def test_tokens_carry_terms_positions_and_offsets() -> None:
    text = "দেশের ১৫টি জেলায়।বন্যা"
    tokens = list(BengaliWhooshAnalyzer()(text, positions=True, chars=True))
    assert [t.text for t in tokens] == default_analyzer().terms(text)
    assert [t.pos for t in tokens] == [0, 1, 2, 3]
    assert [text[t.startchar : t.endchar] for t in tokens] == ["দেশের", "১৫টি", "জেলায়", "বন্যা"]


def test_start_pos_and_start_char_shift_everything() -> None:
    tokens = list(
        BengaliWhooshAnalyzer()(
            "বৈঠক শেষে", positions=True, chars=True, start_pos=10, start_char=100
        )
    )
    assert [(t.pos, t.startchar, t.endchar) for t in tokens] == [(10, 100, 104), (11, 105, 109)]


def test_stopwords_take_no_position_but_can_be_kept_for_highlighting() -> None:
    analyzer = BengaliWhooshAnalyzer()
    text = "ধর্ম ও ভাষার"
    kept = list(analyzer(text, positions=True))
    assert [(t.text, t.pos) for t in kept] == [("ধর্ম", 0), ("ভাষা", 1)]
    every = list(analyzer(text, positions=True, chars=True, removestops=False))
    assert [(t.text, t.stopped) for t in every] == [("ধর্ম", False), ("ও", True), ("ভাষা", False)]
    gapped = list(BengaliWhooshAnalyzer(renumber=False)(text, positions=True))
    assert [t.pos for t in gapped] == [0, 2]


def test_query_and_index_modes_agree() -> None:
    analyzer = BengaliWhooshAnalyzer()
    text = DOCS["meeting"]
    assert [t.text for t in analyzer(text, mode="query")] == [
        t.text for t in analyzer(text, mode="index")
    ]


def test_untokenized_value_is_normalized_not_stemmed() -> None:
    # whoosh passes tokenize=False for prefix, wildcard and range terms
    (token,) = BengaliWhooshAnalyzer()("বাংলাদেশের ১৫", tokenize=False, chars=True)
    assert token.text == "বাংলাদেশের 15"
    assert (token.startchar, token.endchar) == (0, len("বাংলাদেশের ১৫"))


def test_no_morph_skips_the_stemmer() -> None:
    analyzer = BengaliWhooshAnalyzer()
    assert analyzer.is_morph
    assert [t.text for t in analyzer("সাংবাদিকদের", no_morph=True)] == ["সাংবাদিকদের"]
    assert [t.text for t in analyzer("সাংবাদিকদের")] == ["সাংবাদিক"]
    assert not BengaliWhooshAnalyzer(bengali_analyzer(stem=False)).is_morph


def test_composes_with_whoosh_filters() -> None:
    chain = BengaliWhooshAnalyzer() | StopFilter(stoplist=frozenset({"বৈঠক"}), minsize=1)
    assert [t.text for t in chain("বৈঠকে মন্ত্রী")] == ["মন্ত্রী"]


def test_rejects_bytes_and_non_analyzers() -> None:
    with pytest.raises(TypeError, match="expects str"):
        list(BengaliWhooshAnalyzer()(b"abc"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bnsearch Analyzer"):
        BengaliWhooshAnalyzer(StandardAnalyzer())


def test_equality_and_pickling() -> None:
    analyzer = BengaliWhooshAnalyzer()
    copy = pickle.loads(pickle.dumps(analyzer))
    assert copy == analyzer
    assert copy.analyzer is default_analyzer()  # the shared instance (and its cache) again
    lucene = BengaliWhooshAnalyzer(lucene_bengali_analyzer())
    assert lucene != analyzer
    assert pickle.loads(pickle.dumps(lucene)) == lucene


# -- a real index -----------------------------------------------------------------------------
def test_inflected_query_finds_the_base_form(bengali_ix: index.Index) -> None:
    assert ids(bengali_ix, "বৈঠকে") == {"meeting"}  # the document says বৈঠক
    assert ids(bengali_ix, "সাংবাদিক") == {"meeting"}  # the document says সাংবাদিকদের
    assert ids(bengali_ix, "ভাষা") == {"rights"}


def test_encoding_and_digit_variants_match(bengali_ix: index.Index) -> None:
    assert ids(bengali_ix, "সড়ক".replace("ড" + NUKTA, "\u09dc")) == {"road"}  # precomposed ড়
    assert ids(bengali_ix, "15") == {"meeting"}  # the document says ১৫টি


def test_phrases(bengali_ix: index.Index) -> None:
    assert ids(bengali_ix, '"সড়ক দুর্ঘটনায়"') == {"road"}
    assert ids(bengali_ix, '"ধর্ম ও ভাষার"') == {"rights"}  # a stopword inside the phrase
    assert ids(bengali_ix, '"ভাষার ধর্ম"') == set()


def test_prefix_query_is_not_stemmed(bengali_ix: index.Index) -> None:
    assert ids(bengali_ix, "সাংবাদি*") == {"meeting"}
    assert ids(bengali_ix, "দুর্ঘটনা*") == {"road"}


def test_stopword_only_query_finds_nothing_without_error(bengali_ix: index.Index) -> None:
    assert ids(bengali_ix, "ও") == set()


def test_whoosh_highlights_whole_bengali_words(bengali_ix: index.Index) -> None:
    with bengali_ix.searcher() as searcher:
        query = QueryParser("body", bengali_ix.schema).parse("বৈঠকে OR দুর্ঘটনা")
        hits = searcher.search(query)
        by_id = {hit["id"]: hit.highlights("body") for hit in hits}
    marked = {doc: re.findall(r"<b[^>]*>(.*?)</b>", html) for doc, html in by_id.items()}
    assert marked == {"meeting": ["বৈঠক"], "road": ["দুর্ঘটনায়"]}


def test_standard_analyzer_fails_where_bengali_analyzer_passes(
    bengali_ix: index.Index, standard_ix: index.Index
) -> None:
    # \w excludes vowel signs: পুলিশ is cut into one-letter pieces that StandardAnalyzer drops
    assert ids(standard_ix, "পুলিশ") == set()
    assert ids(bengali_ix, "পুলিশ") == {"road"}
    # no digit folding: 15 never meets ১৫টি
    assert ids(standard_ix, "15") == set()
    assert ids(bengali_ix, "15") == {"meeting"}


def test_schema_survives_an_on_disk_index(tmp_path: Path) -> None:
    # whoosh pickles the schema, analyzer included, into the index directory
    ix = index.create_in(
        str(tmp_path), Schema(id=ID(stored=True), body=TEXT(analyzer=BengaliWhooshAnalyzer()))
    )
    with ix.writer() as writer:
        for doc_id, body in DOCS.items():
            writer.add_document(id=doc_id, body=body)
    reopened = index.open_dir(str(tmp_path))
    assert isinstance(reopened.schema["body"].analyzer, BengaliWhooshAnalyzer)
    assert ids(reopened, "বৈঠকে") == {"meeting"}
