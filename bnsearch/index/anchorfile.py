"""Anchor updates: a committed article's anchors change without rewriting the article.

An article's ``anchors`` (the headlines of other pages' links that resolve to it) change
whenever a linker, or a rival target, is added, retitled or deleted. Its other fields
do not. So a segment never has a doc deleted and copied because of a link: the writer
writes beside the segment a small compound file, ``seg-NNNNNN.anc-GGGGGG.cfs`` (listed
with the segment's files in the manifest, like its deletions file), holding the anchors
of the docs of that segment whose anchors this commit changed:

* ``anchors.docs`` (int32, ascending): the updated docs;
* ``anchors.ptr`` + string table ``strings.anchors``: each one's anchor headlines;
* ``fld.F.*`` for every field whose source is ``anchors``: that field's arrays over the
  updated docs alone (local doc ``i`` is ``anchors.docs[i]``), as a segment holds them.

Files stack: for a doc in several, the one of the latest generation wins. The commit
that would give a segment more than :data:`MAX_UPDATES` files writes one carrying the
others over instead (array surgery, :func:`update_arrays`; only the docs that changed
now are analyzed); a merge folds them into the merged segment. A reader takes the
updated docs' anchor fields from them (:func:`materialize`: the segment's field with
those docs' postings dropped and the files' added, built when the field is first read)
and their stored anchors, so searching, statistics, explain and highlights see exactly
the arrays a segment written with the final anchors would hold.

A segment without the file (every segment written before it existed) reads as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.errors import IndexFormatError
from bnsearch.index import compound
from bnsearch.index.builder import anchor_fields
from bnsearch.index.directory import Directory, FileInfo
from bnsearch.index.manifest import SegmentEntry
from bnsearch.index.postings import combine_fields
from bnsearch.index.schema import TEXT, FieldSpec, Schema

if TYPE_CHECKING:
    from bnsearch.index.segment import _FieldArrays

Array = npt.NDArray[Any]

_TAG = ".anc-"


def anchors_stem(segment: str, generation: int) -> str:
    """The name (without the compound suffix) of ``segment``'s anchor update written
    by the commit of ``generation``."""
    return f"{segment}{_TAG}{generation:06d}"


#: A segment holds at most this many anchor update files; the commit that would add one
#: more writes one file carrying all of them over instead.
MAX_UPDATES = 8


def anchors_files(entry: SegmentEntry) -> list[str]:
    """The anchor update files among ``entry``'s files, oldest first."""
    prefix = entry.name + _TAG
    found = []
    for name in entry.files:
        if name.startswith(prefix):
            generation = name[len(prefix) :].split(".", 1)[0]
            if not generation.isdigit():
                raise IndexFormatError(f"segment {entry.name!r}: bad anchor update name {name!r}")
            found.append((int(generation), name))
    return [name for _, name in sorted(found)]


def anchor_specs(schema: Schema) -> list[FieldSpec]:
    """The fields analyzed from an article's anchors."""
    return [spec for spec in schema.fields if spec.source == "anchors"]


