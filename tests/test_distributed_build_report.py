"""What ``ShardedIndex.add_sources(skip_bad=True)`` tells its caller: one read report
over every shard's read (each bad record once, with its file and line), not warnings
left on the workers."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bnsearch.articles import ReadReport, SkippedRecordWarning, read_articles
from bnsearch.distributed import ShardedIndex


def _line(number: int, **more: Any) -> str:
    return json.dumps(
        {"id": f"a-{number}", "title": f"শিরোনাম {number}", "body": "বাজেট ঘাটতি", **more},
        ensure_ascii=False,
    )


def _sources(tmp_path: Path, *, linked: bool) -> tuple[list[Path], list[tuple[str, int]]]:
    """Two JSONL files and a folder with a bad page; the bad records' (file, line).
    ``linked``: one article has a related link (the build then reads the sources twice:
    first without the links, stopping where a shard meets one, then with them)."""
    first = tmp_path / "first.jsonl"
    lines = [_line(n) for n in range(30)]
    if linked:
        lines[25] = _line(25, related=["শিরোনাম 7"])
    lines[4] = '{"id": "bad-1", "title": 5}'  # id seen without decoding: one shard reads it
    lines[9] = "not json at all"  # no id to see: every shard decodes it
    lines[17] = '{"id": "bad-2", "title": "", "body": " "}'  # neither title nor body
    first.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    second = tmp_path / "second.jsonl"
    more = [_line(n) for n in range(30, 50)]
    more[2] = '{"title": "no id"}'
    more.append(_line(3))  # an id read again: a repeat, not an error
    second.write_text("".join(line + "\n" for line in more), encoding="utf-8")
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "good-page.txt").write_text("শিরোনাম\n\nবাজেট ঘাটতি বেড়েছে।\n", encoding="utf-8")
    (pages / "empty-page.txt").write_text("\n\n", encoding="utf-8")
    (pages / "notes.md").write_text("not an article", encoding="utf-8")
    bad = [
        (str(first), 5),
        (str(first), 10),
        (str(first), 18),
        (str(second), 3),
    ]
    return [first, second, pages], bad


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A LocalCluster of two worker processes (TCP on loopback), as the Dask tests'."""
    pytest.importorskip("distributed")
    from tests.test_distributed_dask import _cluster_client

    yield from _cluster_client()


@pytest.mark.parametrize("linked", [False, True], ids=["no links", "links"])
def test_add_sources_returns_one_report_of_every_shards_read(tmp_path: Path, linked: bool) -> None:
    _check_report(tmp_path, linked, None)


def test_the_report_comes_back_from_the_workers(tmp_path: Path, client: Any) -> None:
    _check_report(tmp_path, True, client)


def _check_report(tmp_path: Path, linked: bool, client: Any) -> None:
    sources, bad = _sources(tmp_path, linked=linked)
    expected = ReadReport()
    for source in sources:  # what one process reading the same sources reports
        list(read_articles(source, skip_bad=True, report=expected))
    sharded = ShardedIndex.create(tmp_path / "s", shards=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkippedRecordWarning)  # nothing left as a warning
        report = sharded.add_sources(sources, skip_bad=True, client=client)
    assert isinstance(report, ReadReport)
    assert [(s.path, s.line) for s in report.skipped if s.line is not None] == bad
    assert [str(s) for s in report.skipped] == [str(s) for s in expected.skipped]
    assert report.articles == expected.articles == sharded.doc_count + 1  # a-3 twice
    assert report.files == expected.files == 4
    assert report.ignored_files == expected.ignored_files == [str(tmp_path / "pages/notes.md")]
    assert [str(d) for d in report.duplicates] == [str(d) for d in expected.duplicates]
    assert len(report.duplicates) == 1
    assert not report.ok


def test_a_clean_read_reports_ok(tmp_path: Path) -> None:
    source = tmp_path / "clean.jsonl"
    source.write_text("".join(_line(n) + "\n" for n in range(12)), encoding="utf-8")
    sharded = ShardedIndex.create(tmp_path / "s", shards=2)
    report = sharded.add_sources([source])
    assert report.ok and report.articles == 12 == sharded.doc_count and report.files == 1
