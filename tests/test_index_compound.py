"""Index room: compound segment files. A segment costs one file descriptor while open,
whatever its field count; older indexes (a folder of .npy files per segment) still read;
a crafted or damaged compound file is an IndexFormatError naming it."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

from bnsearch.errors import IndexFormatError
from bnsearch.index import Index, MergePolicy, compound, verify
from bnsearch.index.manifest import FORMAT_VERSION
from bnsearch.index.schema import news_schema

LEGACY = Path(__file__).parent / "data" / "legacy-v2-index"


def _legacy_copy(tmp_path: Path) -> Path:
    """The version-2 index of tests/data, with this code's analyzer identities recorded
    (the test is about the file layout, not about analysis changes since it was written)."""
    path = tmp_path / "legacy"
    shutil.copytree(LEGACY, path)
    body = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    assert body["format_version"] == 2
    identities = news_schema().identities()
    for field in body["schema"]["fields"]:
        if field["name"] in identities:
            field["analyzer_identity"] = identities[field["name"]]
    body.pop("checksum")
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    body["checksum"] = zlib.crc32(canonical.encode("utf-8"))
    (path / "meta.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_version_2_index_reads_verifies_and_merges_into_compound_files(tmp_path: Path) -> None:
    path = _legacy_copy(tmp_path)
    index = Index.open(path)
    reader = index.reader()
    assert len(reader.segments) == 5 and reader.doc_count == 49
    assert any(segment.entry.deletes for segment in reader.segments)  # legacy deletions
    ids = sorted(reader.article_ids())
    articles = {ident: reader.article(ident) for ident in ids}
    queries = ["ঢাকা", "খেলা", "নির্বাচন", '"বাংলাদেশ ব্যাংক"']
    before = {q: [(h.id, round(h.score, 9)) for h in index.searcher().search(q)] for q in queries}
    assert any(before.values())
    assert verify(path).ok, str(verify(path))
    with index.writer() as writer:  # a deletion in a legacy segment, then one segment
        writer.delete(ids[0])
    assert verify(path).ok
    with index.writer() as writer:
        writer.optimize()
    assert not [p for p in path.iterdir() if p.is_dir()]  # legacy folders removed
    assert sorted(p.suffix for p in path.glob("seg-*")) == [".cfs"]
    reader = index.reader()
    assert sorted(reader.article_ids()) == ids[1:]
    assert all(reader.article(ident) == articles[ident] for ident in ids[1:])
    after = {q: [(h.id, round(h.score, 9)) for h in index.searcher().search(q)] for q in queries}
    for query in queries:  # the same hits, bar the deleted one (scores move with N)
        assert [i for i, _ in after[query]] == [i for i, _ in before[query] if i != ids[0]][
            : len(after[query])
        ]
    assert verify(path).ok
    assert json.loads((path / "meta.json").read_text())["format_version"] == FORMAT_VERSION


# The child: under a limit of 256 open files, an index of 30 segments (what the default
# merge policy keeps at most for about a million articles, see docs/index-format.md), a
# writer with the default policy and two readers open, 15 commits that merge, searches.
FD_CHILD = textwrap.dedent(
    """
    import os, resource, sys
    from bnsearch.articles import Article
    from bnsearch.index import Index, MergePolicy

    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    words = ["নদী", "সেতু", "বাজার", "চাল", "দাম", "বৃষ্টি", "ঢাকা", "খেলা", "জয়", "স্কুল"]

    def article(n):
        body = " ".join(words[(n * 7 + i) % len(words)] for i in range(30))
        return Article(id=f"a{n}", title=f"{words[n % 10]} {n}", body=body,
                       section=("জাতীয়",), caption=f"ছবি {n}")

    def fds():
        return len(os.listdir("/proc/self/fd"))

    index = Index.create(sys.argv[1])
    n = 0
    for _ in range(30):  # 30 segments, never merged
        with index.writer(merge_policy=MergePolicy(merge_factor=1000)) as writer:
            for _ in range(5):
                writer.add(article(n)); n += 1
    base = fds()
    first = index.reader()
    assert len(first.segments) == 30, len(first.segments)
    per_segment = (fds() - base) / len(first.segments)
    second = index.reader()
    writer = index.writer()  # the default merge policy
    for commit in range(15):
        for _ in range(150):
            writer.add(article(n)); n += 1
        writer.delete(f"a{commit}")
        writer.commit()
        first = first.refresh()
    second = second.refresh()
    for reader in (first, second):
        assert reader.doc_count == n - 15, reader.doc_count
        hits = index.searcher().search("ঢাকা বাজার", limit=5)
        assert len(hits) == 5
    print(per_segment, len(first.segments), fds(), flush=True)
    writer.close()
    """
)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count fds")
def test_many_segments_under_an_open_file_limit_of_256(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FD_CHILD, str(tmp_path / "idx")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    per_segment, segments, open_fds = done.stdout.split()
    assert float(per_segment) <= 1.0  # one mapping per segment (a folder of .npy: ~72)
    assert int(segments) >= 2 and int(open_fds) < 128
    assert verify(tmp_path / "idx").ok


# -- crafted compound files --------------------------------------------------------------


def _file(arrays: dict[str, np.ndarray]) -> bytearray:
    return bytearray(b"".join(bytes(part) for part in compound.encode(arrays)))


def _read(data: bytes | bytearray) -> dict[str, np.ndarray]:
    buffer = np.frombuffer(bytes(data), dtype=np.uint8)
    table = compound.read_table(buffer, "x.cfs")
    return {stem: compound.view(buffer, item) for stem, item in table.items()}


def _with_table(data: bytearray, table: bytes) -> bytearray:
    """``data`` with its table replaced (footer and table CRC made consistent)."""
    at = struct.unpack_from("<Q", data, len(data) - 24)[0]
    head = data[:at]
    footer = struct.pack("<QII8s", at, len(table), zlib.crc32(table), compound.END_MAGIC)
    return bytearray(head + table + footer)


def test_compound_round_trip_keeps_dtypes_shapes_and_values() -> None:
    arrays = {
        "a": np.arange(10, dtype=np.uint16),
        "b": np.array([[1, 2], [3, 4]], dtype=np.int64),
        "empty": np.zeros(0, dtype=np.int32),
        "small": np.array([1, 255], dtype=np.uint8),
    }
    read = _read(_file(arrays))
    assert list(read) == list(arrays)
    for stem, array in arrays.items():
        assert read[stem].dtype == array.dtype and np.array_equal(read[stem], array)
        assert not read[stem].flags.writeable
    for refused in ([("x", "<i4")], np.bool_, np.float64, object):
        with pytest.raises(TypeError):
            _file({"s": np.zeros(2, dtype=refused)})


def test_small_arrays_gathered_and_large_ones_viewed_keep_their_places_and_checksums() -> None:
    """encode gathers small arrays into shared pieces and yields a large one's own bytes:
    every array still lies at its 64-byte aligned offset, with its own CRC-32, whatever
    the mix (empty, 2-D, big-endian, strided, arrays around the gathering size)."""
    rng = np.random.default_rng(7)
    gather = compound._GATHER
    arrays: dict[str, np.ndarray] = {}
    for number, size in enumerate([0, 1, 5, 40, gather // 4, gather // 8 + 3, 9, gather + 1]):
        dtype = [np.uint8, np.int32, np.int64, np.uint16][number % 4]
        arrays[f"seg-000001.a{number}"] = rng.integers(0, 100, size).astype(dtype)
    arrays["big"] = rng.integers(0, 1 << 30, 3 * gather, dtype=np.int64)
    arrays["two"] = np.arange(12, dtype=np.int32).reshape(3, 4)
    arrays["swapped"] = np.arange(7, dtype=">u4")
    arrays["strided"] = np.arange(40, dtype=np.int64)[::3]
    arrays["last"] = np.array([3], dtype=np.uint8)
    pieces = list(compound.encode(arrays))
    assert any(isinstance(p, memoryview) and p.obj is arrays["big"] for p in pieces)
    assert len(pieces) < len(arrays)  # small arrays share pieces
    data = bytearray(b"".join(bytes(piece) for piece in pieces))
    buffer = np.frombuffer(bytes(data), dtype=np.uint8)
    table = compound.read_table(buffer, "x.cfs")
    assert list(table) == list(arrays)
    for stem, array in arrays.items():
        entry = table[stem]
        assert entry.offset % compound.ALIGN == 0
        assert compound.check_crc(buffer, entry), stem
        read = compound.view(buffer, entry)
        assert read.dtype == array.dtype.newbyteorder("<") and np.array_equal(read, array)


def test_listed_names_are_the_files_under_the_folder_as_rglob_finds_them(tmp_path: Path) -> None:
    """FSDirectory.list_names (os.scandir) lists what Path.rglob listed: files in the
    folder and its subfolders (relative, sorted), a link to a file, not a link to a
    folder or what lies behind it."""
    from bnsearch.index.directory import FSDirectory

    root = tmp_path / "idx"
    (root / "seg-000002").mkdir(parents=True)
    for name in ("meta.json", "seg-000001.cfs", "seg-000002/body.npy", "write.lock"):
        (root / name).write_bytes(b"x")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "hidden.cfs").write_bytes(b"x")
    (root / "linked").symlink_to(tmp_path / "outside", target_is_directory=True)
    (root / "alias.cfs").symlink_to(root / "seg-000001.cfs")
    (root / "empty").mkdir()
    by_rglob = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    listed = FSDirectory(root).list_names()
    assert listed == by_rglob
    assert listed == [
        "alias.cfs",
        "meta.json",
        "seg-000001.cfs",
        "seg-000002/body.npy",
        "write.lock",
    ]
    assert FSDirectory(tmp_path / "missing").list_names() == []


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d[:5], "not a bnsearch compound"),
        (lambda d: d[:-1], "end marker"),
        (lambda d: bytearray(b"XXXXXXXX") + d[8:], "not a bnsearch compound"),
        (lambda d: d[:-30] + d[-24:], "out of the file's bounds"),
    ],
)
def test_damaged_compound_framing_is_a_format_error(damage, message) -> None:  # type: ignore[no-untyped-def]
    data = _file({"a": np.arange(100, dtype=np.uint32)})
    with pytest.raises(IndexFormatError, match=message):
        _read(damage(data))


def _entry(name: bytes, code: bytes, shape: tuple[int, ...], offset: int) -> bytes:
    return (
        struct.pack("<H", len(name))
        + name
        + code.ljust(4)
        + struct.pack(f"<B{len(shape)}Q", len(shape), *shape)
        + struct.pack("<QI", offset, 0)
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (struct.pack("<I", 1) + _entry(b"a", b"<u4", (10**12,), 64), "outside the data part"),
        (struct.pack("<I", 1) + _entry(b"a", b"|O", (4,), 64), "dtype '|O'"),
        (struct.pack("<I", 1) + _entry(b"a", b"V8", (4,), 64), "dtype 'V8'"),
        (struct.pack("<I", 1) + _entry(b"a", b"<u4", (4, 4, 4), 64), "cut short|3 dimensions"),
        (struct.pack("<I", 10**9) + _entry(b"a", b"<u4", (4,), 64), "claims"),
        (struct.pack("<I", 2) + _entry(b"a", b"<u4", (4,), 64) * 2, "repeated"),
        (
            struct.pack("<I", 2) + _entry(b"a", b"<u4", (8,), 64) + _entry(b"b", b"<u4", (8,), 80),
            "overlap",
        ),
        (struct.pack("<I", 1) + _entry(b"a", b"<u4", (4,), 2), "outside the data part"),
    ],
)
def test_crafted_compound_tables_are_refused_before_any_view(table: bytes, message: str) -> None:
    data = _with_table(_file({"a": np.arange(100, dtype=np.uint32)}), table)
    with pytest.raises(IndexFormatError, match=message):
        _read(data)


def test_a_table_cut_anywhere_or_lengthened_is_refused_by_its_bounds_checks() -> None:
    """Each field of an entry is bounds-checked before it is read: a table cut at any
    byte (its checksum made to match) is "cut short" (or claims too many arrays for
    its length), never a struct or index error; a byte more is "trailing bytes"."""
    arrays = {"a": np.arange(5, dtype=np.uint16), "bb": np.zeros((2, 3), dtype=np.int64)}
    data = _file(arrays)
    at, length = struct.unpack_from("<QI", data, len(data) - 24)
    table = bytes(data[at : at + length])
    assert set(_read(_with_table(data, table))) == {"a", "bb"}
    for cut in range(len(table)):
        with pytest.raises(IndexFormatError, match=r"cut short|claims"):
            _read(_with_table(data, table[:cut]))
    with pytest.raises(IndexFormatError, match="trailing bytes"):
        _read(_with_table(data, table + b"\0"))


def test_crafted_deletion_file_cannot_allocate_what_it_does_not_hold() -> None:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.arange(4, dtype=np.int32))
    data = buffer.getvalue()
    assert np.array_equal(compound.parse_npy(data, "d.npy"), np.arange(4))
    crafted = data.replace(b"(4,)", b"(10**12,)".replace(b"10**12", str(10**12).encode()))
    with pytest.raises(IndexFormatError, match=r"d\.npy: not a valid array file"):
        compound.parse_npy(crafted, "d.npy")
    structured = data.replace(b"'<i4'", b"[('x', '<i4')]")
    with pytest.raises(IndexFormatError, match="refused"):
        compound.parse_npy(structured, "d.npy")


def test_policy_bounds_segments_so_a_million_articles_fit_under_256_files() -> None:
    """The estimate behind the fd test: the default policy never keeps a tier of
    ``merge_factor`` segments, so a million articles stay in few segments."""
    policy = MergePolicy()
    from bnsearch.index.manifest import SegmentEntry

    entries: list[SegmentEntry] = []
    total = 0
    name = 0
    while total < 1_000_000:  # commits of 1,000 articles, merged as a writer would
        name += 1
        entries.append(SegmentEntry(name=f"seg-{name:06d}", max_doc=1_000))
        total += 1_000
        while groups := policy.select(entries):
            for group in groups:
                merged = sum(entries[i].max_doc for i in group)
                name += 1
                keep = [e for i, e in enumerate(entries) if i not in group]
                entries = [*keep, SegmentEntry(name=f"seg-{name:06d}", max_doc=merged)]
        assert len(entries) <= 30, len(entries)
    assert sum(e.max_doc for e in entries) == 1_000_000


def test_segment_arrays_are_read_back_by_stem_through_one_api() -> None:
    from bnsearch.articles import Article

    index = Index.in_memory()
    with index.writer() as writer:
        writer.add(Article(id="a", title="নদী", body="পদ্মা নদী"))
        writer.add(Article(id="b", title="সেতু", body="পদ্মা সেতু খুলল"))
    segment = index.reader().segments[0]
    assert segment.has_array("fld.body.lens") and not segment.has_array("no.such")
    assert segment.array("fld.body.lens").tolist() == segment.field_lengths("body").tolist()
    assert not segment.array("strings.ids.blob").flags.writeable
    with pytest.raises(IndexFormatError, match=r"'no\.such' missing"):
        segment.array("no.such")


def test_a_link_into_a_version_2_segment_gets_an_anchor_update(tmp_path: Path) -> None:
    from bnsearch.articles import Article, RelatedLink

    path = _legacy_copy(tmp_path)
    index = Index.open(path)
    reader = index.reader()
    articles = [reader.article(ident) for ident in sorted(reader.article_ids())]
    target = articles[3]
    linker = Article(id="linker", title="নতুন পাতা", related=(RelatedLink(headline=target.title),))
    with index.writer() as writer:
        writer.add(linker)
    after = index.reader()
    where = after.find(target.id)
    assert where is not None
    legacy = after.segments[where[0]]  # a folder segment, updated by the new segment's file
    assert legacy.anchor_updates and legacy.anchor_updates[0].name.endswith(".cfs")
    fresh = Index.in_memory()
    with fresh.writer() as writer:
        writer.add_many([*articles, linker])

    def anchors(of: Index) -> list[str]:
        reader = of.reader()
        where = reader.find(target.id)
        assert where is not None
        return list(reader.stored(*where)["anchors"])

    assert target.title in anchors(index) and anchors(index) == anchors(fresh)
    assert verify(path).ok, str(verify(path))
    query = " ".join(target.title.split()[:2])
    for fields in (None, ["anchors"]):
        got = {h.id: h.score for h in index.searcher().search(query, fields=fields)}
        want = {h.id: h.score for h in fresh.searcher().search(query, fields=fields)}
        assert want and got == pytest.approx(want, rel=1e-9)
    with index.writer() as writer:
        writer.optimize()
    assert not list(path.glob("seg-*.anc-*"))
    assert not any(segment.anchor_updates for segment in index.reader().segments)
    assert anchors(index) == anchors(fresh)
