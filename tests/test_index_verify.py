"""Index room: verify() names damaged files; opening a damaged index is a clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from index_files import manifest_of

from bnsearch.articles import Article
from bnsearch.errors import IndexFormatError
from bnsearch.index import Index, compound, verify
from bnsearch.index import segment as segment_module


def build(path: Path) -> Index:
    index = Index.create(path)
    with index.writer() as writer:
        for n in range(20):
            writer.add(Article(id=f"a{n}", title=f"শিরোনাম {n}", body="ঢাকা শহরে বৃষ্টি " * (n + 1)))
    with index.writer() as writer:
        writer.delete("a3")
    return index


def test_healthy_index_verifies(tmp_path: Path) -> None:
    index = build(tmp_path / "idx")
    report = verify(tmp_path / "idx")
    assert report.ok, str(report)
    assert report.doc_count == 19 and report.generation == 2
    assert report.files_checked == 2  # the compound file and its deletions
    assert "OK" in str(report)
    assert verify(index).ok
    memory = Index.in_memory()
    with memory.writer() as writer:
        writer.add(Article(id="m", title="এক"))
    assert verify(memory).ok


def test_flipped_byte_is_named_by_verify(tmp_path: Path) -> None:
    build(tmp_path / "idx")
    victim = next((tmp_path / "idx").glob("seg-??????.cfs"))
    entry = manifest_of(tmp_path / "idx").segments[0]
    table = compound.read_table(np.fromfile(victim, dtype=np.uint8), "test")
    data = bytearray(victim.read_bytes())
    data[table["fld.body.docs"].offset + 1] ^= 0x40  # inside the array, not the table
    victim.write_bytes(bytes(data))
    report = verify(tmp_path / "idx")
    assert not report.ok
    assert len(report.problems) == 1, report.problems
    assert victim.name in report.problems[0] and "checksum mismatch" in report.problems[0]
    assert "'fld.body.docs'" in report.problems[0]  # the damaged array is named
    assert entry.name in report.problems[0]
    with pytest.raises(IndexFormatError, match=r"array 'fld\.body\.docs' is damaged"):
        Index.open(tmp_path / "idx").reader()  # a small segment: every array checked on open


def test_truncated_or_missing_file_fails_open_and_verify(tmp_path: Path) -> None:
    index = build(tmp_path / "idx")
    victim = next((tmp_path / "idx").glob("seg-??????.cfs"))
    victim.write_bytes(victim.read_bytes()[:-3])
    with pytest.raises(IndexFormatError, match=r"seg-\d+\.cfs: \d+ bytes, the manifest"):
        index.reader()
    report = verify(tmp_path / "idx")
    assert any(".cfs" in p and "size" in p for p in report.problems)
    victim.unlink()
    with pytest.raises(IndexFormatError, match="file missing"):
        index.reader()
    assert any("file missing" in p for p in verify(tmp_path / "idx").problems)


def test_damaged_stored_block_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(tmp_path / "idx")
    victim = next((tmp_path / "idx").glob("seg-??????.cfs"))
    table = compound.read_table(np.fromfile(victim, dtype=np.uint8), "test")
    data = bytearray(victim.read_bytes())
    data[table["store.bin"].offset + 200] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match=r"array 'store\.bin' is damaged"):
        Index.open(tmp_path / "idx").reader()  # small segment: caught on open
    monkeypatch.setattr(segment_module, "OPEN_FULL_CHECK_BYTES", 0)  # as a large segment
    reader = Index.open(tmp_path / "idx").reader()
    with pytest.raises(IndexFormatError, match=r"stored block \d+ .* is damaged"):
        for n in (0, 1, 2, *range(4, 20)):  # the block holding byte 200, whichever it is
            reader.article(f"a{n}")
    assert any("'store.bin'" in p for p in verify(tmp_path / "idx").problems)


def test_verify_reports_missing_or_foreign_manifest(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    report = verify(tmp_path / "empty")
    assert not report.ok and "missing manifest" in report.problems[0]
    (tmp_path / "empty" / "meta.json").write_text("not json")
    assert "not valid JSON" in verify(tmp_path / "empty").problems[0]


def test_verify_checks_anchors_against_the_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bnsearch.articles import RelatedLink
    from bnsearch.index.writer import IndexWriter

    target = Article(id="t", title="পদ্মা সেতু খুলল", body="সেতু")
    source = Article(id="s", title="অন্য খবর", related=(RelatedLink(headline="পদ্মা সেতু খুলল"),))
    good = Index.create(tmp_path / "good")
    with good.writer() as writer:
        writer.add_many([target, source])
    assert verify(tmp_path / "good").ok
    # a writer that neither gives anchors at the flush nor fixes them stores none
    monkeypatch.setattr(IndexWriter, "_anchor_fixes", lambda self: {})
    monkeypatch.setattr(IndexWriter, "_flush_anchors", lambda self, pending, final: {})
    bad = Index.create(tmp_path / "bad")
    with bad.writer() as writer:
        writer.add_many([target, source])
    report = verify(tmp_path / "bad")
    assert not report.ok
    assert len(report.problems) == 1
    assert "article 't'" in report.problems[0] and "পদ্মা সেতু খুলল" in report.problems[0]


def test_verify_of_a_file_or_a_missing_folder_is_a_report(tmp_path: Path) -> None:
    """A path that is a file is no index: a report saying so, not a NotADirectoryError."""
    file = tmp_path / "page.txt"
    file.write_text("not an index", encoding="utf-8")
    for target in (file, tmp_path / "missing"):
        report = verify(target)
        assert not report.ok and report.generation is None
        assert str(target) in report.problems[0]


def _flip(path: Path, stem: str, at: int = 2) -> None:
    """Flip one bit of byte ``at`` of array ``stem`` of a compound file (its table kept;
    ``pack/stem``: array ``stem`` of the compound file packed as array ``pack``)."""
    buffer = np.fromfile(path, dtype=np.uint8)
    table = compound.read_table(buffer, "test")
    outer, _, inner = stem.partition("/")
    offset = table[outer].offset
    if inner:
        offset += compound.nested(buffer, table[outer], "test")[1][inner].offset
    data = bytearray(path.read_bytes())
    data[offset + at] ^= 0x01  # stays UTF-8 in a Bengali headline's text
    path.write_bytes(bytes(data))


def test_a_large_segment_opens_without_checking_its_link_text_and_verify_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bnsearch.articles import RelatedLink

    index = Index.create(tmp_path / "idx")
    with index.writer() as writer:
        writer.add(Article(id="t", title="পদ্মা সেতু খুলল", body="সেতু"))
    with index.writer() as writer:  # the second segment hosts the first one's anchor update
        link = RelatedLink(headline="পদ্মা সেতু খুলল")
        writer.add(Article(id="s", title="অন্য খবর", body="খবর", related=(link,)))
    host = sorted((tmp_path / "idx").glob("seg-??????.cfs"))[-1]
    buffer = np.fromfile(host, dtype=np.uint8)
    stems = compound.read_table(buffer, "test")
    (pack,) = [stem for stem in stems if stem.startswith(segment_module.HOSTED_PREFIX)]
    packed = compound.nested(buffer, stems[pack], "test")[1]
    hosted = next(stem for stem in packed if stem.endswith("strings.anchors.blob"))
    for stem in ("strings.links.headline.blob", f"{pack}/{hosted}"):
        _flip(host, stem)
        named = stem.rpartition("/")[2]  # the packed array is named when its update opens
        with pytest.raises(IndexFormatError, match=f"array '{named}' is damaged"):
            Index.open(tmp_path / "idx").reader()  # a small segment: every array checked
        monkeypatch.setattr(segment_module, "OPEN_FULL_CHECK_BYTES", 0)  # as a large one
        reader = Index.open(tmp_path / "idx").reader()  # its text is not read to open
        assert sorted(reader.article_ids()) == ["s", "t"]
        assert any(f"{stem}" in problem for problem in verify(tmp_path / "idx").problems)
        monkeypatch.undo()
        _flip(host, stem)  # healthy again
    assert verify(tmp_path / "idx").ok
    damaged_key = host
    _flip(damaged_key, "links.src", at=0)  # a per-link array is still checked on open
    monkeypatch.setattr(segment_module, "OPEN_FULL_CHECK_BYTES", 0)
    with pytest.raises(IndexFormatError, match=r"array 'links\.src' is damaged"):
        Index.open(tmp_path / "idx").reader()


def test_verify_warns_of_segment_files_the_manifest_does_not_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A crash between writing a segment and committing leaves its file: not damage (the
    index is OK), but verify names it as a warning rather than passing over it."""
    from bnsearch.cli import main

    build(tmp_path / "idx")
    kept = next((tmp_path / "idx").glob("seg-??????.cfs"))
    (tmp_path / "idx" / "seg-999999.cfs").write_bytes(kept.read_bytes())
    (tmp_path / "idx" / "meta.json.tmp").write_text("{", encoding="utf-8")
    report = verify(tmp_path / "idx")
    assert report.ok, str(report)
    assert len(report.warnings) == 1, report.warnings
    assert "seg-999999.cfs" in report.warnings[0] and "meta.json.tmp" in report.warnings[0]
    assert "not referenced" in report.warnings[0] and "crash" in report.warnings[0]
    assert "seg-999999.cfs" in str(report) and "warning" in str(report)
    assert kept.name not in report.warnings[0]
    assert main(["verify", "--index", str(tmp_path / "idx")]) == 0  # OK, with the warning
    assert "seg-999999.cfs" in capsys.readouterr().out
    with Index.open(tmp_path / "idx").writer():  # the next writer removes them
        pass
    assert verify(tmp_path / "idx").warnings == ()


