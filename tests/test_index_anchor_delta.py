"""A reader defers a segment's new anchor updates (index/anchordelta.py): what a search
reads of the anchor field is read term by term from the field as last built plus the
updates since, never a splice of the whole field. Searches after each of many small
link commits equal a fresh build's (ids, scores, snippets, explain), and every term's
postings equal the field built whole."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from test_index_anchor_adds import TOPICS, _linker, _target
from test_index_link_updates import _fresh

import bnsearch.index.segment as segment_module
from bnsearch.articles import Article, RelatedLink
from bnsearch.index import Index, MergePolicy, compound
from bnsearch.index.anchordelta import DeltaField
from bnsearch.index.reader import IndexReader
from bnsearch.search import Searcher

QUERIES = [
    "খবর নদী",
    "সেতু",
    '"খবর বাজার"',
    "নদী সেতু বাজার",
    "উৎস মেলা",
    "হাওর",
    # phrases and pairs of a word the pending docs hold (patched) and one they may not
    *(f'"{first} {second}"' for first, second in itertools.pairwise(TOPICS)),
    "চাল দাম নৌকা",
]


def _page(searcher: Searcher, query: str, fields: list[str] | None) -> list[tuple[str, float, str]]:
    hits = searcher.search(query, limit=500, fields=fields)
    return [(hit.id, hit.score, repr(dict(hit.highlights))) for hit in hits]


def _same_pages(searcher: Searcher, fresh: Searcher) -> None:
    for query in QUERIES:
        for fields in (None, ["anchors"]):
            got, want = _page(searcher, query, fields), _page(fresh, query, fields)
            # (ids by score: docs of equal scores come in each index's doc order)
            assert {g[0]: g[1] for g in got} == pytest.approx(
                {w[0]: w[1] for w in want}, rel=1e-9, abs=1e-12
            ), (query, fields)
            assert {g[0]: g[2] for g in got} == {w[0]: w[2] for w in want}, (query, fields)
        top = _page(fresh, query, None)
        if top:
            mine = str(searcher.explain(query, top[0][0]))
            assert mine == str(fresh.explain(query, top[0][0])), query


def _deferred_fields(reader: IndexReader) -> list[DeltaField]:
    found = []
    for segment in reader.segments:
        if segment.anchor_updates:
            arrays = segment._lazy_field("anchors")
            if isinstance(arrays, DeltaField):
                found.append(arrays)
    return found


def _same_as_whole(delta: DeltaField) -> None:
    """Every term's postings, form flags and positions, and the norms and lengths, as
    the field built whole gives them (built apart: the reader's field stays deferred)."""
    whole = delta._whole()
    assert delta.terms == whole.terms
    assert np.array_equal(delta.norms, whole.norms)
    assert np.array_equal(delta.lens, whole.lens)
    assert delta.length_sum() == int(whole.lens.sum(dtype=np.int64))
    assert whole.pos is not None and whole.posptr is not None and whole.forms is not None
    for ident in range(len(delta.terms)):
        start, end = int(whole.indptr[ident]), int(whole.indptr[ident + 1])
        docs, tfs, at = delta.postings(ident)
        assert np.array_equal(docs, whole.docs[start:end]), delta.terms[ident]
        assert np.array_equal(tfs, whole.tfs[start:end]), delta.terms[ident]
        assert np.array_equal(delta.forms(at, len(docs)), whole.forms[start:end])
        _, _, first, positions = delta.position_run(ident)
        count = int(np.sum(tfs, dtype=np.int64))
        run = int(whole.posptr[ident])
        assert np.array_equal(positions[first : first + count], whole.pos[run : run + count])


@pytest.mark.parametrize(("seed", "ordered"), [(0, False), (1, False), (2, False), (0, True)])
def test_searches_after_each_small_link_commit_equal_a_fresh_build(
    seed: int, ordered: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixty one- or two-article commits (most add linkers: adding updates; some delete a
    linker or retitle a target: replacing ones; folds past MAX_UPDATES), a searcher
    refreshed and searched after each: ids, scores, snippets and explain equal a fresh
    build's every few commits, the anchor fields stay deferred (replacing and folded
    updates too), and their postings equal the field built whole."""
    if ordered:  # every field's postings read in doc order (a 1M segment's way)
        monkeypatch.setattr(segment_module, "DOC_ORDER_POSTINGS", 0)
    rng = random.Random(seed)
    index = Index.in_memory()
    live = {f"t{n}": _target(n) for n in range(40)}
    with index.writer() as writer:
        writer.add_many([live[f"t{n}"] for n in range(20)])
        writer.commit()
        writer.add_many([live[f"t{n}"] for n in range(20, 40)])
    searcher = index.searcher()
    replacing = folded = 0
    writer = index.writer(merge_policy=MergePolicy(merge_factor=256))
    try:
        for step in range(60):
            roll = rng.random()
            if roll < 0.6:
                for _ in range(rng.randrange(1, 3)):
                    article = _linker(f"s{step}-{len(live)}", rng, live)
                    writer.add(article)
                    live[article.id] = article
            elif roll < 0.85:
                linkers = [ident for ident in live if ident.startswith("s")]
                if linkers:
                    gone = rng.choice(linkers)
                    writer.delete(gone)
                    live.pop(gone)
            else:
                number = rng.randrange(40)
                title = f"খবর {rng.choice(TOPICS)} {number} নতুন {step}"
                live[f"t{number}"] = Article(id=f"t{number}", title=title, body="নদী " * 9)
                writer.add(live[f"t{number}"])
            writer.commit()
            searcher = searcher.refresh()
            searcher.search(rng.choice(QUERIES), limit=10)
            updates = [u for s in searcher.reader.segments for u in s.anchor_updates]
            names = {update.name for update in updates}
            adding = {update.name for update in updates if update.adds}
            for delta in _deferred_fields(searcher.reader):
                replacing += any(update.name not in adding for update in delta.pending)
                folded += any(update.name not in names for update in delta.full_under)
            for delta in _deferred_fields(searcher.reader):
                _same_as_whole(delta)
            if step % 10 == 9:
                assert _deferred_fields(searcher.reader)
                _same_pages(searcher, _fresh(list(live.values())).searcher())
            if step == 29:  # the fields built whole (as a merge or verify does): later
                for delta in _deferred_fields(searcher.reader):  # folds drop updates
                    delta.whole()  # they were built under
    finally:
        writer.close()
    assert replacing  # a replacing update (a fold, a deleted linker) was deferred too
    assert folded  # and one dropping updates the field was built under
    _same_pages(searcher, _fresh(list(live.values())).searcher())


def test_a_refresh_reads_the_new_segments_table_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A link commit's anchor updates of older segments are hosted in its new segment's
    compound file, packed in one array: a refresh maps and reads that file's table once
    (for the new segment) and the pack's once, not again for each updated segment."""
    index = Index.in_memory()
    live = {f"t{n}": _target(n) for n in range(12)}
    with index.writer() as writer:
        for number in range(12):  # one segment a target: a link updates several
            writer.add(live[f"t{number}"])
            writer.commit()
    searcher = index.searcher()
    with index.writer(merge_policy=MergePolicy(merge_factor=256)) as writer:
        writer.add(_linker("s0", random.Random(1), live))
    updated = [s.name for s in index.reader().segments if s.anchor_updates]
    assert len(updated) >= 2
    reads = []
    original = compound.read_table

    def counting(buffer, where):  # type: ignore[no-untyped-def]
        reads.append(where)
        return original(buffer, where)

    monkeypatch.setattr(compound, "read_table", counting)
    searcher = searcher.refresh()
    # the new segment's table, then its pack of the commit's updates, once for them all
    assert len(reads) == 2 and "anc.pack." in reads[1], reads
    assert sum(bool(s.anchor_updates) for s in searcher.reader.segments) == len(updated)


@pytest.mark.parametrize("seed", range(4))
def test_a_fields_postings_of_some_docs_in_doc_order_are_the_searched_ones(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """_FieldArrays.doc_postings: the postings of a few docs or many, found in the
    postings kept in doc order (a large field's way) and by a search (a compare a doc,
    or a mask), are the same ascending indices; docs past the field's last are none."""
    rng = np.random.default_rng(seed)
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add_many([_target(n) for n in range(60)])
    segment = index.reader().segments[0]
    arrays = segment._field("title")
    for count in (0, 1, 3, 17, 40):
        docs = sorted(rng.choice(70, size=count, replace=False).tolist())
        monkeypatch.setattr(segment_module, "DOC_ORDER_POSTINGS", 1 << 30)
        searched = arrays.doc_postings(docs)
        monkeypatch.setattr(segment_module, "DOC_ORDER_POSTINGS", 0)
        ordered = arrays.doc_postings(docs)
        assert np.array_equal(searched, ordered), docs
        assert np.all(np.isin(np.asarray(arrays.docs)[ordered], docs))
        held = np.isin(np.asarray(arrays.docs), docs)
        assert np.array_equal(ordered, np.flatnonzero(held))


@pytest.mark.parametrize("ordered", [False, True])
def test_position_starts_are_where_each_postings_positions_start(
    ordered: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A field read in doc order keeps every posting's running tf sum
    (``_FieldArrays.position_starts``); either way each posting's start is its term's
    ``posptr`` plus the tfs of the term's postings before it."""
    if ordered:
        monkeypatch.setattr(segment_module, "DOC_ORDER_POSTINGS", 0)
    rng = random.Random(7)
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add_many(
            Article(id=f"a{n}", title=" ".join(rng.choices(TOPICS, k=6)), body="নদী " * 3)
            for n in range(60)
        )
    segment = index.reader().segments[0]
    arrays = segment._field("title")
    assert arrays.pos is not None and arrays.posptr is not None
    docs = sorted(rng.sample(range(segment.max_doc), 9))
    chosen = arrays.doc_postings(docs)
    assert (arrays._doc_order is not None) == ordered
    owners = np.searchsorted(np.asarray(arrays.indptr), chosen, side="right") - 1
    starts = arrays.position_starts(chosen, owners)
    assert arrays._tfs_before is not None
    tfs = np.asarray(arrays.tfs, dtype=np.int64)
    for at, owner, start in zip(chosen.tolist(), owners.tolist(), starts.tolist(), strict=True):
        first = int(arrays.indptr[owner])
        assert start == int(arrays.posptr[owner]) + int(tfs[first:at].sum())
    assert len(chosen) and len(set(owners.tolist())) > 1


def test_a_replacing_update_of_a_doc_anchored_at_build_patches_the_terms_it_loses() -> None:
    """Targets whose anchors were written with their segment (the segment's own field
    holds them) lose every linker in one commit: the replacing update of their docs is
    deferred, and the terms they held in the segment's own field (read there, not by a
    pass over the built field) are patched: every term's postings equal the field built
    whole, and searches equal a fresh build's."""
    rng = random.Random(3)
    live = {f"t{n}": _target(n) for n in range(12)}
    linkers = {}
    for number in range(12):  # each target named by its own two linkers
        for copy in range(2):
            ident = f"s{number}-{copy}"
            linkers[ident] = Article(
                id=ident,
                title=f"উৎস {ident}",
                body="নদী",
                related=[RelatedLink(headline=live[f"t{number}"].title)],
            )
    live.update(linkers)
    index = Index.in_memory()
    with index.writer() as writer:
        writer.add_many(list(live.values()))
        writer.commit()
        writer.optimize()  # (one segment written with its anchors)
    searcher = index.searcher()
    searcher.search("খবর", limit=10)
    (segment,) = searcher.reader.segments
    assert not segment.anchor_updates and "3" in segment.terms("anchors")
    writer = index.writer(merge_policy=MergePolicy(merge_factor=256))
    try:
        for step in range(2):
            if step == 0:  # t3 and t7 lose their every headline (their words' postings)
                for gone in ("s3-0", "s3-1", "s7-0", "s7-1"):
                    writer.delete(gone)
                    live.pop(gone)
            else:
                article = _linker("s-new", rng, live)
                writer.add(article)
                live[article.id] = article
            writer.commit()
            searcher = searcher.refresh()
            searcher.search("খবর", limit=10)
            deltas = _deferred_fields(searcher.reader)
            assert deltas
            for delta in deltas:
                _same_as_whole(delta)
    finally:
        writer.close()
    _same_pages(searcher, _fresh(list(live.values())).searcher())
