"""Bad link input: a URL-only related line, a link to itself, thousands of related lines,
duplicate headlines. Each gives a clear report (unresolved / ambiguous lists), never a
crash, never a lost article."""

from __future__ import annotations

from bnsearch.articles import Article, RelatedLink, format_page, parse_page
from bnsearch.articles.links import LinkGraph
from bnsearch.index import Index
from bnsearch.search import Searcher

TITLE = "দুদকে ১৫টি বিশেষ টাস্কফোর্স গঠন"
BODY = "প্রথম অনুচ্ছেদে ঘটনার বিবরণ দেওয়া হয়েছে।\n\nদ্বিতীয় অনুচ্ছেদে আরও তথ্য আছে।"
R1 = "উত্তরায় গ্যাস সরবরাহ বন্ধ, কারণ জানাল তিতাস"
R2 = "চতুর্থ দিনে প্রার্থিতা ফিরে পেলেন আরও ৫৩ জন"


def page(*blocks: str) -> str:
    return "\n\n".join(blocks) + "\n"


def indexed(*articles: Article) -> Index:
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add_many(articles)
    return index


def test_url_only_related_line_is_a_link_without_headline() -> None:
    url = "https://example.com/news/42"
    article = parse_page(page(TITLE, BODY, R1, url, R2), id="s")
    assert article.related == (
        RelatedLink(headline=R1),
        RelatedLink(headline="", url=url),
        RelatedLink(headline=R2),
    )
    assert parse_page(format_page(article), id="s") == article
    # nothing has that URL yet: reported by URL, the article is indexed
    index = indexed(article)
    reader = index.reader()
    assert "s" in reader
    assert (("s", url)) in reader.unresolved_links()
    # the article with that URL arrives: the link resolves by URL
    with index.writer() as writer:
        writer.add(Article(id="t", title="অন্য শিরোনাম", body="বিস্তারিত।", url=url + "/"))
    reader = index.reader()
    assert reader.out_links("s") == ["t"]
    assert all(link != ("s", url) for link in reader.unresolved_links())


def test_link_to_itself_is_ignored_not_reported_and_the_article_kept() -> None:
    own = Article(id="a", title=TITLE, body=BODY, related=[TITLE, R1])
    other = Article(id="b", title=R1, body="বিস্তারিত।")
    graph = LinkGraph.from_articles([own, other])
    assert graph.out_links("a") == ("b",)
    reader = indexed(own, other).reader()
    assert reader.doc_count == 2
    assert reader.out_links("a") == ["b"] and reader.in_links("a") == []
    assert reader.unresolved_links() == [] and reader.ambiguous_links() == []
    assert Searcher(reader).related("a")[0].id == "b"


def test_thousands_of_related_lines() -> None:
    headlines = [f"খবর নম্বর {number} প্রকাশিত" for number in range(3000)]
    article = parse_page(page(TITLE, BODY, *headlines), id="many")
    assert [link.headline for link in article.related] == headlines
    assert article.body == BODY
    targets = [
        Article(id=f"t{n}", title=headlines[n], body="বিস্তারিত।") for n in range(0, 3000, 500)
    ]
    index = indexed(article, *targets)
    reader = index.reader()
    assert reader.doc_count == 1 + len(targets)
    assert reader.out_links("many") == [target.id for target in targets]
    assert len(reader.unresolved_links()) == 3000 - len(targets)
    assert [hit.id for hit in Searcher(reader).related("many", limit=3)] == ["t0", "t500", "t1000"]
    assert reader.in_links("t0") == ["many"]


def test_duplicate_headlines_and_duplicate_titles() -> None:
    # the same headline twice on one page: one target, listed once, its anchor twice
    source = Article(id="s", title="উৎস", body=BODY, related=[R1, R1, R2])
    target = Article(id="t", title=R1, body="বিস্তারিত।")
    reader = indexed(source, target).reader()
    assert reader.out_links("s") == ["t"]
    assert reader.in_links("t") == ["s"]
    assert reader.article("t") is not None
    assert reader.unresolved_links() == [("s", R2)]
    # two articles with the same title: the headline is ambiguous, reported, not guessed
    twin = Article(id="u", title=R1, body="অন্য বিস্তারিত।")
    reader = indexed(source, target, twin).reader()
    assert reader.out_links("s") == []
    assert reader.ambiguous_links() == [("s", R1, ("t", "u")), ("s", R1, ("t", "u"))]
    assert reader.doc_count == 3
