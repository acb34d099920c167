"""Index room: related-headline links feed anchors, in-links and out-links."""

from __future__ import annotations

import pytest

from bnsearch.analysis import default_analyzer
from bnsearch.articles import Article, RelatedLink
from bnsearch.index import Index, IndexReader

TARGET = Article(id="t", title="পদ্মা সেতুতে যান চলাচল শুরু", body="সেতু খুলে দেওয়া হয়েছে")
OTHER = Article(id="o", title="বাজারে চালের দাম বেড়েছে", body="চাল কিনতে ভিড়")


def source(ident: str, *links: RelatedLink) -> Article:
    return Article(id=ident, title=f"খবর {ident}", body="বিস্তারিত", related=links)


def anchor_docs(reader: IndexReader, term: str) -> set[str]:
    found: set[str] = set()
    for segment in reader.segments:
        postings = segment.postings("anchors", term)
        if postings is not None:
            found |= {segment.article_id(d) for d in postings[0].tolist() if segment.live[d]}
    return found


def anchors_of(reader: IndexReader, ident: str) -> list[str]:
    where = reader.find(ident)
    assert where is not None
    return list(reader.stored(*where)["anchors"])


# a related headline spelled differently from the title (punctuation, spacing)
HEADLINE = "পদ্মা সেতুতে  যান চলাচল শুরু:"
HEADLINE_TERM = default_analyzer().terms("সেতুতে")[0]


@pytest.mark.parametrize("order", ["source-first", "target-first", "same-batch"])
def test_anchor_reaches_target_whatever_the_order(order: str) -> None:
    index = Index.in_memory()
    src = source("s1", RelatedLink(headline=HEADLINE))
    if order == "same-batch":
        with index.writer() as writer:
            writer.add(src)
            writer.add(TARGET)
    else:
        first, second = (src, TARGET) if order == "source-first" else (TARGET, src)
        with index.writer() as writer:
            writer.add(first)
            writer.add(OTHER)
        with index.writer() as writer:
            writer.add(second)
    reader = index.reader()
    assert anchors_of(reader, "t") == [HEADLINE]
    assert anchor_docs(reader, HEADLINE_TERM) == {"t"}
    assert reader.out_links("s1") == ["t"]
    assert reader.in_links("t") == ["s1"]
    assert reader.in_link_count("t") == 1 and reader.in_link_count("o") == 0
    counts = reader.in_link_counts()
    where = reader.find("t")
    assert where is not None and counts[where[0]][where[1]] == 1
    assert sum(int(c.sum()) for c in counts) == 1
    # the source indexes its own related headline in related_headlines
    assert reader.doc_freq("related_headlines", HEADLINE_TERM) == 1


def test_anchor_follows_deletes_and_replacements() -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(TARGET)
        writer.add(source("s1", RelatedLink(headline=HEADLINE)))
        writer.add(
            source(
                "s2", RelatedLink(headline="অন্য কিছু"), RelatedLink(headline="পদ্মা সেতুতে যান চলাচল শুরু")
            )
        )
    reader = index.reader()
    assert anchors_of(reader, "t") == [HEADLINE, "পদ্মা সেতুতে যান চলাচল শুরু"]
    assert sorted(reader.in_links("t")) == ["s1", "s2"]
    with index.writer() as writer:
        writer.delete("s1")
    reader = index.reader()
    assert anchors_of(reader, "t") == ["পদ্মা সেতুতে যান চলাচল শুরু"]
    with index.writer() as writer:
        writer.add(source("s2"))  # replaced without links
    reader = index.reader()
    assert anchors_of(reader, "t") == []
    assert anchor_docs(reader, HEADLINE_TERM) == set()
    assert reader.in_link_count("t") == 0
    # the target itself was rewritten, not duplicated
    assert reader.doc_count == 2


def test_commit_reports_reindexed_targets() -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(TARGET)
    writer = index.writer()
    writer.add(source("s1", RelatedLink(headline=HEADLINE)))
    result = writer.commit()
    writer.close()
    assert (result.added, result.replaced, result.reindexed) == (1, 0, 1)
    assert index.reader().doc_count == 2


