"""``Searcher.related``: the page's own links first, in page order; then in-links; then
the blend. Checked on real BeliN pages (rendered with other articles' real titles as their
related headlines and read back by the page parser)."""

from __future__ import annotations

import random

import pytest

from bnsearch.articles import Article, RelatedLink, parse_page, title_key
from bnsearch.index import Index
from bnsearch.search import Searcher
from bnsearch.search.related import IN_LINK_BASE, OUT_LINK_BASE

from .conftest import shared_file
from .page_render import load_belin


def _render(record: dict[str, object], related: list[str]) -> str:
    title = " ".join(str(record["title"]).split())
    body = [" ".join(line.split()) for line in str(record["body"]).splitlines() if line.strip()]
    return "\n\n".join(["হোম > খবর", title, *body, *related]) + "\n"


Pages = tuple[Searcher, dict[str, Article], dict[str, list[str]]]


@pytest.fixture(scope="module")
def belin_pages() -> Pages:
    """300 BeliN articles parsed from rendered pages, each with 2-6 related headlines that
    are titles of other articles among them (titles whose key is unique, so each resolves)."""
    records = load_belin(shared_file("corpus/belin_religious_news.jsonl"))
    keys: dict[str, int] = {}
    for record in records:
        key = title_key(str(record["title"]))
        keys[key] = keys.get(key, 0) + 1
    chosen = [r for r in records if keys[title_key(str(r["title"]))] == 1][:300]
    rng = random.Random(7)
    articles: dict[str, Article] = {}
    targets: dict[str, list[str]] = {}
    for record in chosen:
        others = [r for r in rng.sample(chosen, 8) if r is not record][: rng.randint(2, 6)]
        titles = [" ".join(str(r["title"]).split()) for r in others]
        ident = str(record["id"])
        articles[ident] = parse_page(_render(record, titles), id=ident)
        targets[ident] = [str(r["id"]) for r in others]
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add_many(articles.values())
    return Searcher(index.reader()), articles, targets


def test_own_links_come_first_in_page_order_then_in_links(belin_pages: Pages) -> None:
    searcher, articles, targets = belin_pages
    reader = searcher.reader
    checked = with_in_links = exact = 0
    for ident in articles:
        out_links = reader.out_links(ident)
        # the parser found the page's headlines and each resolved to its article
        exact += out_links == list(dict.fromkeys(targets[ident]))
        in_links = [s for s in reader.in_links(ident) if s not in out_links]
        hits = searcher.related(ident, limit=len(out_links) + len(in_links) + 3)
        got = [hit.id for hit in hits]
        assert got[: len(out_links)] == out_links, ident
        assert set(got[len(out_links) : len(out_links) + len(in_links)]) == set(in_links)
        assert ident not in got
        scores = [hit.score for hit in hits]
        assert scores == sorted(scores, reverse=True)
        assert all(s >= OUT_LINK_BASE for s in scores[: len(out_links)])
        tail = scores[len(out_links) + len(in_links) :]
        assert all(s < IN_LINK_BASE for s in tail)
        checked += 1
        with_in_links += bool(in_links)
    assert checked == len(articles) and with_in_links > 100, with_in_links
    assert exact >= 0.99 * len(articles), exact


def test_related_without_links_is_content_only_and_unknown_id_is_a_key_error() -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(Article(id="a", title="ঢাকায় বন্যা", body="ঢাকায় বন্যা পরিস্থিতি খারাপ।"))
        writer.add(Article(id="b", title="সিলেটে বন্যা", body="সিলেটে বন্যা পরিস্থিতি খারাপ।"))
        writer.add(
            Article(
                id="c",
                title="বাজেট ঘোষণা",
                body="নতুন বাজেট ঘোষণা।",
                related=[RelatedLink(headline="ঢাকায় বন্যা")],
            )
        )
    searcher = Searcher(index.reader())
    hits = searcher.related("a")
    assert [hit.id for hit in hits][:2] == ["c", "b"]  # c links to a; b only shares words
    assert hits[0].score >= IN_LINK_BASE > hits[1].score
    with pytest.raises(KeyError, match="nope"):
        searcher.related("nope")
