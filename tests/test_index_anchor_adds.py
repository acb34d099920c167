"""Adding anchor updates (a commit of new articles adds headlines to its targets'
anchors: anchorfile.AnchorUpdate.adds, anchoradds) and the small-batch analysis of a
commit's anchors (builder.few_anchor_fields)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from test_index_link_updates import _fresh, same_update_arrays, stored_anchors

from bnsearch.articles import Article, RelatedLink
from bnsearch.errors import IndexFormatError
from bnsearch.index import Index, MergePolicy, compound, verify
from bnsearch.index.anchorfile import _UPDATE_ARRAYS, ADDS_DOCS, MAX_UPDATES
from bnsearch.index.builder import anchor_fields, few_anchor_fields, few_anchor_groups
from bnsearch.index.schema import FieldSpec, Schema, news_schema

WORDS = [
    "নদী",
    "ভাঙন",
    "সেতু",
    "খুলল",
    "দাম",
    "বাড়ল",
    "ও",
    "এবং",
    "২০২৪",
    "ঢাকায়",
    "নদীর",
    "সেতুতে",
    "খবর",
    "Dhaka",
    "—",
    "?",
    "!",
    "কী",
    "করণীয়?",
    "(সুনানে",
    "আবু",
    "দাউদ:",
]


def _headline(rng: random.Random) -> str:
    if rng.random() < 0.05:
        return rng.choice(["", " ", "?!", "— —"])
    size = rng.randrange(1, 300) if rng.random() < 0.05 else rng.randrange(1, 12)
    return " ".join(rng.choices(WORDS, k=size))


def _nostem_schema() -> Schema:
    fields = (
        FieldSpec(name="title", source="title"),
        FieldSpec(name="anchors", source="anchors", analyzer="bengali-nostem"),
        FieldSpec(
            name="anchor_words",
            source="anchors",
            analyzer="bengali-keep-stopwords",
            positions=False,
        ),
    )
    return Schema(fields=fields)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("schema", [news_schema(), _nostem_schema()], ids=["news", "nostem"])
def test_few_anchor_fields_are_anchor_fields_array_by_array(seed: int, schema: Schema) -> None:
    """The small-batch analysis gives the arrays (values and dtypes, the term table) the
    builder's gives, on headlines with stopwords, punctuation, numerals, Latin words,
    empty ones, docs without anchors and headlines long enough for 16-bit positions."""
    rng = random.Random(seed)
    anchors = [
        tuple(_headline(rng) for _ in range(rng.randrange(0, 8)))
        for _ in range(rng.randrange(1, 9))
    ]
    got = few_anchor_fields(schema, anchors)
    want, _ = anchor_fields(schema, anchors)
    assert got is not None
    same_update_arrays(got, want)
    assert all(name.rsplit(".", 1)[-1] in _UPDATE_ARRAYS for name in got)  # no other


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("schema", [news_schema(), _nostem_schema()], ids=["news", "nostem"])
def test_few_anchor_groups_are_each_groups_anchor_fields(seed: int, schema: Schema) -> None:
    """One analysis and one pass for several groups (a commit's gained headlines in
    several segments) gives each group the arrays its own builder analysis gives (values,
    dtypes, term tables): groups whose docs hold no term at all (first, middle or last),
    groups with 16-bit positions or frequencies beside groups with 8-bit ones, docs
    numbered from 0 in each group."""
    rng = random.Random(seed)
    groups = [
        [
            tuple(_headline(rng) for _ in range(rng.randrange(0, 6)))
            for _ in range(rng.randrange(1, 6))
        ]
        for _ in range(rng.randrange(2, 6))
    ]
    groups.insert(rng.randrange(len(groups) + 1), [("?!",), ("", " ")])  # no term
    if seed % 2:  # one group's positions past 255, the others' not
        groups[0] = [(" ".join(["নদী"] * 300),), ("নদী সেতু",)]
    got = few_anchor_groups(schema, groups)
    assert got is not None and len(got) == len(groups)
    for group, arrays in zip(groups, got, strict=True):
        want, _ = anchor_fields(schema, list(group))
        same_update_arrays(arrays, want)


# -- adding anchor updates ----------------------------------------------------------------

TOPICS = ["নদী", "সেতু", "বাজার", "বৃষ্টি", "ধান", "মেলা", "নৌকা", "হাওর", "চাল", "দাম"]


def _target(number: int, version: int = 0) -> Article:
    words = " ".join(TOPICS[(number + k) % len(TOPICS)] for k in range(3))
    suffix = f" নতুন {version}" if version else ""
    return Article(id=f"t{number}", title=f"খবর {words} {number}{suffix}", body="নদী " * 9)


def _linker(ident: str, rng: random.Random, live: dict[str, Article]) -> Article:
    """A new article listing 1-5 live targets' titles (a title twice sometimes), or a
    headline that names nothing."""
    titles = [a.title for i, a in live.items() if i.startswith("t")]
    related = [RelatedLink(headline=rng.choice(titles)) for _ in range(rng.randrange(1, 6))]
    if rng.random() < 0.2:
        related.append(RelatedLink(headline="কোথাও নেই এমন খবর"))
    body = " ".join(rng.choices(TOPICS, k=6))
    return Article(id=ident, title=f"উৎস {ident} {rng.choice(TOPICS)}", body=body, related=related)


QUERIES = ["খবর নদী", "সেতু", '"খবর বাজার"', '"নদী সেতু বাজার"', "দাম চাল", "উৎস মেলা"]


def _same_as_fresh(index: Index, live: dict[str, Article]) -> None:
    fresh = _fresh(list(live.values()))
    assert stored_anchors(index) == stored_anchors(fresh)
    mine, theirs = index.searcher(), fresh.searcher()
    for query in QUERIES:
        for fields in (None, ["anchors"]):
            got = {h.id: h.score for h in mine.search(query, limit=500, fields=fields)}
            want = {h.id: h.score for h in theirs.search(query, limit=500, fields=fields)}
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (query, fields)


def _adding_updates(index: Index) -> int:
    return sum(u.adds for s in index.reader().segments for u in s.anchor_updates)


@pytest.mark.parametrize("seed", range(8))
def test_random_histories_with_adding_updates_match_a_fresh_build(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commits of new linkers (adding updates), linkers deleted and targets retitled
    (replacing updates after adds), folds past MAX_UPDATES (of adding updates alone:
    one adding update; with a replacing one: a replacing update), merges, writers reopened, a
    searcher refreshed all along (its anchors field spliced): stored anchors, scores
    (both fields lists, phrases included) and verify equal a fresh build's, and so does
    a reader opened anew."""
    import bnsearch.index.writer as writer_module

    kinds: list[tuple[bool, bool]] = []  # per update written: adds, carries an adding one
    original = writer_module.update_arrays  # (a merge's update)
    original_commit = writer_module.commit_updates  # (a commit's updates, made at once)

    def recording(schema, olds, changes, analyzed=None, *, adds=False):  # type: ignore[no-untyped-def]
        kinds.append((adds, any(old.adds for old in olds)))
        return original(schema, olds, changes, analyzed, adds=adds)

    def recording_commit(schema, jobs):  # type: ignore[no-untyped-def]
        kinds.extend((job.adds, any(old.adds for old in job.olds)) for job in jobs)
        return original_commit(schema, jobs)

    monkeypatch.setattr(writer_module, "update_arrays", recording)
    monkeypatch.setattr(writer_module, "commit_updates", recording_commit)
    folded: list[int] = []  # per fold of adding updates into one adding update: its docs
    original_folded = writer_module.folded_gains

    def folding(updates, gains):  # type: ignore[no-untyped-def]
        found = original_folded(updates, gains)
        folded.append(len(found))
        return found

    monkeypatch.setattr(writer_module, "folded_gains", folding)
    rng = random.Random(seed)
    path = tmp_path / "idx"
    index = Index.create(path)
    live = {f"t{n}": _target(n) for n in range(30)}
    versions = dict.fromkeys(range(30), 0)
    with index.writer() as writer:
        writer.add_many(list(live.values()))
    searcher = index.searcher()
    factor = [256, 3, 4][seed % 3]  # 256: no merge, one segment folds its updates
    share = 0.65  # of the commits: new articles only (adding updates)
    if seed >= 6:  # mostly adds, no merge: folds of adding updates into an adding one
        factor, share = 256, 0.92
    policy = MergePolicy(merge_factor=factor)
    writer = index.writer(merge_policy=policy)
    added = 0
    try:
        for step in range(3 * MAX_UPDATES):
            roll = rng.random()
            if roll < share:  # new articles only: the adding path
                for _ in range(rng.randrange(1, 3)):
                    article = _linker(f"s{added}", rng, live)
                    added += 1
                    writer.add(article)
                    live[article.id] = article
            elif roll < 0.8:  # a linker goes: its targets' anchors are worked out again
                linkers = [i for i in live if i.startswith("s")]
                if linkers:
                    gone = rng.choice(linkers)
                    writer.delete(gone)
                    live.pop(gone)
            else:  # a target retitled: its linkers' headlines miss it now
                number = rng.randrange(30)
                versions[number] += 1
                live[f"t{number}"] = _target(number, versions[number])
                writer.add(live[f"t{number}"])
            writer.commit()
            searcher = searcher.refresh()
            if step % 6 == 5:
                _same_as_fresh(index, live)
                writer.close()
                writer = index.writer(merge_policy=policy)
    finally:
        writer.close()
    _same_as_fresh(index, live)
    fresh = _fresh(list(live.values())).searcher()
    for query in QUERIES:  # the searcher refreshed after every commit (spliced fields)
        got = {h.id: h.score for h in searcher.search(query, limit=500, fields=["anchors"])}
        want = {h.id: h.score for h in fresh.search(query, limit=500, fields=["anchors"])}
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), query
    _same_as_fresh(Index.open(path), live)
    assert verify(path).ok
    assert any(adds for adds, _ in kinds) and any(not adds for adds, _ in kinds)
    if factor == 256:  # a fold carried an adding update (into a replacing or adding one)
        assert any(carried for _, carried in kinds) or folded
    if seed >= 6:
        assert folded  # adding updates folded into an adding one


