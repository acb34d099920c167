"""Index room: durability. A writer killed at any moment, or hit by an I/O error, leaves
the last commit readable with exactly its documents; the OS lock dies with the writer."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bnsearch.articles import Article, RelatedLink
from bnsearch.index import Index, MergePolicy, verify
from bnsearch.index.directory import FSDirectory
from bnsearch.index.writer import IndexWriter

# The child process: continue the deterministic history from the index's generation,
# one commit per step, small buffer (flushes) and an eager merge policy (merges).
CHILD = textwrap.dedent(
    """
    import sys
    from bnsearch.index import Index, MergePolicy
    from test_index_crash import ops_for_commit

    index = Index.open(sys.argv[1])
    policy = MergePolicy(merge_factor=2, floor_docs=4)
    with index.writer(timeout=10, buffer_mb=0.002, merge_policy=policy) as writer:
        generation = index.generation
        for step in range(generation + 1, generation + 1 + int(sys.argv[2])):
            adds, deletes = ops_for_commit(step)
            for article in adds:
                writer.add(article)
            for ident in deletes:
                writer.delete(ident)
            result = writer.commit()
            assert result.generation == step, (result.generation, step)
    print("done", flush=True)
    """
)

WORDS = ["নদী", "সেতু", "বাজার", "চাল", "দাম", "বৃষ্টি", "ঢাকা", "খেলা", "জয়", "স্কুল"]


def _article(ident: str, version: int, related: tuple[str, ...] = ()) -> Article:
    body = " ".join(WORDS[(hash(ident) + version + i) % len(WORDS)] for i in range(12))
    links = tuple(RelatedLink(headline=headline) for headline in related)
    return Article(
        id=ident, title=f"{ident} সংস্করণ {version}", body=f"{body} {version}", related=links
    )


def ops_for_commit(step: int) -> tuple[list[Article], list[str]]:
    """The articles added and ids deleted by commit number ``step`` (2, 3, ...). Each new
    article links to an article of the commit before (some deleted by now), so commits
    give earlier segments anchor updates (verify checks every anchor)."""
    adds = [
        _article(f"c{step}-{j}", step, (f"c{step - 1}-{(j + 1) % 6} সংস্করণ {step - 1}",))
        for j in range(6)
    ]
    adds.append(_article(f"b{step % 4}", step))  # an upsert of a long-lived article
    deletes = [f"c{step - 1}-{j}" for j in range(2)]
    return adds, deletes


def commit_steps(writer: IndexWriter, steps: range) -> None:
    """Commit the history's steps ``steps`` through ``writer``, one commit each."""
    for step in steps:
        adds, deletes = ops_for_commit(step)
        writer.add_many(adds)
        for ident in deletes:
            writer.delete(ident)
        writer.commit()


def expected_state(generation: int) -> dict[str, str]:
    """id -> title after commit ``generation`` (generation 1 is the base)."""
    state = {f"b{j}": f"b{j} সংস্করণ 1" for j in range(4)}
    for step in range(2, generation + 1):
        adds, deletes = ops_for_commit(step)
        for article in adds:
            state[article.id] = article.title
        for ident in deletes:
            state.pop(ident, None)
    return state


def check_index(path: Path) -> int:
    index = Index.open(path)
    reader = index.reader()
    generation = reader.generation
    want = expected_state(generation)
    assert sorted(reader.article_ids()) == sorted(want), f"generation {generation}"
    assert reader.doc_count == len(want)
    for ident, title in want.items():
        article = reader.article(ident)
        assert article is not None and article.title == title
    report = verify(path)
    assert report.ok, str(report)
    return generation


@pytest.fixture()
def base_index(tmp_path: Path) -> Path:
    path = tmp_path / "idx"
    index = Index.create(path)
    with index.writer() as writer:
        for j in range(4):
            writer.add(_article(f"b{j}", 1))
    assert index.generation == 1
    return path


def _child(path: Path, steps: int, crash_at: str | None) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    env.pop("BNSEARCH_CRASH_AT", None)
    if crash_at:
        env["BNSEARCH_CRASH_AT"] = crash_at
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(steps)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


