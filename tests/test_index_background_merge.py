"""Index room: large merges run in a thread beside later commits (see ``merge.py``).

A merge of at least ``MergePolicy.background_docs`` live docs runs on committed segments
while the writer goes on committing; a later commit installs it as a commit of its own.
The deletions and anchor updates its inputs received meanwhile must reach the merged
segment, a failed merge must leave its inputs as they were, and a crash at any moment
must leave the last commit readable.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bnsearch.articles import Article
from bnsearch.index import Index, MergePolicy, verify
from bnsearch.index import merge as merge_module
from bnsearch.index.writer import IndexWriter

sys.path.insert(0, str(Path(__file__).parent))
from test_index_crash import _article, expected_state
from test_index_link_updates import (
    IDS,
    check,
    random_article,
    run_random_updates,
    stored_anchors,
)

#: Every merge of two or more docs goes to the background.
POLICY = MergePolicy(merge_factor=2, floor_docs=1, background_docs=2)


class Gate:
    """Holds every background merge at its start until :meth:`release`."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.started = 0
        self.real = merge_module.merge_segments

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.started += 1
        assert self.opened.wait(60), "the test never released the merge"
        return self.real(*args, **kwargs)

    def release(self, writer: IndexWriter) -> None:
        """Let the running merge finish (the next commit installs it)."""
        running = writer._background
        self.opened.set()
        if running is not None:
            running.wait()
        self.opened.clear()


@pytest.fixture()
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    held = Gate()
    monkeypatch.setattr(merge_module, "merge_segments", held)
    yield held
    held.opened.set()  # never leave a thread waiting


def _segment_names(index: Index) -> list[str]:
    return [segment.name for segment in index.reader().segments]


def test_commits_go_on_while_a_merge_runs_and_its_inputs_changes_reach_it(gate: Gate) -> None:
    index = Index.in_memory()
    writer = index.writer(merge_policy=POLICY)
    live: dict[str, Article] = {}
    rng = random.Random(5)
    for ident in IDS[:5]:
        live[ident] = random_article(rng, ident)
        writer.add(live[ident])
    writer.commit()
    for ident in IDS[5:]:
        live[ident] = random_article(rng, ident)
        writer.add(live[ident])
    writer.commit()  # two segments: their merge starts in the background, held
    running = writer._background
    assert running is not None
    inputs = sorted(running.inputs)
    # commits into the merging segments: upserts, deletes, links that change anchors
    for step in range(6):
        ident = IDS[step]
        if step % 3 == 2:
            writer.delete(ident)
            live.pop(ident, None)
        else:
            live[ident] = random_article(rng, ident)
            writer.add(live[ident])
        writer.commit()
        assert writer._background is running  # held: nothing installed
        check(index, writer, live)
    gate.release(writer)
    writer.commit()  # nothing to commit, but the finished merge is installed
    names = _segment_names(index)
    assert running.name in names and not set(inputs) & set(names)
    check(index, writer, live)
    gate.opened.set()  # close() waits for a merge the last commit may have started
    writer.close()
    fresh = Index.in_memory()
    with fresh.writer() as fresh_writer:
        fresh_writer.add_many(live.values())
    assert stored_anchors(fresh) == stored_anchors(index)


@pytest.mark.parametrize("seed", range(8))
def test_random_commits_with_background_merges_match_a_resolution_from_scratch(
    seed: int, gate: Gate
) -> None:
    rng = random.Random(seed + 1000)
    index = Index.in_memory()
    generations: list[int] = []

    def after_commit(writer: IndexWriter) -> None:
        """Note each commit's generation; now and then let the running merge finish
        (the next commit installs it)."""
        generations.append(index.generation)
        if rng.random() < 0.4:
            gate.release(writer)

    run_random_updates(
        index,
        seed=seed,
        buffer_mb=0.0003,  # flushes as often as 0.0005 did when headlines counted
        processes=1,
        merge_policy=POLICY,
        after_commit=after_commit,
        before_close=gate.release,  # close() waits for a running merge
    )
    assert gate.started >= 2  # merges ran in the background
    jumps = [b - a for a, b in itertools.pairwise(generations)]
    assert any(jump > 1 for jump in jumps)  # and some were installed by a commit