def test_an_adding_update_holds_only_the_gained_headlines_under_names_apart(
    tmp_path: Path,
) -> None:
    """A commit of a new linker writes an adding update: its doc list is
    ``anchors.adds.docs`` (code knowing only replacing updates finds no
    ``anchors.docs`` and fails with an IndexFormatError), its headlines only the gained
    ones; the target's stored anchors are its earlier ones plus those; a file holding
    both kinds is refused."""
    path = tmp_path / "idx"
    index = Index.create(path)
    targets = [_target(n) for n in range(3)]
    first = Article(
        id="s0", title="উৎস এক", body="সেতু", related=[RelatedLink(headline=targets[0].title)]
    )
    with index.writer() as writer:
        writer.add_many([*targets, first])
    with index.writer(merge_policy=MergePolicy(merge_factor=64)) as writer:
        related = [RelatedLink(headline=targets[n].title) for n in (0, 2)]
        writer.add(Article(id="s1", title="উৎস দুই", body="নদী", related=related))
    reader = index.reader()
    (segment,) = [s for s in reader.segments if any(u.adds for u in s.anchor_updates)]
    (update,) = [u for u in segment.anchor_updates if u.adds]
    assert [update.rows_of(doc) for doc in update.docs.tolist()] == [
        (targets[0].title,),
        (targets[2].title,),
    ]
    where = reader.find("t0")
    assert where is not None
    assert reader.stored(*where)["anchors"] == [targets[0].title, targets[0].title]
    host = update.name  # the commit's new segment's compound file hosts it
    buffer = index.directory.map_file(host)
    outer = compound.read_table(buffer, host)
    (pack,) = [stem for stem in outer if stem.startswith("anc.pack.")]
    inner, table = compound.nested(buffer, outer[pack], host)
    stems = [stem for stem in table if stem.startswith(f"{segment.name}.")]
    (prefix,) = [stem[: -len(ADDS_DOCS)] for stem in stems if stem.endswith("." + ADDS_DOCS)]
    assert prefix + "anchors.docs" not in table and prefix + "anchors.ptr" not in table
    # a file holding both kinds of doc list is damaged
    from bnsearch.index.anchorfile import read_update

    doubled = dict(table)
    doubled[prefix + "anchors.docs"] = table[prefix + ADDS_DOCS]
    entry = compound.Entry(np.dtype(np.uint8), (len(inner),), outer[pack].offset, 0)
    entry.nested = (inner, doubled)
    with pytest.raises(IndexFormatError, match="both replacing and adding"):
        read_update(
            index.directory,
            host,
            reader.schema,
            segment.name,
            segment.max_doc,
            opened=(buffer, {**outer, pack: entry}),
        )