def test_links_by_url_and_by_target_id_and_no_self_links() -> None:
    index = Index.in_memory()
    target = Article(id="t", title="শিরোনাম এক", url="https://example.com/t")
    with index.writer() as writer:
        writer.add(target)
        writer.add(OTHER)
        writer.add(source("by-url", RelatedLink(headline="অচেনা লেখা", url="https://example.com/t")))
        writer.add(source("by-id", RelatedLink(headline="বাজারের খবর", target_id="o")))
        writer.add(source("self", RelatedLink(headline="খবর self")))
        writer.add(source("dangling", RelatedLink(headline="কেউ নেই", target_id="missing")))
    reader = index.reader()
    assert anchors_of(reader, "t") == ["অচেনা লেখা"]
    assert anchors_of(reader, "o") == ["বাজারের খবর"]
    assert reader.out_links("self") == [] and reader.out_links("dangling") == []
    assert reader.in_links("self") == []
    # the dangling link resolves when its target arrives
    with index.writer() as writer:
        writer.add(Article(id="missing", title="এখন আছে"))
    reader = index.reader()
    assert anchors_of(reader, "missing") == ["কেউ নেই"]
    assert reader.in_links("missing") == ["dangling"]


def _anchor_scores(index: Index) -> dict[str, float]:
    hits = index.searcher().search('"যান চলাচল" সেতুতে', limit=10, fields=["anchors"])
    return {hit.id: hit.score for hit in hits}


def test_anchors_are_the_same_headlines_whatever_the_insertion_order() -> None:
    """A commit of new linkers appends their headlines (the anchor order rule,
    ``anchorfile.same_anchors``): the order follows arrival, the headlines and the scores
    do not depend on it; a target whose anchors are worked out again (a linker deleted)
    lists them by linking article id."""
    headlines = [f"পদ্মা সেতুতে যান চলাচল শুরু {'!' * n}" for n in range(3)]
    sources = [source(f"s{n}", RelatedLink(headline=h)) for n, h in enumerate(headlines)]
    fresh = Index.in_memory()
    with fresh.writer() as writer:
        writer.add_many([TARGET, *sources])
    assert anchors_of(fresh.reader(), "t") == headlines  # one batch: by linking id
    want = _anchor_scores(fresh)
    assert want
    for ordering in (sources, sources[::-1]):
        index = Index.in_memory()
        with index.writer() as writer:
            writer.add(TARGET)
        for article in ordering:
            with index.writer() as writer:
                writer.add(article)
        arrived = [article.related[0].headline for article in ordering]
        assert anchors_of(index.reader(), "t") == arrived
        assert _anchor_scores(index) == pytest.approx(want, rel=1e-9)
        with index.writer() as writer:  # a linker goes: the rest are listed by id
            writer.delete("s1")
        assert anchors_of(index.reader(), "t") == [headlines[0], headlines[2]]


# -- the resolution rule of bnsearch.articles.links, applied by the index ----------------

TWIN_A = Article(id="a1", title="ঢাকায় ভারী বৃষ্টি", body="জলাবদ্ধতা")
TWIN_B = Article(id="a2", title="ঢাকায় ভারী বৃষ্টি!", body="আবার জলাবদ্ধতা")
TWIN_HEADLINE = "ঢাকায় ভারী বৃষ্টি"


def test_ambiguous_headline_gets_no_edge_and_no_anchor() -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(TWIN_A)
        writer.add(TWIN_B)
        writer.add(source("s", RelatedLink(headline=TWIN_HEADLINE)))
    reader = index.reader()
    assert reader.out_links("s") == []
    assert reader.in_link_count("a1") == 0 and reader.in_link_count("a2") == 0
    assert anchors_of(reader, "a1") == [] and anchors_of(reader, "a2") == []
    assert reader.ambiguous_links() == [("s", TWIN_HEADLINE, ("a1", "a2"))]
    assert reader.unresolved_links() == []


