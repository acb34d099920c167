"""Index room: per-posting form flags (the OR of the occurrences' inflection flags)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bnsearch.analysis import default_analyzer
from bnsearch.analysis.forms import form_flag, inflection_split
from bnsearch.articles import Article
from bnsearch.index import Index, verify

BODIES = [
    "মামলাটি আদালতে উঠেছে। মামলার রায় কাল",
    "পুলিশ মামলা করেছে, পুলিশের দাবি",
    "গল্পটি পড়ুন। বাংলাদেশের গল্প",
    "বাংলাদেশ দল জিতেছে। দলের অধিনায়ক",
]


def articles(prefix: str = "a") -> list[Article]:
    return [Article(id=f"{prefix}{n}", title="শিরোনাম", body=b) for n, b in enumerate(BODIES)]


def expected_flags(body: str) -> dict[str, int]:
    """The flags a body's postings should carry, computed word by word."""
    analyzer = default_analyzer()
    split = inflection_split(analyzer)
    assert split is not None
    found: dict[str, int] = {}
    for token in analyzer.tokens(body):
        surface = split.surfaces.term(body[token.start : token.end])
        assert surface is not None
        found[token.term] = found.get(token.term, 0) | form_flag(surface, token.term)
    return found


def body_flags(index: Index) -> dict[tuple[str, str], int]:
    """``(article id, term) -> flags`` read back from every segment."""
    out = {}
    for segment in index.reader().segments:
        ids = segment.article_ids()
        forms = segment.forms("body")
        assert forms is not None
        for term in segment.terms("body"):
            found = segment.located_postings("body", term)
            assert found is not None
            docs, _, first = found
            flags = forms[first : first + len(docs)]
            for doc, flag in zip(docs.tolist(), flags.tolist(), strict=True):
                if segment.live[doc]:
                    out[(ids[doc], term)] = flag
    return out


def test_each_posting_keeps_the_or_of_its_forms() -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        for article in articles():
            writer.add(article)
    stored = body_flags(index)
    for number, body in enumerate(BODIES):
        for term, flag in expected_flags(body).items():
            assert stored[(f"a{number}", term)] == flag
    assert any(stored.values()) and not all(stored.values())


def test_flags_survive_merges_and_upserts(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "idx")
    for article in articles():
        with index.writer() as writer:  # one segment per article
            writer.add(article)
    with index.writer() as writer:  # an upsert: the old posting goes, the new one counts
        writer.add(Article(id="a0", title="শিরোনাম", body="মামলাকে ঘিরে"))
        writer.optimize()
    assert len(index.reader().segments) == 1
    stored = body_flags(index)
    assert {k: v for k, v in stored.items() if k[0] != "a0"} == {
        (f"a{n}", t): f for n, b in enumerate(BODIES) if n for t, f in expected_flags(b).items()
    }
    assert {k[1]: v for k, v in stored.items() if k[0] == "a0"} == expected_flags("মামলাকে ঘিরে")
    assert verify(tmp_path / "idx").ok


def test_a_field_without_stemming_keeps_no_flags() -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(articles()[0])
    segment = index.reader().segments[0]
    assert segment.forms("section") is None
    forms = segment.forms("body")
    assert forms is not None and forms.dtype == np.uint8