def _update_parts(update: object) -> list[object]:
    """Everything an :class:`~bnsearch.index.anchorfile.AnchorUpdate` holds, arrays as
    lists; its string tables' decoded caches (a writer's update keeps the lists it
    encoded) as the tables decode."""
    import attrs

    from bnsearch.index.segment import decode_strings

    parts: list[object] = []
    for name, value in attrs.asdict(update, recurse=False).items():  # type: ignore[arg-type]
        if name == "headline_strings":
            headlines = decode_strings(*update.headlines)  # type: ignore[attr-defined]
            assert value is None or list(value) == headlines
            continue
        if name == "fields":
            for field, arrays in sorted(value.items()):
                for key, part in sorted(vars(arrays).items()):
                    if key == "terms":
                        assert part is None or part == decode_strings(arrays.blob, arrays.off)
                        continue
                    items = part if isinstance(part, tuple) else (part,)
                    parts.append((field, key, [_plain(item) for item in items]))
        else:
            items = value if isinstance(value, tuple) else (value,)
            parts.append((name, [_plain(item) for item in items]))
    return parts


def _plain(value: object) -> object:
    import numpy as np

    return (value.dtype.str, value.tolist()) if isinstance(value, np.ndarray) else value


def test_a_writer_takes_the_update_it_wrote_from_its_arrays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer taking its segment under the anchor update it has just written does
    not read the file again (no ``read_update``, no CRC-32 checked): it makes the update
    from the arrays it wrote, equal in every part to the one a reader opening the index
    reads (and checks) from the file."""
    from bnsearch.index import anchorfile

    crcs: list[object] = []
    original_crc = compound.check_crc

    def counting(buffer, item):  # type: ignore[no-untyped-def]
        crcs.append(item)
        return original_crc(buffer, item)

    reads: list[int] = []  # per update file read: CRC-32s checked
    original_read = anchorfile.read_update

    def reading(*args, **kwargs):  # type: ignore[no-untyped-def]
        before = len(crcs)
        found = original_read(*args, **kwargs)
        reads.append(len(crcs) - before)
        return found

    path = tmp_path / "idx"
    index = Index.create(path)
    targets = [_target(n) for n in range(3)]
    with index.writer() as writer:
        writer.add_many(targets)
    monkeypatch.setattr(compound, "check_crc", counting)
    monkeypatch.setattr(anchorfile, "read_update", reading)
    rng = random.Random(1)
    with index.writer(merge_policy=MergePolicy(merge_factor=64)) as writer:
        for number in range(3):  # adding updates, then one with a deleted linker
            writer.add(_linker(f"s{number}", rng, {a.id: a for a in targets}))
            writer.commit()
        writer.delete("s0")
        writer.commit()
        held = {s.name: s.anchor_updates for s in writer._base.segments}
    assert reads == []  # the writer read none of its updates back
    assert sum(len(updates) for updates in held.values()) >= 4
    opened = {s.name: s.anchor_updates for s in Index.open(path).reader().segments}
    assert reads and all(checked > 0 for checked in reads)  # an opening reader checks them
    assert held.keys() == opened.keys()
    for name, updates in held.items():
        assert [_update_parts(u) for u in updates] == [_update_parts(u) for u in opened[name]], name


def test_an_anchor_update_keeps_the_deletions_read_already(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit that gives a segment with deletions an anchor update and deletes none
    of its docs takes the segment under the update without reading its deletions file
    again (the same file: the same live docs); a commit deleting one of its docs reads
    the new one."""
    from bnsearch.index.segment import SegmentReader

    reads: list[tuple[str, str | None]] = []  # per deletions read: segment, file
    original = SegmentReader._read_deletes

    def reading(self, directory, entry):  # type: ignore[no-untyped-def]
        reads.append((entry.name, entry.deletes))
        return original(self, directory, entry)

    path = tmp_path / "idx"
    index = Index.create(path)
    targets = [_target(n) for n in range(4)]
    with index.writer() as writer:
        writer.add_many(targets)
        writer.commit()
        writer.delete(targets[3].id)
    host = index.reader().segments[0].name
    monkeypatch.setattr(SegmentReader, "_read_deletes", reading)
    live = {a.id: a for a in targets[:3]}
    linker = _linker("s0", random.Random(2), live)
    with index.writer(merge_policy=MergePolicy(merge_factor=64)) as writer:
        assert reads == [(host, f"{host}.del-000002.npy")]  # the writer's open
        writer.add(linker)
        writer.commit()
        assert [r for r in reads[1:] if r[0] == host] == []  # its deletions: not read again
        (first,) = (s for s in writer._base.segments if s.name == host)
        assert first.anchor_updates and first.del_count == 1
        assert first.live.tolist() == [True, True, True, False]
        writer.delete(targets[2].id)
        writer.commit()
        assert [r for r in reads[1:] if r[0] == host]  # a new file: read
    live["s0"] = linker
    del live[targets[2].id]
    _same_as_fresh(index, live)


