"""Anchor updates: a committed article's anchors change without rewriting the article.

An article's ``anchors`` (the headlines of other pages' links that resolve to it) change
whenever a linker, or a rival target, is added, retitled or deleted. Its other fields
do not. So a segment never has a doc deleted and copied because of a link: a commit
writes an *anchor update* of the segment, holding the anchors of the docs of that
segment whose anchors the commit changed:

* ``anchors.docs`` (int32, ascending): the updated docs;
* ``anchors.ptr`` + string table ``strings.anchors``: each one's anchor headlines;
* ``fld.F.*`` for every field whose source is ``anchors``: that field's arrays over the
  updated docs alone (local doc ``i`` is ``anchors.docs[i]``), as a segment holds them.

Where an update lives (both are listed with the segment's files in the manifest, like
its deletions file):

* **inside the commit's new segment** (the usual case: a commit that adds articles):
  every update the commit writes is packed into one array of the compound file of the
  segment the commit's last flush builds, ``anc.pack.<generation>``, itself a compound
  file whose stems are the arrays above prefixed ``<segment>.`` (:func:`packed_updates`;
  indexes written before packs hold each update's arrays as stems of the host's file
  prefixed ``anc.<segment>.<generation>.``, :func:`hosted_prefix`, still read), so a
  link commit writes and fsyncs no file beyond the one a commit without links writes,
  and the host's table gains one entry whatever the number of segments it updates.
  The updated segment's entry lists that file; the file
  stays while any entry lists it (after its own segment is merged away too);
* **in a file of its own**, ``seg-NNNNNN.anc-GGGGGG.cfs`` (stems unprefixed), when the
  commit builds no segment (deletes only, or every added article was flushed earlier).

Updates stack: for a doc in several, the one of the latest generation wins. The commit
that would give a segment more than :data:`MAX_UPDATES` updates writes one carrying the
newest of the others over instead (array surgery, :func:`update_arrays`; only the docs
that changed now are analyzed): the newest ones while each is no larger than twice what
the fold holds so far (:func:`fold_start`), so a large old update (a build's) is not
carried again by every small commit after it, and a commit's cost does not grow with
the updates before it; a merge folds them into the merged segment. A reader takes the
updated docs' anchor fields from them (:func:`materialize`: the segment's field with
those docs' postings dropped and the updates' added, built when the field is first read;
a reader refreshed after a commit that added updates defers them, reading a term's
postings patched for their docs, :mod:`.anchordelta`, and builds the field whole only
where something needs it whole, by :func:`splice` from the field it built before,
cutting out the updated docs' postings and inserting the new ones without sorting the
field) and their stored anchors, so searching, statistics, explain and highlights see
exactly the arrays a segment written with the final anchors would hold.

A segment without updates (every segment written before they existed) reads as before.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Mapping, Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.arrays import distinct, run_positions
from bnsearch.errors import IndexFormatError
from bnsearch.index import compound
from bnsearch.index.builder import (
    FEW_ANCHOR_DOCS,
    anchor_arrays,
    anchor_fields,
    doc_id_dtype,
    few_anchor_groups,
    small_uint,
)
from bnsearch.index.directory import Directory, FileInfo
from bnsearch.index.manifest import SegmentEntry
from bnsearch.index.postings import combine_fields, field_part
from bnsearch.index.schema import TEXT, FieldSpec, Schema
from bnsearch.index.segment import (
    HOSTED_PREFIX,
    DeferredTables,
    set_deferred_tables,
    stored_arrays,
)

if TYPE_CHECKING:
    from bnsearch.index.segment import SegmentReader, _FieldArrays

Array = npt.NDArray[Any]

_TAG = ".anc-"
#: Stem prefix of an update inside another segment's compound file.
_HOSTED = HOSTED_PREFIX


def anchors_stem(segment: str, generation: int) -> str:
    """The name (without the compound suffix) of ``segment``'s anchor update written
    by the commit of ``generation``."""
    return f"{segment}{_TAG}{generation:06d}"


#: A segment holds at most this many anchor update files; the commit that would add one
#: more writes one file carrying all of them over instead.
MAX_UPDATES = 8

#: The doc list and headline pointers of an *adding* update (:attr:`AnchorUpdate.adds`),
#: named apart from a replacing one's (``anchors.docs``, ``anchors.ptr``) so that code
#: that knows only replacing updates fails on it ("array missing": an
#: :class:`~bnsearch.errors.IndexFormatError`) instead of reading additions as the
#: docs' whole anchors.
ADDS_DOCS = "anchors.adds.docs"
ADDS_PTR = "anchors.adds.ptr"


def fold_start(sizes: Sequence[int], fresh: int) -> int:
    """Which of a segment's updates (their numbers of docs ``sizes``, oldest first) the
    next update (``fresh`` changed docs) carries over: those from the returned position
    on. None while fewer than :data:`MAX_UPDATES`; else at least the two newest, then each
    older one while it holds no more than twice the docs of the fold so far (a suffix: a
    later update wins for a doc, so only the newest ones can be folded)."""
    start = len(sizes)
    if start < MAX_UPDATES:
        return start
    total = fresh
    while start > 0 and (len(sizes) - start < 2 or sizes[start - 1] <= 2 * total):
        start -= 1
        total += sizes[start]
    return start


def hosted_prefix(segment: str, generation: int) -> str:
    """The stem prefix of ``segment``'s anchor update written by the commit of
    ``generation`` inside that commit's new segment, in the layout before packs (each
    update's arrays stems of the host's file; still read, see :func:`read_update`)."""
    return f"{_HOSTED}{segment}.{generation:06d}."


#: The stem (then the commit's generation, six digits) of the one array of a commit's
#: new segment holding every anchor update that commit hosts: a compound file of its
#: own whose arrays are each update's, stems prefixed with the updated segment's name
#: and a dot (:func:`packed_updates`).
PACK = f"{_HOSTED}pack."


def packed_updates(updates: Mapping[str, Mapping[str, Any]], generation: int) -> dict[str, Any]:
    """The anchor updates ``updates`` (updated segment's name -> its update's arrays, as
    :func:`update_arrays` makes them) of the commit of ``generation`` as the one array
    its new segment's compound file holds (see :data:`PACK`): the host's table gains
    one entry whatever the number of segments the commit updates (14 arrays each)."""
    if not updates:
        return {}
    inner = {
        f"{segment}.{stem}": value
        for segment, arrays in sorted(updates.items())
        for stem, value in arrays.items()
    }
    data = b"".join(compound.encode(inner))
    return {f"{PACK}{generation:06d}": np.frombuffer(data, dtype=np.uint8)}


def anchors_files(entry: SegmentEntry) -> list[str]:
    """The files holding anchor updates of ``entry`` (its own update files and the
    compound files of other segments that host one), sorted by name; the order of the
    updates is their generation's, known when they are read (:func:`read_update`)."""
    own_prefix = entry.name + _TAG
    own = entry.name + compound.SUFFIX
    found = []
    for name in entry.files:
        if name.startswith(own_prefix):
            if not _own_generation(entry.name, name).isdigit():
                raise IndexFormatError(f"segment {entry.name!r}: bad anchor update name {name!r}")
            found.append(name)
        elif name.endswith(compound.SUFFIX) and name != own and "/" not in name:
            found.append(name)  # another segment's compound file hosting an update
    return sorted(found)


