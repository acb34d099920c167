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
        writer.add(source("s2", RelatedLink(headline="অন্য কিছু"),
                          RelatedLink(headline="পদ্মা সেতুতে যান চলাচল শুরু")))
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


def test_anchor_order_does_not_depend_on_insertion_order() -> None:
    sources = [source(f"s{n}", RelatedLink(headline=f"পদ্মা সেতুতে যান চলাচল শুরু {'!' * n}"))
               for n in range(3)]
    results = []
    for ordering in (sources, sources[::-1]):
        index = Index.in_memory()
        with index.writer() as writer:
            writer.add(TARGET)
        for article in ordering:
            with index.writer() as writer:
                writer.add(article)
        results.append(anchors_of(index.reader(), "t"))
    assert results[0] == results[1] and len(results[0]) == 3
