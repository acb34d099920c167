"""The Searcher on a small news index: query features, paging, facets, bad input."""

from __future__ import annotations

import math
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnsearch.articles import Article, RelatedLink
from bnsearch.errors import QuerySyntaxError, SchemaError
from bnsearch.index import Index
from bnsearch.search import BM25FParams, Bool, Phrase, Prefix, Searcher, Term

NEWS = [
    Article(
        id="flood-1",
        title="সিলেটে বন্যা পরিস্থিতির অবনতি",
        body="টানা বৃষ্টিতে সিলেটের নিম্নাঞ্চল প্লাবিত হয়েছে। প্রধানমন্ত্রী শেখ হাসিনা "
        "বন্যা পরিস্থিতি নিয়ে বৈঠক করেছেন। পানিবন্দী মানুষের জন্য ত্রাণ পাঠানো হচ্ছে।",
        section=("জাতীয়",),
        related=(RelatedLink(headline="সুনামগঞ্জে ত্রাণ বিতরণ শুরু"),),
    ),
    Article(
        id="flood-2",
        title="সুনামগঞ্জে ত্রাণ বিতরণ শুরু",
        body="বন্যাকবলিত সুনামগঞ্জে ত্রাণ বিতরণ শুরু হয়েছে। জেলা প্রশাসন জানিয়েছে, পানি কমতে শুরু করেছে।",
        section=("জাতীয়",),
    ),
    Article(
        id="budget-1",
        title="জাতীয় সংসদে বাজেট পেশ",
        body="অর্থমন্ত্রী জাতীয় সংসদে নতুন অর্থবছরের বাজেট পেশ করেছেন। বাজেটে ঘাটতি "
        "ধরা হয়েছে মোট দেশজ উৎপাদনের পাঁচ শতাংশ।",
        section=("অর্থনীতি",),
    ),
    Article(
        id="cricket-1",
        title="পাকিস্তান সফরে বাংলাদেশ দল",
        body="তিন ম্যাচের সিরিজ খেলতে পাকিস্তান সফরে গেছে বাংলাদেশ ক্রিকেট দল। প্রথম ম্যাচ লাহোরে।",
        section=("খেলা",),
        related=(RelatedLink(headline="জাতীয় সংসদে বাজেট পেশ"),),
    ),
    Article(
        id="cricket-2",
        title="লাহোরে প্রথম ম্যাচে জয়",
        body="পাকিস্তানের বিপক্ষে প্রথম ম্যাচে জিতেছে বাংলাদেশ। লাহোরে ব্যাট করে বাংলাদেশ তোলে তিন শ রান।",
        section=("খেলা",),
        related=(RelatedLink(headline="পাকিস্তান সফরে বাংলাদেশ দল"),),
    ),
    Article(
        id="edu-1",
        title="বিশ্ববিদ্যালয় ভর্তি পরীক্ষা শুরু",
        body="ঢাকা বিশ্ববিদ্যালয়ের ভর্তি পরীক্ষা শুরু হচ্ছে আগামী শুক্রবার। প্রতিটি "
        "আসনের জন্য লড়বেন ৪০ জন শিক্ষার্থী। র\u200d্যাব মোতায়েন থাকবে।",
        section=("শিক্ষা",),
    ),
]


@pytest.fixture(scope="module")
def index() -> Index:
    index = Index.in_memory()
    with index.writer() as writer:
        for article in NEWS:
            writer.add(article)
    return index


@pytest.fixture(scope="module")
def searcher(index: Index) -> Searcher:
    return Searcher(index.reader())


def ids(results: object) -> list[str]:
    return [hit.id for hit in results]  # type: ignore[attr-defined]


def test_words_find_inflected_forms(searcher: Searcher) -> None:
    results = searcher.search("বন্যায়")
    assert set(ids(results)) == {"flood-1", "flood-2"} or set(ids(results)) >= {"flood-1"}
    assert ids(results)[0] == "flood-1"  # title and body both mention the flood


def test_total_counts_all_matches_and_pages(searcher: Searcher) -> None:
    everything = searcher.search("বাংলাদেশ পাকিস্তান বাজেট বন্যা ভর্তি", limit=100)
    assert everything.total == len(everything) >= 5
    page = searcher.search("বাংলাদেশ পাকিস্তান বাজেট বন্যা ভর্তি", limit=2, offset=2)
    assert page.total == everything.total
    assert ids(page) == ids(everything)[2:4]
    assert [h.rank for h in page] == [2, 3]
    assert page.has_more
    past = searcher.search("বাংলাদেশ", limit=5, offset=50)
    assert len(past) == 0 and past.total > 0
    # past what a C ssize_t holds (the compiled core raised OverflowError): still a page
    for offset in (2**63 - 3, 10**20):
        far = searcher.search("বাংলাদেশ", limit=5, offset=offset)
        assert len(far) == 0 and far.total == past.total and far.offset == offset