def _own_generation(segment: str, name: str) -> str:
    return name[len(segment + _TAG) :].split(".", 1)[0]


def anchor_specs(schema: Schema) -> list[FieldSpec]:
    """The fields analyzed from an article's anchors."""
    return [spec for spec in schema.fields if spec.source == "anchors"]


@attrs.define(eq=False)
class AnchorUpdate:
    """One segment's anchor update, read: its docs and fields; a doc's headlines are
    decoded when asked for (a build's update of most of a segment's docs is read at every
    open, and a reader needs the headlines of few of them)."""

    docs: npt.NDArray[np.int64]
    #: doc ``docs[i]``'s headlines are strings ``pointers[i]`` to ``pointers[i + 1]``
    pointers: npt.NDArray[np.int64]
    #: the headline string table (blob, offsets), its structure checked
    headlines: tuple[Array, Array]
    #: per anchor field: its arrays over the updated docs alone
    fields: dict[str, _FieldArrays]
    #: the file holding it (its own, or the compound file of the segment hosting it)
    name: str
    #: the commit that wrote it (a later one wins for a doc in both)
    generation: int
    #: where it is, for error messages
    where: str = ""
    #: an *adding* update (``anchors.adds.docs``): its docs' headlines and postings are
    #: added after the anchors they had before it (see :func:`anchors_of`), not in
    #: their place; its field positions start at 0 for each doc (the reader places them
    #: after the doc's earlier anchors, :mod:`.anchoradds`)
    adds: bool = False
    #: the headline table as strings, when the writer that wrote it gave them
    #: (:func:`written_update`): :attr:`rows` then decodes nothing
    headline_strings: Sequence[str] | None = None

    def slot_of(self, doc: int) -> int | None:
        """The position of ``doc`` in :attr:`docs`, or ``None``."""
        docs = self.docs
        at = int(docs.searchsorted(doc))  # (the method: numpy's wrapper costs half again)
        return at if at < len(docs) and docs[at] == doc else None

    def row(self, slot: int) -> tuple[str, ...]:
        """The headlines of the doc at position ``slot``."""
        from bnsearch.index.segment import decode_one

        blob, offsets = self.headlines
        start, end = int(self.pointers[slot]), int(self.pointers[slot + 1])
        bounds = offsets[start : end + 1].tolist()
        return tuple(
            decode_one(blob, bounds[i], bounds[i + 1], self.where) for i in range(end - start)
        )

    @property
    def rows(self) -> list[tuple[str, ...]]:
        """Every updated doc's headlines, in :attr:`docs` order (the table decoded whole)."""
        from bnsearch.index.segment import decode_strings

        headlines = self.headline_strings
        if headlines is None:
            headlines = decode_strings(*self.headlines, self.where)
        bounds = self.pointers.tolist()
        return [tuple(headlines[bounds[i] : bounds[i + 1]]) for i in range(len(self.docs))]

    def anchors_of(self, doc: int) -> tuple[str, ...] | None:
        """The updated anchors of ``doc``, or ``None`` when the file does not update it."""
        slot = self.slot_of(doc)
        return None if slot is None else self.row(slot)

    def rows_of(self, doc: int) -> tuple[str, ...]:
        """The anchors of a doc this file updates."""
        slot = self.slot_of(doc)
        assert slot is not None, doc
        return self.row(slot)


def read_update(
    directory: Directory,
    name: str,
    schema: Schema,
    segment: str,
    max_doc: int,
    *,
    opened: tuple[npt.NDArray[np.uint8], dict[str, compound.Entry]] | None = None,
) -> AnchorUpdate:
    """Open and check the anchor update of ``segment`` (of ``max_doc`` docs) in the file
    ``name`` (every array's CRC-32 but those a large file's open skips, the doc list, the
    headline table, each field's structure and postings); ``opened``: the file mapped
    with its checked table already (its segment's reader). A writer reading the update
    it has just written takes :func:`written_update` instead."""
    from bnsearch.index.segment import unchecked_on_open

    where = directory.describe(name)
    if opened is None:
        buffer = directory.map_file(name)
        table = compound.read_table(buffer, where)
    else:
        buffer, table = opened
    outer_size = len(buffer)  # (a large host's postings and text are checked by verify)
    if name.startswith(segment + _TAG):  # a file of its own
        prefix, generation = "", int(_own_generation(segment, name))
    else:  # hosted by another segment's file
        buffer, table, prefix, generation = _hosted(buffer, table, segment, where)
        where = f"{where} (anchor update of {segment})"
    for stem, item in table.items():
        if (
            stem.startswith(prefix)
            and not unchecked_on_open(stem, outer_size)
            and not compound.check_crc(buffer, item)
        ):
            raise IndexFormatError(f"{where}: array {stem!r} is damaged (checksum mismatch)")

    def load(stem: str) -> Array:
        item = table.get(prefix + stem)
        if item is None:
            raise IndexFormatError(f"{where}: array {prefix + stem!r} missing")
        return compound.view(buffer, item)

    return _update(
        load,
        lambda stem: prefix + stem in table,
        schema,
        max_doc,
        name=name,
        generation=generation,
        where=where,
        checks=True,
    )


