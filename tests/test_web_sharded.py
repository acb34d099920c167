"""The web app over a sharded index folder (searched in this process) against the same
articles in one index folder: the same answers through the ASGI test client, writes
through ``ShardedIndex``, and ``bnsearch serve`` starting on a sharded folder."""

from __future__ import annotations

import json
import time
import urllib.parse
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")
pytest.importorskip("httpx", reason="httpx (the ASGI test client) is not installed")

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bnsearch import Article, Index, demo_corpus_path, read_articles
from bnsearch.distributed import ShardedIndex
from bnsearch.web import create_app
from bnsearch.web.sharded import ShardedSource
from bnsearch.web.source import open_source

TOKEN = "sharded-token"
SHARDS = 3
QUERIES = [
    {"q": "বন্যা"},
    {"q": "ক্রিকেট খেলা"},  # plain words: the proximity rerank
    {"q": '"বাজেট পাস" OR ক্রিকেট'},
    {"q": "title:ক্রিকেট"},
    {"q": "শিক্ষা*"},  # prefix: expansions over every shard's terms
    {"q": "নির্বাচন", "sort": "-date"},
    {"q": "সরকার", "limit": "4", "offset": "3"},
]


def articles() -> list[Article]:
    return list(read_articles(demo_corpus_path()))


def build_pair(root: Path, demo: list[Article]) -> tuple[Path, Path]:
    one = Index.create(root / "one")
    with one.writer() as writer:
        writer.add_many(demo)
    ShardedIndex.create(root / "sharded", shards=SHARDS).add(demo)
    return root / "one", root / "sharded"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo pages as they are: with related headlines (links and anchors)."""
    return build_pair(tmp_path_factory.mktemp("web-sharded"), articles())


@pytest.fixture(scope="module")
def clients(folders: tuple[Path, Path]) -> Iterator[tuple[TestClient, TestClient]]:
    one, sharded = folders
    with TestClient(create_app(one)) as a, TestClient(create_app(sharded)) as b:
        yield a, b


@pytest.fixture(scope="module")
def unlinked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, TestClient]]:
    """The demo pages without their related headlines: the ``anchors`` field (headlines
    on other pages) is indexed per shard (docs/distributed.md, "What is not global"), so
    rankings are compared where that field is empty."""
    demo = [attrs.evolve(article, related=()) for article in articles()]
    one, sharded = build_pair(tmp_path_factory.mktemp("web-sharded-unlinked"), demo)
    with TestClient(create_app(one)) as a, TestClient(create_app(sharded)) as b:
        yield a, b


@pytest.fixture
def writable(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    folder = tmp_path / "sharded"
    ShardedIndex.create(folder, shards=SHARDS).add(articles())
    with TestClient(create_app(folder, write_token=TOKEN)) as client:
        yield client, folder


def get(client: TestClient, path: str, **params: str) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def ranking(body: dict[str, Any]) -> list[tuple[float, set[str]]]:
    """The hits as runs of equal score (rounded) with the ids in each run: tied hits are
    ordered by write order in one index, by shard when sharded."""
    runs: list[tuple[float, set[str]]] = []
    for hit in body["hits"]:
        score = round(hit["score"], 9)
        if runs and runs[-1][0] == score:
            runs[-1][1].add(hit["id"])
        else:
            runs.append((score, {hit["id"]}))
    return runs


def test_open_source_tells_a_sharded_folder_apart(folders: tuple[Path, Path]) -> None:
    one, sharded = folders
    assert isinstance(open_source(sharded), ShardedSource)
    assert not isinstance(open_source(one), ShardedSource)


@pytest.mark.parametrize("params", QUERIES, ids=[str(p) for p in QUERIES])
def test_search_matches_one_index(
    unlinked: tuple[TestClient, TestClient], params: dict[str, str]
) -> None:
    one, sharded = unlinked
    full = {"limit": "100", **params}  # the whole result: no tie cut at the page end
    a, b = get(one, "/search", **full), get(sharded, "/search", **full)
    assert a["total"] > 0, params
    assert b["total"] == a["total"]
    assert ranking(b) == ranking(a)
    if "sort" not in params:  # by score: the same ids in the same order where not tied
        assert [round(h["score"], 9) for h in b["hits"]] == [
            round(h["score"], 9) for h in a["hits"]
        ]
    assert b["facets"] == a["facets"]
    by_id = {hit["id"]: hit for hit in a["hits"]}
    for hit in b["hits"]:
        assert hit["title"] == by_id[hit["id"]]["title"]
        assert hit["snippet_html"] == by_id[hit["id"]]["snippet_html"]


@pytest.mark.parametrize("params", QUERIES, ids=[str(p) for p in QUERIES])
def test_search_is_the_sharded_searchers(
    clients: tuple[TestClient, TestClient], folders: tuple[Path, Path], params: dict[str, str]
) -> None:
    """With related headlines too, the app gives exactly the library's sharded answer."""
    _, sharded = clients
    body = get(sharded, "/search", **params)
    library = (
        ShardedIndex.open(folders[1])
        .searcher()
        .search(
            params["q"],
            limit=int(params.get("limit", 10)),
            offset=int(params.get("offset", 0)),
            sort=params.get("sort"),
        )
    )
    assert body["total"] == library.total
    assert [(h["id"], h["score"]) for h in body["hits"]] == [(h.id, h.score) for h in library]


