"""Search room: filters and deletes keep exactly the docs they mark, on every scoring path.

A section filter and deleted (replaced) articles are applied while scoring: inside the
dense per-doc array of a bag of words or a boolean node, or after a single word's scores.
Whatever the path, a filtered search must return exactly the unfiltered hits that pass
the filter, with the same scores.
"""

from __future__ import annotations

import random

import pytest

from bnsearch.articles import Article
from bnsearch.index import Index
from bnsearch.search import Searcher

from .conftest import index_of

WORDS = ["মামলা", "আদালত", "বাজার", "নদী", "পাহাড়", "শহর", "সরকার", "নির্বাচন"]
SECTIONS = ["খেলা", "রাজনীতি", "অর্থনীতি"]


def _article(rng: random.Random, number: int) -> Article:
    return Article(
        id=f"a{number}",
        title=" ".join(rng.choices(WORDS, k=rng.randint(1, 4))),
        body=" ".join(rng.choices(WORDS, k=rng.randint(3, 25))),
        section=(rng.choice(SECTIONS),),
    )


@pytest.fixture(scope="module")
def index() -> Index:
    rng = random.Random(3)
    batches = [
        [_article(rng, number) for number in range(batch * 40, batch * 40 + 40)]
        # then replace ten of the articles so far: deletes
        + [_article(rng, number) for number in rng.sample(range(batch * 40 + 40), 10)]
        for batch in range(3)
    ]
    index = index_of(*batches, keep_deletes=True)
    assert sum(segment.del_count for segment in index.reader().segments) > 0
    return index


QUERIES = ["মামলা", "মামলা আদালত বাজার", "নদী OR শহর", "+সরকার নির্বাচন", '"মামলা আদালত"']


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("section", SECTIONS)
def test_filtered_hits_are_the_unfiltered_hits_that_pass(
    index: Index, query: str, section: str, flat_strategy: str
) -> None:
    searcher = Searcher(index.reader())
    everything = searcher.search(query, limit=1000)
    filtered = searcher.search(query, limit=1000, filter={"section": section})
    expected = {hit.id: hit.score for hit in everything if section in hit.fields["section"]}
    assert {hit.id: hit.score for hit in filtered} == pytest.approx(expected)
    assert filtered.total == len(expected)
    ids = [hit.id for hit in everything]
    assert len(ids) == len(set(ids)) == everything.total  # no replaced copy shows