def _hosted(
    buffer: npt.NDArray[np.uint8], table: dict[str, compound.Entry], segment: str, where: str
) -> tuple[npt.NDArray[np.uint8], dict[str, compound.Entry], str, int]:
    """Where ``segment``'s update lies in a host's compound file (``buffer``, ``table``):
    the buffer and table holding its arrays (the commit's pack, :data:`PACK`, or, in the
    layout before packs, the host's own), its stems' prefix and its generation."""
    packs = [stem for stem in table if stem.startswith(PACK)]
    if packs:
        if len(packs) != 1 or not packs[0][len(PACK) :].isdigit():
            raise IndexFormatError(f"{where}: bad packed anchor updates {packs!r}")
        inner, inner_table = compound.nested(buffer, table[packs[0]], f"{where} {packs[0]!r}")
        prefix = f"{segment}."
        if any(stem.startswith(prefix) for stem in inner_table):
            return inner, inner_table, prefix, int(packs[0][len(PACK) :])
        held = 0
    else:
        head = f"{_HOSTED}{segment}."
        found = {stem[len(head) :].split(".", 1)[0] for stem in table if stem.startswith(head)}
        if len(found) == 1 and next(iter(found)).isdigit():
            generation = int(next(iter(found)))
            return buffer, table, hosted_prefix(segment, generation), generation
        held = len(found)
    raise IndexFormatError(
        f"{where}: listed as holding an anchor update of segment {segment!r}, but "
        f"holds {held} (the index is damaged; run bnsearch verify)"
    )


def written_update(
    directory: Directory,
    name: str,
    schema: Schema,
    segment: str,
    max_doc: int,
    generation: int,
    arrays: Mapping[str, Array],
    strings: Mapping[str, list[str]] | None = None,
    *,
    described: str | None = None,
) -> AnchorUpdate:
    """The anchor update of ``segment`` the writer has just written to the file ``name``
    (by the commit of ``generation``), made from the ``arrays`` it wrote
    (:func:`update_arrays`' stems, as :func:`~bnsearch.index.segment.stored_arrays`
    stores them) instead of reading the file again: no mapping, no table, nothing
    checked (they are not read from a file; a reader opening the index reads and checks
    the file, :func:`read_update`); the same :class:`AnchorUpdate`. ``strings``: its
    string tables as the lists they were encoded from (:attr:`MadeUpdate.strings`),
    kept so that a later fold carrying it decodes neither its headlines nor its terms.
    ``described``: ``directory.describe(name)``, when the caller has it (a commit's
    updates hosted in one file)."""
    where = directory.describe(name) if described is None else described
    if not name.startswith(segment + _TAG):
        where = f"{where} (anchor update of {segment})"

    def load(stem: str) -> Array:
        found = arrays.get(stem)
        if found is None:
            raise IndexFormatError(f"{where}: array {stem!r} missing")
        array = found if type(found) is np.ndarray else np.asarray(found)
        array.setflags(write=False)  # as a view of the file would be
        return array

    update = _update(
        load,
        arrays.__contains__,
        schema,
        max_doc,
        name=name,
        generation=generation,
        where=where,
        checks=False,
    )
    if strings:
        update.headline_strings = strings.get("strings.anchors")
        for field, arrays_of in update.fields.items():
            arrays_of.terms = strings.get(f"fld.{field}.terms")
    return update


def _update(
    load: Callable[[str], Array],
    has: Callable[[str], bool],
    schema: Schema,
    max_doc: int,
    *,
    name: str,
    generation: int,
    where: str,
    checks: bool,
) -> AnchorUpdate:
    """An :class:`AnchorUpdate` from its arrays by stem (``load``, ``has``); ``checks``:
    its structure and postings checked (arrays read from a file)."""
    from bnsearch.index.segment import _check_table, _FieldArrays

    def fail(message: str, field: str | None = None) -> None:
        place = f"{where} field {field!r}" if field else where
        raise IndexFormatError(f"{place}: {message} (the index is damaged; run bnsearch verify)")

    adds = has(ADDS_DOCS)
    docs_stem, ptr_stem = (ADDS_DOCS, ADDS_PTR) if adds else ("anchors.docs", "anchors.ptr")
    docs = np.asarray(load(docs_stem), dtype=np.int64)
    pointers = np.asarray(load(ptr_stem), dtype=np.int64)
    headlines = (load("strings.anchors.blob"), load("strings.anchors.off"))
    specs = anchor_specs(schema)
    if checks and adds and any(spec.kind != TEXT for spec in specs):
        fail("an adding anchor update of a keyword anchor field")
    fields = {
        spec.name: _FieldArrays(
            load,
            f"fld.{spec.name}",
            spec.kind == TEXT,
            spec.positions,
            has(f"fld.{spec.name}.forms"),
        )
        for spec in specs
    }
    update = AnchorUpdate(
        docs=docs,
        pointers=pointers,
        headlines=headlines,
        fields=fields,
        name=name,
        generation=generation,
        where=where,
        adds=adds,
    )
    if not checks:
        return update
    if adds and has("anchors.docs"):
        fail("it holds both replacing and adding anchor docs")
    if docs.ndim != 1 or (
        len(docs)
        and (int(docs[0]) < 0 or int(docs[-1]) >= max_doc or bool(np.any(docs[1:] <= docs[:-1])))
    ):
        fail(f"updated docs are not ascending doc ids in 0..{max_doc - 1}")
    count = _check_table(*headlines, None, fail, "anchor headlines")
    if (
        len(pointers) != len(docs) + 1
        or int(pointers[0]) != 0
        or int(pointers[-1]) != count
        or bool(np.any(pointers[1:] < pointers[:-1]))
    ):
        fail("the anchor headline pointers do not match the updated docs")
    for spec in specs:
        fields[spec.name].check(
            len(docs), lambda message, n=spec.name: fail(message, n), postings=True
        )
    return update


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


def _chain(
    updates: Sequence[AnchorUpdate], doc: int
) -> tuple[bool, list[tuple[AnchorUpdate, int]]]:
    """THE rule of a doc's anchors under ``updates`` (oldest first): the last replacing
    update holding ``doc`` gives its base (none: its stored row), then each adding update
    after that base adds its headlines, oldest first. Returns whether a replacing update
    gives the base, and the updates that count with the doc's slot in each: the base's
    first (when it has one), then the adds in order."""
    chain: list[tuple[AnchorUpdate, int]] = []
    for update in reversed(updates):
        slot = update.slot_of(doc)
        if slot is None:
            continue
        chain.append((update, slot))
        if not update.adds:
            chain.reverse()
            return True, chain
    chain.reverse()
    return False, chain