def test_article_and_related(clients: tuple[TestClient, TestClient]) -> None:
    one, sharded = clients
    first = get(one, "/search", q="ক্রিকেট")["hits"][0]["id"]
    assert get(sharded, f"/articles/{first}") == get(one, f"/articles/{first}")
    related_one = get(one, f"/articles/{first}/related", limit="5")
    related_sharded = get(sharded, f"/articles/{first}/related", limit="5")
    assert related_sharded["hits"], "the article has related articles"
    assert [h["id"] for h in related_sharded["hits"]] == [h["id"] for h in related_one["hits"]]
    missing = sharded.get("/articles/no-such-article")
    assert missing.status_code == 404
    assert missing.json()["error"]["status"] == 404


TYPOS = ["নির্বাচণ", "বাংলাদেষের", "নিরবাচন কমিশন", "শিক্ষার্থি", "সরকারী"]


@pytest.mark.parametrize("q", TYPOS)
def test_suggest_matches_one_index(clients: tuple[TestClient, TestClient], q: str) -> None:
    one, sharded = clients
    body = get(sharded, "/suggest", q=q)
    assert body["suggestion"] not in (None, q)  # every typo here has a correction
    assert body == get(one, "/suggest", q=q)
    assert get(sharded, "/search", q=body["suggestion"])["total"] > 0


def test_suggest_keeps_known_words_and_search_offers_it(
    clients: tuple[TestClient, TestClient],
) -> None:
    one, sharded = clients
    assert get(sharded, "/suggest", q="নির্বাচন কমিশন")["suggestion"] is None
    typo = "নিরবাচন"  # no matches: the search offers its did-you-mean
    offered = get(sharded, "/search", q=typo)["suggestion"]
    assert offered == get(one, "/search", q=typo)["suggestion"] == "নির্বাচন"


@pytest.mark.parametrize("prefix", ["শিক্ষ", "ক্রি", "সরকার প্র", "বা"])
def test_complete_matches_one_index(clients: tuple[TestClient, TestClient], prefix: str) -> None:
    one, sharded = clients
    a = get(one, "/complete", prefix=prefix, limit="6")
    assert a["completions"], prefix
    assert get(sharded, "/complete", prefix=prefix, limit="6") == a


def test_stats_and_health(
    clients: tuple[TestClient, TestClient], unlinked: tuple[TestClient, TestClient]
) -> None:
    one, sharded = unlinked  # the anchors field differs with related headlines (see above)
    a, b = get(one, "/stats"), get(sharded, "/stats")
    assert b["articles"] == a["articles"] == len(articles())
    assert b["shards"] == SHARDS
    assert b["segments"] >= 1
    assert b["fields"].keys() == a["fields"].keys()
    for name, spec in a["fields"].items():
        assert b["fields"][name]["kind"] == spec["kind"]
        if "average_length" in spec:
            assert b["fields"][name]["average_length"] == pytest.approx(spec["average_length"])
    _, sharded = clients
    assert get(sharded, "/stats")["articles"] == len(articles())
    health = get(sharded, "/health")
    assert health["status"] == "ok" and health["articles"] == len(articles())
    assert health["writable"] is False


def test_a_deep_page_is_a_400_not_a_500(clients: tuple[TestClient, TestClient]) -> None:
    _, sharded = clients
    response = sharded.get("/search", params={"q": "বন্যা", "offset": "10000", "limit": "10"})
    assert response.status_code == 400
    assert "sharded" in response.json()["error"]["message"]


