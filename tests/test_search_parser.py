"""The query parser: syntax, error positions, and that user strings never raise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnsearch.errors import QuerySyntaxError
from bnsearch.search.parser import has_syntax, parse_query, words_query
from bnsearch.search.query import (
    And,
    Bool,
    Fuzzy,
    MatchAll,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
    leaves,
)


def strict(text: str) -> object:
    return parse_query(text, strict=True)


def test_words_are_optional_clauses() -> None:
    assert strict("বাজেট ঘাটতি") == Or(Term(text="বাজেট"), Term(text="ঘাটতি"))


def test_single_word_is_a_term() -> None:
    assert strict("বাজেট") == Term(text="বাজেট")


def test_phrase_field_prefix_fuzzy_boost() -> None:
    query = strict('"শেখ হাসিনা" title:বাজেট প্র* বাজট~ বাজট~2 খেলা^2.5')
    assert query == Or(
        Phrase(text="শেখ হাসিনা"),
        Term(text="বাজেট", field="title"),
        Prefix(text="প্র"),
        Fuzzy(text="বাজট", distance=1),
        Fuzzy(text="বাজট", distance=2),
        Term(text="খেলা", boost=2.5),
    )


def test_plus_minus_and_not() -> None:
    assert strict("+ক খ -গ") == Bool(
        must=(Term(text="ক"),), should=(Term(text="খ"),), must_not=(Term(text="গ"),)
    )
    assert strict("NOT ক") == Not(Term(text="ক"))
    assert strict("-ক") == Not(Term(text="ক"))


def test_precedence_and_binds_tighter_than_or() -> None:
    a, b, c = Term(text="a"), Term(text="b"), Term(text="c")
    assert strict("a AND b OR c") == Or(And(a, b), c)
    assert strict("a OR b AND c") == Or(a, And(b, c))
    assert strict("(a OR b) AND c") == And(Or(a, b), c)
    assert strict("a AND -b") == Bool(must=(a,), must_not=(b,))


def test_boosts_multiplying_out_of_range_are_a_syntax_error() -> None:
    """Nested boosts multiply: each within 1e6 could reach 1e42 (float32 scores of inf,
    a web page that is not JSON). Strict parsing says where; a user string reads as words."""
    nested = "(" * 7 + "বাজেট" + "^1000000)" * 7
    with pytest.raises(QuerySyntaxError, match="boosts multiply") as caught:
        strict(nested)
    assert caught.value.position == nested.index("^", nested.index("^") + 1)
    assert parse_query(nested) == words_query(nested)
    with pytest.raises(QuerySyntaxError, match="boosts multiply"):
        strict("((ক^0.001 খ)^0.001)^0.001")
    kept = Bool(should=(Term(text="ক", boost=1000.0), Term(text="খ")), boost=1000.0)
    assert strict("(ক^1000 খ)^1000") == kept
    with pytest.raises(QuerySyntaxError, match=r"at least 0\.000001"):
        strict("ক^0.0000001")


def test_a_query_tree_keeps_its_boosts_in_range() -> None:
    with pytest.raises(ValueError, match="boost"):
        Term(text="ক", boost=1e300)
    with pytest.raises(ValueError, match="boost"):
        Term(text="ক", boost=1e-300)
    deep = Bool(should=(Term(text="ক", boost=1e4), Term(text="খ")), boost=100.0)
    with pytest.raises(ValueError, match="boosts multiply"):
        Bool(should=(deep, Term(text="গ")), boost=10.0)


def test_field_applies_to_a_group_and_boost_to_the_group() -> None:
    query = strict("title:(ক খ)^3")
    assert query == Bool(
        should=(Term(text="ক", field="title"), Term(text="খ", field="title")), boost=3.0
    )
    assert strict('body:"ক খ"^2') == Phrase(text="ক খ", field="body", boost=2.0)


def test_hyphen_and_colon_inside_words_and_escapes() -> None:
    assert strict("ঢাকা-চট্টগ্রাম") == Term(text="ঢাকা-চট্টগ্রাম")
    assert strict(r"a\:b \+c") == Or(Term(text="a:b"), Term(text="+c"))
    assert strict(r"\AND") == Term(text="AND")


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ('ক "খ গ', 2),  # unterminated phrase: the opening quote
        ("ক AND", 2),
        ("AND ক", 0),
        ("ক OR", 2),
        ("((ক)", 0),
        ("ক)", 1),
        ("()", 0),
        ("ক - খ", 2),
        ("প্র*ক", 3),
        ("ক~3", 1),
        ("ক^x", 1),
        ("title:", 0),
        ("*", 0),
        ('"  "', 0),
        ("+-ক", 1),
        ("ক\\", 1),
    ],
)
def test_strict_errors_name_the_position(text: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        strict(text)
    assert info.value.position == position
    assert info.value.query == text
    assert f"position {position}" in str(info.value)


def test_unknown_field_is_an_error_only_when_fields_are_known() -> None:
    with pytest.raises(QuerySyntaxError, match="unknown field 'titel'") as info:
        parse_query("ক titel:খ", strict=True, fields={"title", "body"})
    assert info.value.position == 2
    assert parse_query("titel:খ", strict=True) == Term(text="খ", field="titel")
    # a search box string degrades to words
    assert parse_query("titel:খ", fields={"title"}) == Or(Term(text="titel"), Term(text="খ"))


def test_lenient_parse_degrades_to_words() -> None:
    assert parse_query('বাজেট "ঘাটতি') == Or(Term(text="বাজেট"), Term(text="ঘাটতি"))
    assert parse_query("সময়: ১০টা AND") == Or(Term(text="সময়"), Term(text="১০টা"))
    assert parse_query("") == Bool()
    assert parse_query("   ") == Bool()
    assert parse_query("(((") == Bool()


def test_deep_nesting_is_refused_not_a_crash() -> None:
    text = "(" * 5000 + "ক" + ")" * 5000
    with pytest.raises(QuerySyntaxError, match="nested"):
        strict(text)
    assert parse_query(text) == Or(Term(text="ক"))


def test_very_long_query() -> None:
    text = " ".join(["বাজেট", "ঘাটতি"] * 5000)
    query = parse_query(text)
    assert len(leaves(query)) == 10_000


def test_has_syntax() -> None:
    assert not has_syntax("বাজেট ঘাটতি কত?")
    assert has_syntax("বাজেট -ঘাটতি")
    assert has_syntax("a OR b")
    assert words_query("a (b) c*") == Or(Term(text="a"), Term(text="b"), Term(text="c"))


def test_match_all_round_trips() -> None:
    assert strict("*:*") == MatchAll()
    assert strict(str(Not(Term(text="ক")))) == Not(Term(text="ক"))


_SYNTAX_PIECES = ['"', "(", ")", "+", "-", ":", "*", "~", "^", "\\", "1", "2", "."]
_alphabet = st.sampled_from(
    [*"কখগ াি্ঃ়\u200d১a", *_SYNTAX_PIECES, " AND ", " OR ", " NOT ", "title:", " "]
)
_queryish = st.lists(_alphabet, max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), _queryish))
def test_fuzz_lenient_never_raises(text: str) -> None:
    query = parse_query(text)
    assert query is not None


@settings(max_examples=400, deadline=None)
@given(_queryish)
def test_fuzz_strict_raises_only_syntax_errors_and_round_trips(text: str) -> None:
    try:
        query = parse_query(text, strict=True)
    except QuerySyntaxError as error:
        assert 0 <= error.position <= len(text)
        return
    assert parse_query(str(query), strict=True) == query


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), _queryish))
def test_text_without_syntax_parses_as_its_words(text: str) -> None:
    """The search fast path skips the parser for text :func:`has_syntax` calls plain: the
    parser must read such text as exactly its words."""
    if has_syntax(text):
        assert any(c in text for c in _SYNTAX_PIECES[:10]) or any(
            op in text.split() for op in ("AND", "OR", "NOT")
        )
    else:  # (one word parses as a Term, words_query gives a one-clause Bool)
        assert leaves(parse_query(text)) == leaves(words_query(text))


def _full_parse(text: str, *, strict: bool) -> object:
    """``text`` through the lexer and parser (what parse_query does without its shortcut)."""
    from bnsearch.search.parser import _Lexer, _Parser

    try:
        return _Parser(text, _Lexer(text, None, None if strict else []).run()).parse()
    except QuerySyntaxError:
        if strict:
            raise
        return words_query(text)


LONE_PHRASES = [
    '"শেখ হাসিনা"',
    '  "শেখ হাসিনা"\t',
    '"a (b) c:d +e -f ~g ^h *"',
    '"a\\"',
    '"a b"^2',
    '"a b" c',
    'c "a b"',
    '""',
    '"  "',
    '"',
    '"a"b"',
    'title:"a b"',
    '-"a b"',
    '"a b',
    '\u00a0"a b"\u2003',
]


@pytest.mark.parametrize("text", LONE_PHRASES)
def test_a_lone_phrase_parses_to_what_the_full_parser_gives(text: str) -> None:
    """parse_query's shortcut for a query that is one quoted phrase gives the tree the
    lexer and parser give (strict and lenient), and leaves everything else to them."""
    assert parse_query(text) == _full_parse(text, strict=False)
    try:
        expected = _full_parse(text, strict=True)
    except QuerySyntaxError:
        with pytest.raises(QuerySyntaxError):
            parse_query(text, strict=True)
    else:
        assert parse_query(text, strict=True) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='"ab \t()^:~*\\-+শেখ', max_size=12))
def test_the_lone_phrase_shortcut_agrees_with_the_parser_on_any_text(text: str) -> None:
    assert parse_query(text) == _full_parse(text, strict=False)
