"""Index room: a reader's link reports and in-link prior without a whole link graph.

``IndexReader.unresolved_links()``, ``ambiguous_links()`` and ``in_link_counts()`` read
:func:`bnsearch.index.links.link_census`: most links settled in bulk from the segments'
key maps, the rest resolved by the one rule. These tests build indexes from real BeliN
titles with every kind of link (headlines, shared titles, URLs that match and do not,
target ids live and gone, self-links, URL-only lines), over several segments with
deletions, and check the reports against the :class:`LinkGraph` built from the same
segments (the reference); also with a weak key hash that makes most keys collide, and
that no report builds a graph.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from conftest import shared_file
from page_render import load_belin

import bnsearch.index.linkmaps as linkmaps
import bnsearch.index.links as links
import bnsearch.index.reader as reader_module
from bnsearch.articles import Article, RelatedLink
from bnsearch.index import Index, MergePolicy
from bnsearch.index.reader import IndexReader, _shown
from bnsearch.search import Searcher
from bnsearch.search.scoring import BM25FParams

NO_MERGES = MergePolicy(merge_factor=1000, max_deleted_ratio=1.0)


def belin(count: int) -> list[dict[str, Any]]:
    return load_belin(shared_file("corpus/belin_religious_news.jsonl"))[:count]


def mixed_articles(records: list[dict[str, Any]], rng: random.Random) -> list[Article]:
    """Articles from real records with every kind of related link."""
    titles = [record["title"] for record in records]
    ids = [record["id"] for record in records]
    shared = titles[:5]  # given to other articles too: their links go ambiguous
    articles = []
    for number, record in enumerate(records):
        related: list[str | RelatedLink] = []
        for _ in range(rng.randrange(7)):
            kind = rng.random()
            if kind < 0.5:
                related.append(rng.choice(titles))
            elif kind < 0.6:
                related.append(
                    RelatedLink(headline="", url=f"https://news.example/{rng.choice(ids)}/")
                )
            elif kind < 0.7:
                related.append(
                    RelatedLink(headline=rng.choice(titles), url="https://gone.example/x")
                )
            elif kind < 0.8:
                related.append(RelatedLink(headline="কোনো শিরোনাম", target_id=rng.choice(ids)))
            elif kind < 0.85:
                related.append(RelatedLink(headline="", target_id="nobody"))
            elif kind < 0.9:
                related.append(record["title"])  # its own headline: a self-link
            else:
                related.append("এমন কোনো খবর নেই " + str(rng.randrange(9)))
        title = rng.choice(shared) if number % 17 == 3 else record["title"]
        url = f"https://www.news.example/{record['id']}" if number % 3 else None
        articles.append(
            Article(
                id=record["id"], title=title, body=record["body"][:200], url=url, related=related
            )
        )
    return articles


def build(articles: list[Article], rng: random.Random) -> Index:
    """Several segments, with replacements and deletions between them."""
    index = Index.in_memory()
    chunks = np.array_split(np.arange(len(articles)), 4)
    for chunk in chunks:
        with index.writer(merge_policy=NO_MERGES) as writer:
            for number in chunk.tolist():
                writer.add(articles[number])
            for _ in range(3):
                writer.delete(rng.choice(articles).id)
            replaced = rng.choice(articles)
            writer.add(Article(id=replaced.id, title=rng.choice(articles).title, body="নতুন"))
    return index


def graph_reports(reader: IndexReader) -> tuple[object, ...]:
    """The reports as the whole LinkGraph of the reader's segments gives them."""
    graph = links.graph_from_segments(reader.segments, reader.find)
    counts = [np.zeros(segment.max_doc, dtype=np.int32) for segment in reader.segments]
    for target, count in graph.in_link_counts().items():
        where = reader.find(target)
        assert where is not None
        counts[where[0]][where[1]] = count
    return (
        [(link.source, _shown(link.link)) for link in graph.unresolved()],
        [(link.source, _shown(link.link), link.candidates) for link in graph.ambiguous()],
        [array.tolist() for array in counts],
    )


def census_reports(reader: IndexReader) -> tuple[object, ...]:
    return (
        reader.unresolved_links(),
        reader.ambiguous_links(),
        [array.tolist() for array in reader.in_link_counts()],
    )


