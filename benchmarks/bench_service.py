"""Load test of ``bnsearch serve`` on loopback, beside the library's own page latency.

Run by hand (it is not collected by pytest)::

    .venv/bin/python benchmarks/bench_service.py [--index DIR] [--clients 50]
        [--seconds 30] [--workers 2]

Without ``--index`` it indexes the BQA passages and the BeliN articles from ``../shared``
into a temporary folder. Queries are the real BQA dev questions. In one run it measures:

1. the library: ``Searcher.search(q, limit=10)`` (stored rows and highlights: what a page
   needs), one call at a time, and the same from ``--clients`` threads in one process;
2. the service (``bnsearch serve --workers N`` in a child process): GET /search, one
   client at a time, then ``--clients`` concurrent keep-alive clients for ``--seconds``.

Everything is bounded: each phase stops by itself, the server is stopped at the end (also
on error), and it listens on 127.0.0.1 only. Prints p50/p99 latencies, throughput and
errors as a table and as JSON; the ratio column divides by the lower of the two
one-caller library p50s (measured before and after the service).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from corpus import SHARED

from bnsearch import Index, read_articles

BQA = SHARED / "corpus" / "bqa_passages.jsonl"
BELIN = SHARED / "corpus" / "belin_religious_news.jsonl"
QUESTIONS = SHARED / "eval" / "bqa_dev_questions.jsonl"
HOST = "127.0.0.1"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(name: str, latencies: list[float], seconds: float, errors: int) -> dict[str, Any]:
    return {
        "phase": name,
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
        "per_second": round(len(latencies) / seconds, 1) if seconds else None,
    }


def build_index(folder: Path) -> Index:
    index = Index.create(folder)
    with index.writer() as writer:
        for path in (BQA, BELIN):
            for article in read_articles(path):
                writer.add(article)
    return index


def questions(limit: int) -> list[str]:
    with QUESTIONS.open(encoding="utf-8") as lines:
        return [json.loads(line)["question"] for _, line in zip(range(limit), lines, strict=False)]


# -- the library ------------------------------------------------------------------------
def library_single(index: Index, queries: list[str]) -> dict[str, Any]:
    searcher = index.searcher()
    for q in queries:  # warm the caches the service's workers will also have warmed
        searcher.search(q, limit=10)
    latencies = []
    started = time.perf_counter()
    for q in queries:
        t0 = time.perf_counter()
        results = searcher.search(q, limit=10)
        for hit in results:  # what a page reads: stored title and the snippet
            _ = hit.title, hit.snippet
        latencies.append(time.perf_counter() - t0)
    return summary("library, 1 caller", latencies, time.perf_counter() - started, 0)


def library_threads(
    index: Index, queries: list[str], clients: int, seconds: float
) -> dict[str, Any]:
    searcher = index.searcher()
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(offset: int) -> None:
        mine = []
        n = offset
        while time.monotonic() < deadline:
            q = queries[n % len(queries)]
            n += clients
            t0 = time.perf_counter()
            for hit in searcher.search(q, limit=10):
                _ = hit.title, hit.snippet
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return summary(
        f"library, {clients} threads, 1 process", latencies, time.perf_counter() - started, 0
    )


# -- the service -----------------------------------------------------------------------
class Connection:
    """One keep-alive HTTP/1.1 connection (a minimal client: little CPU per request)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode("ascii"))
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def search_path(q: str) -> str:
    return "/search?q=" + quote(q, safe="") + "&limit=10"


async def service_load(
    port: int, queries: list[str], clients: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    async def client(offset: int) -> None:
        connection = Connection(port)
        n = offset
        while time.monotonic() < deadline:
            q = queries[n % len(queries)]
            n += clients
            t0 = time.perf_counter()
            try:
                status, body = await connection.get(search_path(q))
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as error:
                errors.append(type(error).__name__)
                connection.close()
                continue
            if status != 200 or not body.startswith(b"{"):
                errors.append(f"HTTP {status}")
                continue
            latencies.append(time.perf_counter() - t0)
        connection.close()

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(client(i) for i in range(clients))), seconds + 60)
    result = summary(
        f"service, {clients} clients", latencies, time.perf_counter() - started, len(errors)
    )
    result["error_kinds"] = sorted(set(errors))
    return result


async def service_single(port: int, queries: list[str]) -> dict[str, Any]:
    connection = Connection(port)
    for q in queries:  # warm both workers' caches (requests alternate between them)
        await connection.get(search_path(q))
    latencies = []
    errors = 0
    started = time.perf_counter()
    for q in queries:
        t0 = time.perf_counter()
        status, _ = await connection.get(search_path(q))
        if status != 200:
            errors += 1
            continue
        latencies.append(time.perf_counter() - t0)
    connection.close()
    return summary("service, 1 client", latencies, time.perf_counter() - started, errors)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def start_server(folder: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bnsearch.cli",
            "serve",
            "--index",
            str(folder),
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    stop_server(process)
    raise RuntimeError("the server did not start within 120 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="an index folder (default: BQA+BeliN in a temp folder)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--library-seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=300, help="BQA questions used")
    args = parser.parse_args()
    if not 1 <= args.clients <= 500 or not 0 < args.seconds <= 600:
        parser.error("clients 1..500 and seconds up to 600")
    queries = questions(args.queries)
    with tempfile.TemporaryDirectory(prefix="bnsearch-load-") as scratch:
        if args.index:
            folder = Path(args.index)
            index = Index.open(folder)
        else:
            folder = Path(scratch) / "index"
            started = time.perf_counter()
            index = build_index(folder)
            print(
                f"indexed BQA+BeliN: {index.doc_count} articles "
                f"in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
        articles = index.doc_count
        rows = [library_single(index, queries)]
        rows.append(library_threads(index, queries, args.clients, args.library_seconds))
        port = free_port()
        server = start_server(folder, port, args.workers)
        try:
            rows.append(asyncio.run(service_single(port, queries)))
            rows.append(asyncio.run(service_load(port, queries, args.clients, args.seconds)))
        finally:
            stop_server(server)
        again = library_single(index, queries)  # brackets the service: a shared machine drifts
        again["phase"] = "library, 1 caller (again)"
        rows.append(again)
    library_p50 = min(rows[0]["p50_ms"], rows[-1]["p50_ms"])
    print(
        f"{'phase':<36} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'req/s':>8} {'p50/lib':>8}"
    )
    for row in rows:
        ratio = row["p50_ms"] / library_p50 if library_p50 else float("nan")
        print(
            f"{row['phase']:<36} {row['requests']:>9} {row['errors']:>7} {row['p50_ms']:>8} "
            f"{row['p99_ms']:>8} {row['per_second']:>8} {ratio:>7.2f}x"
        )
    print(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "articles": articles,
                "workers": args.workers,
                "rows": rows,
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
