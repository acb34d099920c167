"""Index room: per-document publication dates (``SegmentReader.published()``)."""

from __future__ import annotations

import calendar
import datetime as dt
from pathlib import Path

import attrs
import numpy as np
import pytest
from index_files import rewrite_segments

from bnsearch.articles import Article
from bnsearch.index import Index, MergePolicy, verify
from bnsearch.index.directory import FSDirectory
from bnsearch.index.manifest import Manifest
from bnsearch.index.segment import NO_DATE, PUBLISHED_STEM, epoch_seconds

UTC = dt.timezone.utc
DHAKA = dt.timezone(dt.timedelta(hours=6))


def dated(ident: str, published: dt.datetime | None, *, title: str = "ঢাকায় বৃষ্টি") -> Article:
    return Article(id=ident, title=title, body="নদীর পানি বাড়ছে", published=published)


def dates_by_id(index: Index) -> dict[str, int]:
    """Live article id -> its published() entry, over all segments."""
    found: dict[str, int] = {}
    for segment in index.reader().segments:
        published = segment.published()
        assert published.dtype == np.int64 and len(published) == segment.max_doc
        ids = segment.article_ids()
        for doc in np.flatnonzero(segment.live).tolist():
            assert ids[doc] not in found
            found[ids[doc]] = int(published[doc])
    return found


def test_no_date_is_int64_min() -> None:
    assert np.iinfo(np.int64).min == NO_DATE
    assert epoch_seconds(None) == NO_DATE


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # an aware time in Dhaka (UTC+6) is 6 hours earlier in UTC
        (dt.datetime(2024, 3, 1, 12, 0, tzinfo=DHAKA), calendar.timegm((2024, 3, 1, 6, 0, 0))),
        # a naive time is taken as UTC
        (dt.datetime(2024, 3, 1, 12, 0), calendar.timegm((2024, 3, 1, 12, 0, 0))),
        (dt.datetime(1970, 1, 1, tzinfo=UTC), 0),
        # whole seconds, floored (before the epoch too)
        (dt.datetime(1970, 1, 1, 0, 0, 1, 999_999, tzinfo=UTC), 1),
        (dt.datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC), -1),
        (dt.datetime(1901, 5, 2, 3, 4, 5, tzinfo=UTC), calendar.timegm((1901, 5, 2, 3, 4, 5))),
    ],
)
def test_epoch_seconds(value: dt.datetime, expected: int) -> None:
    assert epoch_seconds(value) == expected


def test_round_trip_with_and_without_dates(tmp_path: Path) -> None:
    articles = {
        "aware": dt.datetime(2025, 7, 14, 9, 30, 15, tzinfo=DHAKA),
        "naive": dt.datetime(2025, 7, 14, 9, 30, 15),
        "utc": dt.datetime(2025, 7, 14, 9, 30, 15, tzinfo=UTC),
        "none": None,
        "old": dt.datetime(1965, 1, 1, tzinfo=UTC),
    }
    for index in (Index.in_memory(), Index.create(tmp_path / "idx")):
        with index.writer() as writer:
            for ident, published in articles.items():
                writer.add(dated(ident, published))
        got = dates_by_id(index)
        assert got["naive"] == got["utc"] == calendar.timegm((2025, 7, 14, 9, 30, 15))
        assert got["aware"] == got["utc"] - 6 * 3600
        assert got["none"] == NO_DATE
        assert got["old"] == calendar.timegm((1965, 1, 1, 0, 0, 0)) < 0
        for ident, published in articles.items():
            if published is not None and published.tzinfo is not None:
                assert got[ident] == int(published.timestamp())
        assert verify(index).ok