def test_verify_makes_an_empty_manifest_beside_segment_files_visible(tmp_path: Path) -> None:
    """A checksummed manifest listing no segments beside segment files read as a healthy
    empty index: verify now says the files are there and the manifest lists none."""
    from index_files import rewrite_manifest_body

    build(tmp_path / "idx")
    rewrite_manifest_body(tmp_path / "idx", lambda body: body.update(segments=[]))
    report = verify(tmp_path / "idx")
    assert report.doc_count == 0 and report.segments == 0
    assert report.ok  # a first commit that crashed, or every article deleted, leaves this
    assert any("lists no segments" in w for w in report.warnings), report.warnings
    assert "lists no segments" in str(report)


def test_segment_folders_of_an_old_index_are_not_unreferenced(tmp_path: Path) -> None:
    """A format-2 index keeps a segment as a folder of files (``seg-N/...``): each is
    listed by its segment, so verify warns of none of them."""
    from fuzz_index import legacy_base

    legacy_base(tmp_path / "old")
    assert any(path.is_dir() for path in (tmp_path / "old").glob("seg-*"))
    report = verify(tmp_path / "old")
    assert report.ok and report.warnings == (), str(report)
    (tmp_path / "old" / "seg-000005" / "left.npy").write_bytes(b"")  # a stray file inside
    assert "seg-000005/left.npy" in verify(tmp_path / "old").warnings[0]
