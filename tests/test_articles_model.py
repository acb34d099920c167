"""Article and RelatedLink: conversion and validation with clear errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest

from bnsearch.articles import Article, RelatedLink
from bnsearch.errors import ArticleError, BnSearchError


def test_section_forms_drop_the_home_crumb() -> None:
    assert Article(id="a", title="t", section="হোম > জাতীয়").section == ("জাতীয়",)
    assert Article(id="a", title="t", section=" Home >  খেলা > ক্রিকেট ").section == (
        "খেলা",
        "ক্রিকেট",
    )
    assert Article(id="a", title="t", section=["প্রচ্ছদ", "অর্থনীতি"]).section == ("অর্থনীতি",)
    assert Article(id="a", title="t", section="ইসলাম ধর্ম").section == ("ইসলাম ধর্ম",)
    # only a leading home crumb goes
    assert Article(id="a", title="t", section="জাতীয় > হোম").section == ("জাতীয়", "হোম")
    assert Article(id="a", title="t", section=None).section == ()


def test_related_accepts_strings_and_links() -> None:
    article = Article(id="a", title="t", related=["এক", RelatedLink(headline="দুই", url="u")])
    assert article.related == (RelatedLink(headline="এক"), RelatedLink(headline="দুই", url="u"))


def test_values_are_frozen() -> None:
    article = Article(id="a", title="t")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        article.title = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"id": "", "title": "t"}, "id must not be empty"),
        ({"id": "   ", "title": "t"}, "id must not be empty"),
        ({"id": 5, "title": "t"}, "id must be str, got int"),
        ({"id": "a", "title": None}, "title must be str, got NoneType"),
        ({"id": "a", "title": "t", "body": b"x"}, "body must be str, got bytes"),
        ({"id": "a", "title": "t", "caption": 1}, "caption must be str"),
        ({"id": "a", "title": "t", "section": 3}, "section must be str or a list"),
        ({"id": "a", "title": "t", "section": ["x", 1]}, "section parts must be str"),
        ({"id": "a", "title": "t", "related": "x"}, "related must be a list"),
        ({"id": "a", "title": "t", "related": [1]}, "related items must be RelatedLink or str"),
        ({"id": "a", "title": "t", "published": "2024-01-01"}, "published must be a datetime"),
    ],
)
def test_article_validation(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ArticleError, match=message) as caught:
        Article(**fields)
    assert isinstance(caught.value, BnSearchError)


def test_related_link_validation() -> None:
    assert RelatedLink(headline="", url="https://x.test").url == "https://x.test"
    assert RelatedLink(headline="", target_id="b").target_id == "b"
    with pytest.raises(ArticleError, match="needs a headline, a url or a target_id"):
        RelatedLink(headline="  ")
    with pytest.raises(ArticleError, match="target_id must not be blank"):
        RelatedLink(headline="h", target_id=" ")
    with pytest.raises(ArticleError, match="headline must be str"):
        RelatedLink(headline=None)  # type: ignore[arg-type]


def test_published_accepts_aware_and_naive_datetimes() -> None:
    aware = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    assert Article(id="a", title="t", published=aware).published == aware
    assert Article(id="a", title="t", published=dt.datetime(2024, 1, 1)).published is not None
