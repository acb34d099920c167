"""Index room: the parallel writer (worker processes) builds the same index as one process."""

from __future__ import annotations

from pathlib import Path

import pytest

from bnsearch.articles import Article, RelatedLink
from bnsearch.index import Index, MergePolicy

WORDS = ["নদী", "সেতু", "বাজার", "চাল", "দাম", "বৃষ্টি", "ঢাকা", "খেলা", "জয়", "স্কুল", "মানুষ"]


def article(n: int) -> Article:
    body = " ".join(WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(25 + n % 13))
    related = (RelatedLink(headline=f"শিরোনাম {n - 1}"),) if n % 5 == 0 and n else ()
    return Article(id=f"p{n}", title=f"শিরোনাম {n}", body=body, section=("দেশ",), related=related)


def build(path: Path, processes: int) -> Index:
    index = Index.create(path)
    policy = MergePolicy(force_single=True)
    with index.writer(processes=processes, buffer_mb=0.02, merge_policy=policy) as writer:
        for n in range(400):
            writer.add(article(n))
        for n in range(0, 400, 9):
            writer.delete(f"p{n}")
        writer.add(article(9))  # re-added after its delete
        writer.add(Article(id="p11", title="নতুন", body="বদলে গেছে"))  # replaced
    return index


def test_two_processes_build_the_same_index_as_one(tmp_path: Path) -> None:
    one = build(tmp_path / "one", 1).reader()
    two = build(tmp_path / "two", 2).reader()
    assert one.doc_count == two.doc_count == 400 - len(range(0, 400, 9)) + 1
    assert sorted(one.article_ids()) == sorted(two.article_ids())
    assert two.article("p11") == Article(id="p11", title="নতুন", body="বদলে গেছে")
    for field in ("title", "body", "anchors", "section"):
        if field != "section":
            assert one.field_length_sum(field) == two.field_length_sum(field)
        # the live vocabulary: a merge keeps terms of dropped docs with no postings, and
        # which docs a batch rewrote (anchors) depends on when each flush started
        terms = {t for t in one.segments[0].terms(field) if one.doc_freq(field, t)}
        assert terms == {t for t in two.segments[0].terms(field) if two.doc_freq(field, t)}
        for term in terms:
            assert one.doc_freq(field, term) == two.doc_freq(field, term)
    for n in (5, 20, 45):
        assert one.in_links(f"p{n - 1}") == two.in_links(f"p{n - 1}")


def test_parallel_writer_needs_a_disk_index() -> None:
    with pytest.raises(ValueError, match="needs an index on disk"):
        Index.in_memory().writer(processes=2)


def test_parallel_writer_rollback_leaves_nothing(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "idx")
    writer = index.writer(processes=2, buffer_mb=0.01)
    for n in range(100):
        writer.add(article(n))
    writer.rollback()
    writer.add(article(1))
    writer.commit()
    writer.close()
    assert index.reader().article_ids() == ["p1"]
    referenced = {n for e in index.reader().manifest.segments for n in e.files}
    assert {n for n in index.directory.list_names() if n.startswith("seg-")} == referenced