def anchors_of(
    updates: Sequence[AnchorUpdate], doc: int, stored: Callable[[int], tuple[str, ...]]
) -> tuple[str, ...] | None:
    """The anchors ``updates`` (oldest first) give ``doc``, or ``None`` when none holds
    it, by the rule of :func:`_chain` (a doc with adds alone: its stored row, then them)."""
    based, chain = _chain(updates, doc)
    if not chain:
        return None
    rows = [update.row(slot) for update, slot in chain]
    base = () if based else stored(doc)
    return base + tuple(headline for row in rows for headline in row)


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


#: A splice (:func:`splice`) gives up, for a full :func:`materialize`, when the updates it
#: drops hold more distinct terms than this (each is looked up in the others' tables).
SPLICE_DROPPED_TERMS = 20_000
#: ... or when the new updates' postings name more distinct terms than this (each term's
#: postings are placed by a binary search of their own).
SPLICE_NEW_TERMS = 5_000


def splice(
    spec: FieldSpec,
    base: _FieldArrays,
    base_terms: list[str],
    previous: _FieldArrays,
    before: Sequence[AnchorUpdate],
    updates: Sequence[AnchorUpdate],
    max_doc: int,
) -> _FieldArrays | None:
    """:func:`materialize` of ``updates`` computed from ``previous``, the field as
    materialized under the segment's earlier updates ``before``: the docs of the new
    updates have their postings, norms and lengths replaced, the rest of the field is
    copied as it is (no sort of the field: its cost is a few passes over its arrays and
    the new updates' postings, where a materialize sorts every posting of the segment
    and its updates).

    The arrays are those :func:`materialize` gives, dtypes and term table included.
    Applies when ``updates`` are ``before`` less some (the ones a new update carries
    over: every doc of a dropped update is in a new one) plus newer ones, for a text
    field; ``None`` otherwise (the caller materializes)."""
    from bnsearch.index.segment import _FieldArrays, encode_strings

    names = {update.name for update in updates}
    known = {update.name for update in before}
    added = [update for update in updates if update.name not in known]
    dropped = [update for update in before if update.name not in names]
    kept = [update for update in updates if update.name in known]
    if (
        spec.kind != TEXT
        or not added
        or previous.terms is None
        or min(update.generation for update in added)
        <= max((update.generation for update in before), default=-1)
    ):
        return None
    if 4 * sum(len(update.docs) for update in added) > max_doc:
        return None  # a large part of the segment: a materialize costs about as much
    fresh = distinct(np.concatenate([update.docs for update in added]))
    if any(not np.isin(update.docs, fresh).all() for update in dropped):
        return None
    minis = [update.fields[spec.name] for update in added]
    had_forms = any(a.forms is not None for a in [base, *(u.fields[spec.name] for u in before)])
    has_forms = any(a.forms is not None for a in [base, *(u.fields[spec.name] for u in updates)])
    if had_forms != has_forms:  # the form flags come or go: materialize
        return None
    # the term table: the materialized one is the union of the base's and the updates'
    old_terms = previous.terms
    added_terms = sorted({term for mini in minis for term in _terms(mini)})
    gone_ids = _dropped_term_ids(spec, old_terms, base_terms, kept, dropped, added_terms)
    if gone_ids is None:
        return None
    extra = [term for term in added_terms if not _holds(old_terms, term)]
    if len(gone_ids) or extra:
        survivors = old_terms
        if len(gone_ids):
            gone = set(gone_ids.tolist())
            survivors = [term for number, term in enumerate(old_terms) if number not in gone]
        terms = list(heapq.merge(survivors, extra)) if extra else list(survivors)
    else:
        terms = old_terms
    old_map = _renumbered(old_terms, gone_ids, extra)
    # the previous postings of the fresh docs are cut out (few: found by one mask)
    in_fresh = np.zeros(max_doc, dtype=np.bool_)
    in_fresh[fresh] = True
    old_indptr = np.asarray(previous.indptr, dtype=np.int64)
    old_docs = np.asarray(previous.docs)
    old_tfs = np.asarray(previous.tfs)
    cut = np.flatnonzero(in_fresh[old_docs])
    counts = np.zeros(len(terms), dtype=np.int64)
    valid = np.flatnonzero(old_map >= 0)
    counts[old_map[valid]] = np.diff(old_indptr)[valid]
    cut_terms = old_map[np.searchsorted(old_indptr, cut, side="right") - 1]
    np.subtract.at(counts, cut_terms[cut_terms >= 0], 1)
    # the fresh docs' postings, each doc from the last update holding it, by term and doc
    holders = _latest_holders(added)
    parts = []
    for number, (update, mini) in enumerate(zip(added, minis, strict=True)):
        doc_map = np.array(
            [doc if holders[doc] == number else -1 for doc in update.docs.tolist()],
            dtype=np.int64,
        )
        term_map = np.array([bisect.bisect_left(terms, t) for t in _terms(mini)], dtype=np.int32)
        parts.append(field_part(mini, term_map, doc_map, positions=spec.positions, forms=has_forms))
    new_terms = np.concatenate([part.terms for part in parts]).astype(np.int64)
    new_docs = np.concatenate([part.docs for part in parts]).astype(np.int64)
    part_tfs = np.concatenate([part.tfs for part in parts]).astype(np.int64)
    order = np.lexsort((new_docs, new_terms))
    new_terms, new_docs, new_tfs = new_terms[order], new_docs[order], part_tfs[order]
    counts += np.bincount(new_terms, minlength=len(terms))
    indptr = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    # where each new posting goes among the previous ones (before the cut ones of its
    # doc): its term's previous postings, searched by doc; a term new to the table goes
    # where the next previous term starts
    named = distinct(new_terms)
    if len(named) > SPLICE_NEW_TERMS:
        return None
    mapped = old_map[valid]
    after = np.searchsorted(mapped, named, side="left")
    at = np.empty(len(new_terms), dtype=np.int64)
    # (new_terms is sorted: each term's new postings are one run of it)
    run_starts = np.searchsorted(new_terms, named, side="left").tolist()
    run_ends = np.searchsorted(new_terms, named, side="right").tolist()
    for term, slot, first, last in zip(
        named.tolist(), after.tolist(), run_starts, run_ends, strict=True
    ):
        old = int(valid[slot]) if slot < len(valid) else len(old_indptr) - 1
        low = int(old_indptr[old])
        if slot < len(valid) and int(mapped[slot]) == term:
            high = int(old_indptr[old + 1])
            at[first:last] = low + np.searchsorted(old_docs[low:high], new_docs[first:last])
        else:
            at[first:last] = low
    ones = np.ones(len(cut), dtype=np.int64)
    out: dict[str, Any] = {
        "indptr": indptr,
        "docs": _spliced(old_docs, cut, ones, at, new_docs, doc_id_dtype(max_doc)),
    }
    out["tfs"] = tfs = _spliced(old_tfs, cut, ones, at, new_tfs)
    if has_forms:
        flags = np.concatenate([part.forms for part in parts])[order]
        old_flags = previous.forms
        if old_flags is None:
            old_flags = np.zeros(len(old_docs), np.uint8)
        out["forms"] = _spliced(np.asarray(old_flags), cut, ones, at, flags, np.dtype(np.uint8))
    if previous.pos is not None:
        new_pos = np.concatenate(
            [np.zeros(0, np.int64)] + [p.pos for p in parts if p.pos is not None]
        )
        starts = np.cumsum(part_tfs) - part_tfs
        gather = run_positions(starts[order], new_tfs)
        old_starts = np.zeros(len(old_tfs) + 1, dtype=np.int64)
        np.cumsum(old_tfs, out=old_starts[1:])
        out["pos"] = _spliced(
            np.asarray(previous.pos),
            old_starts[cut],
            old_tfs[cut].astype(np.int64),
            np.repeat(old_starts[at], new_tfs),
            new_pos[gather],
        )
        ends = np.zeros(len(tfs) + 1, dtype=np.int64)
        np.cumsum(tfs, out=ends[1:])
        out["posptr"] = ends[indptr]
    norms = np.array(previous.norms, dtype=np.uint8)  # copies, typed as combine_fields'
    lens = np.array(previous.lens, dtype=np.uint32)
    for number, update in enumerate(added):
        mini = minis[number]
        own = np.array([holders[doc] == number for doc in update.docs.tolist()], dtype=np.bool_)
        norms[update.docs[own]] = np.asarray(mini.norms)[own]
        lens[update.docs[own]] = np.asarray(mini.lens)[own]
    out["norms"], out["lens"] = norms, lens
    prefix = f"fld.{spec.name}"
    stems = {f"{prefix}.{key}": value for key, value in out.items()}
    if terms is old_terms:
        stems[f"{prefix}.terms.blob"], stems[f"{prefix}.terms.off"] = previous.blob, previous.off
    else:
        stems[f"{prefix}.terms.blob"], stems[f"{prefix}.terms.off"] = encode_strings(terms)
    arrays = _FieldArrays(stems.__getitem__, prefix, True, spec.positions, has_forms)
    arrays.terms = terms
    return arrays


