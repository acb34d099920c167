"""The JSON API of bnsearch.web through the ASGI test client: the same answers as the
library, responses that match the served OpenAPI schema, writes and their visibility."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
import warnings
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")
pytest.importorskip("httpx", reason="httpx (the ASGI test client) is not installed")
jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bnsearch import Article, Index, demo_corpus_path, read_articles  # noqa: E402
from bnsearch.web import create_app  # noqa: E402
from bnsearch.web.app import SUGGEST_BELOW  # noqa: E402
from tests.conftest import shared_file  # noqa: E402

TOKEN = "s3cret-token"
XSS_TITLE = '<script>window.__xss = 1</script> বন্যায় "ক্ষতি" & <b>ত্রাণ</b>'
XSS_BODY = (
    'বন্যায় <img src=x onerror="window.__xss=2"> ক্ষতিগ্রস্ত মানুষের জন্য ত্রাণ </mark><script>x</script>'
)


def dated_articles() -> list[Article]:
    return [
        Article(
            id=f"dated-{day:02d}",
            title=f"বন্যার খবর {day}",
            body="বন্যায় ক্ষতিগ্রস্ত কৃষকদের জন্য সাহায্য",
            section="হোম > জাতীয়",
            published=dt.datetime(2024, 5, day, 10, 0, tzinfo=dt.timezone.utc),
        )
        for day in (1, 5, 9, 20)
    ]


def build(index: Index) -> Index:
    with index.writer() as writer:
        for article in read_articles(demo_corpus_path()):
            writer.add(article)
        for article in dated_articles():
            writer.add(article)
        writer.add(Article(id="xss-1", title=XSS_TITLE, body=XSS_BODY, section="জাতীয়"))
    return index


@pytest.fixture(scope="module")
def demo_index() -> Index:
    return build(Index.in_memory())


@pytest.fixture(scope="module")
def client(demo_index: Index) -> Iterator[TestClient]:
    with TestClient(create_app(demo_index)) as test_client:
        yield test_client


@pytest.fixture
def writable(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    folder = tmp_path / "index"
    build(Index.create(folder))
    with TestClient(create_app(folder, write_token=TOKEN)) as test_client:
        yield test_client, folder


@pytest.fixture(scope="module")
def schema(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    jsonschema.Draft202012Validator.check_schema({"$defs": document["components"]["schemas"]})
    return document


def check(schema: dict[str, Any], name: str, body: object) -> None:
    """Validate ``body`` against component ``name`` of the served OpenAPI document."""
    wrapped = {
        "$ref": f"#/components/schemas/{name}",
        "components": schema["components"],
    }
    jsonschema.validate(body, wrapped, cls=jsonschema.Draft202012Validator)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- the same answers as the library ---------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "kwargs"),
    [
        ({"q": "বন্যা"}, {}),
        ({"q": "বন্যা", "limit": "3", "offset": "2"}, {"limit": 3, "offset": 2}),
        ({"q": "বন্যা", "section": "জাতীয়"}, {"filter": {"section": ["জাতীয়"]}}),
        ({"q": "বন্যা", "sort": "-date"}, {"sort": "-date"}),
        ({"q": "বন্যা", "sort": "date", "limit": "20"}, {"sort": "date", "limit": 20}),
        (
            {"q": "বন্যা", "since": "2024-05-05", "until": "2024-05-20"},
            {"filter": {"published": (dt.date(2024, 5, 5), dt.date(2024, 5, 20))}},
        ),
        ({"q": '"বাজেট পাস" OR ক্রিকেট'}, {}),
        ({"q": "title:ক্রিকেট"}, {}),
    ],
)
def test_search_gives_the_library_ids_in_order(
    client: TestClient,
    demo_index: Index,
    schema: dict[str, Any],
    params: dict[str, str],
    kwargs: dict[str, Any],
) -> None:
    response = client.get("/search", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    check(schema, "SearchResults", body)
    expected = demo_index.searcher().search(params["q"], **kwargs)
    assert [hit["id"] for hit in body["hits"]] == expected.ids
    assert body["total"] == expected.total
    assert [hit["score"] for hit in body["hits"]] == pytest.approx([h.score for h in expected])
    assert body["facets"] == {name: dict(c) for name, c in expected.facets.items()}
    assert body["total_is_exact"] is True


def test_dates_filter_is_applied(client: TestClient) -> None:
    body = client.get(
        "/search", params={"q": "বন্যা", "since": "2024-05-05", "until": "2024-05-20"}
    ).json()
    assert sorted(hit["id"] for hit in body["hits"]) == ["dated-05", "dated-09"]
    newest = client.get("/search", params={"q": "বন্যা", "sort": "-date", "limit": "2"}).json()
    assert [hit["id"] for hit in newest["hits"]] == ["dated-20", "dated-09"]
    assert newest["hits"][0]["published"].startswith("2024-05-20")


def test_search_on_the_real_corpora_matches_the_library(tmp_path: Path) -> None:
    """BQA passages + BeliN articles, queried with real BQA questions."""
    questions_path = shared_file("eval/bqa_dev_questions.jsonl")
    folder = tmp_path / "corpus-index"
    index = Index.create(folder)
    with index.writer() as writer:
        for name in ("corpus/bqa_passages.jsonl", "corpus/belin_religious_news.jsonl"):
            for number, article in enumerate(read_articles(shared_file(name))):
                if number >= 400:
                    break
                writer.add(article)
    with questions_path.open(encoding="utf-8") as lines:
        questions = [json.loads(line)["question"] for line in itertools.islice(lines, 25)]
    searcher = index.searcher()
    with TestClient(create_app(folder)) as test_client:
        for question in questions:
            body = test_client.get("/search", params={"q": question, "limit": "10"}).json()
            expected = searcher.search(question, limit=10)
            assert [hit["id"] for hit in body["hits"]] == expected.ids, question
            assert body["total"] == expected.total
            if expected.total >= SUGGEST_BELOW:  # plenty of matches: no spelling lookup
                assert body["suggestion"] is None
            for hit, lib in zip(body["hits"], expected, strict=True):
                if lib.snippet is not None:
                    assert hit["snippet_html"] == lib.snippet.markup()


def test_openapi_describes_every_route(client: TestClient, schema: dict[str, Any]) -> None:
    from starlette.routing import Route

    described = {
        (path, method.upper()) for path, item in schema["paths"].items() for method in item
    }
    served = set()
    for route in client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, Route) or route.path in ("/", "/openapi.json"):
            continue
        path = route.path.replace("{rest:path}", "{id}")
        served |= {(path, method) for method in route.methods or () if method != "HEAD"}
    served.add(("/articles/{id}/related", "GET"))  # dispatched inside /articles/{rest:path}
    assert described == served


def test_a_typo_gets_a_did_you_mean(
    client: TestClient, demo_index: Index, schema: dict[str, Any]
) -> None:
    typo = "বন্যাা"
    expected = demo_index.searcher().suggest(typo)
    assert expected not in (None, typo)
    assert client.get("/search", params={"q": typo}).json()["suggestion"] == expected
    suggested = client.get("/suggest", params={"q": typo}).json()
    check(schema, "Suggestion", suggested)
    assert suggested == {"q": typo, "suggestion": expected}
    # a word spelled right gets none
    assert client.get("/search", params={"q": "বন্যা"}).json()["suggestion"] is None


def test_complete(client: TestClient, demo_index: Index, schema: dict[str, Any]) -> None:
    body = client.get("/complete", params={"prefix": "বন্", "limit": "4"}).json()
    check(schema, "Completions", body)
    assert body["completions"] == demo_index.searcher().complete("বন্", limit=4)
    assert body["completions"] and all(c.startswith("বন্") for c in body["completions"])
    assert client.get("/complete", params={"prefix": "  "}).json()["completions"] == []


def test_article_and_related(client: TestClient, demo_index: Index, schema: dict[str, Any]) -> None:
    body = client.get("/articles/demo-jatiyo-04").json()
    check(schema, "Article", body)
    stored = demo_index.reader().article("demo-jatiyo-04")
    assert stored is not None
    assert body["title"] == stored.title and body["body"] == stored.body
    related = client.get("/articles/demo-jatiyo-04/related", params={"limit": "5"}).json()
    check(schema, "Related", related)
    assert [h["id"] for h in related["hits"]] == demo_index.searcher().related(
        "demo-jatiyo-04", limit=5
    ).ids
    assert related["hits"]
    own = demo_index.searcher().reader.out_links("demo-jatiyo-04")
    assert [h["relation"] for h in related["hits"][: len(own)]] == ["linked from this page"] * len(
        own
    )
    for path in ("/articles/nope", "/articles/nope/related"):
        response = client.get(path)
        assert response.status_code == 404
        check(schema, "Error", response.json())


def test_stats_health_and_page(
    client: TestClient, demo_index: Index, schema: dict[str, Any]
) -> None:
    stats = client.get("/stats").json()
    check(schema, "Stats", stats)
    assert stats["articles"] == demo_index.doc_count
    health = client.get("/health").json()
    check(schema, "Health", health)
    assert health == {
        "status": "ok",
        "articles": demo_index.doc_count,
        "generation": 1,
        "writable": False,
    }
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'lang="bn"' in page.text and "static/app.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    # the CSP allows no inline code: the page must hold none (it would silently not run)
    tags = _Tags()
    tags.feed(page.text)
    assert tags.inline_script == 0 and not tags.inline_attributes
    for name, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200 and kind in asset.headers["content-type"]
    script = client.get("/static/app.js").text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink


# -- XSS: strings from the index reach JSON as strings, snippet_html only adds <mark> --------
class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.inline_attributes: list[str] = []
        self.inline_script = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
        names = {name for name, _ in attrs}
        self.inline_attributes += sorted(n for n in names if n == "style" or n.startswith("on"))
        if tag == "script" and "src" not in names:
            self.inline_script += 1

    def handle_endtag(self, tag: str) -> None:
        self.tags.append("/" + tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_snippet_html_is_escaped_but_for_mark(client: TestClient) -> None:
    body = client.get("/search", params={"q": "ত্রাণ বন্যায়", "limit": "50"}).json()
    hit = next(h for h in body["hits"] if h["id"] == "xss-1")
    assert hit["title"] == XSS_TITLE  # JSON carries the raw string; consumers escape it
    parser = _Tags()
    parser.feed(hit["snippet_html"])
    parser.close()
    assert parser.tags and set(parser.tags) == {"mark", "/mark"}
    # the markup's text is the stored fragment, with every < > & " intact as text
    assert "".join(parser.text).strip("… ") == hit["highlights"]["body"]["text"]
    assert "<script>" in hit["highlights"]["body"]["text"]
    assert "<script>" not in hit["snippet_html"] and "&lt;script&gt;" in hit["snippet_html"]


# -- writes -------------------------------------------------------------------------------------
def test_writes_disabled_without_a_token(client: TestClient, demo_index: Index) -> None:
    before = demo_index.generation
    for method, path in (
        ("put", "/articles/x"),
        ("post", "/articles"),
        ("delete", "/articles/demo-jatiyo-04"),
    ):
        response = client.request(method.upper(), path, content=b'{"title": "t"}', headers=auth())
        assert response.status_code == 403, (method, response.text)
        assert response.json()["error"]["code"] == "writes_disabled"
    assert demo_index.generation == before


@pytest.mark.parametrize(
    "headers", [{}, auth("wrong"), {"Authorization": f"Basic {TOKEN}"}, auth("")]
)
def test_a_wrong_token_is_401(writable: tuple[TestClient, Path], headers: dict[str, str]) -> None:
    test_client, folder = writable
    before = Index.open(folder).generation
    response = test_client.put("/articles/new-1", json={"title": "নতুন খবর"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert Index.open(folder).generation == before


def test_put_post_delete_commit_and_are_searchable(
    writable: tuple[TestClient, Path], schema: dict[str, Any]
) -> None:
    test_client, folder = writable
    doc = {
        "title": "উল্কাপিণ্ড পড়ল মাঠে",
        "body": "গ্রামের মাঠে উল্কাপিণ্ড দেখতে ভিড়।",
        "section": "আন্তর্জাতিক",
    }
    assert test_client.get("/search", params={"q": "উল্কাপিণ্ড"}).json()["total"] == 0
    response = test_client.put("/articles/new-1", json=doc, headers=auth())
    assert response.status_code == 201, response.text
    check(schema, "WriteReport", response.json())
    assert response.json()["added"] == 1
    hits = test_client.get("/search", params={"q": "উল্কাপিণ্ড"}).json()["hits"]
    assert [h["id"] for h in hits] == ["new-1"]
    replaced = test_client.put(
        "/articles/new-1", json={**doc, "title": "গ্লাসগো সম্মেলন"}, headers=auth()
    )
    assert replaced.status_code == 200 and replaced.json()["replaced"] == 1
    assert test_client.get("/articles/new-1").json()["title"] == "গ্লাসগো সম্মেলন"
    batch = "\n".join(
        json.dumps(
            {"id": f"batch-{n}", "title": f"মহাকাশ অভিযান {n}", "body": "চাঁদে নতুন অভিযান"},
            ensure_ascii=False,
        )
        for n in range(5)
    )
    posted = test_client.post("/articles", content=(batch + "\n\n").encode(), headers=auth())
    assert posted.status_code == 200, posted.text
    assert posted.json()["added"] == 5
    assert test_client.get("/search", params={"q": "মহাকাশ"}).json()["total"] == 5
    deleted = test_client.delete("/articles/batch-0", headers=auth())
    assert deleted.status_code == 200 and deleted.json()["deleted"] == 1
    assert test_client.get("/articles/batch-0").status_code == 404
    assert test_client.delete("/articles/batch-0", headers=auth()).status_code == 404
    assert Index.open(folder).reader().article("batch-1") is not None  # durable on disk


def test_another_worker_sees_a_commit_after_its_refresh_interval(
    writable: tuple[TestClient, Path],
) -> None:
    """Another process's app sees a commit at its first request once its refresh interval
    has passed since its last look, and not before (no wall-clock bound: the interval,
    not the machine's load, decides)."""
    writer_client, folder = writable
    interval = 0.2
    with (
        TestClient(create_app(folder, refresh_interval=interval)) as reader_client,
        TestClient(create_app(folder, refresh_interval=3600.0)) as patient_client,
    ):
        for client in (reader_client, patient_client):
            assert client.get("/search", params={"q": "নীহারিকা"}).json()["total"] == 0
        response = writer_client.put(
            "/articles/far", json={"title": "নীহারিকা দেখা গেল"}, headers=auth()
        )
        assert response.status_code == 201
        time.sleep(interval)  # monotonic: at least the interval since the reader's last look
        assert reader_client.get("/search", params={"q": "নীহারিকা"}).json()["total"] == 1
        assert patient_client.get("/search", params={"q": "নীহারিকা"}).json()["total"] == 0


def test_a_failed_commit_leaves_the_last_commit(
    writable: tuple[TestClient, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bnsearch.index.writer import IndexWriter

    test_client, folder = writable
    before = Index.open(folder)
    generation, count = before.generation, before.doc_count
    real_commit = IndexWriter._commit

    def full_disk(self: IndexWriter) -> Any:
        self.flush()  # the batch's segment files are written, then the disk fills
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(IndexWriter, "_commit", full_disk)
    batch = "\n".join(
        json.dumps({"id": f"lost-{n}", "title": f"হারানো খবর {n}"}, ensure_ascii=False)
        for n in range(3)
    )
    response = test_client.post("/articles", content=batch.encode(), headers=auth())
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "write_failed"
    after = Index.open(folder)
    assert (after.generation, after.doc_count) == (generation, count)
    assert after.reader().article("lost-0") is None
    assert test_client.get("/search", params={"q": "হারানো"}).json()["total"] == 0
    monkeypatch.setattr(IndexWriter, "_commit", real_commit)  # the lock was released
    assert test_client.post("/articles", content=batch.encode(), headers=auth()).status_code == 200
    assert test_client.get("/search", params={"q": "হারানো"}).json()["total"] == 3