def test_facets_count_every_match_not_the_page(searcher: Searcher) -> None:
    results = searcher.search("বাংলাদেশ বন্যা", limit=1)
    assert len(results) == 1
    assert sum(results.facets["section"].values()) == results.total
    assert results.facets["section"]["খেলা"] == 2


def test_section_filter(searcher: Searcher) -> None:
    results = searcher.search("প্রথম ম্যাচ বন্যা", filter={"section": "খেলা"})
    assert set(ids(results)) == {"cricket-1", "cricket-2"}
    # flood-1 lists the headline "... বিতরণ শুরু" among its related headlines
    both = searcher.search("শুরু", filter={"section": ["জাতীয়", "শিক্ষা"]})
    assert set(ids(both)) == {"flood-1", "flood-2", "edu-1"}
    query_filter = searcher.search("শুরু", filter=Term(text="ত্রাণ"))
    assert set(ids(query_filter)) == {"flood-1", "flood-2"}


def test_field_query_and_field_weights(searcher: Searcher) -> None:
    assert ids(searcher.search("title:বাজেট")) == ["budget-1"]
    assert searcher.search("title:লাহোরে").total == 1  # cricket-2; cricket-1 has it in body
    body_only = searcher.search("লাহোরে", fields=["body"])
    assert set(ids(body_only)) == {"cricket-1", "cricket-2"}
    heavy_title = searcher.search("লাহোরে", fields={"title": 10.0, "body": 1.0})
    assert ids(heavy_title)[0] == "cricket-2"


@pytest.mark.parametrize("weight", [1e308, 1e7, 1e-320, 1e-7, float("inf"), float("nan")])
def test_field_weights_out_of_range_are_refused(searcher: Searcher, weight: float) -> None:
    """A weight past float32's reach gave NaN scores (numpy path) or no hits with a total
    (compiled path); a tiny one, matches that one path dropped."""
    with pytest.raises(ValueError, match="weight of field 'title'"):
        searcher.search("লাহোরে", fields={"title": weight, "body": 1.0})


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"filter": {"section": 5}}, "filter 'section' takes a value or a list of values"),
        ({"filter": {"section": {"a": 1}}}, "filter 'section' takes a value or a list"),
        ({"facets": 5}, "facets must be a field name or a list of them"),
        ({"fields": 5}, "fields must be a field name, a list of them or"),
    ],
)
def test_arguments_of_the_wrong_shape_say_which(
    searcher: Searcher, arguments: dict[str, object], message: str
) -> None:
    """They raised "'int' object is not iterable", naming no argument."""
    with pytest.raises(ValueError, match=message):
        searcher.search("লাহোরে", **arguments)  # type: ignore[arg-type]


def test_phrase_requires_adjacency(searcher: Searcher) -> None:
    assert ids(searcher.search('"শেখ হাসিনা"')) == ["flood-1"]
    assert searcher.search('"হাসিনা শেখ"').total == 0
    # a stopword inside a phrase keeps its position
    assert searcher.search('"সংসদে নতুন"').total == 1


def test_boolean_operators(searcher: Searcher) -> None:
    assert set(ids(searcher.search("বাংলাদেশ -লাহোরে"))) == set()  # both mention লাহোর
    # cricket-2 lists the headline "পাকিস্তান সফরে ..." among its related headlines
    assert ids(searcher.search("+পাকিস্তান +সফরে")) == ["cricket-1", "cricket-2"]
    assert ids(searcher.search("+পাকিস্তান +সফরে", fields=["body"])) == ["cricket-1"]
    assert set(ids(searcher.search("বাজেট OR ত্রাণ"))) == {
        "budget-1",
        "cricket-1",
        "flood-1",
        "flood-2",
    }
    assert ids(searcher.search("ত্রাণ AND সিলেটে")) == ["flood-1"]
    assert "budget-1" not in ids(searcher.search("NOT বাজেট", limit=50))
    assert searcher.search("NOT বাজেট", limit=50).total == len(NEWS) - 2  # cricket-1 links it


def test_prefix_on_a_half_typed_conjunct(searcher: Searcher) -> None:
    results = searcher.search("প্র*")
    assert {"flood-1", "cricket-1", "cricket-2", "edu-1"} <= set(ids(results))
    assert searcher.search(Prefix(text="বিশ্ববি")).total == 1