def _spliced(
    values: Array,
    cut_starts: npt.NDArray[np.int64],
    cut_lengths: npt.NDArray[np.int64],
    at: npt.NDArray[np.int64],
    inserted: Array,
    dtype: Any = None,
) -> Array:
    """``values`` without the runs ``cut_starts[i]``, ``cut_lengths[i]`` long, and with
    ``inserted[j]`` placed before ``values[at[j]]`` (both ascending; an insertion is
    never inside a run, and comes before a run starting at the same place). ``dtype``:
    the result's; ``None``: the smallest unsigned type holding its largest value (what
    :func:`~bnsearch.index.builder.small_uint` gives a build)."""
    ends = np.cumsum(cut_lengths)
    kept = np.delete(values, run_positions(cut_starts, cut_lengths))
    before = np.concatenate(([0], ends))[np.searchsorted(cut_starts, at, side="left")]
    if dtype is None:
        largest = max(
            int(kept.max()) if len(kept) else 0, int(inserted.max()) if len(inserted) else 0
        )
        dtype = small_uint(largest)
    return np.insert(kept.astype(dtype, copy=False), at - before, inserted.astype(dtype))


def _holds(terms: list[str], term: str) -> bool:
    at = bisect.bisect_left(terms, term)
    return at < len(terms) and terms[at] == term


def _dropped_term_ids(
    spec: FieldSpec,
    old_terms: list[str],
    base_terms: list[str],
    kept: Sequence[AnchorUpdate],
    dropped: Sequence[AnchorUpdate],
    added_terms: list[str],
) -> npt.NDArray[np.int64] | None:
    """The ids (in ``old_terms``) of the terms only the ``dropped`` updates held (no
    longer in the union :func:`materialize` takes), ascending; ``None`` when they hold
    too many to look up (:data:`SPLICE_DROPPED_TERMS`)."""
    if not dropped:
        return np.zeros(0, dtype=np.int64)
    candidates = {term for update in dropped for term in _terms(update.fields[spec.name])}
    if len(candidates) > SPLICE_DROPPED_TERMS:
        return None
    others = [base_terms, added_terms, *(_terms(update.fields[spec.name]) for update in kept)]
    gone = sorted(
        bisect.bisect_left(old_terms, term)
        for term in candidates
        if not any(_holds(table, term) for table in others)
    )
    return np.array(gone, dtype=np.int64)


def _renumbered(
    old_terms: list[str], gone_ids: npt.NDArray[np.int64], extra: list[str]
) -> npt.NDArray[np.int64]:
    """Each old term's id in the table without ``gone_ids`` and with ``extra`` (sorted,
    none in ``old_terms``) merged in; ``-1`` for a gone one."""
    count = len(old_terms)
    ids = np.arange(count, dtype=np.int64)
    if len(gone_ids):
        ids -= np.searchsorted(gone_ids, ids, side="left")
    if extra:
        slots = np.array([bisect.bisect_left(old_terms, term) for term in extra], dtype=np.int64)
        ids += np.searchsorted(slots, np.arange(count), side="right")
    if len(gone_ids):
        ids[gone_ids] = -1
    return ids


#: The arrays of a field an anchor update holds (what :func:`combine_fields` gives).
_UPDATE_ARRAYS = frozenset(
    ("terms", "indptr", "docs", "tfs", "forms", "pos", "posptr", "norms", "lens", "facet")
)


@attrs.frozen
class _Built:
    """Field arrays given by name (what :func:`anchor_fields` returns, as attributes)."""

    values: Mapping[str, Any]

    def __getattr__(self, key: str) -> Any:
        return self.values.get(key)


