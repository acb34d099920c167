"""JSONL records <-> Article: the keys, their forms, their errors, the round trip."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnsearch.articles import (
    Article,
    RelatedLink,
    article_from_record,
    article_to_record,
    dumps_article,
)
from bnsearch.errors import ArticleError


def test_full_record() -> None:
    article = article_from_record(
        {
            "id": "a1",
            "title": "শিরোনাম",
            "body": "প্রথম।\n\nদ্বিতীয়।",
            "section": "হোম > জাতীয় > রাজনীতি",
            "caption": "ক্যাপশন।",
            "photo_credit": "প্রথম আলো",
            "related": [
                "অন্য খবর",
                {"headline": "লিংকসহ খবর", "url": "https://x.test/2"},
                {"headline": "আইডিসহ খবর", "target_id": "a3", "extra": 1},
                {"url": "https://x.test/4"},
            ],
            "url": "https://x.test/1",
            "published": "2024-05-01T10:30:00+06:00",
            "source": "প্রথম আলো",
            "aspect": "ignored",
        }
    )
    assert article.section == ("জাতীয়", "রাজনীতি")
    assert article.related == (
        RelatedLink(headline="অন্য খবর"),
        RelatedLink(headline="লিংকসহ খবর", url="https://x.test/2"),
        RelatedLink(headline="আইডিসহ খবর", target_id="a3"),
        RelatedLink(headline="", url="https://x.test/4"),
    )
    assert article.published == dt.datetime(
        2024, 5, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=6))
    )
    assert (article.caption, article.photo_credit, article.source, article.url) == (
        "ক্যাপশন।",
        "প্রথম আলো",
        "প্রথম আলো",
        "https://x.test/1",
    )


def test_minimal_and_corpus_shaped_records() -> None:
    # BeliN shape: section label, null date and url, extra annotation keys
    belin = article_from_record(
        {
            "id": "belin-0001",
            "title": "শিরোনাম",
            "body": "লেখা।",
            "section": "ইসলাম ধর্ম",
            "source": "প্রথম আলো",
            "date": None,
            "url": None,
            "related": [],
            "aspect": "x",
            "sentiment": "y",
        }
    )
    assert belin.section == ("ইসলাম ধর্ম",)
    assert belin.published is None and belin.url is None
    # BQA shape: no title at all
    bqa = article_from_record(
        {"id": "bqa-1", "title": None, "body": "অনুচ্ছেদ।", "section": None, "source_file": "1.txt"}
    )
    assert bqa.title == "" and bqa.section == () and bqa.source is None
    # integer id, list body, list section
    other = article_from_record({"id": 7, "body": ["এক।", "", "দুই।"], "section": ["খেলা"]})
    assert (other.id, other.body, other.section) == ("7", "এক।\n\nদুই।", ("খেলা",))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01", dt.datetime(2024, 5, 1)),
        ("2024-05-01T10:30:00Z", dt.datetime(2024, 5, 1, 10, 30, tzinfo=dt.timezone.utc)),
        ("2024-05-01 10:30", dt.datetime(2024, 5, 1, 10, 30)),
    ],
)
def test_dates(value: str, expected: dt.datetime) -> None:
    assert article_from_record({"id": "a", "title": "t", "date": value}).published == expected
    both = {"id": "a", "title": "t", "date": "1999-01-01", "published": value}
    assert article_from_record(both).published == expected


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ([1, 2], "expected a JSON object, got array"),
        ({"title": "t"}, "no 'id'"),
        ({"id": "  ", "title": "t"}, "'id' is empty"),
        ({"id": True, "title": "t"}, "'id' must be a non-empty string, got boolean"),
        ({"id": "a", "title": 5}, "'title' must be a string or null, got number"),
        ({"id": "a", "title": None, "body": "  "}, "neither a title nor a body"),
        ({"id": "a"}, "neither a title nor a body"),
        ({"id": "a", "title": "t", "body": {"x": 1}}, "'body' must be a string"),
        ({"id": "a", "title": "t", "section": 3}, "'section' must be a string"),
        ({"id": "a", "title": "t", "related": "x"}, "'related' must be a list"),
        ({"id": "a", "title": "t", "related": [3]}, r"related\[0\] must be a string or an object"),
        ({"id": "a", "title": "t", "related": [{"headline": 1}]}, r"related\[0\].headline"),
        (
            {"id": "a", "title": "t", "related": ["ok", {}]},
            r"related\[1\]: RelatedLink needs a headline",
        ),
        ({"id": "a", "title": "t", "published": "yesterday"}, "'published' is not an ISO 8601"),
        ({"id": "a", "title": "t", "date": 20240501}, "'date' must be an ISO 8601 string"),
        ({"id": "a", "title": "t", "url": ["x"]}, "'url' must be a string or null, got array"),
    ],
)
def test_bad_records_name_the_key(record: Any, message: str) -> None:
    with pytest.raises(ArticleError, match=message):
        article_from_record(record)


def test_record_round_trip_keeps_every_field() -> None:
    article = Article(
        id="a1",
        title='শিরোনাম \u200c"উদ্ধৃতি"',
        body="প্রথম।\n\nদ্বিতীয়\tট্যাব।",
        section=("জাতীয়", "রাজনীতি"),
        caption="ক্যাপশন।",
        photo_credit="প্রথম আলো",
        related=[
            RelatedLink(headline="এক"),
            RelatedLink(headline="দুই", url="https://x.test/2", target_id="b"),
        ],
        url="https://x.test/1",
        published=dt.datetime(2024, 5, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=6))),
        source="প্রথম আলো",
    )
    line = dumps_article(article)
    assert "\n" not in line
    assert "শিরোনাম" in line  # readable UTF-8, not \u escapes
    assert article_from_record(json.loads(line)) == article
    record = article_to_record(article)
    assert record["related"] == [
        "এক",
        {"headline": "দুই", "url": "https://x.test/2", "target_id": "b"},
    ]
    assert record["published"] == "2024-05-01T10:30:00+06:00"


_TEXT = st.text(
    alphabet=st.characters(codec="utf-8"),
    max_size=40,
)
_OPT = st.none() | _TEXT
_ID = _TEXT.filter(str.strip)
# JSON keeps a UTC offset, not a zone name: named zones are out of the round trip's promise
_FIXED_OFFSET = st.builds(
    dt.timezone,
    st.timedeltas(min_value=dt.timedelta(hours=-23), max_value=dt.timedelta(hours=23)),
)
_LINK = st.builds(RelatedLink, headline=_ID, url=_OPT, target_id=st.none() | _ID)
_CRUMB = _TEXT.map(str.strip).filter(
    lambda crumb: crumb and crumb.casefold() not in {"হোম", "home", "প্রচ্ছদ"}
)


@settings(max_examples=50, deadline=None)
@given(
    id=_ID,
    title=_TEXT,
    body=_TEXT,
    section=st.lists(_CRUMB, max_size=3),
    caption=_OPT,
    credit=_OPT,
    related=st.lists(_LINK, max_size=3),
    url=_OPT,
    published=st.none() | st.datetimes(timezones=st.none() | _FIXED_OFFSET),
    source=_OPT,
)
def test_record_round_trip_property(
    id: str,
    title: str,
    body: str,
    section: list[str],
    caption: str | None,
    credit: str | None,
    related: list[RelatedLink],
    url: str | None,
    published: dt.datetime | None,
    source: str | None,
) -> None:
    if not (title.strip() or body.strip()):
        body = "লেখা"
    article = Article(
        id=id,
        title=title,
        body=body,
        section=tuple(section),
        caption=caption,
        photo_credit=credit,
        related=related,
        url=url,
        published=published,
        source=source,
    )
    assert article_from_record(json.loads(dumps_article(article))) == article