def test_fuzzy_finds_a_misspelling(searcher: Searcher) -> None:
    assert "budget-1" in ids(searcher.search("বাজট~"))
    assert searcher.search("বাজট").total == 0


def test_romanized_is_off_by_default_and_finds_bengali(searcher: Searcher) -> None:
    assert searcher.search("pakistan").total == 0
    results = searcher.search("pakistan sofor", romanized=True)
    assert ids(results)[0] == "cricket-1"


def test_highlights_whole_words_on_original_text(searcher: Searcher) -> None:
    hit = searcher.search("সিলেট বন্যা")[0]
    title = hit.highlights["title"]
    marked = [title.text[s:e] for s, e in title.spans]
    assert marked == ["সিলেটে", "বন্যা"]
    snippet = hit.snippet
    assert snippet is not None
    original = hit.fields["body"]
    assert original[snippet.start : snippet.end] == snippet.text
    for start, end in snippet.spans:
        word = snippet.text[start:end]
        assert unicodedata.category(word[0])[0] != "M"  # never starts with a mark
        after = snippet.text[end : end + 1]
        assert not after or unicodedata.category(after)[0] != "M"  # never cuts before one
    assert "<mark>" in snippet.markup()


def test_highlight_keeps_zwj_words_whole(searcher: Searcher) -> None:
    hit = searcher.search("র্যাব")[0]
    assert hit.id == "edu-1"
    snippet = hit.snippet
    assert snippet is not None
    marked = [snippet.text[s:e] for s, e in snippet.spans]
    assert marked == ["র\u200d্যাব"]


def test_explain_equals_the_score(searcher: Searcher) -> None:
    for query in ("সিলেট বন্যা ত্রাণ", '"শেখ হাসিনা" বৈঠক', "+পাকিস্তান সফরে"):
        for hit in searcher.search(query):
            explanation = searcher.explain(query, hit.id)
            assert explanation.value == pytest.approx(hit.score, rel=1e-4), query
    missing = searcher.explain("বাজেট", "flood-1")
    assert missing.value == 0.0 and "no match" in str(missing)


def test_related_uses_links_and_content(searcher: Searcher) -> None:
    related = ids(searcher.related("cricket-1"))
    assert related[0] == "budget-1"  # cricket-1's own related headline comes first
    assert related[1] == "cricket-2"  # then the article that links to cricket-1
    assert "cricket-1" not in related
    with pytest.raises(KeyError):
        searcher.related("nope")


def test_suggest_and_complete(searcher: Searcher) -> None:
    assert searcher.suggest("বাজটে") == "বাজেটে"
    assert searcher.suggest("বাজেট") is None
    completions = searcher.complete("ঢাকা বিশ্ববি")
    assert completions and completions[0].startswith("ঢাকা বিশ্ববিদ্যালয়")
    assert searcher.complete("") == []


def test_stored_false_gives_ids_only(searcher: Searcher) -> None:
    hit = searcher.search("বাজেট", stored=False)[0]
    assert hit.id == "budget-1" and not hit.fields and not hit.highlights


def test_sort_by_index_order(searcher: Searcher) -> None:
    order = searcher.reader.article_ids()  # index order (re-indexed articles move last)
    matched = ids(searcher.search("বাংলাদেশ বন্যা"))
    by_index = ids(searcher.search("বাংলাদেশ বন্যা", sort="index"))
    assert by_index == sorted(matched, key=order.index)
    assert ids(searcher.search("বাংলাদেশ বন্যা", sort="-index")) == by_index[::-1]
    with pytest.raises(ValueError, match="sort"):
        searcher.search("বাংলাদেশ", sort="newest")


@pytest.mark.parametrize("word", ["বাংলাদেশ", "লাহোরে", "শুরু", "পাকিস্তান"])
def test_sort_by_index_order_for_one_word_in_several_fields(searcher: Searcher, word: str) -> None:
    """One word searched in title and body: its matches come from two posting lists."""
    order = searcher.reader.article_ids()
    matched = ids(searcher.search(word, limit=50))
    assert len(matched) > 1
    assert ids(searcher.search(word, sort="index", limit=50)) == sorted(matched, key=order.index)
    assert ids(searcher.search(word, sort="-index", limit=50)) == sorted(
        matched, key=order.index, reverse=True
    )


