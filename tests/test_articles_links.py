"""Related-headline links: title and URL keys, resolution rules, the incremental graph."""

from __future__ import annotations

import itertools

import pytest

from bnsearch.articles import Article, RelatedLink
from bnsearch.articles.links import LinkGraph, LinkStatus, title_key, url_key


def art(id: str, title: str, *related: str | RelatedLink, url: str | None = None) -> Article:
    return Article(id=id, title=title, body="শরীর।", related=list(related), url=url)


# ------------------------------------------------------------------ title_key


def test_title_key_ignores_encoding_invisibles_spacing_and_digits() -> None:
    canonical = "২০২৫ সালে সড়ক দুর্ঘটনায় প্রাণ গেছে ১০০৮ শিশুর"
    # ড় as one code point (U+09DC) instead of ড + nukta, a ZWNJ inside a word,
    # doubled spaces, ASCII digits
    variant = "2025  সালে স\u09dcক দুর্ঘ\u200cটনায় প্রাণ গেছে 1008 শিশুর"
    assert title_key(canonical) == title_key(variant)


def test_title_key_ignores_punctuation_but_keeps_numbers() -> None:
    assert title_key("ইউনূস-টুর্ক ফোনালাপ: আশ্বাস") == title_key("ইউনূস টুর্ক ফোনালাপ আশ্বাস")
    assert title_key("‘ষড়যন্ত্র’ নিয়ে বিতর্ক।") == title_key("'ষড়যন্ত্র' নিয়ে বিতর্ক")
    assert title_key("প্রবৃদ্ধি ৬.৫ শতাংশ") != title_key("প্রবৃদ্ধি ৬ ৫ শতাংশ")
    assert title_key("প্রবৃদ্ধি ৬.৫ শতাংশ") == title_key("প্রবৃদ্ধি 6.5 শতাংশ")
    assert title_key("Dhaka Tribune") == title_key("DHAKA tribune")


def test_title_key_distinguishes_different_words() -> None:
    assert title_key("বাজেট ঘোষণা") != title_key("বাজেট পাস")
    assert title_key(" ... ") == ""


def test_url_key() -> None:
    assert url_key("https://www.Example.com/a/b/#top") == url_key("http://example.com/a/b")
    assert url_key("https://example.com/a?id=1") != url_key("https://example.com/a?id=2")
    assert url_key("https://example.com/a") != url_key("https://example.com/b")


# ------------------------------------------------------------------ resolution rules


def test_link_resolves_by_title_when_target_arrives_later() -> None:
    graph = LinkGraph()
    graph.add(art("a", "প্রথম খবর", "উত্তরায় গ্যাস সরবরাহ বন্ধ"))
    assert graph.out_links("a") == ()
    (pending,) = graph.unresolved()
    assert (pending.source, pending.index, pending.status) == ("a", 0, LinkStatus.UNRESOLVED)

    graph.add(art("b", "উত্তরায় গ্যাস সরবরাহ বন্ধ।"))
    assert graph.out_links("a") == ("b",)
    assert graph.in_links("b") == ("a",)
    assert graph.unresolved() == ()
    (edge,) = graph.out_edges("a")
    assert (edge.target, edge.rule, edge.headline) == ("b", "title", "উত্তরায় গ্যাস সরবরাহ বন্ধ")


def test_order_of_arrival_does_not_matter() -> None:
    articles = [
        art("a", "এক খবর", "দুই খবর", "তিন খবর"),
        art("b", "দুই খবর", "এক খবর"),
        art("c", "তিন খবর", "এক খবর", "চার খবর"),
    ]
    results = set()
    for order in itertools.permutations(articles):
        graph = LinkGraph.from_articles(order)
        results.add(
            (
                tuple(graph.out_links(x) for x in "abc"),
                tuple(graph.in_links(x) for x in "abc"),
                tuple(sorted(graph.in_link_counts().items())),
                tuple((p.source, p.index) for p in graph.unresolved()),
            )
        )
    assert results == {
        (
            (("b", "c"), ("a",), ("a",)),
            (("b", "c"), ("a",), ("a",)),
            (("a", 2), ("b", 1), ("c", 1)),
            (("c", 1),),
        )
    }


def test_explicit_target_id_wins_over_url_and_title() -> None:
    link = RelatedLink(headline="তিন খবর", url="https://x.test/b", target_id="d")
    graph = LinkGraph.from_articles(
        [
            art("a", "এক", link),
            art("b", "দুই", url="https://x.test/b"),
            art("c", "তিন খবর"),
        ]
    )
    # d is absent: the URL rule decides
    assert graph.resolution("a", 0).target == "b"
    assert graph.resolution("a", 0).rule == "url"
    graph.add(art("d", "চার"))
    assert graph.resolution("a", 0).target == "d"
    assert graph.resolution("a", 0).rule == "target_id"
    graph.remove("d")
    graph.remove("b")
    # neither id nor URL found: falls back to the headline
    assert graph.resolution("a", 0).target == "c"
    assert graph.resolution("a", 0).rule == "title"


