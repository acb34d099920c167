"""Bad input to bnsearch.web: always a 4xx JSON error saying what was wrong, never a 500,
and a refused write leaves the index exactly as it was."""

from __future__ import annotations

import json
import math
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")
pytest.importorskip("httpx", reason="httpx (the ASGI test client) is not installed")

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bnsearch import Article, Index, demo_corpus_path, read_articles
from bnsearch.web import create_app
from bnsearch.web.params import MAX_QUERY_CHARS, parse_query_string

TOKEN = "tok"
LIMIT = 4096  # max_body_bytes of the test app
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bad-input") / "index"
    index = Index.create(path)
    with index.writer() as writer:
        for article in read_articles(demo_corpus_path()):
            writer.add(article)
        writer.add(Article(id="a..b", title="দুই বিন্দুর আইডি"))
    return path


@pytest.fixture(scope="module")
def client(folder: Path) -> Iterator[TestClient]:
    # raise_server_exceptions (the default): a 500 would fail the test with its traceback
    with TestClient(create_app(folder, write_token=TOKEN, max_body_bytes=LIMIT)) as test_client:
        yield test_client


def refused(response: object, status: int, code: str | None = None) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/json"  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error  # type: ignore[no-any-return]


def unchanged(folder: Path, generation: int) -> None:
    index = Index.open(folder)
    assert index.generation == generation
    assert index.reader().article("batch-ok-1") is None


# -- queries --------------------------------------------------------------------------------
def test_huge_q(client: TestClient) -> None:
    assert client.get("/search", params={"q": "ক" * MAX_QUERY_CHARS}).status_code == 200
    error = refused(
        client.get("/search", params={"q": "ক" * (MAX_QUERY_CHARS + 1)}), 400, "too_long"
    )
    assert str(MAX_QUERY_CHARS) in str(error["message"])
    refused(client.get("/search", params={"q": "বন্যা " * 500}), 400, "too_long")
    refused(client.get("/suggest", params={"q": "x" * 5000}), 400, "too_long")
    refused(client.get("/complete", params={"prefix": "x" * 5000}), 400, "too_long")


@pytest.mark.parametrize(
    "url",
    [
        "/search?q=%FF",
        "/search?q=%C3%28",  # a lead byte followed by a non-continuation
        "/search?q=%E0%A6",  # a cut-off Bengali letter
        "/search?q=%ED%A0%80",  # an encoded surrogate
        "/search?%FF=1",
        "/suggest?q=%C0%AF",  # an overlong '/'
        "/complete?prefix=%FE",
        "/articles/%FF",
        "/articles/%C0%AF/related",
    ],
)
def test_invalid_utf8_in_the_url(client: TestClient, url: str) -> None:
    error = refused(client.get(url), 400, "bad_encoding")
    assert "UTF-8" in str(error["message"])


def test_valid_raw_utf8_query_bytes_decode() -> None:
    raw = "q=বন্যা ত্রাণ&section=জাতীয়&section=খেলা".encode()
    assert parse_query_string(raw) == {"q": ["বন্যা ত্রাণ"], "section": ["জাতীয়", "খেলা"]}
    assert parse_query_string(b"q=a+b%2Bc&&limit=") == {"q": ["a b+c"], "limit": [""]}


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("/search?q=x&foo=1", "unknown_parameter"),
        ("/search?q=x&Limit=3", "unknown_parameter"),
        ("/health?verbose=1", "unknown_parameter"),
        ("/stats?x", "unknown_parameter"),
        ("/articles/demo-jatiyo-04?fields=title", "unknown_parameter"),
        ("/articles/demo-jatiyo-04/related?offset=3", "unknown_parameter"),
        ("/complete?prefix=ব&q=x", "unknown_parameter"),
        ("/search?q=x&limit=-1", "bad_parameter"),
        ("/search?q=x&limit=101", "bad_parameter"),
        ("/search?q=x&limit=ten", "bad_parameter"),
        ("/search?q=x&limit=1e3", "bad_parameter"),
        ("/search?q=x&offset=-5", "bad_parameter"),
        ("/search?q=x&offset=99999999999999999999", "bad_parameter"),
        ("/search?q=x&limit=1_0", "bad_parameter"),
        ("/search?q=x&limit=" + "9" * 5000, "bad_parameter"),
        ("/search?q=x&limit=3&limit=4", "repeated_parameter"),
        ("/search?q=x&q=y", "repeated_parameter"),
        ("/search?q=x&sort=random", "bad_parameter"),
        ("/search?q=x&since=yesterday", "bad_parameter"),
        ("/search?q=x&until=2024-13-01", "bad_parameter"),
        ("/complete?prefix=ব&limit=0", "bad_parameter"),
        ("/articles/demo-jatiyo-04/related?limit=-2", "bad_parameter"),
    ],
)
def test_bad_parameters(client: TestClient, url: str, code: str) -> None:
    refused(client.get(url), 400, code)