def test_deleted_articles_disappear_and_stats_do_not_depend_on_segments() -> None:
    one = Index.in_memory()
    with one.writer() as writer:
        for article in NEWS:
            writer.add(article)
    split = Index.in_memory()
    for part in (NEWS[:3], NEWS[3:]):
        with split.writer() as writer:
            for article in part:
                writer.add(article)
    a = Searcher(one.reader()).search("বাংলাদেশ বন্যা ত্রাণ")
    b = Searcher(split.reader()).search("বাংলাদেশ বন্যা ত্রাণ")
    assert [(h.id, round(h.score, 5)) for h in a] == [(h.id, round(h.score, 5)) for h in b]
    with split.writer() as writer:
        writer.delete("flood-1")
    after = Searcher(split.reader()).search("বন্যা")
    assert "flood-1" not in ids(after)


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["", "   ", "।।, ? !", "এবং ও কিন্তু", "\u200d\u200c", "()", '"'])
def test_nothing_to_search_gives_no_hits(searcher: Searcher, query: str) -> None:
    results = searcher.search(query)
    assert results.total == 0 and len(results) == 0


def test_very_long_query(searcher: Searcher) -> None:
    words = [f"শব্দ{i}" for i in range(10_000)] + ["বাজেট"]
    results = searcher.search(" ".join(words))
    # words the index does not know are dropped before the 1024-clause cut
    assert ids(results) == ids(searcher.search("বাজেট"))
    repeated = searcher.search(" ".join(["বাজেট"] * 10_000))
    assert ids(repeated) == ids(searcher.search("বাজেট"))


def test_unknown_field_degrades_for_users_and_errors_for_code(searcher: Searcher) -> None:
    assert ids(searcher.search("titel:বাজেট"))[0] == "budget-1"
    with pytest.raises(QuerySyntaxError) as info:
        searcher.search("titel:বাজেট", strict=True)
    assert info.value.position == 0
    with pytest.raises(SchemaError, match="unknown field"):
        searcher.search(Term(text="বাজেট", field="titel"))
    with pytest.raises(SchemaError):
        searcher.search("বাজেট", fields=["nope"])
    with pytest.raises(SchemaError):
        searcher.search("বাজেট", filter={"nope": "x"})


@pytest.mark.parametrize(
    ("limit", "offset"), [(-1, 0), (10_001, 0), (10, -1), (True, 0), ("10", 0), (1.5, 0)]
)
def test_limit_and_offset_out_of_range(searcher: Searcher, limit: object, offset: object) -> None:
    with pytest.raises(ValueError, match=r"limit|offset"):
        searcher.search("বাজেট", limit=limit, offset=offset)  # type: ignore[arg-type]


def test_limit_zero_still_counts(searcher: Searcher) -> None:
    results = searcher.search("বাংলাদেশ", limit=0)
    assert len(results) == 0 and results.total == 2


def test_query_objects_are_accepted(searcher: Searcher) -> None:
    query = Bool(must=(Term(text="পাকিস্তান"),), should=(Phrase(text="প্রথম ম্যাচ"),))
    assert ids(searcher.search(query))[0] == "cricket-2"


def test_proximity_changes_order_not_matches(index: Index) -> None:
    plain = Searcher(index.reader(), params=BM25FParams(proximity=0.0))
    near = Searcher(index.reader(), params=BM25FParams(proximity=5.0))
    a, b = plain.search("ম্যাচ প্রথম লাহোরে"), near.search("প্রথম ম্যাচ লাহোরে")
    assert a.total == b.total and set(ids(a)) == set(ids(b))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=80),
        st.lists(
            st.sampled_from(
                [
                    "বাজেট",
                    "প্র",
                    "*",
                    "~",
                    "^2",
                    '"',
                    "(",
                    ")",
                    "+",
                    "-",
                    ":",
                    "title:",
                    "section:",
                    " AND ",
                    " OR ",
                    " NOT ",
                    " ",
                    "\\",
                    "শেখ হাসিনা",
                    "ক্ষ",
                    "\u200d",
                    "১৫",
                    "pakistan",
                ]
            ),
            max_size=25,
        ).map("".join),
    ),
    st.booleans(),
)
def test_fuzz_search_never_raises_on_user_strings(
    searcher: Searcher, text: str, romanized: bool
) -> None:
    results = searcher.search(text, romanized=romanized)
    assert results.total >= len(results)


def test_keyword_field_in_the_query(searcher: Searcher) -> None:
    assert set(ids(searcher.search("section:খেলা"))) == {"cricket-1", "cricket-2"}
    # the section is required; লাহোরে (only in cricket-2's title) ranks it first
    assert ids(searcher.search("+section:খেলা লাহোরে", fields=["title"])) == [
        "cricket-2",
        "cricket-1",
    ]