def test_a_failed_background_merge_leaves_its_inputs_and_removes_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(merge_module, "merge_segments", broken)
    index = Index.create(tmp_path / "idx")
    writer = index.writer(merge_policy=POLICY)
    writer.add(Article(id="a", title="পদ্মা সেতু", body="খবর এক"))
    writer.commit()
    writer.add(Article(id="b", title="চালের দাম", body="খবর দুই"))
    writer.commit()  # the merge starts and fails in its thread
    running = writer._background
    assert running is not None
    running.wait()
    names = _segment_names(index)
    writer.add(Article(id="c", title="বৃষ্টি", body="খবর তিন"))
    writer.commit()  # still commits; the failure is kept, the inputs stay
    assert isinstance(writer.merge_error, OSError)
    assert set(names) <= set(_segment_names(index))
    assert not any(name.startswith(running.name) for name in os.listdir(tmp_path / "idx"))
    writer.close()
    assert sorted(index.reader().article_ids()) == ["a", "b", "c"]
    assert verify(tmp_path / "idx").ok


def test_close_waits_for_a_running_merge_and_installs_it(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "idx")
    with index.writer(merge_policy=POLICY) as writer:
        for ident in ("a", "b"):
            writer.add(Article(id=ident, title=f"শিরোনাম {ident}", body="খবর"))
            writer.commit()
        assert writer._background is not None
    assert len(index.reader().segments) == 1
    files = sorted(os.listdir(tmp_path / "idx"))
    listed = {name for entry in index.reader().manifest.segments for name in entry.files}
    assert set(files) - listed <= {"meta.json", "write.lock"}
    assert verify(tmp_path / "idx").ok


# A writer in a subprocess with background merges of 6+ docs (the crash tests' history).
CHILD = textwrap.dedent(
    """
    import sys
    from bnsearch.index import Index, MergePolicy
    from test_index_crash import commit_steps

    index = Index.open(sys.argv[1])
    policy = MergePolicy(merge_factor=2, floor_docs=4, background_docs=6)
    with index.writer(timeout=10, buffer_mb=0.002, merge_policy=policy) as writer:
        commit_steps(writer, range(2, 2 + int(sys.argv[2])))
    print("done", flush=True)
    """
)


def _check_some_commit(path: Path, steps: int) -> None:
    """The index holds exactly the articles of one of the history's commits, and a new
    writer leaves no file the manifest does not list."""
    index = Index.open(path)
    ids = sorted(index.reader().article_ids())
    states = [expected_state(step) for step in range(1, steps + 2)]
    matching = [state for state in states if sorted(state) == ids]
    assert matching, ids
    for ident, title in matching[-1].items():
        article = index.reader().article(ident)
        assert article is not None and article.title == title
    index.writer().close()  # removes the crash's leftovers
    listed = {name for entry in index.reader().manifest.segments for name in entry.files}
    assert set(os.listdir(path)) - listed <= {"meta.json", "write.lock"}
    assert verify(path).ok


@pytest.mark.parametrize(
    "point", ["background-merge-written", "background-merge-written:2", "committed:7"]
)
def test_a_crash_during_a_background_merge_keeps_the_last_commit(
    tmp_path: Path, point: str
) -> None:
    path = tmp_path / "idx"
    with Index.create(path).writer() as writer:
        for j in range(4):
            writer.add(expected_state_article(j))
    env = dict(os.environ, BNSEARCH_CRASH_AT=point)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), "12"], env=env, capture_output=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    _check_some_commit(path, 12)


def expected_state_article(j: int) -> Article:
    """Article ``b{j}`` of the crash tests' base commit."""
    return _article(f"b{j}", 1)


def test_background_merges_do_not_change_what_the_history_commits(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    with Index.create(path).writer() as writer:
        for j in range(4):
            writer.add(expected_state_article(j))
    env = dict(os.environ)
    env.pop("BNSEARCH_CRASH_AT", None)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), "12"], env=env, capture_output=True, timeout=120
    )
    assert child.returncode == 0, child.stderr.decode()
    reader = Index.open(path).reader()
    assert sorted(reader.article_ids()) == sorted(expected_state(13))
    assert reader.generation > 13  # some commits were merges' installs
    assert verify(path).ok


def test_optimize_with_a_merge_running_ends_in_one_segment(gate: Gate) -> None:
    index = Index.in_memory()
    writer = index.writer(merge_policy=POLICY)
    for ident in ("a", "b"):
        writer.add(Article(id=ident, title=f"শিরোনাম {ident}", body="খবর"))
        writer.commit()
    assert writer._background is not None  # held at its start
    writer.add(Article(id="c", title="শিরোনাম c", body="খবর"))
    writer.delete("a")
    threading.Timer(0.2, gate.opened.set).start()  # optimize waits for it
    writer.optimize()
    writer.close()
    reader = index.reader()
    assert len(reader.segments) == 1 and sorted(reader.article_ids()) == ["b", "c"]
