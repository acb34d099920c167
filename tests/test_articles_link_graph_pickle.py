"""A link graph moved to another process (Dask pickles what a task carries, closures
and all, with cloudpickle) answers there as here. Its interned strings are found by
their hash, and Python's string hash differs between processes (PYTHONHASHSEED): the
graph unpickled elsewhere found none of its ids (review finding)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from bnsearch.articles import Article
from bnsearch.articles.links import LinkGraph
from bnsearch.articles.linkstore import Atoms

_THERE = """
import pickle, sys
graph = pickle.load(open(sys.argv[1], "rb"))
print(sorted(graph.ids()), "a" in graph, graph.in_links("a"), graph.out_links("b"))
graph.add(__import__("bnsearch.articles", fromlist=["Article"]).Article(
    id="c", title="C", related=["বাজেট ঘোষণা"]))
print(graph.in_links("a"))
"""


def _elsewhere(tmp_path: Path, data: bytes, code: str) -> str:
    (tmp_path / "state.pkl").write_bytes(data)
    env = dict(os.environ, PYTHONHASHSEED="12345")
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "state.pkl")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_interned_strings_are_found_in_another_process(tmp_path: Path) -> None:
    atoms = Atoms()
    words = ["বাজেট", "ঘোষণা", "a", "é", *[f"w{n}" for n in range(5000)]]
    numbers = atoms.intern_many(words).tolist()
    code = (
        "import pickle, sys; atoms = pickle.load(open(sys.argv[1], 'rb')); "
        f"print([atoms.find(w) for w in {words[:4]!r}], atoms.find('w4999'), "
        "atoms.intern('নতুন'), atoms.find('নতুন'))"
    )
    out = _elsewhere(tmp_path, pickle.dumps(atoms), code)
    assert out.split() == [
        f"[{numbers[0]},",
        f"{numbers[1]},",
        f"{numbers[2]},",
        f"{numbers[3]}]",
        str(numbers[-1]),
        str(len(words)),
        str(len(words)),
    ]


def test_a_link_graph_answers_the_same_in_another_process(tmp_path: Path) -> None:
    cloudpickle = pytest.importorskip("cloudpickle")
    graph = LinkGraph.from_articles(
        [Article(id="a", title="বাজেট ঘোষণা"), Article(id="b", title="B", related=["বাজেট ঘোষণা"])]
    )
    out = _elsewhere(tmp_path, cloudpickle.dumps(graph), _THERE)
    assert out.splitlines() == ["['a', 'b'] True ('b',) ('a',)", "('b', 'c')"]