def test_in_link_prior(index: Index) -> None:
    plain = Searcher(index.reader(), params=BM25FParams(proximity=0.0))
    prior = Searcher(index.reader(), params=BM25FParams(proximity=0.0, link_prior=0.5))
    base = {h.id: h.score for h in plain.search("বাংলাদেশ বাজেট ত্রাণ", limit=20)}
    boosted = {h.id: h.score for h in prior.search("বাংলাদেশ বাজেট ত্রাণ", limit=20)}
    assert set(base) == set(boosted)
    links = {ident: plain.reader.in_link_count(ident) for ident in base}
    for ident, score in base.items():
        expected = score + 0.5 * math.log1p(links[ident])
        assert boosted[ident] == pytest.approx(expected, rel=1e-5)
    assert any(links.values())  # budget-1 and flood-2 are linked to
    linked = next(i for i, n in links.items() if n)
    assert prior.explain("বাংলাদেশ বাজেট ত্রাণ", linked).value == pytest.approx(boosted[linked])


@pytest.mark.parametrize(
    "query", ["\ud800 বাজেট", "বাজেট\x00", "\ufffe", "a" * 100_000, "🙂 বাজেট", "বাজেট\u0301"]
)
def test_odd_strings_do_not_crash(searcher: Searcher, query: str) -> None:
    results = searcher.search(query)
    assert results.total >= 0


def test_a_long_query_of_unknown_words_says_so(searcher: Searcher) -> None:
    """More than MAX_CLAUSES distinct words, none in the index: the note says that (it
    once said "only stopwords or punctuation"); a stopword-only query still says that."""
    from itertools import product

    from bnsearch.search.plan import MAX_CLAUSES

    letters = "কখগঘচছজঝটঠ"
    unknown = ["".join(p) for p in product(letters, repeat=4)][: MAX_CLAUSES + 100]
    results = searcher.search(" ".join(unknown))
    assert results.total == 0
    assert not any("stopwords" in note for note in results.notes), results.notes
    assert any(
        f"{MAX_CLAUSES + 100} distinct words" in note and "none" in note for note in results.notes
    ), results.notes
    only_stopwords = searcher.search("এবং ও")
    assert any("stopwords" in note for note in only_stopwords.notes), only_stopwords.notes


def test_a_query_longer_than_the_bound_is_refused(searcher: Searcher) -> None:
    """A query string longer than MAX_QUERY_CHARS raises QuerySyntaxError naming the
    bound (a 4 MB query once took 51 s and 543 MB); one at the bound is searched."""
    from bnsearch.search.parser import MAX_QUERY_CHARS

    at_bound = ("বন্যা " * MAX_QUERY_CHARS)[:MAX_QUERY_CHARS]
    assert searcher.search(at_bound).total > 0
    for query in (at_bound + "ক", "বন্যা " * 1_000_000):
        with pytest.raises(QuerySyntaxError, match=f"the limit is {MAX_QUERY_CHARS:,}") as error:
            searcher.search(query)
        assert error.value.position == MAX_QUERY_CHARS
        assert len(str(error.value)) < 300  # the message does not repeat the whole query
    with pytest.raises(QuerySyntaxError, match="characters"):
        searcher.explain(at_bound + "ক", searcher.search("বন্যা").ids[0])


@pytest.mark.parametrize("query", [123, None, b"\xe0\xa6\xac", ["বন্যা"]])
def test_a_query_that_is_not_text_or_a_query_tree_says_so(
    searcher: Searcher, query: object
) -> None:
    """search() and explain() raised "not a query node: int" from the compiler."""
    article = searcher.search("বন্যা").ids[0]
    with pytest.raises(TypeError, match="query must be a query string or a bnsearch Query"):
        searcher.search(query)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=f"got {type(query).__name__}"):
        searcher.explain(query, article)  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", ["3", -1, 2.5, True, 10**6])
def test_complete_limit_of_the_wrong_kind_says_so(searcher: Searcher, limit: object) -> None:
    """complete(limit="3") raised "'<=' not supported between instances of 'str' and 'int'"."""
    with pytest.raises(ValueError, match="limit must be an int from 0 to"):
        searcher.complete("বন্য", limit=limit)  # type: ignore[arg-type]


def test_suggest_and_complete_refuse_a_query_longer_than_the_bound(searcher: Searcher) -> None:
    """The bound search() and explain() keep held nowhere for suggest() and complete()."""
    from bnsearch.search.parser import MAX_QUERY_CHARS

    too_long = "বন্যা " * (MAX_QUERY_CHARS // 5)
    for call in (searcher.suggest, searcher.complete):
        with pytest.raises(QuerySyntaxError, match=f"the limit is {MAX_QUERY_CHARS:,}"):
            call(too_long)
    assert searcher.complete("বন্য") == searcher.complete("বন্য", limit=8)