@pytest.mark.parametrize("seed", range(3))
def test_reports_equal_the_whole_graphs(seed: int) -> None:
    rng = random.Random(seed)
    index = build(mixed_articles(belin(160), rng), rng)
    reader = index.reader()
    assert len(reader.segments) >= 4
    assert any(segment.del_count for segment in reader.segments)
    resolved: list[str] = []
    rule = links.resolve_link

    def counted(source_id: str, keys: links.LinkKeys, **kwargs: Any) -> links.Resolution:
        resolved.append(source_id)
        return rule(source_id, keys, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(links, "resolve_link", counted)
        found = census_reports(reader)
    live_links = sum(int(seg.live[seg.link_src].sum()) for seg in reader.segments)
    assert len(resolved) < live_links * 0.7  # most links were settled in bulk
    unresolved, ambiguous, counts = found
    assert unresolved and ambiguous and sum(map(sum, counts)) > 50  # every kind occurs
    assert found == graph_reports(reader)


def test_colliding_key_hashes_are_settled_by_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every key that is no article's title gets the hash of one real title: the bulk
    path finds one article with that hash and must confirm the key byte for byte (or
    hand the link to the rule), else links to missing articles would resolve."""
    rng = random.Random(4)
    articles = mixed_articles(belin(120), rng)
    real = linkmaps._hash
    titles = {links.title_key(article.title) for article in articles}
    decoy = real(links.title_key(articles[40].title))
    monkeypatch.setattr(linkmaps, "_hash", lambda key: real(key) if key in titles else decoy)
    linkmaps.forget_hashes()
    try:
        index = build(articles, rng)
        reader = index.reader()
        found = census_reports(reader)
        assert len(found[0]) > 20  # the links to missing articles stay unresolved
        assert found == graph_reports(reader)
    finally:
        linkmaps.forget_hashes()


def test_equal_length_strings_are_compared_byte_for_byte() -> None:
    texts = ["ক" * 5, "খ" * 5, "abcdefgh", "abcdefgX", "Xbcdefgh", "short", "", "মাঝে-ক-বদল-আছে"]
    other = [
        "ক" * 5,
        "খ" * 4 + "ক",
        "abcdefgh",
        "abcdefgh",
        "abcdefgh",
        "shorT",
        "",
        "মাঝে-খ-বদল-আছে",
    ]

    def table(strings: list[str]) -> tuple[Any, Any]:
        data = [text.encode() for text in strings]
        offsets = np.concatenate(([0], np.cumsum([len(d) for d in data]))).astype(np.int64)
        return np.frombuffer(b"".join(data), dtype=np.uint8), offsets

    rows = np.arange(len(texts), dtype=np.int64)
    same = links._same_strings(table(texts), rows, table(other), rows)
    assert same.tolist() == [a == b for a, b in zip(texts, other, strict=True)]


def test_no_report_builds_a_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(8)
    index = build(mixed_articles(belin(100), rng), rng)
    expected = graph_reports(index.reader())

    def whole(*args: object, **kwargs: object) -> None:
        raise AssertionError("a report built the whole link graph")

    monkeypatch.setattr(reader_module, "graph_from_segments", whole)
    monkeypatch.setattr(links, "live_link_keys", whole)
    reader = index.reader()
    assert census_reports(reader) == expected
    searcher = Searcher(reader, params=BM25FParams(link_prior=1.0))
    assert searcher.search("নবী", limit=5).hits  # the in-link prior, from the census


@pytest.mark.parametrize("chunk", [1, 7, 1 << 14])
def test_live_link_keys_read_in_chunks_equal_the_per_doc_reads(chunk: int) -> None:
    rng = random.Random(6)
    index = build(mixed_articles(belin(90), rng), rng)
    segments = index.reader().segments
    expected = [
        (
            segment.article_id(doc),
            segment.title_key_of(doc),
            links.link_url_key(segment.url_of(doc)),
            links.doc_link_keys(segment, doc),
        )
        for segment in segments
        for doc in np.flatnonzero(segment.live).tolist()
    ]
    assert sum(len(row[3]) for row in expected) > 100
    assert list(links.iter_live_link_keys(segments, chunk=chunk)) == expected
    # a writer's live masks replace the segments' own
    lives = [np.zeros(segment.max_doc, np.bool_) for segment in segments]
    lives[-1][:] = True
    last = segments[-1]
    assert [row[0] for row in links.iter_live_link_keys(segments, live=lives)] == [
        last.article_id(doc) for doc in range(last.max_doc)
    ]