def _length_spec(schema: Schema) -> FieldSpec | None:
    """The anchor field whose per-doc lengths tell two docs' anchors apart (the first
    text one: its ``lens`` count the positions its analysis gives), or ``None``."""
    return next((spec for spec in anchor_specs(schema) if spec.kind == TEXT), None)


def current_lengths(segment: SegmentReader, field: str, docs: Sequence[int]) -> list[int] | None:
    """Per doc of ``segment``, the length of its anchor field ``field`` as the segment
    reads now: from the last anchor update holding the doc, else as the segment was
    written (read from the arrays, without building the updated field); ``None`` when a
    file lacks the lengths."""
    if not segment.has_array(f"fld.{field}.lens"):
        return None
    written = segment.array(f"fld.{field}.lens")
    updates = segment.anchor_updates
    found = []
    for doc in docs:
        based, chain = _chain(updates, doc)  # (a base, then the adds after it)
        length = 0 if based else int(written[doc])
        for update, slot in chain:
            lens = update.fields[field].lens
            if lens is None:
                return None
            length += int(lens[slot])
        found.append(length)
    return found


def same_anchors(first: Sequence[str], second: Sequence[str]) -> bool:
    """Whether two anchor lists hold the same headlines (as many times each), in any
    order: THE comparison of anchors. Their order is the order they were indexed in: a
    target whose anchors are worked out again lists them by linking article id, then
    link number; a commit of new articles that changes no published link appends its
    links' headlines to their targets' (``IndexWriter._appended_anchors``). Nothing
    depends on the order: scores, and phrases and word pairs, which never span the gap
    between two headlines (docs/guide.md)."""
    return len(first) == len(second) and sorted(first) == sorted(second)


def _differ(first: Sequence[str], second: Sequence[str]) -> bool:
    return not same_anchors(first, second)


@attrs.frozen
class Analyzed:
    """Anchors analyzed ahead of :func:`update_arrays`: the docs (ascending) and the
    arrays :func:`anchor_fields` gave for their anchors, in that order."""

    docs: tuple[int, ...]
    arrays: dict[str, Any]


def changed_anchors(
    schema: Schema,
    segment: SegmentReader,
    proposed: Mapping[int, tuple[str, ...]],
    stored: Callable[[int], tuple[str, ...]] | None,
    *,
    cheap: bool = False,
) -> tuple[dict[int, tuple[str, ...]], Analyzed | None]:
    """Which docs of ``proposed`` (doc -> its anchors now) get anchors different from the
    ones ``segment`` gives them, and, when every one does, their analysis (for
    :func:`update_arrays`; ``None`` otherwise).

    The proposed anchors are analyzed first: a doc whose anchor field length differs
    from the one it has (:func:`current_lengths`) has surely changed (equal anchors
    analyze alike), so its stored anchors (``stored(doc)``: a stored row read, a block
    decompressed) are read only when the lengths agree. A new link to a published
    article (the newsroom's commit) adds words, so its target is settled by length.
    ``cheap``: ``stored`` reads nothing (a segment of this batch, whose anchors its flush
    gave), so every doc is compared with it and nothing is analyzed ahead; so too when
    some doc is proposed no anchors. ``stored`` ``None``: no doc of ``proposed`` holds
    anchors (a segment of this batch whose flush gave none: a bulk build's), so the
    docs proposed some are the changes, with nothing compared or analyzed ahead."""
    docs = sorted(proposed)
    if stored is None:
        return {doc: proposed[doc] for doc in docs if proposed[doc]}, None
    spec = _length_spec(schema)
    if cheap or spec is None or not all(proposed[doc] for doc in docs):
        lengths = None  # (a doc losing its last anchor would be analyzed for nothing)
    else:
        lengths = current_lengths(segment, spec.name, docs)
    if spec is None or lengths is None:
        return {doc: proposed[doc] for doc in docs if _differ(proposed[doc], stored(doc))}, None
    arrays = anchor_arrays(schema, [proposed[doc] for doc in docs])
    fresh = arrays[f"fld.{spec.name}.lens"].tolist()
    changes = {
        doc: proposed[doc]
        for doc, new, old in zip(docs, fresh, lengths, strict=True)
        if new != old or _differ(proposed[doc], stored(doc))
    }
    every = len(changes) == len(docs)
    return changes, Analyzed(tuple(docs), arrays) if every and docs else None


#: A fold of adding updates analyzes again the docs of each folded update holding at
#: most this many gained headlines (kept as strings) instead of copying their postings:
#: copying costs a source of :func:`~.postings.combine_fields` each (vocabularies
#: merged, arrays renumbered; some 60 us in a one-article commit into 100k articles)
#: where a headline costs some 25 us to analyze; a fold's big old update (the
#: geometric rule of :func:`fold_start` carries one) is still copied.
FOLD_ANALYZED_HEADLINES = 4


def folded_gains(
    updates: Sequence[AnchorUpdate], gains: Mapping[int, tuple[str, ...]]
) -> dict[int, tuple[str, ...]]:
    """What ONE adding update in place of the adding ``updates`` (a segment's newest,
    oldest first: a fold's) and this commit's ``gains`` analyzes: every doc of ``gains``,
    every doc two of ``updates`` hold and every doc of an update of at most
    :data:`FOLD_ANALYZED_HEADLINES` headlines, each with all the headlines it gained
    over them and ``gains``, in order (by doc). The other docs (of a bigger update, one
    holding each) are carried over as they are, their postings copied
    (:func:`update_arrays` with ``adds``). The chain rule (:func:`anchors_of`: the last
    replacing update, else the stored row, then the adds after it) gives every doc the
    same headlines either way, and its postings the same terms, frequencies and phrases
    (each gained headline after the doc's earlier ones and the gap,
    :mod:`.anchoradds`); so a fold of adding updates reads nothing of its docs and
    analyzes at most the headlines they gained (a replacing fold reads and analyzes
    their whole anchors)."""
    found: dict[int, list[str]] = {}
    held: dict[int, int] = {}
    for update in updates:
        if not update.adds:
            raise ValueError(f"{update.name}: a replacing update folded as an adding one")
        small = int(update.pointers[-1]) <= FOLD_ANALYZED_HEADLINES
        count = 2 if small else 1  # (2: analyzed again, as a doc two of them hold is)
        for doc, row in zip(update.docs.tolist(), update.rows, strict=True):
            found.setdefault(doc, []).extend(row)
            held[doc] = held.get(doc, 0) + count
    for doc, row in gains.items():
        found.setdefault(doc, []).extend(row)
    return {doc: tuple(found[doc]) for doc in sorted(found) if doc in gains or held.get(doc, 0) > 1}


