"""Fuzzing of index files: damage or craft one file of a small index, then use it.

Each trial copies a healthy index (format 3, or the format 2 index of tests/data) into a
sandbox beside an empty ``OUTSIDE`` folder, applies one mutation (flipped bytes, a
truncation, appended or zeroed bytes, a crafted manifest with its checksum recomputed,
a crafted segment array with every checksum recomputed, deep JSON nesting), then opens
the index, searches, reads articles, runs ``verify`` and commits a deletion. A trial
fails when anything raises an exception outside bnsearch's own hierarchy, or when a file
appears outside the index folder. Damage that ``verify`` misses while the articles read
back differ is counted as silent damage.

Two more kinds of trial, by hand: ``--kills N`` runs a writer subprocess (commits of
adds, upserts and deletes, merges) and SIGKILLs it at a random moment, then checks that
the index holds exactly the state of its last commit and that no commit the writer
reported done was lost; ``--disk-full N`` makes a commit fail with ENOSPC after a random
number of bytes (in any file it writes) and checks that the previous commit is intact
and the index still takes the next commit.

Fast run (the test suite): ``tests/test_index_faults.py``. Long run by hand::

    .venv/bin/python tests/fuzz_index.py --trials 10000 --kills 100 --disk-full 100
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from bnsearch.articles import parse_page
from bnsearch.articles.demo import demo_article_files
from bnsearch.errors import BnSearchError
from bnsearch.index import Index, MergePolicy, compound, verify
from bnsearch.index.directory import FSDirectory
from bnsearch.index.manifest import Manifest
from bnsearch.index.schema import news_schema
from bnsearch.index.segment import compound_name

LEGACY = Path(__file__).parent / "data" / "legacy-v2-index"
QUERIES = ["ঢাকা", "খেলা বাজার", '"বাংলাদেশ ব্যাংক"', "section:খেলা", "নির্বাচন -ঢাকা"]
NASTY: list[Any] = [
    10**12,
    -1,
    2**63,
    1.5,
    True,
    None,
    "",
    [],
    {},
    "x" * 300,
    "../OUTSIDE/seg-000001",
    "/tmp/OUTSIDE",
    "seg-1/../../OUTSIDE/x",
    "seg-000001/..",
    "seg-\x00",
    "\ud800",
]


def build_base(path: Path) -> None:
    """A small healthy index: 3 commits of the bundled demo pages, one with deletions."""
    articles = [parse_page(f.read_text(encoding="utf-8"), id=f.stem) for f in demo_article_files()]
    index = Index.create(path)
    policy = MergePolicy(merge_factor=100, max_deleted_ratio=0.99)  # keep the deletions
    for start in range(0, len(articles), 20):
        with index.writer(merge_policy=policy) as writer:
            writer.add_many(articles[start : start + 20])
    with index.writer(merge_policy=policy) as writer:
        writer.delete(articles[1].id)
        writer.delete(articles[22].id)


def legacy_base(path: Path) -> None:
    """The format 2 index of tests/data, with this code's analyzer identities."""
    shutil.copytree(LEGACY, path)
    identities = news_schema().identities()

    def relabel(body: dict[str, Any]) -> None:
        for field in body["schema"]["fields"]:
            if field["name"] in identities:
                field["analyzer_identity"] = identities[field["name"]]

    rewrite_manifest(path, relabel)


def rewrite_manifest(path: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    """Apply ``change(body)`` to the manifest JSON and store it with a valid checksum."""
    body = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    body.pop("checksum", None)
    body = change(body) or body
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    body["checksum"] = zlib.crc32(canonical.encode("utf-8", "surrogatepass"))
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    (path / "meta.json").write_bytes(text.encode("utf-8", "surrogatepass"))


def snapshot(path: Path) -> dict[str, Any]:
    """What a healthy index answers: per query the hit ids, and every article."""
    index = Index.open(path)
    searcher = index.searcher()
    reader = searcher.reader
    return {
        "hits": {q: [h.id for h in searcher.search(q, limit=20)] for q in QUERIES},
        "articles": {i: reader.article(i) for i in sorted(reader.article_ids())},
    }


# -- mutations ---------------------------------------------------------------------------


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name != "write.lock")


