"""Search room: sorting by publication date and filtering by a date range."""

from __future__ import annotations

import datetime as dt

import pytest

from bnsearch.articles import Article
from bnsearch.index import Index
from bnsearch.search import BM25FParams, Searcher

from .conftest import index_of

UTC = dt.timezone.utc
DATES = {
    "jan": dt.datetime(2024, 1, 10, 8, 0, tzinfo=UTC),
    "feb": dt.datetime(2024, 2, 1, 0, 0, tzinfo=UTC),
    "mar": dt.datetime(2024, 3, 5, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=6))),
    "undated": None,
    "may": dt.datetime(2024, 5, 20),  # naive: taken as UTC
}
BODY = {"jan": "বন্যা", "feb": "বন্যা বন্যা বন্যা", "mar": "বন্যা ত্রাণ", "undated": "বন্যা", "may": "বন্যা নদী"}


SECTION = {"jan": "খেলা", "feb": "খেলা"}


def article(ident: str) -> Article:
    section = (SECTION.get(ident, "জাতীয়"),)
    return Article(id=ident, title="খবর", body=BODY[ident], section=section, published=DATES[ident])


@pytest.fixture(scope="module", params=["one segment", "a segment each"])
def searcher(request: pytest.FixtureRequest) -> Searcher:
    articles = [article(ident) for ident in DATES]
    one = request.param == "one segment"
    index = index_of(articles) if one else index_of(*([a] for a in articles))
    assert len(index.reader().segments) == (1 if request.param == "one segment" else 5)
    return Searcher(index.reader(), params=BM25FParams(proximity=0.0))


def test_newest_first_with_undated_last(searcher: Searcher) -> None:
    assert searcher.search("বন্যা", sort="-date").ids == ["may", "mar", "feb", "jan", "undated"]


def test_oldest_first_with_undated_last(searcher: Searcher) -> None:
    assert searcher.search("বন্যা", sort="date").ids == ["jan", "feb", "mar", "may", "undated"]


def test_date_sort_pages_and_counts_like_score_sort(searcher: Searcher) -> None:
    by_date = searcher.search("বন্যা", sort="-date", limit=2, offset=1)
    assert by_date.ids == ["mar", "feb"]
    assert by_date.total == searcher.search("বন্যা").total == 5


def test_range_includes_since_and_excludes_until(searcher: Searcher) -> None:
    found = searcher.search(
        "বন্যা", filter={"published": (dt.date(2024, 2, 1), dt.date(2024, 5, 20))}
    )
    # mar is 2024-03-05 17:30 UTC; may is exactly the (excluded) until
    assert sorted(found.ids) == ["feb", "mar"]


def test_open_ends_and_time_zones(searcher: Searcher) -> None:
    since = dt.datetime(2024, 3, 5, 17, 30, tzinfo=UTC)  # mar's instant, in UTC
    assert sorted(searcher.search("বন্যা", filter={"published": (since, None)}).ids) == [
        "mar",
        "may",
    ]
    assert searcher.search("বন্যা", filter={"published": (None, dt.date(2024, 1, 11))}).ids == ["jan"]


def test_range_combines_with_other_filters(searcher: Searcher) -> None:
    found = searcher.search(
        "বন্যা", filter={"published": (dt.date(2024, 1, 15), None), "section": "খেলা"}
    )
    assert found.ids == ["feb"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-01-01", "pair"),
        ((dt.date(2024, 1, 1),), "pair"),
        (("2024-01-01", None), "since must be a date"),
        ((None, 5), "until must be a date"),
    ],
)
def test_bad_ranges_say_what_is_wrong(searcher: Searcher, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        searcher.search("বন্যা", filter={"published": value})  # type: ignore[dict-item]


def test_unknown_sort_is_rejected(searcher: Searcher) -> None:
    with pytest.raises(ValueError, match="sort must be one of"):
        searcher.search("বন্যা", sort="newest")


def test_without_dates_a_date_sort_keeps_score_order() -> None:
    """Every key ties (no article has a date): the page is the best by score."""
    index = Index.in_memory()
    with index.writer() as writer:
        for number in range(30):
            body = " ".join(["বন্যা"] * (1 + number % 7) + ["নদী"] * (number % 3))
            writer.add(Article(id=f"a{number:02d}", title="খবর", body=body))
    plain = Searcher(index.reader(), params=BM25FParams(proximity=0.0, exact_forms=0.0))
    by_score = plain.search("বন্যা নদী", limit=7)
    for sort in ("date", "-date"):
        page = plain.search("বন্যা নদী", limit=7, sort=sort)
        assert [h.score for h in page] == [h.score for h in by_score]
        assert page.total == by_score.total == 30