@attrs.define(eq=False)
class AnchorUpdate:
    """One segment's anchor update file, read."""

    docs: npt.NDArray[np.int64]
    rows: list[tuple[str, ...]]
    #: per anchor field: its arrays over the updated docs alone
    fields: dict[str, _FieldArrays]
    name: str
    _slot: dict[int, int] = attrs.field(init=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        self._slot = {doc: slot for slot, doc in enumerate(self.docs.tolist())}

    def anchors_of(self, doc: int) -> tuple[str, ...] | None:
        """The updated anchors of ``doc``, or ``None`` when the file does not update it."""
        slot = self._slot.get(doc)
        return None if slot is None else self.rows[slot]

    def rows_of(self, doc: int) -> tuple[str, ...]:
        """The anchors of a doc this file updates."""
        return self.rows[self._slot[doc]]


def read_update(directory: Directory, name: str, schema: Schema, max_doc: int) -> AnchorUpdate:
    """Open and check the anchor update file ``name`` of a segment of ``max_doc`` docs
    (every array's CRC-32, the doc list, the headline table, each field's structure)."""
    from bnsearch.index.segment import _FieldArrays, decode_strings

    where = directory.describe(name)
    buffer = directory.map_file(name)
    table = compound.read_table(buffer, where)
    for stem, item in table.items():
        if not compound.check_crc(buffer, item):
            raise IndexFormatError(f"{where}: array {stem!r} is damaged (checksum mismatch)")

    def load(stem: str) -> Array:
        item = table.get(stem)
        if item is None:
            raise IndexFormatError(f"{where}: array {stem!r} missing")
        return compound.view(buffer, item)

    def fail(message: str, field: str | None = None) -> None:
        place = f"{where} field {field!r}" if field else where
        raise IndexFormatError(f"{place}: {message} (the index is damaged; run bnsearch verify)")

    docs = np.asarray(load("anchors.docs"), dtype=np.int64)
    if docs.ndim != 1 or (
        len(docs)
        and (int(docs[0]) < 0 or int(docs[-1]) >= max_doc or bool(np.any(docs[1:] <= docs[:-1])))
    ):
        fail(f"updated docs are not ascending doc ids in 0..{max_doc - 1}")
    pointers = np.asarray(load("anchors.ptr"), dtype=np.int64)
    headlines = decode_strings(load("strings.anchors.blob"), load("strings.anchors.off"), where)
    if (
        len(pointers) != len(docs) + 1
        or int(pointers[0]) != 0
        or int(pointers[-1]) != len(headlines)
        or bool(np.any(pointers[1:] < pointers[:-1]))
    ):
        fail("the anchor headline pointers do not match the updated docs")
    bounds = pointers.tolist()
    rows = [tuple(headlines[bounds[i] : bounds[i + 1]]) for i in range(len(docs))]
    fields = {}
    for spec in anchor_specs(schema):
        prefix = f"fld.{spec.name}"
        arrays = _FieldArrays(
            load, prefix, spec.kind == TEXT, spec.positions, f"{prefix}.forms" in table
        )
        arrays.check(len(docs), lambda message, n=spec.name: fail(message, n), postings=True)
        fields[spec.name] = arrays
    return AnchorUpdate(docs=docs, rows=rows, fields=fields, name=name)


def _terms(arrays: _FieldArrays) -> list[str]:
    from bnsearch.index.segment import decode_strings

    if arrays.terms is None:
        arrays.terms = decode_strings(arrays.blob, arrays.off, "anchor update terms")
    return arrays.terms


def _latest_holders(updates: Sequence[AnchorUpdate]) -> dict[int, int]:
    """doc -> the index of the last update (in ``updates`` order) that holds it."""
    holders: dict[int, int] = {}
    for number, update in enumerate(updates):
        for doc in update.docs.tolist():
            holders[doc] = number
    return holders


def anchors_of(updates: Sequence[AnchorUpdate], doc: int) -> tuple[str, ...] | None:
    """The anchors the last update holding ``doc`` gives it, or ``None``."""
    for update in reversed(updates):
        found = update.anchors_of(doc)
        if found is not None:
            return found
    return None


def materialize(
    spec: FieldSpec,
    base: _FieldArrays,
    base_terms: list[str],
    updates: Sequence[AnchorUpdate],
    max_doc: int,
) -> _FieldArrays:
    """The anchor field ``spec`` of a segment of ``max_doc`` docs with ``updates``
    applied (a later update wins): ``base`` (the field as written) without the updated
    docs' postings, plus each updated doc's postings, norms and lengths from the last
    update holding it."""
    from bnsearch.index.segment import _FieldArrays, encode_strings

    holders = _latest_holders(updates)
    keep = np.arange(max_doc, dtype=np.int64)
    keep[np.fromiter(holders, dtype=np.int64, count=len(holders))] = -1
    sources: list[tuple[Any, list[str], Array]] = [(base, base_terms, keep)]
    for number, update in enumerate(updates):
        mini = update.fields[spec.name]
        doc_map = np.array(
            [doc if holders[doc] == number else -1 for doc in update.docs.tolist()],
            dtype=np.int64,
        )
        sources.append((mini, _terms(mini), doc_map))
    built, _ = combine_fields(
        sources,
        max_doc=max_doc,
        text=spec.kind == TEXT,
        positions=spec.positions,
        in_doc_order=False,
    )
    prefix = f"fld.{spec.name}"
    stems = {f"{prefix}.{key}": value for key, value in built.items() if key != "terms"}
    if built["terms"] is base_terms:  # no new term: the segment's own table serves
        stems[f"{prefix}.terms.blob"], stems[f"{prefix}.terms.off"] = base.blob, base.off
    else:
        stems[f"{prefix}.terms.blob"], stems[f"{prefix}.terms.off"] = encode_strings(built["terms"])
    arrays = _FieldArrays(
        stems.__getitem__, prefix, spec.kind == TEXT, spec.positions, f"{prefix}.forms" in stems
    )
    arrays.terms = built["terms"]
    return arrays


@attrs.frozen
class _Built:
    """Field arrays given by name (what :func:`anchor_fields` returns, as attributes)."""

    values: Mapping[str, Any]

    def __getattr__(self, key: str) -> Any:
        return self.values.get(key)


def update_arrays(
    schema: Schema, olds: Sequence[AnchorUpdate], changes: Mapping[int, tuple[str, ...]]
) -> dict[str, Any]:
    """The arrays of a new anchor update file: the docs of ``changes`` (doc -> final
    anchors) analyzed, and the docs of the updates ``olds`` (oldest first; each doc as
    the last one holding it gives it) not in ``changes`` carried over as they are. With
    no ``olds`` the file holds this commit's changes alone."""
    fresh = sorted(changes)
    holders = {doc: n for doc, n in _latest_holders(olds).items() if doc not in changes}
    docs = sorted([*holders, *fresh])
    slot = {doc: number for number, doc in enumerate(docs)}
    rows = [changes[doc] if doc in changes else olds[holders[doc]].rows_of(doc) for doc in docs]
    analyzed, _ = anchor_fields(schema, [changes[doc] for doc in fresh])
    fresh_map = np.array([slot[doc] for doc in fresh], dtype=np.int64)
    arrays: dict[str, Any] = {}
    for spec in anchor_specs(schema):
        prefix = f"fld.{spec.name}"
        built = {
            key.removeprefix(prefix + "."): value
            for key, value in analyzed.items()
            if key.startswith(prefix + ".")
        }
        sources: list[tuple[Any, list[str], Array]] = [(_Built(built), built["terms"], fresh_map)]
        for number, old in enumerate(olds):
            old_map = np.array(
                [slot[doc] if holders.get(doc) == number else -1 for doc in old.docs.tolist()],
                dtype=np.int64,
            )
            mini = old.fields[spec.name]
            sources.append((mini, _terms(mini), old_map))
        combined, _ = combine_fields(
            sources,
            max_doc=len(docs),
            text=spec.kind == TEXT,
            positions=spec.positions,
            in_doc_order=False,
        )
        arrays.update({f"{prefix}.{key}": value for key, value in combined.items()})
    arrays["anchors.docs"] = np.array(docs, dtype=np.int32)
    arrays["anchors.ptr"] = np.cumsum([0, *(len(row) for row in rows)], dtype=np.int64)
    arrays["strings.anchors"] = [headline for row in rows for headline in row]
    return arrays


def with_update(
    entry: SegmentEntry, name: str, files: Mapping[str, FileInfo], *, replace: bool
) -> SegmentEntry:
    """``entry`` with the new anchor update file ``name`` (its ``files``) added, or, with
    ``replace``, in place of its update files (the new one carries them over)."""
    old = set(anchors_files(entry)) if replace else set()
    kept = {key: value for key, value in entry.files.items() if key not in old}
    kept.update(files)
    assert name in kept
    return attrs.evolve(entry, files=kept)
