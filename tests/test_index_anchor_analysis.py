"""A link commit analyzes each gained headline once: the commit's anchor update
analyzes the headlines its targets gain (``writer._analyzed_ahead``) before the flush
analyzes the new article's related headlines, and the two fields share one analyzer
(the ``"bengali"`` preset's instance and its inflection split), so the flush finds every
chunk of those headlines in the analyzer's cache. (The anchor path's analysis is the
commit's one fresh analysis of the headlines, not a second one: docs/benchmarks.md,
"Eighteenth session, 12az".)"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from bnsearch.analysis.pipeline import Analyzer
from bnsearch.articles import Article, RelatedLink
from bnsearch.index import Index
from bnsearch.index.schema import news_schema

_LETTERS = "কখগঘচছজঝটঠডঢতথদধনপফবভমযরলশসহ"


def _word(rng: random.Random) -> str:
    """A made-up Bengali word no other test analyzes (so no cache knows it)."""
    return "".join(rng.choices(_LETTERS, k=7)) + "া"


def test_the_anchors_and_related_fields_share_one_analyzer() -> None:
    schema = news_schema()
    assert schema.analyzer("anchors") is schema.analyzer("related_headlines")


def test_a_link_commit_analyzes_each_gained_headline_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every chunk of the new article's related headlines (each naming a published
    target, so each is analyzed for an anchor update and for the related field) is
    analyzed afresh once in the commit: the second analysis finds it cached; the
    targets are found by their gained headlines."""
    rng = random.Random(18)
    index = Index.create(tmp_path / "idx")
    with index.writer() as writer:
        writer.add_many([Article(id=f"t{n}", title="নদী ভাঙন", body="নদী") for n in range(6)])
    # headlines naming their targets by id, words no cache knows yet
    titles = [" ".join(_word(rng) for _ in range(4)) for _ in range(6)]
    fresh: Counter[str] = Counter()
    fill = Analyzer._fill_terms

    def counted(self: Analyzer, chunks: list[str]) -> list[tuple[str | None, ...]]:
        fresh.update(chunks)
        return fill(self, chunks)

    with index.writer() as writer:
        linker = Article(
            id="s",
            title="উৎস",
            body="সেতু",
            related=[
                RelatedLink(headline=title, target_id=f"t{n}") for n, title in enumerate(titles)
            ],
        )
        writer.add(linker)
        monkeypatch.setattr(Analyzer, "_fill_terms", counted)
        writer.commit()
        monkeypatch.undo()
    chunks = {chunk for title in titles for chunk in title.split()}
    assert chunks <= set(fresh)  # (the headlines were new to the caches)
    assert {chunk: fresh[chunk] for chunk in chunks} == dict.fromkeys(chunks, 1)
    hits = index.searcher().search(titles[0], fields=["anchors"], limit=3)
    assert [hit.id for hit in hits][:1] == ["t0"]