def flip_bytes(path: Path, rng: random.Random) -> str:
    victim = rng.choice(_files(path))
    data = bytearray(victim.read_bytes())
    if not data:
        return "empty file"
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    victim.write_bytes(bytes(data))
    return f"flip {victim.name}"


def truncate(path: Path, rng: random.Random) -> str:
    victim = rng.choice(_files(path))
    data = victim.read_bytes()
    victim.write_bytes(data[: rng.randrange(len(data) + 1)])
    return f"truncate {victim.name}"


def append(path: Path, rng: random.Random) -> str:
    victim = rng.choice(_files(path))
    victim.write_bytes(victim.read_bytes() + rng.randbytes(rng.randint(1, 200)))
    return f"append {victim.name}"


def zero_range(path: Path, rng: random.Random) -> str:
    victim = rng.choice(_files(path))
    data = bytearray(victim.read_bytes())
    if not data:
        return "empty file"
    start = rng.randrange(len(data))
    length = rng.randint(1, 4096)
    data[start : start + length] = bytes(len(data[start : start + length]))
    victim.write_bytes(bytes(data))
    return f"zero {victim.name}"


def crafted_manifest(path: Path, rng: random.Random) -> str:
    note: list[str] = []

    def change(body: dict[str, Any]) -> None:
        segments = body["segments"]
        entry = rng.choice(segments) if segments else None
        choice = rng.randrange(9)
        value = rng.choice(NASTY)
        note.append(f"{choice}:{value!r:.40}")
        if choice == 0 and entry:
            entry[rng.choice(["name", "max_doc", "del_count", "deletes"])] = value
        elif choice == 1 and entry:
            files = entry["files"]
            key = rng.choice(sorted(files))
            files[str(value)] = files.pop(key)
            if entry["deletes"] == key:
                entry["deletes"] = str(value)
        elif choice == 2 and entry:
            info = rng.choice(list(entry["files"].values()))
            info[rng.choice(["size", "crc32"])] = value
        elif choice == 3 and entry:
            segments.append(dict(entry))
        elif choice == 4:
            body[rng.choice(["generation", "next_segment", "schema", "segments"])] = value
        elif choice == 5:
            field = rng.choice(body["schema"]["fields"])
            field[rng.choice(["name", "kind", "source", "weight", "analyzer", "positions"])] = value
        elif choice == 6 and entry:
            entry.pop(rng.choice(sorted(entry)))
        elif choice == 7 and entry:
            entry["max_doc"] = rng.choice([0, 1, entry["max_doc"] + 1, entry["max_doc"] - 1])
        elif choice == 8 and entry:
            name = "../OUTSIDE/" + entry["name"]
            entry["files"] = {
                key.replace(entry["name"], name, 1): info for key, info in entry["files"].items()
            }
            if entry["deletes"]:
                entry["deletes"] = entry["deletes"].replace(entry["name"], name, 1)
            entry["name"] = name

    rewrite_manifest(path, change)
    return "manifest " + ",".join(note)


def deep_nesting(path: Path, rng: random.Random) -> str:
    depth = rng.choice([1_000, 200_000])
    (path / "meta.json").write_text("[" * depth + "]" * rng.choice([0, depth]), encoding="utf-8")
    return f"nesting {depth}"