def test_second_match_arriving_later_removes_the_edge_and_deleting_it_restores() -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(TWIN_A)
        writer.add(source("s", RelatedLink(headline=TWIN_HEADLINE)))
    reader = index.reader()
    assert anchors_of(reader, "a1") == [TWIN_HEADLINE] and reader.in_links("a1") == ["s"]
    with index.writer() as writer:
        writer.add(TWIN_B)  # the headline is now ambiguous: the old anchor must go
    reader = index.reader()
    assert anchors_of(reader, "a1") == [] and anchors_of(reader, "a2") == []
    assert reader.out_links("s") == []
    assert [entry[0] for entry in reader.ambiguous_links()] == ["s"]
    with index.writer() as writer:
        writer.delete("a1")
    reader = index.reader()
    assert anchors_of(reader, "a2") == [TWIN_HEADLINE] and reader.out_links("s") == ["a2"]
    assert reader.ambiguous_links() == []


def test_missing_target_id_falls_through_to_the_headline() -> None:
    index = Index.in_memory()
    link = RelatedLink(headline=HEADLINE, target_id="gone")
    with index.writer() as writer:
        writer.add(TARGET)
        writer.add(source("s", link))
    reader = index.reader()
    assert reader.out_links("s") == ["t"] and anchors_of(reader, "t") == [HEADLINE]
    # when the named article arrives, the target id decides and the headline match goes
    with index.writer() as writer:
        writer.add(Article(id="gone", title="অন্য শিরোনাম"))
    reader = index.reader()
    assert reader.out_links("s") == ["gone"]
    assert anchors_of(reader, "gone") == [HEADLINE] and anchors_of(reader, "t") == []
    assert reader.in_links("t") == []


def test_live_target_id_decides_even_if_the_headline_matches_another() -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(TARGET)
        writer.add(OTHER)
        writer.add(source("s", RelatedLink(headline=HEADLINE, target_id="o")))
    reader = index.reader()
    assert reader.out_links("s") == ["o"]
    assert anchors_of(reader, "o") == [HEADLINE] and anchors_of(reader, "t") == []


@pytest.mark.parametrize(
    ("article_url", "link_url"),
    [
        ("https://www.example.com/news/1/", "http://example.com/news/1"),
        ("http://example.com/news/1", "https://WWW.Example.com/news/1/#top"),
    ],
)
def test_urls_differing_in_scheme_www_and_slash_resolve(article_url: str, link_url: str) -> None:
    index = Index.in_memory()
    target = Article(id="u", title="শিরোনাম এক", url=article_url)
    with index.writer() as writer:
        writer.add(target)
        writer.add(source("s", RelatedLink(headline="অচেনা লেখা", url=link_url)))
    reader = index.reader()
    assert reader.out_links("s") == ["u"] and anchors_of(reader, "u") == ["অচেনা লেখা"]


def test_url_decides_before_the_headline() -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(Article(id="u", title="শিরোনাম এক", url="https://example.com/u"))
        writer.add(TARGET)
        writer.add(source("s", RelatedLink(headline=HEADLINE, url="http://example.com/u/")))
    reader = index.reader()
    assert reader.out_links("s") == ["u"]
    assert anchors_of(reader, "u") == [HEADLINE] and anchors_of(reader, "t") == []


def test_self_match_is_ignored_and_not_reported() -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(source("s", RelatedLink(headline="খবর s")))
        writer.add(source("x", RelatedLink(headline="কেউ নেই")))
    reader = index.reader()
    assert reader.out_links("s") == [] and anchors_of(reader, "s") == []
    assert reader.unresolved_links() == [("x", "কেউ নেই")]
    assert reader.ambiguous_links() == []


def _state(index: Index) -> tuple[dict[str, list[str]], dict[str, list[str]], list[object]]:
    reader = index.reader()
    ids = sorted(reader.article_ids())
    return (
        {ident: anchors_of(reader, ident) for ident in ids},
        {ident: reader.out_links(ident) for ident in ids},
        [reader.unresolved_links(), reader.ambiguous_links()],
    )


