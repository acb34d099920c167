"""The article: what bnsearch indexes, as an immutable value.

:class:`Article` holds one news article as read from a page or a JSONL record;
:class:`RelatedLink` is one related headline at the end of a page, pointing at another
article (by URL or id when known, otherwise resolved later by its headline).
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable
from typing import Any

import attrs

from bnsearch.errors import ArticleError

_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """``text`` with every lone surrogate (``"\\ud800"``, valid in JSON, or an undecodable
    byte that Python turned into one) replaced by U+FFFD, so it can be encoded; the one
    rule for text entering bnsearch (articles, page text, queries at the CLI). Other
    text is returned as is.

    The check is a strict UTF-16 encoding, which fails exactly when the text holds a
    surrogate code point: a tight copy, 3x faster than the regex scan it replaced on
    Bengali article bodies (3.6 against 11.3 us for 2,650 characters; the check runs on
    every text field of every article read from a file)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-16-le")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def _text(value: Any) -> Any:
    """Converter of str fields: :func:`valid_text` (other types left to the validator)."""
    return valid_text(value) if isinstance(value, str) else value


def _require_str(name: str, *, allow_none: bool = False) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and allow_none:
            return
        if not isinstance(value, str):
            raise ArticleError(
                f"{type(instance).__name__}.{name} must be str, got {type(value).__name__}"
            )

    return check


def _non_empty_id(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise ArticleError(f"Article.id must be str, got {type(value).__name__}")
    if not value.strip():
        raise ArticleError("Article.id must not be empty")


#: Crumbs that name a site's front page; a breadcrumb loses one of these at its start.
HOME_CRUMBS = frozenset({"হোম", "প্রচ্ছদ", "home"})


def _to_section(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        parts = [valid_text(part).strip() for part in value.split(">")]
    elif isinstance(value, (list, tuple)):
        parts = []
        for part in value:
            if not isinstance(part, str):
                raise ArticleError(f"Article.section parts must be str, got {type(part).__name__}")
            parts.append(valid_text(part).strip())
    else:
        raise ArticleError(
            f"Article.section must be str or a list of str, got {type(value).__name__}"
        )
    parts = [part for part in parts if part]
    if parts and parts[0].casefold() in HOME_CRUMBS:
        del parts[0]
    return tuple(parts)


@attrs.frozen(slots=True, kw_only=True)
class RelatedLink:
    """A related headline on a page: a link to another article.

    ``target_id`` is set when the target is known (given, or resolved by the link graph).
    A link must point somewhere: a non-blank headline, a url or a target_id; a target_id,
    when given, is not blank.
    """

    headline: str = attrs.field(converter=_text, validator=_require_str("headline"))
    url: str | None = attrs.field(
        default=None, converter=_text, validator=_require_str("url", allow_none=True)
    )
    target_id: str | None = attrs.field(
        default=None, converter=_text, validator=_require_str("target_id", allow_none=True)
    )

    def __attrs_post_init__(self) -> None:
        if self.target_id is not None and not self.target_id.strip():
            raise ArticleError("RelatedLink.target_id must not be blank (use None)")
        if not (self.headline.strip() or self.url or self.target_id):
            raise ArticleError("RelatedLink needs a headline, a url or a target_id")


#: A related link's headline, as a C-level getter: ``map(link_headline, article.related)``
#: reads an article's headlines without a Python frame a link (a links build reads
#: 600,000 at 100k articles, in the writer and again in each segment builder).
link_headline: Callable[[RelatedLink], str] = operator.attrgetter("headline")


def _to_links(value: object) -> tuple[RelatedLink, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ArticleError(f"Article.related must be a list, got {type(value).__name__}")
    links = []
    for item in value:
        if isinstance(item, RelatedLink):
            links.append(item)
        elif isinstance(item, str):
            links.append(RelatedLink(headline=item))
        else:
            raise ArticleError(
                f"Article.related items must be RelatedLink or str, got {type(item).__name__}"
            )
    return tuple(links)


@attrs.frozen(slots=True, kw_only=True)
class Article:
    """One news article.

    ``body`` holds paragraphs separated by one blank line. ``section`` is the breadcrumb
    path without the leading home crumb (``("জাতীয়",)``): a string is split at ``>``, and
    a first crumb ``হোম``, ``প্রচ্ছদ`` or ``Home`` is dropped. Text is valid Unicode: a
    lone surrogate in any text attribute is replaced by U+FFFD (:func:`valid_text`).
    """

    id: str = attrs.field(converter=_text, validator=_non_empty_id)
    title: str = attrs.field(converter=_text, validator=_require_str("title"))
    body: str = attrs.field(default="", converter=_text, validator=_require_str("body"))
    section: tuple[str, ...] = attrs.field(default=(), converter=_to_section)
    caption: str | None = attrs.field(
        default=None, converter=_text, validator=_require_str("caption", allow_none=True)
    )
    photo_credit: str | None = attrs.field(
        default=None, converter=_text, validator=_require_str("photo_credit", allow_none=True)
    )
    related: tuple[RelatedLink, ...] = attrs.field(default=(), converter=_to_links)
    url: str | None = attrs.field(
        default=None, converter=_text, validator=_require_str("url", allow_none=True)
    )
    published: dt.datetime | None = attrs.field(default=None)
    source: str | None = attrs.field(
        default=None, converter=_text, validator=_require_str("source", allow_none=True)
    )

    @published.validator
    def _check_published(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not isinstance(value, dt.datetime):
            raise ArticleError(
                f"Article.published must be a datetime or None, got {type(value).__name__}"
            )


def json_fields(article: Article, related: list[Any]) -> dict[str, Any]:
    """Every attribute of ``article`` as a JSON-ready value (tuples as lists, the date in
    ISO 8601), in declaration order, with ``related`` as the caller encodes its links:
    the one attribute whose shape differs between a JSONL record and a stored row."""
    return {
        "id": article.id,
        "title": article.title,
        "body": article.body,
        "section": list(article.section),
        "caption": article.caption,
        "photo_credit": article.photo_credit,
        "related": related,
        "url": article.url,
        "published": None if article.published is None else article.published.isoformat(),
        "source": article.source,
    }