def test_a_fold_of_adding_updates_is_one_adding_update_of_their_gains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit of new linkers whose target segment's updates (all adding) are due to
    fold writes ONE adding update in their place: each doc's headlines gained over the
    folded updates and this commit, in order; only those are analysed (once, ahead),
    nothing of the targets is read (no stored anchors), and the index equals a fresh
    build. (Before, the fold was a replacing update: the targets' whole anchors read
    and analysed again.)"""
    import bnsearch.index.writer as writer_module
    from bnsearch.index.segment import SegmentReader

    analysed: list[list[tuple[str, ...]]] = []  # per commit: the anchors analysed ahead
    written: list[bool] = []  # per commit: it wrote an adding update
    stored: list[int] = []  # docs whose stored anchors were read
    original_groups = writer_module.analyzed_groups
    original_updates = writer_module.commit_updates
    original_stored = SegmentReader.stored_anchors

    def groups(schema, anchors):  # type: ignore[no-untyped-def]
        analysed[-1].extend(row for group in anchors for row in group)
        return original_groups(schema, anchors)

    def updates(schema, jobs):  # type: ignore[no-untyped-def]
        for job in jobs:
            written[-1] = job.adds
        return original_updates(schema, jobs)

    def stored_anchors(self, doc):  # type: ignore[no-untyped-def]
        stored.append(doc)
        return original_stored(self, doc)

    monkeypatch.setattr(writer_module, "analyzed_groups", groups)
    monkeypatch.setattr(writer_module, "commit_updates", updates)
    monkeypatch.setattr(SegmentReader, "stored_anchors", stored_anchors)
    path = tmp_path / "idx"
    index = Index.create(path)
    targets = [_target(n) for n in range(3)]
    live = {target.id: target for target in targets}
    with index.writer() as writer:
        writer.add_many(targets)
    gains: dict[int, list[str]] = {0: [], 1: [], 2: []}
    with index.writer(merge_policy=MergePolicy(merge_factor=256)) as writer:
        for number in range(MAX_UPDATES + 2):
            analysed.append([])
            written.append(False)
            headline = targets[number % 3].title
            related = [RelatedLink(headline=headline)]
            linker = Article(id=f"s{number}", title=f"উৎস {number}", body="নদী", related=related)
            writer.add(linker)
            live[linker.id] = linker
            writer.commit()
            gains[number % 3].append(headline)
            if number == MAX_UPDATES:  # the fold: every gain since the build, by doc
                expected = [tuple(gains[doc]) for doc in sorted(gains)]
                (segment,) = [s for s in index.reader().segments if s.max_doc == 3]
                (update_read,) = segment.anchor_updates  # one adding update in their place
                assert update_read.adds
                assert update_read.rows == expected
            else:
                expected = [(headline,)]
            assert written[-1], number  # an adding update, the fold's too
            assert analysed[-1] == expected, number
    assert stored == []
    _same_as_fresh(index, live)
    assert verify(path).ok


def test_the_gained_headlines_are_placed_where_their_lookups_found_the_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit of new linkers finds the targets whose anchors gain headlines once, by
    the key lookups that resolved the links: it does not look their ids up again in the
    segments (IndexWriter._live_locations), and the update lands on the right docs."""
    from bnsearch.index.writer import IndexWriter

    asked: list[str] = []
    original = IndexWriter._live_locations

    def locations(self, article_ids):  # type: ignore[no-untyped-def]
        wanted = list(article_ids)
        asked.extend(wanted)
        return original(self, wanted)

    index = Index.create(tmp_path / "idx")
    targets = [_target(n) for n in range(4)]
    with index.writer() as writer:
        writer.add_many(targets)
    monkeypatch.setattr(IndexWriter, "_live_locations", locations)
    related = [RelatedLink(headline=targets[n].title) for n in (3, 1)]
    with index.writer() as writer:
        writer.add(Article(id="s0", title="উৎস এক", body="নদী", related=related))
    assert not {"t1", "t3"} & set(asked)
    reader = index.reader()
    for number in range(4):
        where = reader.find(f"t{number}")
        assert where is not None
        gained = [targets[number].title] if number in (1, 3) else []
        assert reader.stored(*where)["anchors"] == gained


