"""Reading a request's input strictly: query strings, article ids, NDJSON and JSON bodies.

Every function here either returns clean values or raises
:class:`~bnsearch.web.errors.RequestError` (a 4xx) saying what was wrong and where:
which parameter, which line of a batch. Query strings and paths are decoded from their raw
bytes as strict UTF-8 (a server's lenient decoding would turn bad bytes into U+FFFD
silently). Nothing here imports the web framework.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

import attrs

from bnsearch.articles import Article
from bnsearch.articles.jsonl import article_from_record, decode_json
from bnsearch.errors import ArticleError
from bnsearch.web.errors import RequestError

#: Longest ``q`` (characters): longer ones get a 400, not a slow search.
MAX_QUERY_CHARS = 1000
#: Largest page (``limit``) and deepest ``offset`` of /search.
MAX_PAGE = 100
MAX_OFFSET = 10_000
#: Most completions /complete returns.
MAX_COMPLETIONS = 50
#: Most related articles /articles/{id}/related returns.
MAX_RELATED = 50
#: Longest article id (characters).
MAX_ID_CHARS = 512
#: Sort orders of /search (the library's own names).
SEARCH_SORTS = ("score", "date", "-date", "index", "-index")

Params = dict[str, list[str]]

_INTEGER = re.compile(r"[+-]?\d{1,18}")


def _decode(raw: bytes, what: str) -> str:
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(
            400,
            "bad_encoding",
            f"{what} is not valid UTF-8 after percent-decoding "
            f"(byte {error.start}: {error.object[error.start : error.start + 1]!r})",
        ) from None


def parse_query_string(raw: bytes) -> Params:
    """``name -> [values]`` of a raw query string, names and values strict UTF-8."""
    params: Params = {}
    for number, pair in enumerate(raw.split(b"&"), 1):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        name = _decode(raw_name, f"the name of query parameter {number}")
        value = _decode(raw_value, f"the value of query parameter {name!r}")
        params.setdefault(name, []).append(value)
    return params


def check_known(params: Mapping[str, list[str]], allowed: Collection[str], where: str) -> None:
    """Refuse parameters ``where`` does not take (a typo would otherwise be ignored)."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise RequestError(
            400,
            "unknown_parameter",
            f"{where} takes no parameter {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(sorted(allowed)) or 'none'}",
        )


def single(params: Mapping[str, list[str]], name: str) -> str | None:
    """The one value of ``name`` (None when absent; given twice is an error)."""
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise RequestError(
            400, "repeated_parameter", f"parameter {name!r} is given {len(values)} times"
        )
    return values[0]


