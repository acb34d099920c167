"""A commit's anchor updates made at once (anchorfile.commit_updates) and many string
tables encoded by one encode (segment.encode_string_tables): the same arrays, dtypes and
bytes as one at a time."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from test_index_anchor_adds import _headline, _nostem_schema

from bnsearch.index import compound
from bnsearch.index.anchorfile import (
    AnchorUpdate,
    UpdateJob,
    _terms,
    _update_parts,
    anchor_specs,
    commit_updates,
    update_arrays,
    written_update,
)
from bnsearch.index.directory import FSDirectory
from bnsearch.index.schema import TEXT, Schema, news_schema
from bnsearch.index.segment import (
    decode_strings,
    encode_string_tables,
    encode_strings,
    stored_arrays,
)


def _same_arrays(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert list(got) == list(want)  # the same stems in the same order
    for stem, value in want.items():
        assert got[stem].dtype == value.dtype, stem
        assert got[stem].shape == value.shape, stem
        assert np.array_equal(got[stem], value), stem
    assert b"".join(compound.encode(got)) == b"".join(compound.encode(want))


@pytest.mark.parametrize("seed", range(6))
def test_string_tables_encoded_at_once_are_each_tables_own(seed: int) -> None:
    """Tables cut out of one encode have each table's own blob and offsets (bytes and
    dtypes): empty tables first, last and between, empty strings, non-ASCII text, and
    (odd seeds) a value holding a NUL, which takes the encoder's other path."""
    rng = random.Random(seed)
    tables = [
        [_headline(rng) for _ in range(rng.randrange(0, 6))] for _ in range(rng.randrange(1, 7))
    ]
    tables.insert(0, [])
    tables.insert(rng.randrange(len(tables) + 1), ["", "নদী"])
    tables.append([])
    if seed % 2:
        tables[rng.randrange(len(tables))].append("নদী\x00সেতু")
    got = encode_string_tables(tables)
    assert len(got) == len(tables)
    for table, (blob, offsets) in zip(tables, got, strict=True):
        want_blob, want_offsets = encode_strings(table)
        assert blob.dtype == want_blob.dtype and offsets.dtype == want_offsets.dtype
        assert blob.tobytes() == want_blob.tobytes()
        assert np.array_equal(offsets, want_offsets)
    assert encode_string_tables([]) == []


def _alone(schema: Schema, job: UpdateJob) -> dict[str, Any]:
    """The arrays of ``job``'s update made by itself, each string table encoded on its
    own (:func:`encode_strings`), stems by name: the reference commit_updates keeps."""
    parts = _update_parts(schema, job.olds, job.changes, job.analyzed, job.adds)
    return stored_arrays(dict(sorted(parts.items())))


def _anchors(rng: random.Random, docs: int, max_doc: int) -> dict[int, tuple[str, ...]]:
    chosen = rng.sample(range(max_doc), docs)
    return {doc: tuple(_headline(rng) for _ in range(rng.randrange(0, 5))) for doc in chosen}


def _written(
    tmp: FSDirectory,
    schema: Schema,
    arrays: dict[str, Any],
    generation: int,
    strings: dict[str, list[str]] | None = None,
) -> AnchorUpdate:
    return written_update(
        tmp, "seg-000009.cfs", schema, "seg-000001", 40, generation, arrays, strings
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("schema", [news_schema(), _nostem_schema()], ids=["news", "nostem"])
def test_a_commits_updates_made_at_once_are_each_updates_own(
    seed: int, schema: Schema, tmp_path: Any
) -> None:
    """commit_updates gives every job the arrays it has made alone, each string table
    encoded by itself (stems in the same order, values, dtypes, the encoded bytes), and
    update_arrays (one job) the same: replacing and adding updates, a doc with no
    headline, folds carrying earlier updates over (adding over adding, replacing over
    both), one job or several."""
    rng = random.Random(seed)
    directory = FSDirectory(tmp_path)
    text_only = all(spec.kind == TEXT for spec in anchor_specs(schema))  # (adding updates)
    jobs: list[UpdateJob] = []
    for _ in range(rng.randrange(1, 6)):
        adds = text_only and rng.random() < 0.5
        changes = _anchors(rng, rng.randrange(1, 6), 40)
        jobs.append(UpdateJob((), changes, None, adds=adds))
    # folds: earlier updates of one segment carried over
    olds_adds = [
        _written(directory, schema, update_arrays(schema, (), _anchors(rng, 4, 40)), g)
        for g in (1, 2)
    ]
    if text_only:
        adding = [
            _written(
                directory, schema, update_arrays(schema, (), _anchors(rng, 3, 40), adds=True), g
            )
            for g in (3, 4)
        ]
        held = {doc for old in adding for doc in old.docs.tolist()}
        twice = [doc for doc in held if sum(doc in old.docs.tolist() for old in adding) > 1]
        gains = {doc: (_headline(rng),) for doc in twice}
        gains.setdefault(39, (_headline(rng),))  # a doc gaining now
        jobs.insert(rng.randrange(len(jobs) + 1), UpdateJob(tuple(adding), gains, adds=True))
    replacing = _anchors(rng, 3, 40)
    jobs.insert(rng.randrange(len(jobs) + 1), UpdateJob(tuple(olds_adds), replacing))
    got = commit_updates(schema, jobs)
    assert len(got) == len(jobs)
    for job, made in zip(jobs, got, strict=True):
        want = _alone(schema, job)
        _same_arrays(made.arrays, want)
        one = update_arrays(schema, job.olds, job.changes, job.analyzed, adds=job.adds)
        _same_arrays(one, want)
        # the lists kept beside are the tables encoded, and the writer's reader of the
        # update reads the same headlines and terms from them as from the arrays
        assert set(made.strings) == {
            stem.removesuffix(".blob") for stem in want if stem.endswith(".blob")
        }
        for stem, strings in made.strings.items():
            assert strings == decode_strings(want[f"{stem}.blob"], want[f"{stem}.off"])
        taken = _written(directory, schema, made.arrays, 5, made.strings)
        decoded = _written(directory, schema, made.arrays, 5)
        assert taken.headline_strings is not None and decoded.headline_strings is None
        assert taken.rows == decoded.rows
        for field, arrays in decoded.fields.items():
            assert taken.fields[field].terms == _terms(arrays)
    assert commit_updates(schema, []) == []