def test_writes_take_no_parameters(client: TestClient, folder: Path) -> None:
    generation = Index.open(folder).generation
    body = _line(1).encode()
    refused(
        client.put("/articles/batch-ok-1?commit=0", content=body, headers=AUTH),
        400,
        "unknown_parameter",
    )
    refused(client.post("/articles?commit=0", content=body, headers=AUTH), 400, "unknown_parameter")
    refused(
        client.delete("/articles/demo-jatiyo-04?soft=1", headers=AUTH), 400, "unknown_parameter"
    )
    unchanged(folder, generation)
    assert Index.open(folder).reader().article("demo-jatiyo-04") is not None


@pytest.mark.parametrize(
    "bound",
    [
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31",
        "0001-01-01",
        "2024-05-01T10:00",
        "2024-05-01T10:00:00Z",
    ],
)
def test_extreme_dates_are_a_page(client: TestClient, bound: str) -> None:
    for name in ("since", "until"):
        assert client.get("/search", params={"q": "বন্যা", name: bound}).status_code == 200


def test_bengali_digits_are_numbers(client: TestClient) -> None:
    assert client.get("/search", params={"q": "বন্যা", "limit": "৩"}).json()["limit"] == 3


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=80))
def test_any_query_string_bytes_are_a_page_or_a_400(client: TestClient, raw: bytes) -> None:
    url = "/search?q=" + quote_from_bytes(raw, safe="")
    response = client.get(url)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.json()["q"] == raw.decode("utf-8")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=st.text(max_size=60))
def test_any_query_text_gives_a_page(client: TestClient, q: str) -> None:
    try:
        q.encode("utf-8")
    except UnicodeEncodeError:
        return  # a lone surrogate cannot be sent as UTF-8 at all
    response = client.get("/search", params={"q": q, "limit": "3"})
    assert response.status_code == 200, response.text


# -- ids ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/articles/a%2Fb",
        "/articles/%2E%2E",
        "/articles/..%2Fmeta.json",
        "/articles/a..b",
        "/articles/a%5Cb",
        "/articles/a%00b",
        "/articles/a%2Fb/related",
        "/articles/%2E%2E/related",
        "/articles/" + "x" * 600,
        "/articles/%20",
    ],
)
def test_bad_ids(client: TestClient, folder: Path, path: str) -> None:
    generation = Index.open(folder).generation
    for method in ("GET", "PUT", "DELETE"):
        if path.endswith("/related") and method != "GET":
            continue
        response = client.request(method, path, content=b'{"title": "x"}', headers=AUTH)
        refused(response, 400, "bad_id")
    unchanged(folder, generation)


def test_extra_path_segments_are_not_an_endpoint(client: TestClient) -> None:
    refused(client.get("/articles/a/b"), 400, "bad_id")
    refused(client.get("/articles/a/b/related"), 400, "bad_id")
    refused(client.get("/nothing-here"), 404, "not_found")
    refused(client.post("/search"), 405, "method_not_allowed")
    refused(
        client.post("/articles/demo-jatiyo-04/related", headers=AUTH), 405, "method_not_allowed"
    )