def integer(params: Mapping[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    """An integer parameter within ``low..high``."""
    text = single(params, name)
    if text is None:
        return default
    digits = text.strip()
    try:
        if not _INTEGER.fullmatch(digits):  # int() would also take "1_000"
            raise ValueError(digits)
        value = int(digits)  # Bengali digits (১০) are digits too
    except ValueError:
        raise RequestError(
            400, "bad_parameter", f"{name} must be an integer, got {text[:50]!r}"
        ) from None
    if not low <= value <= high:
        raise RequestError(
            400, "bad_parameter", f"{name} must be from {low} to {high}, got {value}"
        )
    return value


def text(params: Mapping[str, list[str]], name: str, *, limit: int = MAX_QUERY_CHARS) -> str:
    """A text parameter (default empty) of at most ``limit`` characters."""
    value = single(params, name) or ""
    if len(value) > limit:
        raise RequestError(
            400, "too_long", f"{name} is {len(value)} characters long; the limit is {limit}"
        )
    return value


def date_bound(params: Mapping[str, list[str]], name: str) -> dt.date | dt.datetime | None:
    """``YYYY-MM-DD`` or an ISO 8601 date and time (``Z`` or an offset allowed)."""
    value = single(params, name)
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise RequestError(
            400,
            "bad_parameter",
            f"{name} must be a date YYYY-MM-DD or an ISO 8601 time, got {value[:50]!r}",
        ) from None
    return parsed


@attrs.frozen(kw_only=True)
class SearchParams:
    """The arguments of one /search, checked."""

    q: str
    limit: int
    offset: int
    sections: tuple[str, ...]
    since: dt.date | dt.datetime | None
    until: dt.date | dt.datetime | None
    sort: str

    @property
    def filter(self) -> dict[str, Any] | None:
        """The ``filter=`` argument of :meth:`~bnsearch.search.Searcher.search`."""
        chosen: dict[str, Any] = {}
        if self.sections:
            chosen["section"] = list(self.sections)
        if self.since is not None or self.until is not None:
            chosen["published"] = (self.since, self.until)
        return chosen or None


SEARCH_PARAMETERS = ("q", "limit", "offset", "section", "since", "until", "sort")


def search_params(params: Mapping[str, list[str]]) -> SearchParams:
    """Check the parameters of /search."""
    check_known(params, SEARCH_PARAMETERS, "/search")
    sort = single(params, "sort") or "score"
    if sort not in SEARCH_SORTS:
        raise RequestError(
            400,
            "bad_parameter",
            f"sort must be one of {', '.join(SEARCH_SORTS)}, got {sort[:50]!r}",
        )
    sections = tuple(s for s in params.get("section", ()) if s.strip())
    for section in sections:
        if len(section) > MAX_QUERY_CHARS:
            raise RequestError(
                400,
                "too_long",
                f"section is {len(section)} characters long; the limit is {MAX_QUERY_CHARS}",
            )
    return SearchParams(
        q=text(params, "q"),
        limit=integer(params, "limit", 10, 0, MAX_PAGE),
        offset=integer(params, "offset", 0, 0, MAX_OFFSET),
        sections=sections,
        since=date_bound(params, "since"),
        until=date_bound(params, "until"),
        sort=sort,
    )


def check_article_id(value: str, *, where: str = "article id") -> str:
    """An article id the service accepts: 1-512 characters, no ``/`` or ``\\``, no ``..``,
    no control characters (so an id is always one clean path segment)."""
    if not value or not value.strip():
        raise RequestError(400, "bad_id", f"{where} is empty")
    if len(value) > MAX_ID_CHARS:
        raise RequestError(
            400, "bad_id", f"{where} is {len(value)} characters long; the limit is {MAX_ID_CHARS}"
        )
    if "/" in value or "\\" in value:
        raise RequestError(400, "bad_id", f"{where} {value[:80]!r} contains a slash")
    if ".." in value:
        raise RequestError(400, "bad_id", f"{where} {value[:80]!r} contains '..'")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise RequestError(400, "bad_id", f"{where} {value[:80]!r} contains a control character")
    return value


def path_article_id(raw_segment: bytes) -> str:
    """The article id of one raw (still percent-encoded) path segment."""
    return check_article_id(_decode(raw_segment, "the article id in the path"))


def _article(record: object, *, where: str) -> Article:
    # a JSON \ud800 escape is a lone surrogate: Article makes it U+FFFD (the library's rule)
    try:
        article = article_from_record(record)
    except ArticleError as error:
        raise RequestError(400, "bad_article", f"{where}: {error}") from None
    check_article_id(article.id, where=f"{where}: id")
    return article


def _text_of(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        line = body.count(b"\n", 0, error.start) + 1
        raise RequestError(
            400,
            "bad_encoding",
            f"{what}: line {line} is not valid UTF-8 (byte {error.start})",
            line=line,
        ) from None


def one_article(body: bytes, article_id: str) -> Article:
    """The article of a PUT body: one JSON object; its ``id``, if any, must be the path's."""
    try:
        record = decode_json(_text_of(body, "the body"))
    except json.JSONDecodeError as error:
        raise RequestError(
            400,
            "bad_json",
            f"the body is not JSON: {error.msg} (line {error.lineno}, column {error.colno})",
        ) from None
    if not isinstance(record, dict):
        raise RequestError(400, "bad_article", "the body must be one JSON object (an article)")
    given = record.get("id")
    if given is not None and str(given) != article_id:
        raise RequestError(
            400,
            "bad_article",
            f"the body's id {str(given)[:80]!r} is not the path's id {article_id!r}",
        )
    record = {**record, "id": article_id}
    return _article(record, where="the body")


def ndjson_articles(body: bytes) -> list[Article]:
    """Every article of an NDJSON body (one JSON object a line; blank lines skipped).

    Raises on the first bad line, naming it: a batch is taken whole or not at all.
    """
    articles: list[Article] = []
    for number, line in enumerate(_text_of(body, "the batch").split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = decode_json(line)
        except json.JSONDecodeError as error:
            raise RequestError(
                400,
                "bad_json",
                f"line {number}: not JSON: {error.msg} (column {error.colno})",
                line=number,
            ) from None
        try:
            articles.append(_article(record, where=f"line {number}"))
        except RequestError as error:
            error.details["line"] = number
            raise
    if not articles:
        raise RequestError(
            400, "empty_batch", "the batch holds no articles (one JSON object a line)"
        )
    return articles