def test_merge_keeps_dates_and_drops_deleted(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "idx")
    keep_apart = MergePolicy(merge_factor=1000)
    expected: dict[str, int] = {}
    base = dt.datetime(2020, 1, 1, tzinfo=UTC)
    for batch in range(4):
        with index.writer(merge_policy=keep_apart) as writer:
            for n in range(batch * 10, batch * 10 + 10):
                published = None if n % 7 == 0 else base + dt.timedelta(days=n, seconds=n)
                writer.add(dated(f"a{n}", published))
                expected[f"a{n}"] = NO_DATE if published is None else epoch_seconds(published)
    with index.writer(merge_policy=keep_apart) as writer:
        for n in range(0, 40, 3):
            writer.delete(f"a{n}")
            del expected[f"a{n}"]
    assert len(index.reader().segments) == 4
    with index.writer() as writer:
        writer.optimize()
    reader = index.reader()
    assert len(reader.segments) == 1 and reader.segments[0].del_count == 0
    assert dates_by_id(index) == expected
    assert verify(index).ok


def test_upsert_replaces_the_date(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "idx")
    first = dt.datetime(2021, 5, 5, 5, 5, 5, tzinfo=UTC)
    second = dt.datetime(2023, 6, 6, 6, 6, 6, tzinfo=UTC)
    with index.writer() as writer:
        writer.add(dated("x", first))
        writer.add(dated("y", first))
        writer.add(dated("z", None))
    with index.writer() as writer:
        writer.add(dated("x", second))  # a new date
        writer.add(dated("y", None))  # the date removed
        writer.add(dated("z", first))  # a date added
        writer.add(dated("z", second))  # replaced again in the same batch
    assert dates_by_id(index) == {
        "x": epoch_seconds(second),
        "y": NO_DATE,
        "z": epoch_seconds(second),
    }


def _rewrite_manifest(path: Path, change: object) -> None:
    """Apply ``change(entry) -> entry`` to every segment entry and write a valid manifest."""
    directory = FSDirectory(path)
    data = directory.read_manifest()
    assert data is not None
    manifest = Manifest.from_bytes(data, where="test")
    segments = tuple(change(entry) for entry in manifest.segments)  # type: ignore[operator]
    directory.write_manifest(attrs.evolve(manifest, segments=segments).to_bytes())


def test_segment_written_before_dates_reads_as_no_date(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    index = Index.create(path)
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    with index.writer() as writer:
        for n in range(5):
            writer.add(dated(f"old{n}", when))

    def drop_dates(entry, arrays):  # type: ignore[no-untyped-def]
        del arrays[PUBLISHED_STEM]
        return arrays

    rewrite_segments(path, drop_dates)  # now as an index written before dates existed
    index = Index.open(path)
    assert dates_by_id(index) == {f"old{n}": NO_DATE for n in range(5)}
    assert verify(path).ok
    # new segments get dates; a merge of old and new keeps both kinds
    with index.writer(merge_policy=MergePolicy(merge_factor=1000)) as writer:
        writer.add(dated("new", when))
        writer.delete("old0")
    with index.writer() as writer:
        writer.optimize()
    expected = {f"old{n}": NO_DATE for n in range(1, 5)} | {"new": epoch_seconds(when)}
    assert dates_by_id(Index.open(path)) == expected
    assert verify(path).ok


def test_verify_checks_the_date_array_length(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    index = Index.create(path)
    with index.writer() as writer:
        for n in range(4):
            writer.add(dated(f"a{n}", dt.datetime(2024, 1, 1, tzinfo=UTC)))

    def shorten(entry, arrays):  # type: ignore[no-untyped-def]
        arrays[PUBLISHED_STEM] = np.zeros(entry.max_doc - 1, dtype=np.int64)
        return arrays

    rewrite_segments(path, shorten)
    report = verify(path)
    assert not report.ok
    assert any("3 publication dates" in problem for problem in report.problems), report.problems
    del index


def test_reindexing_for_anchors_keeps_the_date() -> None:
    from bnsearch.articles import RelatedLink

    index = Index.in_memory()
    when = dt.datetime(2024, 1, 1, tzinfo=DHAKA)
    with index.writer() as writer:
        writer.add(dated("t", when, title="পদ্মা সেতু খুলল"))
    with index.writer() as writer:  # a later page links to t: t is re-indexed with anchors
        writer.add(Article(id="s", title="অন্য", related=(RelatedLink(headline="পদ্মা সেতু খুলল"),)))
        result = writer.commit()
    assert result.reindexed == 1
    assert dates_by_id(index) == {"t": epoch_seconds(when), "s": NO_DATE}
