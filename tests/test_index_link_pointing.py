"""A commit's pointing edges handed to its view (``SnapshotLinks.note_pointing``): the
flush's in-links of the batch's articles skip only the segments where no live link
names them, and give what a view without the note gives."""

from __future__ import annotations

import random
from typing import Any

import pytest
from test_index_link_updates import fresh_anchors, linked_article, stored_anchors

from bnsearch.articles import Article
from bnsearch.index import Index, MergePolicy
from bnsearch.index.links import SnapshotLinks
from bnsearch.index.writer import IndexWriter

_WORDS = ["নদী", "সেতু", "বৃষ্টি", "মেঘ", "খবর", "ঢাকা", "ধান", "হাওর"]


def _unnoted(view: SnapshotLinks) -> SnapshotLinks:
    """A view of the same state without the note."""
    return SnapshotLinks(
        view.segments, view._find, live=view.live, unstored=dict(view.unstored.articles)
    )


@pytest.fixture
def views(monkeypatch: pytest.MonkeyPatch) -> list[tuple[SnapshotLinks, list[str], int]]:
    """Every view the pointing edges were noted on, with the batch's article ids (its
    unstored articles then) and how many of them have the in-links an unnoted view
    gives, compared there and then (the state is the writer's until it moves on)."""
    seen: list[tuple[SnapshotLinks, list[str], int]] = []
    noted = IndexWriter._pointing_edges

    def recording(self: IndexWriter, view: SnapshotLinks) -> Any:
        found = noted(self, view)
        batch = list(view.unstored.articles)
        copy = _unnoted(view)
        copy.note_pointing(set(self._changed_keys), found)
        plain = _unnoted(view)
        same = sum(copy.incoming_refs(ident) == plain.incoming_refs(ident) for ident in batch)
        seen.append((view, batch, same))
        return found

    monkeypatch.setattr(IndexWriter, "_pointing_edges", recording)
    return seen


@pytest.mark.parametrize("seed", range(6))
def test_noted_views_give_the_in_links_of_a_view_without_the_note(
    seed: int, views: list[tuple[SnapshotLinks, list[str], int]]
) -> None:
    """Random one- and two-article commits (some naming published titles, some named
    by published links before they arrive, some upserts and deletes): every noted
    view's in-links of the batch's articles equal an unnoted view's, the anchors equal
    a fresh build's after each commit, and some noted segments were skipped."""
    rng = random.Random(seed)
    titles = [f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {n}" for n in range(40)]
    live: dict[str, Article] = {}
    index = Index.in_memory()
    policy = MergePolicy(merge_factor=3, floor_docs=1, background_docs=None)
    with index.writer(merge_policy=policy) as writer:
        for n in range(12):  # published articles naming titles that come later too
            article = linked_article(f"p{n}", titles[n], *rng.sample(titles, 3))
            writer.add(article)
            live[article.id] = article
    skipped = 0
    with index.writer(merge_policy=policy) as writer:
        for step in range(14):
            for _ in range(rng.choice((1, 1, 2))):
                number = rng.randrange(12, 40)
                ident = f"n{number}" if rng.random() < 0.8 else rng.choice(sorted(live))
                article = linked_article(
                    ident, titles[number], *rng.sample(titles, rng.randint(0, 4))
                )
                writer.add(article)
                live[article.id] = article
            if step % 5 == 4:
                gone = rng.choice(sorted(live))
                writer.delete(gone)
                live.pop(gone)
            writer.commit()
            assert stored_anchors(index) == fresh_anchors(live)
    assert views
    for view, batch, same in views:
        assert same == len(batch)
        skipped += len(view._quiet[1])
    assert skipped > 0


def test_a_target_named_before_it_arrives_keeps_its_segment_in_the_flush(
    views: list[tuple[SnapshotLinks, list[str], int]],
) -> None:
    """A published link naming the title of an article that arrives in a commit points
    at it: its segment is not skipped, and the new article's flush gives it that link's
    headline (noting every segment quiet would leave it without)."""
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(linked_article("a", "নদী খবর", "সেতু খবর"))
        writer.add(linked_article("b", "মেঘ খবর"))
    with index.writer() as writer:
        writer.add(linked_article("c", "সেতু খবর", "মেঘ খবর"))
        writer.commit()
        view, batch, _ = views[-1]
        assert batch == ["c"]
        assert view._quiet[1] == frozenset()  # the segment holding a's link points at c
        writer.add(linked_article("d", "ধান খবর"))
        writer.commit()
        assert views[-1][0]._quiet[1]  # nothing names d: its segments are skipped
    assert stored_anchors(index) == {"a": [], "b": ["মেঘ খবর"], "c": ["সেতু খবর"], "d": []}