# -- bodies ---------------------------------------------------------------------------------
def test_bodies_over_the_limit_are_413(client: TestClient, folder: Path) -> None:
    generation = Index.open(folder).generation
    big = json.dumps({"id": "batch-ok-1", "title": "ক" * LIMIT}, ensure_ascii=False).encode()
    refused(client.put("/articles/batch-ok-1", content=big, headers=AUTH), 413, "too_large")
    refused(client.post("/articles", content=big + b"\n", headers=AUTH), 413, "too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(10):
            yield b" " * 1000

    refused(client.post("/articles", content=chunks(), headers=AUTH), 413, "too_large")
    unchanged(folder, generation)


def _line(n: int) -> str:
    return json.dumps(
        {"id": f"batch-ok-{n}", "title": f"খবর {n}", "body": "লেখা"}, ensure_ascii=False
    )


@pytest.mark.parametrize(
    ("lines", "line", "code"),
    [
        ([_line(1), _line(2), '{"id": "x", "title": '], 3, "bad_json"),
        ([_line(1), "", "not json at all", _line(4)], 3, "bad_json"),
        ([_line(1), "[" * 3000], 2, "bad_json"),
        ([_line(1), "[1, 2]"], 2, "bad_article"),
        ([_line(1), '{"id": "empty", "title": "", "body": ""}'], 2, "bad_article"),
        ([_line(1), '{"title": "no id"}'], 2, "bad_article"),
        ([_line(1), _line(2), '{"id": "a/b", "title": "slash"}'], 3, "bad_id"),
        ([_line(1), '{"id": "..", "title": "dots"}'], 2, "bad_id"),
        ([_line(1), '{"id": "d", "title": "t", "published": "not a date"}'], 2, "bad_article"),
    ],
)
def test_malformed_ndjson_names_the_line_and_commits_nothing(
    client: TestClient, folder: Path, lines: list[str], line: int, code: str
) -> None:
    generation = Index.open(folder).generation
    response = client.post("/articles", content="\n".join(lines).encode(), headers=AUTH)
    error = refused(response, 400, code)
    assert error["line"] == line
    assert f"line {line}" in str(error["message"])
    unchanged(folder, generation)
    assert client.get("/articles/batch-ok-1").status_code == 404


def test_a_lone_surrogate_escape_becomes_a_replacement_character(
    client: TestClient, folder: Path
) -> None:
    """JSON may escape a lone surrogate; the library stores U+FFFD (its one rule)."""
    body = b'{"id": "lone", "title": "\\ud800 \xe0\xa6\xac\xe0\xa6\xa8"}\n'
    assert client.post("/articles", content=body, headers=AUTH).status_code == 200
    assert client.get("/articles/lone").json()["title"] == "\ufffd বন"
    assert client.delete("/articles/lone", headers=AUTH).status_code == 200


def test_invalid_utf8_in_a_batch_names_the_line(client: TestClient, folder: Path) -> None:
    generation = Index.open(folder).generation
    body = (_line(1) + "\n" + _line(2) + "\n").encode() + b'{"id": "z", "title": "\xff"}\n'
    error = refused(client.post("/articles", content=body, headers=AUTH), 400, "bad_encoding")
    assert error["line"] == 3
    unchanged(folder, generation)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty_batch"),
        (b"\n\n  \n", "empty_batch"),
    ],
)
def test_empty_batches(client: TestClient, body: bytes, code: str) -> None:
    refused(client.post("/articles", content=body, headers=AUTH), 400, code)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{", "bad_json"),
        (b"[" * 3000, "bad_json"),  # nested too deeply for the JSON parser
        (b"[]", "bad_article"),
        (b'"just a string"', "bad_article"),
        (b'{"id": "other", "title": "t"}', "bad_article"),
        (b'{"title": "", "body": ""}', "bad_article"),
        (b'{"title": 5}', "bad_article"),
        (b'{"title": "\xff"}', "bad_encoding"),
    ],
)
def test_bad_put_bodies(client: TestClient, folder: Path, body: bytes, code: str) -> None:
    generation = Index.open(folder).generation
    refused(client.put("/articles/batch-ok-1", content=body, headers=AUTH), 400, code)
    unchanged(folder, generation)


def test_a_number_too_long_for_python_is_bad_json(client: TestClient, folder: Path) -> None:
    """An integer of more digits than Python converts (a bare ValueError from json) is a
    400 naming it, in a PUT body and in a batch line; nothing is committed."""
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)  # the smallest limit: the bodies fit the test's 4 KB
    try:
        generation = Index.open(folder).generation
        number = "9" * 700
        put = client.put(
            "/articles/batch-ok-1", content=f'{{"title": "t", "n": {number}}}', headers=AUTH
        )
        assert "a number of 700 digits" in str(refused(put, 400, "bad_json")["message"])
        lines = [_line(1), f'{{"id": {number}, "title": "t"}}']
        post = client.post("/articles", content="\n".join(lines).encode(), headers=AUTH)
        assert refused(post, 400, "bad_json")["line"] == 2
        unchanged(folder, generation)
    finally:
        sys.set_int_max_str_digits(old)


def test_wrong_content_length_header(client: TestClient) -> None:
    headers = {**AUTH, "Content-Length": "lots"}
    # httpx refuses to send a non-numeric length itself; the app must cope with any header
    request = client.build_request("PUT", "/articles/x", content=b"{}", headers=headers)
    request.headers["Content-Length"] = "lots"
    refused(client.send(request), 400, "bad_header")


def test_boosts_multiplying_past_the_range_give_a_json_page(client: TestClient) -> None:
    """Nested boosts of 1e6 each used to score inf: the page was not JSON (a 500)."""
    query = "(" * 7 + "ঢাকা" + "^1000000)" * 7
    response = client.get("/search", params={"q": query})
    assert response.status_code == 200, response.text
    assert all(math.isfinite(hit["score"]) for hit in response.json()["hits"])