def crafted_array(path: Path, rng: random.Random) -> str:
    """Replace one array of a compound segment; every checksum recomputed."""
    manifest = Manifest.from_bytes((path / "meta.json").read_bytes(), where="fuzz")
    entries = [e for e in manifest.segments if compound_name(e.name) in e.files]
    if not entries:
        return "no compound segment"
    entry = rng.choice(entries)
    file = path / compound_name(entry.name)
    buffer = np.fromfile(file, dtype=np.uint8)
    table = compound.read_table(buffer, "fuzz")
    arrays = {stem: np.array(compound.view(buffer, item)) for stem, item in table.items()}
    stem = rng.choice(sorted(arrays))
    old = arrays[stem]
    kind = rng.randrange(5)
    if kind == 0 and old.size:  # same shape, random values
        flat = old.reshape(-1).copy()
        flat[rng.randrange(len(flat))] = rng.choice([0, 1, 7, 100, 255])
        arrays[stem] = flat.reshape(old.shape)
    elif kind == 1:  # one shorter or longer
        arrays[stem] = np.resize(old, (max(len(old) + rng.choice([-1, 1]), 0), *old.shape[1:]))
    elif kind == 2:  # another dtype
        arrays[stem] = old.astype(rng.choice([np.uint8, np.int64, np.uint16, np.int8]))
    elif kind == 3:
        del arrays[stem]
    else:  # values out of range
        arrays[stem] = (np.asarray(old, dtype=np.int64) + rng.choice([-5, 10**6])).astype(old.dtype)
    name = compound_name(entry.name)
    info = FSDirectory(path).write_parts(name, compound.encode(arrays))
    files = dict(entry.files)
    files[name] = info
    segments = tuple(
        attrs.evolve(e, files=files) if e.name == entry.name else e for e in manifest.segments
    )
    FSDirectory(path).write_manifest(attrs.evolve(manifest, segments=segments).to_bytes())
    return f"array {entry.name}:{stem} kind {kind}"


MUTATIONS: list[tuple[str, Callable[[Path, random.Random], str], int]] = [
    ("flip", flip_bytes, 30),
    ("truncate", truncate, 10),
    ("append", append, 5),
    ("zero", zero_range, 10),
    ("manifest", crafted_manifest, 25),
    ("nesting", deep_nesting, 2),
    ("array", crafted_array, 18),
]


# -- one trial ---------------------------------------------------------------------------


@attrs.define
class Outcome:
    kind: str
    what: str
    refused_at: str = ""  # the first step that raised a bnsearch error ("" = none)
    verify_ok: bool | None = None
    silent: bool = False  # verify OK, yet answers differ from the healthy index
    difference: str = ""
    crash: str = ""  # an exception outside the hierarchy (traceback)
    outside: list[str] = attrs.field(factory=list)


def use(path: Path, expected: dict[str, Any], outcome: Outcome) -> None:
    """Open, search, read, verify and commit a deletion; fill ``outcome``."""
    answers: dict[str, Any] = {"hits": {}, "articles": {}}
    try:
        index = Index.open(path)
        searcher = index.searcher()
        for query in QUERIES:
            answers["hits"][query] = [h.id for h in searcher.search(query, limit=20)]
        for ident in expected["articles"]:
            answers["articles"][ident] = searcher.reader.article(ident)
    except BnSearchError:
        outcome.refused_at = "read"
    report = verify(path)
    outcome.verify_ok = report.ok
    if report.ok and not outcome.refused_at and answers != expected:
        outcome.silent = True
        hits = [q for q in QUERIES if answers["hits"].get(q) != expected["hits"][q]]
        rows = [
            i for i in expected["articles"] if answers["articles"].get(i) != expected["articles"][i]
        ]
        outcome.difference = f"queries {hits}, articles {rows[:3]}"
    try:
        index = Index.open(path)
        with index.writer(timeout=0) as writer:
            writer.delete(next(iter(expected["articles"])))
            writer.add(attrs.evolve(next(iter(expected["articles"].values())), id="fuzz-new"))
    except BnSearchError:
        outcome.refused_at = outcome.refused_at or "write"