@pytest.mark.parametrize("commits", ["one", "each"])
def test_arrival_order_does_not_matter(commits: str) -> None:
    articles = [
        TWIN_A,
        TARGET,
        source("s1", RelatedLink(headline=HEADLINE)),
        source("s2", RelatedLink(headline=TWIN_HEADLINE), RelatedLink(headline="নেই")),
        TWIN_B,
        source(
            "s3",
            RelatedLink(headline="x", target_id="t"),
            RelatedLink(headline=HEADLINE, url="https://example.com/u/"),
        ),
        Article(id="u", title="শিরোনাম", url="http://www.example.com/u"),
    ]
    states = []
    for ordering in (articles, articles[::-1]):
        index = Index.in_memory()
        if commits == "one":
            with index.writer() as writer:
                writer.add_many(ordering)
        else:
            for article in ordering:
                with index.writer() as writer:
                    writer.add(article)
        states.append(_state(index))
    assert states[0] == states[1]
    anchors, out, (unresolved, ambiguous) = states[0]
    assert anchors["t"] == [HEADLINE, "x"]
    assert anchors["u"] == [HEADLINE]
    assert out["s3"] == ["t", "u"]
    assert unresolved == [("s2", "নেই")]
    assert ambiguous == [("s2", TWIN_HEADLINE, ("a1", "a2"))]


def _demo_articles() -> list[Article]:
    from bnsearch import read_articles
    from bnsearch.articles import demo_corpus_path

    return list(read_articles(demo_corpus_path()))


@pytest.mark.parametrize("commits", [1, 3])
def test_index_edges_equal_the_link_graph_on_the_demo_corpus(commits: int) -> None:
    from bnsearch.articles.links import LinkGraph

    articles = _demo_articles()
    graph = LinkGraph.from_articles(articles)
    assert len(list(graph.edges())) > 0
    index = Index.in_memory()
    ordering = articles[::-1] if commits > 1 else articles
    for part in range(commits):
        with index.writer() as writer:
            writer.add_many(ordering[part::commits])
    reader = index.reader()
    resolved = reader.link_graph()
    index_edges = {(edge.source, edge.index, edge.target) for edge in resolved.edges()}
    assert index_edges == {(e.source, e.index, e.target) for e in graph.edges()}
    for article in articles:
        assert reader.out_links(article.id) == list(graph.out_links(article.id))
        assert reader.in_links(article.id) == list(graph.in_links(article.id))
        assert reader.in_link_count(article.id) == graph.in_link_count(article.id)
        want = sorted(e.headline for e in graph.in_edges(article.id))  # a multiset
        assert sorted(anchors_of(reader, article.id)) == want
    assert reader.unresolved_links() == [(p.source, p.link.headline) for p in graph.unresolved()]
    assert reader.ambiguous_links() == [
        (p.source, p.link.headline, p.candidates) for p in graph.ambiguous()
    ]


def test_merging_segments_keeps_the_resolved_links() -> None:
    index = Index.in_memory()
    for article in (
        TWIN_A,
        source("s", RelatedLink(headline=TWIN_HEADLINE)),
        TARGET,
        source("s1", RelatedLink(headline=HEADLINE, target_id="gone")),
    ):
        with index.writer() as writer:
            writer.add(article)
    before = _state(index)
    assert len(index.reader().segments) > 1
    with index.writer() as writer:
        writer.optimize()
    assert len(index.reader().segments) == 1
    assert _state(index) == before
    assert before[1]["s"] == ["a1"] and before[1]["s1"] == ["t"]


def test_upserts_and_deletes_inside_one_batch_leave_the_state_of_a_fresh_build() -> None:
    # the writer queues added articles' link keys for one bulk graph update: an upsert of a
    # queued article and a delete in the same batch must still come out as a fresh build
    import attrs

    articles = _demo_articles()
    linked = [a for a in articles if a.related]
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add_many(articles[: len(articles) // 2])
    final = {a.id: a for a in articles}
    with index.writer() as writer:
        for article in articles[len(articles) // 2 :]:
            writer.add(article)
        for article in linked[::3]:  # upserts: their first related headline dropped
            changed = attrs.evolve(article, related=article.related[1:])
            writer.add(changed)
            final[article.id] = changed
        for article in linked[1::5]:  # deletes, some of them targets of others' links
            writer.delete(article.id)
            final.pop(article.id, None)
        writer.add(linked[1])  # and one deleted article back
        final[linked[1].id] = linked[1]
    fresh = Index.in_memory()
    with fresh.writer() as writer:
        writer.add_many(sorted(final.values(), key=lambda a: a.id))
    assert _state(index) == _state(fresh)
    assert any(_state(fresh)[0].values()), "the demo corpus gives some article anchors"
