"""A writer's link views are freed when let go, not left to the garbage collector: a
view and its key lookups hold no cycle, so a link commit's replaced view (its readers,
their tables and maps) goes when the writer takes the next one (a cycle made the
collector's older generations free some 165 objects a one-article link commit at 100k)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from test_index_link_updates import fresh_anchors, linked_article, stored_anchors

from bnsearch.articles import Article
from bnsearch.index import Index
from bnsearch.index.links import SnapshotLinks


@pytest.fixture
def no_collector() -> Iterator[None]:
    """The cyclic garbage collector off (what is freed is freed by reference counts)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_a_view_asked_by_key_is_freed_by_reference_counts(no_collector: None) -> None:
    """A view whose key lookups were asked is freed as soon as it is let go, and its
    lookups still answered while it lived."""
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(linked_article("a", "নদী খবর", "সেতু খবর"))
        writer.add(linked_article("b", "সেতু খবর"))
    reader = index.reader()
    view = SnapshotLinks(reader.segments, reader.find)
    view.by_title.prefetch(["মেঘ"])
    assert view.by_title.get("মেঘ", ()) == ()
    assert view.in_links("b") == ("a",)  # (by the title key lookup)
    gone = weakref.ref(view)
    del view
    assert gone() is None


def test_link_commits_leave_no_view_to_the_collector(no_collector: None) -> None:
    """One-article link commits (each a view, readers taken under anchor updates, their
    anchor fields deferred, merges) into published linked articles leave no view, key
    lookup or reader's deferred field for the collector, and give the anchors a fresh
    build gives."""
    index = Index.in_memory()
    titles = [f"নদী খবর {n}" for n in range(12)]
    live: dict[str, Article] = {}
    with index.writer() as writer:
        for n in range(8):
            article = linked_article(f"p{n}", titles[n], *titles[n + 1 : n + 4])
            writer.add(article)
            live[article.id] = article
    with index.writer() as writer:
        for n in range(8, 12):
            article = linked_article(f"n{n}", titles[n], *titles[n - 4 : n])
            writer.add(article)
            live[article.id] = article
            writer.commit()
        gc.collect()  # (what the set-up left, lazily made classes among it)
        gc.set_debug(gc.DEBUG_SAVEALL)  # (what the collector finds is kept to be looked at)
        try:
            for n in range(4):
                article = linked_article(f"m{n}", f"মেঘ খবর {n}", *titles[n : n + 6])
                writer.add(article)
                live[article.id] = article
                writer.commit()
                assert stored_anchors(index) == fresh_anchors(live)  # (deferred fields)
            gc.collect()
            left = [type(found).__qualname__ for found in gc.garbage]
            left += [f"{found.__qualname__}" for found in gc.garbage if callable(found)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    assert "SnapshotLinks" not in left
    assert "_LiveIds" not in left
    assert "SegmentReader._deferred.<locals>.whole" not in left