def trial(sandbox: Path, bases: list[tuple[Path, dict[str, Any]]], rng: random.Random) -> Outcome:
    base, expected = rng.choice(bases)
    if sandbox.exists():
        shutil.rmtree(sandbox)
    sandbox.mkdir()
    (sandbox / "OUTSIDE").mkdir()
    path = sandbox / "idx"
    shutil.copytree(base, path)
    names, weights = zip(*[(m[:2], m[2]) for m in MUTATIONS], strict=True)
    kind, mutate = rng.choices(names, weights=weights)[0]
    outcome = Outcome(kind=kind, what=mutate(path, rng))
    try:
        use(path, expected, outcome)
    except Exception:
        outcome.crash = traceback.format_exc(limit=6)
    outcome.outside = sorted(
        str(p.relative_to(sandbox))
        for p in sandbox.rglob("*")
        if p != path and path not in p.parents and p != sandbox / "OUTSIDE"
    )
    return outcome


def run(trials: int, seed: int, work: Path, *, echo: bool = False) -> dict[str, Any]:
    """Run ``trials`` trials under ``work``; a summary (counts and the first failures)."""
    work.mkdir(parents=True, exist_ok=True)
    bases: list[tuple[Path, dict[str, Any]]] = []
    fresh = work / "base-v3"
    if not fresh.exists():
        build_base(fresh)
    bases.append((fresh, snapshot(fresh)))
    if LEGACY.is_dir():
        old = work / "base-v2"
        if not old.exists():
            legacy_base(old)
        bases.append((old, snapshot(old)))
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    failures: list[str] = []
    silent: list[str] = []
    started = time.perf_counter()
    for number in range(trials):
        outcome = trial(work / "sandbox", bases, rng)
        counts[outcome.kind] += 1
        if echo and number % 250 == 249:  # a running summary, in case the run is cut short
            progress = json.dumps({"trials": number + 1, **counts}, ensure_ascii=False)
            print(progress, file=sys.stderr, flush=True)
        counts[f"refused at {outcome.refused_at or 'nothing'}"] += 1
        counts["verify found damage" if outcome.verify_ok is False else "verify OK"] += 1
        if outcome.silent:
            counts["silent (verify OK, answers differ)"] += 1
            silent.append(f"trial {number} {outcome.what}: {outcome.difference}")
            if echo:
                print("silent:", silent[-1], file=sys.stderr, flush=True)
        if outcome.crash or outcome.outside:
            counts["failures"] += 1
            failures.append(f"trial {number} {outcome.what}: {outcome.crash}{outcome.outside}")
            if echo:
                print(failures[-1], file=sys.stderr, flush=True)
    counts["trials"] = trials
    return {
        "counts": dict(counts),
        "failures": failures[:20],
        "silent": silent[:20],
        "seconds": round(time.perf_counter() - started, 1),
    }


KILL_CHILD = """
import sys
from bnsearch.index import Index, MergePolicy
from test_index_crash import ops_for_commit

index = Index.open(sys.argv[1])
policy = MergePolicy(merge_factor=3, floor_docs=10)
with index.writer(timeout=10, buffer_mb=0.004, merge_policy=policy) as writer:
    for step in range(index.generation + 1, index.generation + 1 + int(sys.argv[2])):
        adds, deletes = ops_for_commit(step)
        for article in adds:
            writer.add(article)
        for ident in deletes:
            writer.delete(ident)
        writer.commit()
        print("committed", step, flush=True)
"""


def _check_state(path: Path) -> int:
    """The index's generation, after checking it holds exactly that commit's articles."""
    from test_index_crash import expected_state

    reader = Index.open(path).reader()
    want = expected_state(reader.generation)
    got = {
        ident: article.title for ident in reader.article_ids() if (article := reader.article(ident))
    }
    if got != want:
        raise AssertionError(f"generation {reader.generation}: articles differ from that commit")
    if not verify(path).ok:
        raise AssertionError(f"generation {reader.generation}: verify found damage")
    return reader.generation


def _fresh_index(path: Path) -> Path:
    """A new index at ``path`` (replacing what is there) holding four small articles."""
    from test_index_crash import _article

    if path.exists():
        shutil.rmtree(path)
    with Index.create(path).writer() as writer:
        for j in range(4):
            writer.add(_article(f"b{j}", 1))
    return path


