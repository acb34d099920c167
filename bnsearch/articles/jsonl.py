"""JSONL records <-> :class:`Article`: one JSON object per line, the corpus format.

Keys read (every other key is ignored, e.g. ``aspect``, ``sentiment``, ``source_file`` of
the shared corpora):

=============== ===========================================================================
``id``          required: a non-empty string (an integer is accepted and becomes a string)
``title``       string or null; null or missing means ``""``, allowed when the body has text
                (the BQA passages have no titles)
``body``        string, list of paragraph strings (joined with a blank line), or null
``section``     ``"হোম > জাতীয়"`` (split at ``>``), ``"ইসলাম ধর্ম"``, a list of crumbs, or
                null; a leading home crumb is dropped
``caption``, ``photo_credit``, ``url``, ``source``: string or null
``related``     list of headline strings or objects ``{"headline", "url", "target_id"}``
                (an object needs a headline, a url or a target_id), or null
``published``   ISO 8601 string (``2024-05-01``, ``2024-05-01T10:30:00+06:00``, ``…Z``) or
                null; ``date`` is read when ``published`` is missing or null. A time zone
                is kept as its UTC offset (a named zone such as Asia/Dhaka is not kept)
=============== ===========================================================================

A record with neither title nor body text is an error. Errors are
:class:`bnsearch.errors.ArticleError` naming the key; the reader adds file and line.
:func:`article_to_record` writes the same keys (``published``, not ``date``), and
``article_from_record(article_to_record(a)) == a`` for every article.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import sys
from collections.abc import Iterable
from typing import IO, Any

from bnsearch.articles.model import Article, RelatedLink, json_fields
from bnsearch.errors import ArticleError

#: The keys :func:`article_from_record` reads; all others are ignored.
KNOWN_KEYS = frozenset(
    {
        "id",
        "title",
        "body",
        "section",
        "caption",
        "photo_credit",
        "related",
        "url",
        "published",
        "date",
        "source",
    }
)

_JSON_TYPE_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def decode_json(text: str) -> Any:
    """``json.loads(text)`` for untrusted text, where every failure is a
    :class:`json.JSONDecodeError` (its ``msg`` and position say what and where): also
    nesting too deep for the parser (``RecursionError``) and an integer longer than
    Python converts (a bare ``ValueError``, more than ``sys.get_int_max_str_digits()``
    digits). The one decoding rule of JSONL lines and of the web service's bodies."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except ValueError:  # an integer too long to convert
        limit = sys.get_int_max_str_digits()
        found = re.search(rf"-?[0-9]{{{limit + 1},}}", text)
        digits = len(found.group().lstrip("-")) if found else limit + 1
        at = found.start() if found else 0
        raise json.JSONDecodeError(
            f"a number of {digits} digits (at most {limit} are read)", text, at
        ) from None


def _kind(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _optional_str(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ArticleError(f"key {key!r} must be a string or null, got {_kind(value)}")


def _id(record: dict[str, Any]) -> str:
    value = record.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # more digits than Python converts
            raise ArticleError("key 'id' is a number too long to be an id") from None
    if not isinstance(value, str):
        if "id" not in record:
            raise ArticleError("record has no 'id'")
        raise ArticleError(f"key 'id' must be a non-empty string, got {_kind(value)}")
    if not value.strip():
        raise ArticleError("key 'id' is empty")
    return value


def _body(record: dict[str, Any]) -> str:
    value = record.get("body")
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "\n\n".join(part for part in value if part.strip())
    raise ArticleError(
        f"key 'body' must be a string, a list of strings or null, got {_kind(value)}"
    )


def _section(record: dict[str, Any]) -> str | list[str] | None:
    value = record.get("section")
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return value
    raise ArticleError(
        f"key 'section' must be a string, a list of strings or null, got {_kind(value)}"
    )


def _related(record: dict[str, Any]) -> list[RelatedLink]:
    value = record.get("related")
    if value is None:
        return []
    if not isinstance(value, list):
        raise ArticleError(f"key 'related' must be a list or null, got {_kind(value)}")
    links = []
    for number, item in enumerate(value):
        if isinstance(item, str):
            links.append(RelatedLink(headline=item))
            continue
        if not isinstance(item, dict):
            raise ArticleError(
                f"related[{number}] must be a string or an object, got {_kind(item)}"
            )
        fields: dict[str, str | None] = {}
        for key in ("headline", "url", "target_id"):
            field = item.get(key)
            if field is not None and not isinstance(field, str):
                raise ArticleError(
                    f"related[{number}].{key} must be a string or null, got {_kind(field)}"
                )
            fields[key] = field
        try:
            link = RelatedLink(
                headline=fields["headline"] or "",
                url=fields["url"],
                target_id=fields["target_id"],
            )
        except ArticleError as error:
            raise ArticleError(f"related[{number}]: {error.reason}") from None
        links.append(link)
    return links


def parse_datetime(value: str, *, key: str = "published") -> dt.datetime:
    """Read an ISO 8601 date or date-time (a trailing ``Z`` means UTC)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise ArticleError(f"key {key!r} is not an ISO 8601 date or date-time: {value!r}") from None


def _published(record: dict[str, Any]) -> dt.datetime | None:
    for key in ("published", "date"):
        value = record.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ArticleError(
                f"key {key!r} must be an ISO 8601 string or null, got {_kind(value)}"
            )
        return parse_datetime(value, key=key)
    return None


def article_from_record(record: object) -> Article:
    """Build an :class:`Article` from one decoded JSON record (keys in the module docstring)."""
    if not isinstance(record, dict):
        raise ArticleError(f"expected a JSON object, got {_kind(record)}")
    article_id = _id(record)
    title = _optional_str(record, "title") or ""
    body = _body(record)
    if not title.strip() and not body.strip():
        raise ArticleError(f"record {article_id!r} has neither a title nor a body")
    return Article(
        id=article_id,
        title=title,
        body=body,
        section=_section(record),
        caption=_optional_str(record, "caption"),
        photo_credit=_optional_str(record, "photo_credit"),
        related=_related(record),
        url=_optional_str(record, "url"),
        published=_published(record),
        source=_optional_str(record, "source"),
    )


def article_to_record(article: Article) -> dict[str, Any]:
    """The JSON record of ``article``; :func:`article_from_record` reads it back unchanged.

    A related link with only a headline is written as a plain string, others as objects
    with their non-null keys. ``published`` is written in ISO 8601 (or null).
    """
    related: list[str | dict[str, str]] = []
    for link in article.related:
        if link.url is None and link.target_id is None:
            related.append(link.headline)
        else:
            item = {"headline": link.headline}
            if link.url is not None:
                item["url"] = link.url
            if link.target_id is not None:
                item["target_id"] = link.target_id
            related.append(item)
    return json_fields(article, related)


def dumps_article(article: Article) -> str:
    """One JSONL line (without the newline) for ``article``, UTF-8 text kept readable."""
    return json.dumps(article_to_record(article), ensure_ascii=False)


def write_jsonl(articles: Iterable[Article], path: str | os.PathLike[str]) -> int:
    """Write ``articles`` to ``path`` as JSONL (gzipped when the name ends in ``.gz``).

    Returns the number of articles written. The file is replaced, not appended to.
    """
    name = os.fspath(path)
    count = 0
    stream: IO[str]
    if name.endswith(".gz"):
        stream = gzip.open(name, "wt", encoding="utf-8", newline="\n")  # noqa: SIM115
    else:
        stream = open(name, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
    with stream:
        for article in articles:
            stream.write(dumps_article(article))
            stream.write("\n")
            count += 1
    return count
