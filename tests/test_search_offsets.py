"""An offset past the end gives an empty page with the right total (``Searcher.search``
says so), however far past: the compiled core is asked for the best ``offset + limit``
of each segment and must not reserve room for that many when a segment holds fewer."""

from __future__ import annotations

from types import ModuleType

import pytest

from bnsearch.articles import read_articles
from bnsearch.search import Searcher

from .conftest import index_of, query_path, shared_file


@pytest.fixture(scope="module")
def searcher() -> Searcher:
    belin = list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))
    return Searcher(index_of(belin[:400], belin[400:800]).reader())


@pytest.mark.parametrize("offset", [10**6, 10**12, 2**62])
@pytest.mark.parametrize("query", ["মসজিদ", "ইসলাম ধর্ম", '"পবিত্র কোরআন"'])
def test_an_offset_far_past_the_end_gives_an_empty_page(
    searcher: Searcher, query_core: ModuleType | None, offset: int, query: str
) -> None:
    with query_path(query_core):
        first = searcher.search(query, limit=10, stored=False)
        far = searcher.search(query, offset=offset, limit=10, stored=False)
    assert first.total > 10  # the query matches: an empty page would prove nothing
    assert far.hits == ()
    assert far.total == first.total and far.offset == offset
