"""Search room: a filter of keyword values has its masks made once per snapshot.

:meth:`Filters.masks` keeps the masks of a mapping filter whose values are strings or
tuples of strings (a section, sections) and hands the same read-only arrays to every
search with it; they equal the masks made afresh. A date range or a list is made every
search, and a filter that is refused (a list where a date range is wanted, an unknown
field) is refused every time.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from bnsearch.articles import Article
from bnsearch.errors import SchemaError
from bnsearch.index import Index
from bnsearch.search import Searcher
from bnsearch.search.compiler import Compiler
from bnsearch.search.engine import Evaluator
from bnsearch.search.filters import Filters

from .conftest import index_of

SECTIONS = ["খেলা", "রাজনীতি", "অর্থনীতি"]


def _article(number: int) -> Article:
    return Article(
        id=f"a{number}",
        title="খবর",
        body="বন্যা নদী" if number % 2 else "বন্যা শহর",
        section=(SECTIONS[number % 3],),
        published=dt.datetime(2024, 1 + number % 12, 1),
    )


@pytest.fixture(scope="module")
def index() -> Index:
    first = [_article(n) for n in range(30)]
    replaced = [_article(n) for n in range(0, 30, 7)]  # (deletes in the first segment)
    return index_of(first, [_article(n) for n in range(30, 50)] + replaced)


FILTERS = [{"section": "খেলা"}, {"section": ("খেলা", "অর্থনীতি")}]
#: made every search: a date range (a service may move it every search), a list
MADE = [
    {"published": (dt.date(2024, 3, 1), dt.date(2024, 8, 1))},
    {"published": (dt.date(2024, 3, 1), None), "section": "রাজনীতি"},
    {"section": ["খেলা", "অর্থনীতি"]},
]


def _masks(filters: Filters, searcher: Searcher, filter_: object) -> list[np.ndarray]:
    compiler = Compiler(searcher._ctx, searcher.default_fields)
    return filters.masks(filter_, compiler, Evaluator(searcher._ctx))  # type: ignore[arg-type]


@pytest.mark.parametrize("filter_", FILTERS)
def test_a_filter_by_values_is_made_once_and_read_only(index: Index, filter_: object) -> None:
    searcher = Searcher(index.reader())
    filters = searcher._filters
    first = _masks(filters, searcher, filter_)
    again = _masks(filters, searcher, filter_)
    assert again is first  # (kept)
    fresh = _masks(Filters(index.reader()), searcher, filter_)  # (made afresh)
    assert len(first) == len(fresh) == 2
    for kept, made in zip(first, fresh, strict=True):
        np.testing.assert_array_equal(kept, made)
        assert not kept.flags.writeable
    hits = searcher.search("বন্যা", filter=filter_, limit=100, stored=False)  # type: ignore[arg-type]
    other = Searcher(index.reader()).search("বন্যা", filter=filter_, limit=100, stored=False)  # type: ignore[arg-type]
    assert hits.ids == other.ids and hits.total == other.total > 0
    assert [h.score for h in hits] == [h.score for h in other]


@pytest.mark.parametrize("filter_", MADE)
def test_a_date_range_or_a_list_is_made_every_time(index: Index, filter_: object) -> None:
    searcher = Searcher(index.reader())
    filters = searcher._filters
    first = _masks(filters, searcher, filter_)
    again = _masks(filters, searcher, filter_)
    assert again is not first
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    hits = searcher.search("বন্যা", filter=filter_, limit=100, stored=False)  # type: ignore[arg-type]
    assert hits.total > 0


def test_a_refused_filter_is_refused_every_time(index: Index) -> None:
    searcher = Searcher(index.reader())
    pair = (dt.date(2024, 3, 1), dt.date(2024, 8, 1))
    searcher.search("বন্যা", filter={"published": pair})  # (a pair: searched)
    for _ in range(2):
        with pytest.raises(ValueError):  # a list is not a (since, until) pair
            searcher.search("বন্যা", filter={"published": list(pair)})  # type: ignore[dict-item]
        with pytest.raises(SchemaError):
            searcher.search("বন্যা", filter={"no_such_field": "x"})