def test_same_title_twice_is_ambiguous_not_guessed() -> None:
    graph = LinkGraph.from_articles([art("a", "এক", "দুই খবর"), art("b", "দুই খবর")])
    assert graph.out_links("a") == ("b",)
    graph.add(art("c", "দুই  খবর"))
    assert graph.out_links("a") == ()
    assert graph.in_links("b") == ()
    (pending,) = graph.ambiguous()
    assert pending.candidates == ("b", "c")
    assert pending.link.headline == "দুই খবর"
    graph.remove("c")
    assert graph.ambiguous() == ()
    assert graph.out_links("a") == ("b",)


def test_link_to_itself_is_ignored() -> None:
    graph = LinkGraph.from_articles([art("a", "এক খবর", "এক খবর")])
    assert graph.out_links("a") == ()
    assert graph.unresolved() == ()
    assert graph.ambiguous() == ()
    assert graph.resolution("a", 0).status is LinkStatus.SELF
    # a second article with that title is then the only candidate
    graph.add(art("b", "এক খবর"))
    assert graph.out_links("a") == ("b",)
    # an explicit target_id naming the source is a self-link, whatever the headline says
    graph.add(art("c", "তিন", RelatedLink(headline="এক খবর", target_id="c")))
    assert graph.resolution("c", 0).status is LinkStatus.SELF
    assert graph.out_links("c") == ()


def test_replacing_an_article_updates_both_directions() -> None:
    graph = LinkGraph.from_articles(
        [art("a", "এক", "দুই"), art("b", "দুই", "এক"), art("c", "তিন", "দুই")]
    )
    assert graph.in_link_counts() == {"a": 1, "b": 2}
    graph.add(art("b", "নতুন শিরোনাম"))  # same id, new title, no links
    assert len(graph) == 3
    assert graph.out_links("b") == ()
    assert graph.in_link_counts() == {}
    assert [(p.source, p.index) for p in graph.unresolved()] == [("a", 0), ("c", 0)]


def test_remove_keeps_incoming_links_as_unresolved() -> None:
    graph = LinkGraph.from_articles([art("a", "এক", "দুই"), art("b", "দুই")])
    assert graph.remove("b") is True
    assert graph.remove("b") is False
    assert "b" not in graph
    assert [(p.source, p.link.headline) for p in graph.unresolved()] == [("a", "দুই")]
    with pytest.raises(KeyError, match="'b'"):
        graph.in_links("b")


def test_counts_distinct_sources_and_duplicate_headlines() -> None:
    graph = LinkGraph.from_articles(
        [art("a", "এক", "দুই", "দুই।"), art("b", "দুই"), art("c", "তিন", "দুই")]
    )
    assert graph.out_links("a") == ("b",)
    assert len(graph.out_edges("a")) == 2
    assert graph.in_link_count("b") == 2
    assert graph.in_link_count("a") == 0
    assert [(e.source, e.index) for e in graph.in_edges("b")] == [("a", 0), ("a", 1), ("c", 0)]
    assert sorted((e.source, e.target) for e in graph.edges()) == [
        ("a", "b"),
        ("a", "b"),
        ("c", "b"),
    ]


def test_with_targets_fills_target_ids() -> None:
    graph = LinkGraph.from_articles([art("b", "দুই"), art("c", "তিন"), art("d", "তিন")])
    source = art("a", "এক", "দুই", "তিন", "চার")
    filled = graph.with_targets(source)
    assert [link.target_id for link in filled.related] == ["b", None, None]
    assert filled.id == source.id and filled.title == source.title


def test_a_builds_link_keys_compute_each_titles_key_once() -> None:
    """70,000 articles each linking to three others by title, then every title again (a
    builder's pass): each distinct headline's key is computed once (a cache smaller than
    the titles computed the linked ones again)."""
    from bnsearch.articles.links import article_keys

    count = 70_000
    titles = [f"শিরোনাম নম্বর {i}: খবর" for i in range(count)]
    title_key.cache_clear()
    for i, title in enumerate(titles):
        related = [
            RelatedLink(headline=titles[(i * 7919 + k * 104_729) % count]) for k in (1, 2, 3)
        ]
        article_keys(Article(id=str(i), title=title, body="খবর", related=related))
    for title in titles:
        title_key(title)
    assert title_key.cache_info().misses == count


def test_link_keys_of_headline_only_links_are_remembered_within_their_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A link with a headline only has its keys remembered by headline (a bounded table
    that starts over): each link's keys are its headline's title key with no URL or id,
    whether remembered, looked up again, or taken after the table started over; a link
    with a URL or a target id is never served from the table."""
    import bnsearch.articles.links as links_module

    monkeypatch.setattr(links_module, "HEADLINE_KEYS_REMEMBERED", 3)
    monkeypatch.setattr(links_module, "_headline_keys", {})
    headlines = ["ঢাকায় বৃষ্টি!", "ঢাকায়  বৃষ্টি", "নদী: ভাঙন", "সেতু", "খবর ১"]
    for headline in headlines * 3:
        assert links_module.link_keys(RelatedLink(headline=headline)) == (
            title_key(headline),
            "",
            "",
        )
        assert len(links_module._headline_keys) <= 3
    url = "https://www.news.example/a/"
    with_url = RelatedLink(headline="সেতু", url=url)
    assert links_module.link_keys(with_url) == (title_key("সেতু"), url_key(url), "")
    with_id = RelatedLink(headline="সেতু", target_id="a1")
    assert links_module.link_keys(with_id) == (title_key("সেতু"), "", "a1")