def analyzed_groups(
    schema: Schema, anchors: Sequence[Sequence[tuple[str, ...]]]
) -> list[dict[str, Any]]:
    """Per group of ``anchors`` (one list of docs' anchors a group), the arrays
    :func:`anchor_fields` gives for that group's anchors (those an update keeps), from
    ONE analysis of every group's: a commit updating docs of several segments pays the
    analysis's fixed array work once, not once a segment. Up to
    :data:`~bnsearch.index.builder.FEW_ANCHOR_DOCS` docs in all, every group's postings
    are put in one table, sorted and made into arrays once, each group's cut out of them
    (:func:`~bnsearch.index.builder.few_anchor_groups`);
    more, a group's arrays are its docs' postings cut out of the whole (a doc's postings
    do not depend on the other docs), its docs renumbered from 0, the terms only other
    groups use left out, each array in the dtype the group's own analysis gives it."""
    if not anchors:
        return []
    flat = [row for group in anchors for row in group]
    if len(anchors) > 1 and len(flat) <= FEW_ANCHOR_DOCS:  # each group's own, at once
        few = few_anchor_groups(schema, anchors)
        if few is not None:
            return few
    arrays = anchor_arrays(schema, flat)
    if len(anchors) == 1:
        return [arrays]
    found: list[dict[str, Any]] = [{} for _ in anchors]
    for spec in anchor_specs(schema):
        if spec.kind != TEXT:  # (keyword anchor fields: analyzed group by group)
            for number, group in enumerate(anchors):
                own, _ = anchor_fields(schema, list(group))
                found[number].update(
                    {
                        key: value
                        for key, value in own.items()
                        if key.startswith(f"fld.{spec.name}.")
                    }
                )
            continue
        prefix = f"fld.{spec.name}."
        start = 0
        for number, group in enumerate(anchors):
            part = _docs_part(arrays, prefix, start, start + len(group))
            found[number].update({prefix + key: value for key, value in part.items()})
            start += len(group)
    return found


def _docs_part(arrays: Mapping[str, Any], prefix: str, first: int, end: int) -> dict[str, Any]:
    """The text field ``prefix`` of ``arrays`` (an analysis of several docs) over its
    docs ``first``..``end - 1`` alone, renumbered from 0: what an analysis of those
    docs gives."""
    indptr = np.asarray(arrays[prefix + "indptr"], dtype=np.int64)
    all_docs = np.asarray(arrays[prefix + "docs"])
    chosen = np.flatnonzero((all_docs >= first) & (all_docs < end))
    posting_term = np.searchsorted(indptr, chosen, side="right") - 1
    used, counts = np.unique(posting_term, return_counts=True)
    terms = arrays[prefix + "terms"]
    tfs = np.asarray(arrays[prefix + "tfs"])[chosen]
    out: dict[str, Any] = {
        "terms": [terms[number] for number in used.tolist()],
        "indptr": np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
        "docs": (all_docs[chosen].astype(np.int64) - first).astype(doc_id_dtype(end - first)),
        "tfs": tfs.astype(small_uint(int(tfs.max()) if len(tfs) else 0)),
        "norms": np.asarray(arrays[prefix + "norms"])[first:end].copy(),
        "lens": np.asarray(arrays[prefix + "lens"])[first:end].copy(),
    }
    if prefix + "forms" in arrays:
        out["forms"] = np.asarray(arrays[prefix + "forms"])[chosen]
    if prefix + "pos" in arrays:
        all_tfs = np.asarray(arrays[prefix + "tfs"]).astype(np.int64)
        starts = np.cumsum(all_tfs) - all_tfs
        lengths = all_tfs[chosen]
        ends = np.cumsum(lengths)
        pos = np.asarray(arrays[prefix + "pos"])[run_positions(starts[chosen], lengths)]
        out["pos"] = pos.astype(small_uint(int(pos.max()) if len(pos) else 0))
        out["posptr"] = np.concatenate(([0], ends))[out["indptr"]].astype(np.int64)
    return out


@attrs.frozen
class UpdateJob:
    """One anchor update a commit writes, to be made by :func:`commit_updates`: the
    arguments of :func:`update_arrays`."""

    olds: Sequence[AnchorUpdate]
    changes: Mapping[int, tuple[str, ...]]
    analyzed: Analyzed | None = None
    adds: bool = False


@attrs.frozen
class MadeUpdate:
    """An anchor update made for writing: its arrays as the file stores them
    (:func:`update_arrays`), and its string tables as the lists they were encoded from
    (stem -> strings: ``strings.anchors``, ``fld.F.terms``), which the writer's reader
    takes (:func:`written_update`) instead of decoding them again at a later fold."""

    arrays: dict[str, Any]
    strings: Mapping[str, list[str]] = attrs.field(factory=dict)


def commit_updates(schema: Schema, jobs: Sequence[UpdateJob]) -> list[MadeUpdate]:
    """:func:`update_arrays` of each of ``jobs`` (a commit's updates, one a segment it
    touches), the same arrays, made together: every update's string tables (headlines,
    terms) encoded by ONE encode cut per table
    (:func:`~bnsearch.index.segment.encode_string_tables`), so a commit touching five
    segments does not pay an encode's fixed cost ten times."""
    # by name (the file's order then does not follow a set's string hashes, and two
    # identical builds write one file), stored as the file holds them: a writer takes
    # its reader's update from these (:func:`written_update`), not from the file. One
    # pass a job (its string tables put aside by ``stored_arrays`` to be encoded
    # together), not four.
    made: list[MadeUpdate] = []
    deferred: DeferredTables = []
    for job in jobs:
        parts = dict(
            sorted(_update_parts(schema, job.olds, job.changes, job.analyzed, job.adds).items())
        )
        start = len(deferred)
        arrays = stored_arrays(parts, deferred)
        made.append(MadeUpdate(arrays, {stem: strings for _, stem, strings in deferred[start:]}))
    set_deferred_tables(deferred)
    return made


