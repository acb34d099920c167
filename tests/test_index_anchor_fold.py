"""A fold of adding anchor updates that analyzes the small updates' docs again
(anchorfile.FOLD_ANALYZED_HEADLINES) instead of copying their postings: every doc gets
the headlines and postings a fold copying them gives, and a writer's folds leave the
anchors and scores of a fresh build."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_index_anchor_adds import _headline, _linker, _same_as_fresh, _target

from bnsearch.index import Index, MergePolicy, anchorfile, postings
from bnsearch.index.anchorfile import (
    MAX_UPDATES,
    AnchorUpdate,
    _terms,
    folded_gains,
    update_arrays,
    written_update,
)
from bnsearch.index.directory import FSDirectory
from bnsearch.index.schema import Schema, news_schema

_ALL = 10**6  # every folded doc analyzed again


def _adding(
    directory: FSDirectory, schema: Schema, rng: random.Random, docs: list[int], generation: int
) -> AnchorUpdate:
    changes = {doc: tuple(_headline(rng) for _ in range(rng.randrange(1, 4))) for doc in docs}
    arrays = update_arrays(schema, (), changes, adds=True)
    return written_update(directory, "seg-000009.cfs", schema, "seg-000001", 60, generation, arrays)


def _per_doc(update: AnchorUpdate) -> dict[int, Any]:
    """Each doc's headlines and, per field, its postings: term -> (tf, flags, positions)."""
    found: dict[int, Any] = {
        doc: [row, {}] for doc, row in zip(update.docs.tolist(), update.rows, strict=True)
    }
    docs_of = update.docs.tolist()
    for name, field in update.fields.items():
        terms, indptr = _terms(field), field.indptr.tolist()
        tfs, docs = field.tfs.tolist(), field.docs.tolist()
        forms = field.forms.tolist() if field.forms is not None else [0] * len(docs)
        running = np.concatenate(([0], np.cumsum(field.tfs, dtype=np.int64))).tolist()
        pos = field.pos.tolist() if field.pos is not None else []
        for number, term in enumerate(terms):
            for at in range(indptr[number], indptr[number + 1]):
                doc = docs_of[docs[at]]
                held = tuple(pos[running[at] : running[at + 1]]) if pos else ()
                found[doc][1][(name, term)] = (tfs[at], forms[at], held)
    return found


@pytest.mark.parametrize("seed", range(10))
def test_a_fold_analyzing_small_updates_gives_each_doc_the_copied_postings(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folds of random adding updates (a big old one, small ones, docs two of them
    hold, docs gaining now) made with every carried doc copied, with the small updates'
    docs analyzed again, and with every doc analyzed again: the same docs, headlines
    and postings (terms, frequencies, form flags, positions) doc by doc; copying makes a
    source of combine_fields an update, analyzing every doc again none."""
    rng = random.Random(seed)
    directory = FSDirectory(tmp_path)
    schema = news_schema()
    olds = [_adding(directory, schema, rng, rng.sample(range(60), 12), 1)]
    olds += [
        _adding(directory, schema, rng, rng.sample(range(60), rng.randrange(1, 3)), g)
        for g in range(2, 2 + rng.randrange(2, 7))
    ]
    gains = {doc: (_headline(rng),) for doc in rng.sample(range(60), rng.randrange(1, 4))}
    sources: list[int] = []
    combine = postings.combine_fields

    def counted(parts: Any, **kwargs: Any) -> Any:
        sources.append(len(parts) - 1)  # (the first is the fresh analysis)
        return combine(parts, **kwargs)

    monkeypatch.setattr(anchorfile, "combine_fields", counted)
    held = [doc for old in olds for doc in old.docs.tolist()]
    made = {}
    for bound in (0, anchorfile.FOLD_ANALYZED_HEADLINES, _ALL):
        monkeypatch.setattr(anchorfile, "FOLD_ANALYZED_HEADLINES", bound)
        sources.clear()
        arrays = update_arrays(schema, olds, folded_gains(olds, gains), adds=True)
        update = written_update(directory, "seg-000010.cfs", schema, "seg-000001", 60, 20, arrays)
        made[bound] = _per_doc(update)
        # a source for each update over the bound holding a doc no other one holds
        copied = [
            old
            for old in olds
            if int(old.pointers[-1]) > bound
            and any(held.count(doc) == 1 and doc not in gains for doc in old.docs.tolist())
        ]
        assert sources == ([len(copied)] if copied else [])  # (one anchor text field)
        assert bound != 0 or len(copied) > 1
    assert made[0] == made[anchorfile.FOLD_ANALYZED_HEADLINES] == made[_ALL]
    expected = {doc for old in olds for doc in old.docs.tolist()} | set(gains)
    assert set(made[0]) == expected


@pytest.mark.parametrize("bound", [0, 1, 4, _ALL])
def test_a_writers_folds_of_adding_updates_match_a_fresh_build(
    bound: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commits of new linkers past MAX_UPDATES (folds of adding updates), a writer
    reopened midway (its updates read from the files), a searcher refreshed all along:
    stored anchors and scores equal a fresh build's whatever the bound."""
    monkeypatch.setattr(anchorfile, "FOLD_ANALYZED_HEADLINES", bound)
    rng = random.Random(bound)
    index = Index.create(tmp_path / "idx")
    live = {f"t{n}": _target(n) for n in range(12)}
    with index.writer() as writer:
        writer.add_many(list(live.values()))
    searcher = index.searcher()
    policy = MergePolicy(merge_factor=256)  # no merge: one segment folds its updates
    writer = index.writer(merge_policy=policy)
    try:
        for step in range(3 * MAX_UPDATES):
            for _ in range(rng.randrange(1, 3)):
                article = _linker(f"s{step}-{_}", rng, live)
                writer.add(article)
                live[article.id] = article
            writer.commit()
            searcher = searcher.refresh()
            if step == 2 * MAX_UPDATES:
                writer.close()
                writer = index.writer(merge_policy=policy)
    finally:
        writer.close()
    assert any(len(s.anchor_updates) > 1 for s in index.reader().segments)
    _same_as_fresh(index, live)
