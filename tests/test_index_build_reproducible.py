"""Index room: two builds of the same articles write the same files, byte for byte.

The builds run in two processes with different ``PYTHONHASHSEED`` values, so nothing a
file holds may follow the order of a set or dict of strings. The articles link to each
other across several flushes, so the commit writes anchor updates of the earlier
segments, hosted in the last segment's compound file (their arrays' order once followed
a set's).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BUILD = """
import sys
from bnsearch.articles import Article, RelatedLink
from bnsearch.index import Index, MergePolicy

words = ["পদ্মা", "সেতু", "চাল", "দাম", "বৃষ্টি", "নদী", "বাজার", "খবর", "মাঠ", "দল"]
titles = [f"{words[n % 10]} {words[(n * 7) % 10]} {n}" for n in range(COUNT)]
articles = [
    Article(
        id=f"a{n}",
        title=titles[n],
        body=" ".join(words[(n + k) % 10] for k in range(40)),
        related=[RelatedLink(headline=titles[(n * 13 + 29 * k + 5) % COUNT]) for k in range(4)],
    )
    for n in range(COUNT)
]
policy = MergePolicy(merge_factor=1000)  # the flushes' segments stay as they are
with Index.create(sys.argv[1]).writer(buffer_mb=0.004, merge_policy=policy) as writer:
    writer.add_many(articles)
"""

#: written anew by every commit (its time, the writer's pid): compared apart
_VOLATILE = {"meta.json", "write.lock"}


def build(folder: Path, seed: str, count: int) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    subprocess.run(
        [sys.executable, "-c", BUILD.replace("COUNT", str(count)), str(folder)], check=True, env=env
    )
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in sorted(os.listdir(folder))
        if name not in _VOLATILE
    }


def manifest(folder: Path) -> dict[str, object]:
    data = json.loads((folder / "meta.json").read_text())
    data.pop("committed_at")
    data.pop("checksum")  # covers committed_at
    return data


# 120 articles: 15 full flushes, the anchor updates in files of their own; 124: the
# commit flushes the last 4, and that segment's file hosts the updates
@pytest.mark.parametrize("count", [120, 124])
def test_two_builds_write_identical_files(tmp_path: Path, count: int) -> None:
    first = build(tmp_path / "one", "1", count)
    second = build(tmp_path / "two", "2", count)
    assert len(first) > 2  # several segments
    entries = manifest(tmp_path / "one")["segments"]
    assert isinstance(entries, list)
    # the commit wrote anchor updates of earlier segments
    assert any(f != e["name"] + ".cfs" for e in entries for f in e["files"])
    assert first == second
    assert manifest(tmp_path / "one") == manifest(tmp_path / "two")
