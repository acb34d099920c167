"""``bnsearch serve``: the real server (uvicorn, two worker processes) on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")
pytest.importorskip("uvicorn", reason="the web extra (uvicorn) is not installed")

from bnsearch import Index, demo_corpus_path, read_articles
from bnsearch.cli import main

TOKEN = "serve-test-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A ``bnsearch serve`` child process in its own process group."""

    def __init__(self, args: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bnsearch.cli", "serve", *args, "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode() if self.process.stdout else ""
                raise AssertionError(f"server exited with {self.process.returncode}: {output}")
            try:
                self.call("GET", "/health")
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("server did not answer /health in time")

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


def demo_folder(path: Path) -> Path:
    index = Index.create(path)
    with index.writer() as writer:
        for article in read_articles(demo_corpus_path()):
            writer.add(article)
    return path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    folder = demo_folder(tmp_path / "index")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    running = Server(
        ["--index", str(folder), "--workers", "2", "--write-token-file", str(token_file)],
        free_port(),
    )
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def test_two_workers_serve_and_see_each_others_commits(server: Server) -> None:
    status, health = server.call("GET", "/health")
    assert status == 200 and health["writable"] is True
    assert server.process.stdout is not None
    # the banner comes first, after the warning (two lines) of a numpy-fallback install
    banner = server.process.stdout.readline().decode()
    for _ in range(2):
        if " workers, writes " in banner:
            break
        banner = server.process.stdout.readline().decode()
    assert f"at {server.base}/ (2 workers, writes on" in banner
    status, page = server.call("GET", "/search?q=%E0%A6%AC%E0%A6%A8%E0%A7%8D%E0%A6%AF%E0%A6%BE")
    assert status == 200 and page["total"] > 0
    status, error = server.call("GET", "/search?q=%FF")
    assert status == 400 and error["error"]["code"] == "bad_encoding"
    status, error = server.call("GET", "/search?q=" + "%E0%A6%95" * 1500)
    assert status == 400 and error["error"]["code"] == "too_long"
    try:  # over the server's own 16 KB head limit: dropped before the app, server lives on
        status, _ = server.call("GET", "/search?q=" + "%E0%A6%95" * 20_000)
        assert 400 <= status < 500
    except (OSError, json.JSONDecodeError):
        pass
    assert server.call("GET", "/health")[0] == 200
    status, error = server.call(
        "PUT", "/articles/w1", b'{"title": "x"}', {"Authorization": "Bearer no"}
    )
    assert status == 401
    body = json.dumps({"title": "উল্কাপিণ্ড দেখা গেল"}, ensure_ascii=False).encode()
    status, report = server.call("PUT", "/articles/w1", body, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 201 and report["added"] == 1
    committed = time.monotonic()
    query = "/search?q=" + urllib.request.quote("উল্কাপিণ্ড")
    # requests land on either worker: every request sent 1 s after the commit must see it
    answers_after = 0
    while answers_after < 20:
        sent = time.monotonic() - committed
        status, page = server.call("GET", query)
        assert status == 200
        if sent >= 1.0:
            assert page["total"] == 1, f"a request sent {sent:.2f} s after the commit missed it"
            answers_after += 1
        time.sleep(0.02)


def test_reads_during_writes_never_fail(server: Server) -> None:
    """Searches on both workers while another client commits article after article."""
    statuses: list[int] = []
    failures: list[str] = []
    done = threading.Event()

    def read() -> None:
        query = "/search?q=" + urllib.request.quote("খবর বন্যা")
        while not done.is_set():
            try:
                statuses.append(server.call("GET", query)[0])
            except OSError as error:
                failures.append(repr(error))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        for n in range(6):
            body = json.dumps({"title": f"বন্যার খবর {n}"}, ensure_ascii=False).encode()
            status, _ = server.call(
                "PUT", f"/articles/flood-{n}", body, {"Authorization": f"Bearer {TOKEN}"}
            )
            assert status == 201
    finally:
        done.set()
        for thread in readers:
            thread.join(timeout=30)
    assert not failures
    assert statuses and set(statuses) == {200}
    time.sleep(1.0)
    assert server.call("GET", "/search?q=" + urllib.request.quote("বন্যার"))[1]["total"] >= 6


def test_a_server_killed_mid_commit_leaves_the_last_commit(tmp_path: Path) -> None:
    """SIGKILL at the last point before a batch's manifest is renamed into place: the
    batch's segment files are on disk, the commit is not; a new server serves the old one."""
    folder = demo_folder(tmp_path / "index")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN, encoding="utf-8")
    before = Index.open(folder)
    generation, count = before.generation, before.doc_count
    args = ["--index", str(folder), "--write-token-file", str(token_file)]
    doomed = Server(args, free_port(), env={"BNSEARCH_CRASH_AT": "manifest-written"})
    try:
        doomed.wait_ready()
        batch = "\n".join(
            json.dumps({"id": f"lost-{n}", "title": f"হারানো খবর {n}"}, ensure_ascii=False)
            for n in range(20)
        )
        with pytest.raises(OSError):  # the server dies while answering
            doomed.call("POST", "/articles", batch.encode(), {"Authorization": f"Bearer {TOKEN}"})
        assert doomed.process.wait(timeout=20) == -signal.SIGKILL
    finally:
        doomed.stop()
    after = Index.open(folder)
    assert (after.generation, after.doc_count) == (generation, count)
    again = Server(args, free_port())
    try:
        again.wait_ready()
        assert again.call("GET", "/search?q=" + urllib.request.quote("হারানো"))[1]["total"] == 0
        status, report = again.call(
            "POST", "/articles", batch.encode(), {"Authorization": f"Bearer {TOKEN}"}
        )
        assert status == 200 and report["added"] == 20
        assert again.call("GET", "/search?q=" + urllib.request.quote("হারানো"))[1]["total"] == 20
    finally:
        again.stop()


def test_serve_refuses_a_missing_index_and_an_empty_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--index", str(tmp_path / "nothing")]) == 1
    assert "no such index folder" in capsys.readouterr().err
    folder = demo_folder(tmp_path / "index")
    empty = tmp_path / "empty-token"
    empty.write_text("  \n", encoding="utf-8")
    assert main(["serve", "--index", str(folder), "--write-token-file", str(empty)]) == 1
    assert "is empty" in capsys.readouterr().err
    assert (
        main(["serve", "--index", str(folder), "--write-token-file", str(tmp_path / "none")]) == 1
    )
    assert "cannot read the write token file" in capsys.readouterr().err
    assert main(["serve", "--index", str(folder), "--workers", "0"]) == 1
    assert "workers must be >= 1" in capsys.readouterr().err