def test_writes_are_seen_by_the_next_search(writable: tuple[TestClient, Path]) -> None:
    client, folder = writable
    auth = {"Authorization": f"Bearer {TOKEN}"}
    word = "ঝিনুকমালা"
    assert get(client, "/search", q=word)["total"] == 0
    body = {"title": f"{word} উৎসব", "body": f"নদীর ধারে {word} উৎসবে মানুষের ভিড়"}
    put = client.put("/articles/new-1", content=json.dumps(body), headers=auth)
    assert put.status_code == 201, put.text
    assert put.json()["added"] == 1 and put.json()["replaced"] == 0
    assert [h["id"] for h in get(client, "/search", q=word)["hits"]] == ["new-1"]
    again = client.put(
        "/articles/new-1", content=json.dumps({**body, "title": "নতুন শিরোনাম"}), headers=auth
    )
    assert again.status_code == 200
    assert again.json()["added"] == 0 and again.json()["replaced"] == 1
    assert get(client, "/articles/new-1")["title"] == "নতুন শিরোনাম"

    lines = [
        json.dumps({"id": f"batch-{n}", "title": f"{word} {n}", "body": f"{word} মেলা {n}"})
        for n in range(5)
    ]
    post = client.post("/articles", content="\n".join(lines), headers=auth)
    assert post.status_code == 200, post.text
    assert post.json()["added"] == 5
    assert get(client, "/search", q=word)["total"] == 6
    assert get(client, "/stats")["articles"] == len(articles()) + 6

    deleted = client.delete("/articles/batch-2", headers=auth)
    assert deleted.status_code == 200 and deleted.json()["deleted"] == 1
    found = {h["id"] for h in get(client, "/search", q=word, limit="20")["hits"]}
    assert "batch-2" not in found and len(found) == 5
    assert client.get("/articles/batch-2").status_code == 404
    assert client.delete("/articles/batch-2", headers=auth).status_code == 404
    # another process reading the folder sees every change
    assert ShardedIndex.open(folder).doc_count == len(articles()) + 5


def test_another_app_sees_a_write_after_its_refresh_interval(
    writable: tuple[TestClient, Path],
) -> None:
    """A second app on the folder (another worker) keeps answering while a write moves
    the shards under its searcher, and sees the write at its first request once its
    refresh interval has passed (no wall-clock bound: the interval decides, not the
    machine's load)."""
    client, folder = writable
    auth = {"Authorization": f"Bearer {TOKEN}"}
    interval = 0.2
    with (
        TestClient(create_app(folder, refresh_interval=60.0)) as slow,
        TestClient(create_app(folder, refresh_interval=interval)) as reader,
    ):
        word = "নীহারিকা"
        assert get(reader, "/search", q=word)["total"] == 0
        assert get(slow, "/search", q=word)["total"] == 0
        put = client.put("/articles/far", content=json.dumps({"title": word}), headers=auth)
        assert put.status_code == 201
        time.sleep(interval)  # at least the interval since the reader's last look
        assert get(reader, "/search", q=word)["total"] == 1
        # the slow app's searcher is pinned to shard generations that moved on: it
        # reopens the shards instead of failing, and so sees the write too
        assert get(slow, "/search", q=word)["total"] == 1


def test_bad_writes_leave_the_index_unchanged(writable: tuple[TestClient, Path]) -> None:
    client, folder = writable
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = ShardedIndex.open(folder).manifest
    good = json.dumps({"id": "fine-1", "title": "ভালো", "body": "ভালো লেখা"})
    bad = client.post("/articles", content=good + "\n{not json\n", headers=auth)
    assert bad.status_code == 400
    assert "line 2" in bad.json()["error"]["message"]
    assert client.put("/articles/x", content="{}", headers=auth).status_code == 400
    assert client.put("/articles/x", content="{}").status_code in (401, 403)
    assert ShardedIndex.open(folder).manifest == before
    assert client.get("/articles/fine-1").status_code == 404


def test_serve_starts_on_a_sharded_folder(folders: tuple[Path, Path]) -> None:
    pytest.importorskip("uvicorn", reason="the web extra (uvicorn) is not installed")
    from tests.test_web_serve import Server, free_port

    _, sharded = folders
    port = free_port()
    server = Server(["--index", str(sharded)], port)
    try:
        server.wait_ready()
        status, health = server.call("GET", "/health")
        assert status == 200 and health["articles"] == len(articles())
        status, body = server.call("GET", "/search?q=" + urllib.parse.quote("ক্রিকেট"))
        assert status == 200 and body["total"] > 0
    finally:
        server.stop()