# -- the resolution's arrays against a reference ------------------------------------------


def _reference_resolution(spec, base, base_terms, earlier, update):  # type: ignore[no-untyped-def]
    """The field of an adding update's docs as the eighth to tenth sessions' readers
    made it (a Python pass a posting; the reference the array passes of
    anchoradds._resolved_field are compared with): each doc's postings in its source
    (the last earlier update holding it, else base), the added ones shifted after its
    last position and the gap, as builder.postings_field's dict."""
    from bnsearch.index.anchorfile import _terms
    from bnsearch.index.builder import postings_field
    from bnsearch.index.schema import POSITION_GAP

    def doc_postings(arrays, terms, doc):  # type: ignore[no-untyped-def]
        found = []
        for number, term in enumerate(terms):
            start, end = int(arrays.indptr[number]), int(arrays.indptr[number + 1])
            at = int(arrays.posptr[number]) if arrays.posptr is not None else 0
            for posting in range(start, end):
                tf = int(arrays.tfs[posting])
                if int(arrays.docs[posting]) == doc:
                    flag = 0 if arrays.forms is None else int(arrays.forms[posting])
                    pos = [] if arrays.pos is None else arrays.pos[at : at + tf].tolist()
                    found.append((term, tf, pos, flag))
                at += tf
        return found

    postings: dict[tuple[str, int], list[int]] = {}
    lens = []
    mini = update.fields[spec.name]
    for slot, doc in enumerate(update.docs.tolist()):
        arrays, terms, local = base, base_terms, doc
        for old in reversed(earlier):
            if old.slot_of(doc) is not None:
                arrays, local = old.fields[spec.name], old.slot_of(doc)
                terms = _terms(arrays)
                break
        last = -1
        for term, tf, pos, flag in doc_postings(arrays, terms, local):
            postings[(term, slot)] = [flag, *(pos if spec.positions else [0] * tf)]
            last = max([last, *pos])
        shift = last + 1 + POSITION_GAP if last >= 0 else 0
        for term, tf, pos, flag in doc_postings(mini, _terms(mini), slot):
            moved = [p + shift for p in pos] if spec.positions else [0] * tf
            held = postings.setdefault((term, slot), [0])
            held[0] |= flag
            held.extend(moved)
        lens.append(int(arrays.lens[local]) + int(mini.lens[slot]))
    has_forms = mini.forms is not None or base.forms is not None
    return postings_field(spec, postings, lens, len(lens), has_forms)