def update_arrays(
    schema: Schema,
    olds: Sequence[AnchorUpdate],
    changes: Mapping[int, tuple[str, ...]],
    analyzed: Analyzed | None = None,
    *,
    adds: bool = False,
) -> dict[str, Any]:
    """The arrays of a new anchor update file (as it stores them, by name: string
    tables encoded, see :func:`~bnsearch.index.segment.stored_arrays`): the docs of
    ``changes`` (doc -> final anchors) analyzed (``analyzed``: already, by
    :func:`changed_anchors`), and the docs of the updates ``olds`` (oldest first; each
    doc as the last one holding it gives it) not in ``changes`` carried over as they
    are. With no ``olds`` the file holds this commit's changes alone. ``adds``: an
    adding update (:attr:`AnchorUpdate.adds`; ``changes`` then holds the headlines each
    doc gains; ``olds`` are adding updates it folds, see :func:`folded_gains`: a doc
    two of them hold must be in ``changes``, with all its gains). A doc an adding
    update among ``olds`` holds must be in ``changes`` of a replacing update (its whole
    anchors: a replacing update cannot carry an addition over). (:func:`commit_updates`
    makes several at once; this is its one job.)"""
    (made,) = commit_updates(schema, [UpdateJob(olds, changes, analyzed, adds)])
    return made.arrays


def _update_parts(
    schema: Schema,
    olds: Sequence[AnchorUpdate],
    changes: Mapping[int, tuple[str, ...]],
    analyzed: Analyzed | None,
    adds: bool,
) -> dict[str, Any]:
    """The arrays of :func:`update_arrays` before they are stored (string tables as
    lists, in no order)."""
    if not olds:  # this commit's changes alone (most): the analyzed arrays are the update's
        return _fresh_parts(schema, changes, analyzed, adds)
    fresh = sorted(changes)
    holders = {doc: n for doc, n in _latest_holders(olds).items() if doc not in changes}
    if adds:
        if not all(old.adds for old in olds):
            raise ValueError("an adding anchor update carries a replacing one over")
        held = [doc for old in olds for doc in old.docs.tolist() if doc not in changes]
        if len(held) != len(holders):
            raise ValueError("a doc of two folded adding updates is carried over in one")
    elif any(olds[number].adds for number in holders.values()):
        raise ValueError("a doc of an adding update is carried over without its anchors")
    if not holders:  # every doc of ``olds`` changes: the analysis alone is the update
        return _fresh_parts(schema, changes, analyzed, adds)
    sources_of = sorted(set(holders.values()))  # (an update none is carried from: no source)
    docs = sorted([*holders, *fresh])
    slot = {doc: number for number, doc in enumerate(docs)}
    carried: dict[int, tuple[str, ...]] = {}  # each carried doc's row (a table decoded once)
    for number in sources_of:
        old = olds[number]
        carried.update(
            (doc, row)
            for doc, row in zip(old.docs.tolist(), old.rows, strict=True)
            if holders.get(doc) == number
        )
    rows = [changes[doc] if doc in changes else carried[doc] for doc in docs]
    analyzed_arrays = _analysis(schema, changes, fresh, analyzed)
    fresh_map = np.array([slot[doc] for doc in fresh], dtype=np.int64)
    arrays: dict[str, Any] = {}
    for spec in anchor_specs(schema):
        prefix = f"fld.{spec.name}"
        built = {
            key.removeprefix(prefix + "."): value
            for key, value in analyzed_arrays.items()
            if key.startswith(prefix + ".")
        }
        sources: list[tuple[Any, list[str], Array]] = [(_Built(built), built["terms"], fresh_map)]
        for number in sources_of:
            old = olds[number]
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
    return _with_rows(arrays, docs, rows, adds)


def _fresh_parts(
    schema: Schema,
    changes: Mapping[int, tuple[str, ...]],
    analyzed: Analyzed | None,
    adds: bool,
) -> dict[str, Any]:
    """:func:`_update_parts` of an update carrying nothing over: the analysis of
    ``changes`` (``analyzed``, when it is of those docs) kept as it is."""
    docs = sorted(changes)
    analysis = _analysis(schema, changes, docs, analyzed)
    # (an analysis holds the anchor fields' arrays alone, stems ``fld.<field>.<array>``
    # with no other dot: the array's name decides, whatever the schema)
    arrays = {
        key: value for key, value in analysis.items() if key.rpartition(".")[2] in _UPDATE_ARRAYS
    }
    return _with_rows(arrays, docs, [changes[doc] for doc in docs], adds)


def _analysis(
    schema: Schema,
    changes: Mapping[int, tuple[str, ...]],
    fresh: Sequence[int],
    analyzed: Analyzed | None,
) -> Mapping[str, Any]:
    """The analysis of the anchors of ``changes``' docs ``fresh`` (ascending):
    ``analyzed`` when it is of those docs, else made now."""
    if analyzed is not None and list(analyzed.docs) == list(fresh):
        return analyzed.arrays
    return anchor_arrays(schema, [changes[doc] for doc in fresh])


def _with_rows(
    arrays: dict[str, Any], docs: Sequence[int], rows: Sequence[tuple[str, ...]], adds: bool
) -> dict[str, Any]:
    """``arrays`` (an update's fields) with its doc list ``docs``, their headline
    pointers and headlines ``rows`` (a replacing update's stems, or an adding one's)."""
    docs_stem, ptr_stem = (ADDS_DOCS, ADDS_PTR) if adds else ("anchors.docs", "anchors.ptr")
    arrays[docs_stem] = np.array(docs, dtype=np.int32)
    # (np.fromiter of the running sums: np.cumsum of a list goes through numpy's
    # fallback wrapper, 5 us a call, once a segment a commit touches)
    arrays[ptr_stem] = np.fromiter(
        accumulate((len(row) for row in rows), initial=0), dtype=np.int64, count=len(rows) + 1
    )
    arrays["strings.anchors"] = [headline for row in rows for headline in row]
    return arrays


def with_update(
    entry: SegmentEntry, name: str, files: Mapping[str, FileInfo], *, replace: Sequence[str] = ()
) -> SegmentEntry:
    """``entry`` with the new anchor update file ``name`` (its ``files``) added, in place
    of its update files ``replace`` (the new one carries them over)."""
    old = set(replace)
    if old and not old <= set(anchors_files(entry)):
        raise ValueError(f"{sorted(old)} are not all anchor updates of {entry.name}")
    kept = {key: value for key, value in entry.files.items() if key not in old}
    kept.update(files)
    assert name in kept
    return attrs.evolve(entry, files=kept)