def kill_trials(count: int, rng: random.Random, work: Path) -> dict[str, int]:
    """SIGKILL a committing writer at random moments; count kills, commits lost, bad states."""
    import os
    import signal
    import subprocess

    path = _fresh_index(work / "killed")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    result = {"kills": 0, "commits reported": 0, "commits lost": 0, "bad states": 0}
    for _ in range(count):
        child = subprocess.Popen(
            [sys.executable, "-c", KILL_CHILD, str(path), "30"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert child.stdout is not None
        first = child.stdout.readline()  # the first commit is done: the writer is at work
        time.sleep(rng.random() * 1.5)
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            result["kills"] += 1
        out, _ = child.communicate(timeout=120)
        out = first + out
        reported = [
            int(line.split()[1]) for line in out.splitlines() if line.startswith("committed")
        ]
        result["commits reported"] += len(reported)
        try:
            generation = _check_state(path)
        except (AssertionError, BnSearchError):
            result["bad states"] += 1
            break
        if reported and generation < reported[-1]:
            result["commits lost"] += reported[-1] - generation
    return result


def disk_full_trials(count: int, rng: random.Random, work: Path) -> dict[str, int]:
    """Fail a commit with ENOSPC after a random number of written bytes; count outcomes."""
    import errno

    from test_index_crash import ops_for_commit

    path = _fresh_index(work / "full")
    result = {"commits failed": 0, "commits done": 0, "bad states": 0}
    real_parts, real_manifest = FSDirectory.write_parts, FSDirectory.write_manifest
    budget = [0]
    for _ in range(count):
        budget[0] = rng.randrange(0, 80_000)  # bytes the disk takes before it is full

        def spend(size: int) -> None:
            budget[0] -= size
            if budget[0] < 0:
                raise OSError(errno.ENOSPC, "No space left on device")

        def parts(self: FSDirectory, name: str, pieces: Any) -> Any:
            def metered() -> Any:
                for piece in pieces:
                    spend(len(piece))
                    yield piece

            return real_parts(self, name, metered())

        def manifest(self: FSDirectory, data: bytes) -> None:
            spend(len(data))
            real_manifest(self, data)

        FSDirectory.write_parts = parts  # type: ignore[method-assign]
        FSDirectory.write_manifest = manifest  # type: ignore[method-assign]
        before = Index.open(path).generation
        step = before + 1
        try:
            with Index.open(path).writer(buffer_mb=0.004) as writer:
                adds, deletes = ops_for_commit(step)
                for article in adds:
                    writer.add(article)
                for ident in deletes:
                    writer.delete(ident)
            result["commits done"] += 1
        except OSError:
            result["commits failed"] += 1
        finally:
            FSDirectory.write_parts = real_parts  # type: ignore[method-assign]
            FSDirectory.write_manifest = real_manifest  # type: ignore[method-assign]
        try:
            generation = _check_state(path)
            assert generation in (before, step)
        except (AssertionError, BnSearchError):
            result["bad states"] += 1
            break
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kills", type=int, default=0, help="SIGKILL trials")
    parser.add_argument("--disk-full", type=int, default=0, help="ENOSPC trials")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bnsearch-fuzz"))
    args = parser.parse_args(argv)
    summary = run(args.trials, args.seed, args.work, echo=True) if args.trials else {}
    rng = random.Random(args.seed)
    if args.kills:
        summary["kills"] = kill_trials(args.kills, rng, args.work)
    if args.disk_full:
        summary["disk full"] = disk_full_trials(args.disk_full, rng, args.work)
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    bad = summary.get("counts", {}).get("failures", 0)
    bad += summary.get("kills", {}).get("bad states", 0) + summary.get("kills", {}).get(
        "commits lost", 0
    )
    bad += summary.get("disk full", {}).get("bad states", 0)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