def _field_of(spec, built):  # type: ignore[no-untyped-def]
    from bnsearch.index.segment import _FieldArrays, encode_strings

    prefix = f"fld.{spec.name}"
    stems = {k: v for k, v in built.items() if k.startswith(prefix + ".")}
    terms = stems.pop(f"{prefix}.terms")
    stems[f"{prefix}.terms.blob"], stems[f"{prefix}.terms.off"] = encode_strings(terms)
    arrays = _FieldArrays(
        stems.__getitem__, prefix, True, spec.positions, f"{prefix}.forms" in stems
    )
    arrays.terms = terms
    return arrays


@pytest.mark.parametrize("doc_order", [False, True])
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("schema", [news_schema(), _nostem_schema()], ids=["news", "nostem"])
def test_an_adding_updates_resolution_matches_a_pass_a_posting(
    seed: int, schema: Schema, doc_order: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """anchoradds resolves an adding update by array passes (each source's postings of
    its docs and the added ones merged by (term, doc)); on random base fields, earlier
    replacing updates (some docs in several, some in none) and adding updates (docs
    with no earlier anchors, headlines that analyse to nothing, long ones), it gives
    the arrays, values and dtypes, of a pass over each doc's postings."""
    import numpy as np

    import bnsearch.index.segment as segment_module
    from bnsearch.index import anchoradds
    from bnsearch.index.anchorfile import AnchorUpdate

    if doc_order:  # the base field read in doc order (a large segment's)
        monkeypatch.setattr(segment_module, "DOC_ORDER_POSTINGS", 0)
    rng = random.Random(seed)
    count = rng.randrange(5, 40)

    def anchors(docs: int) -> list[tuple[str, ...]]:
        return [tuple(_headline(rng) for _ in range(rng.randrange(0, 5))) for _ in range(docs)]

    base_built = anchor_fields(schema, anchors(count))[0]

    def update(number: int, adds: bool) -> AnchorUpdate:
        docs = sorted(rng.sample(range(count), rng.randrange(1, count)))
        built = few_anchor_fields(schema, anchors(len(docs)))
        assert built is not None
        empty = np.zeros(0, dtype=np.uint8), np.zeros(1, dtype=np.int64)
        return AnchorUpdate(
            docs=np.array(docs, dtype=np.int64),
            pointers=np.zeros(len(docs) + 1, dtype=np.int64),
            headlines=empty,
            fields={s.name: _field_of(s, built) for s in schema.fields if s.source == "anchors"},
            name=f"u{number}",
            generation=number,
            adds=adds,
        )

    earlier = [update(number, False) for number in range(rng.randrange(0, 4))]
    adding = update(len(earlier), True)
    for spec in schema.fields:
        if spec.source != "anchors" or spec.kind != "text":
            continue
        base = _field_of(spec, base_built)
        base_terms = list(base.terms)
        got = anchoradds._resolved_field(spec, base, base_terms, earlier, adding)
        want = _field_of(spec, _reference_resolution(spec, base, base_terms, earlier, adding))
        assert got.terms == want.terms
        for name in ("indptr", "docs", "tfs", "norms", "lens", "pos", "posptr", "forms"):
            mine, theirs = getattr(got, name), getattr(want, name)
            assert (mine is None) == (theirs is None), name
            if mine is not None:
                assert mine.dtype == theirs.dtype, name
                assert np.array_equal(mine, theirs), name