CRASH_POINTS = [
    "flush-started",
    "flush-started:3",
    "segment-written",
    "segment-written:4",
    "deletes-written",
    "deletes-written:2",
    "merge-written",
    "merge-written:2",
    "manifest-written",
    "manifest-written:3",
    "committed",
    "committed:2",
]


def test_crash_at_every_named_point_keeps_last_commit(base_index: Path) -> None:
    generation = check_index(base_index)
    for point in CRASH_POINTS:
        child = _child(base_index, 4, point)
        _out, err = child.communicate(timeout=60)
        assert child.returncode == -signal.SIGKILL, (point, child.returncode, err.decode())
        after = check_index(base_index)
        assert after >= generation
        if point.startswith("committed"):
            assert after > generation  # the manifest was renamed before the kill
        generation = after
    child = _child(base_index, 2, None)  # no stale lock: a new writer just works
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err.decode()
    assert check_index(base_index) == generation + 2


def test_open_reader_keeps_snapshot_while_another_process_commits(base_index: Path) -> None:
    reader = Index.open(base_index).reader()
    child = _child(base_index, 6, None)  # commits, merges and removes merged-away files
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err.decode()
    assert set(reader.article_ids()) == set(expected_state(1))
    for ident, title in expected_state(1).items():
        article = reader.article(ident)
        assert article is not None and article.title == title
    assert reader.refresh().generation == 7


def test_sigkill_at_random_moments_keeps_last_commit(base_index: Path) -> None:
    rng = random.Random(20261127)
    generation = check_index(base_index)
    kills = 0
    for _ in range(6):
        child = _child(base_index, 40, None)
        time.sleep(0.55 + rng.random() * 0.9)  # past interpreter start-up, mid-work
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.communicate(timeout=60)
        after = check_index(base_index)
        assert after >= generation
        generation = after
    assert kills >= 3  # most runs were really cut short


def test_io_error_during_commit_surfaces_and_keeps_previous_commit(
    base_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = Index.open(base_index)
    reader = index.reader()
    writer = index.writer()
    for article in ops_for_commit(2)[0]:
        writer.add(article)

    def disk_full(self: FSDirectory, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FSDirectory, "write_manifest", disk_full)
    with pytest.raises(OSError, match="No space left"):
        writer.commit()
    monkeypatch.undo()
    writer.close()
    assert check_index(base_index) == 1
    assert reader.refresh().generation == 1
    leftovers = {n for n in index.directory.list_names() if n.startswith("seg-")}
    assert leftovers == {n for e in reader.manifest.segments for n in e.files}
    with index.writer() as writer:  # the index stays writable
        for article in ops_for_commit(2)[0]:
            writer.add(article)
        for ident in ops_for_commit(2)[1]:
            writer.delete(ident)
    assert check_index(base_index) == 2


def test_io_error_while_writing_segment_files(
    base_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = Index.open(base_index)
    writer = index.writer(merge_policy=MergePolicy(merge_factor=100))
    real_write = FSDirectory.write_parts

    def failing_write(self, name, parts):  # type: ignore[no-untyped-def]
        def cut_short():  # type: ignore[no-untyped-def]
            # half of the compound file is on disk already (whatever its number of
            # pieces: encode gathers small arrays into few)
            data = b"".join(bytes(part) for part in parts)
            yield data[: len(data) // 2]
            raise OSError(errno.EIO, "Input/output error")

        return real_write(self, name, cut_short())

    monkeypatch.setattr(FSDirectory, "write_parts", failing_write)
    for article in ops_for_commit(2)[0]:
        writer.add(article)
    with pytest.raises(OSError, match="Input/output error"):
        writer.commit()
    writer.close()
    monkeypatch.undo()
    assert check_index(base_index) == 1
    leftovers = {n for n in index.directory.list_names() if n.startswith("seg-")}
    assert leftovers == {
        n for e in Index.open(base_index).reader().manifest.segments for n in e.files
    }
