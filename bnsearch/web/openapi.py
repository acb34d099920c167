"""The OpenAPI 3.1 description of the API, served at ``/openapi.json``.

Written by hand (Starlette does not derive one): the paths, their parameters and the JSON
Schema of every response body. The tests validate real responses against these schemas,
so the description and :mod:`.payload` cannot drift apart unnoticed.
"""

from __future__ import annotations

import copy
from typing import Any

from bnsearch.search.related import RELATIONS
from bnsearch.web import params as P


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


_STR = {"type": "string"}
_INT = {"type": "integer", "minimum": 0}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "code", "message"],
                "properties": {
                    "status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "code": _STR,
                    "message": _STR,
                    "line": {"type": "integer", "minimum": 1},
                },
            }
        },
    },
    "Highlight": {
        "type": "object",
        "required": ["text", "spans", "truncated_before", "truncated_after"],
        "properties": {
            "text": _STR,
            "spans": {
                "type": "array",
                "items": {"type": "array", "items": _INT, "minItems": 2, "maxItems": 2},
            },
            "truncated_before": {"type": "boolean"},
            "truncated_after": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "Hit": {
        "type": "object",
        "required": [
            "id",
            "score",
            "title",
            "url",
            "section",
            "published",
            "snippet_html",
            "highlights",
        ],
        "properties": {
            "id": _STR,
            "score": {"type": "number"},
            "title": _STR,
            "url": _nullable("string"),
            "section": {"type": "array", "items": _STR},
            "published": _nullable("string"),
            "snippet_html": {
                "type": "string",
                "description": "the body snippet as HTML: escaped text, matches in <mark>",
            },
            "highlights": {"type": "object", "additionalProperties": _ref("Highlight")},
        },
        "additionalProperties": False,
    },
    "SearchResults": {
        "type": "object",
        "required": [
            "q",
            "total",
            "total_is_exact",
            "offset",
            "limit",
            "hits",
            "facets",
            "suggestion",
            "notes",
            "took_ms",
        ],
        "properties": {
            "q": _STR,
            "total": _INT,
            "total_is_exact": {"type": "boolean"},
            "offset": _INT,
            "limit": _INT,
            "hits": {"type": "array", "items": _ref("Hit")},
            "facets": {
                "type": "object",
                "additionalProperties": {"type": "object", "additionalProperties": _INT},
            },
            "suggestion": {
                "type": ["string", "null"],
                "description": "did you mean: looked up on a first page with fewer than 5 matches",
            },
            "notes": {"type": "array", "items": _STR},
            "took_ms": {"type": "number", "minimum": 0},
        },
        "additionalProperties": False,
    },
    "RelatedHit": {
        "type": "object",
        "required": ["id", "score", "relation", "title", "url", "section", "published"],
        "properties": {
            "id": _STR,
            "score": {
                "type": "number",
                "description": "a rank on one scale (own links, then in-links, then the blend)",
            },
            "relation": {
                "enum": list(RELATIONS),
                "description": "why it is related: the page's own related headline, "
                "a page linking here, or similar (co-linked or similar words)",
            },
            "title": _STR,
            "url": _nullable("string"),
            "section": {"type": "array", "items": _STR},
            "published": _nullable("string"),
        },
        "additionalProperties": False,
    },
    "Related": {
        "type": "object",
        "required": ["id", "hits", "took_ms"],
        "properties": {
            "id": _STR,
            "hits": {"type": "array", "items": _ref("RelatedHit")},
            "took_ms": {"type": "number", "minimum": 0},
        },
        "additionalProperties": False,
    },
    "Article": {
        "type": "object",
        "description": "an article as a JSONL record (the corpus format; also the PUT body)",
        "required": ["id", "title", "body"],
        "properties": {
            "id": _STR,
            "title": _STR,
            "body": _STR,
            "section": {"type": "array", "items": _STR},
            "caption": _nullable("string"),
            "photo_credit": _nullable("string"),
            "related": {
                "type": "array",
                "items": {
                    "anyOf": [
                        _STR,
                        {
                            "type": "object",
                            "properties": {
                                "headline": _STR,
                                "url": _STR,
                                "target_id": _STR,
                            },
                        },
                    ]
                },
            },
            "url": _nullable("string"),
            "published": _nullable("string"),
            "source": _nullable("string"),
        },
    },
    "Suggestion": {
        "type": "object",
        "required": ["q", "suggestion"],
        "properties": {"q": _STR, "suggestion": _nullable("string")},
        "additionalProperties": False,
    },
    "Completions": {
        "type": "object",
        "required": ["prefix", "completions"],
        "properties": {"prefix": _STR, "completions": {"type": "array", "items": _STR}},
        "additionalProperties": False,
    },
    "Stats": {
        "type": "object",
        "required": ["articles", "generation", "segments", "fields"],
        "properties": {
            "articles": _INT,
            "generation": _INT,
            "segments": _INT,
            "fields": {"type": "object"},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "articles", "generation", "writable"],
        "properties": {
            "status": {"const": "ok"},
            "articles": _INT,
            "generation": _INT,
            "writable": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "WriteReport": {
        "type": "object",
        "required": ["added", "replaced", "deleted", "generation", "doc_count"],
        "properties": {
            "added": _INT,
            "replaced": _INT,
            "deleted": _INT,
            "generation": _INT,
            "doc_count": _INT,
        },
        "additionalProperties": False,
    },
}


def _param(
    name: str, schema: dict[str, Any], description: str, *, where: str = "query"
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": schema,
        "description": description,
    }


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


_ERROR = _json("Error", "a refused request (4xx)")
_ID = _param(
    "id",
    {"type": "string", "minLength": 1, "maxLength": P.MAX_ID_CHARS},
    "the article id (no '/', '\\\\', '..' or control characters)",
    where="path",
)
_WRITE: list[dict[str, list[str]]] = [{"bearer": []}]

PATHS: dict[str, Any] = {
    "/search": {
        "get": {
            "summary": "Search: one page of hits, facets, a did-you-mean",
            "parameters": [
                _param(
                    "q",
                    {"type": "string", "maxLength": P.MAX_QUERY_CHARS},
                    "the query (query syntax)",
                ),
                _param(
                    "limit",
                    {"type": "integer", "minimum": 0, "maximum": P.MAX_PAGE, "default": 10},
                    "hits per page",
                ),
                _param(
                    "offset",
                    {"type": "integer", "minimum": 0, "maximum": P.MAX_OFFSET, "default": 0},
                    "hits to skip",
                ),
                _param(
                    "section", {"type": "string"}, "only this section (repeat for any of several)"
                ),
                _param(
                    "since", {"type": "string"}, "published on or after (YYYY-MM-DD or ISO 8601)"
                ),
                _param("until", {"type": "string"}, "published before (YYYY-MM-DD or ISO 8601)"),
                _param("sort", {"enum": list(P.SEARCH_SORTS), "default": "score"}, "order of hits"),
            ],
            "responses": {"200": _json("SearchResults", "the page"), "400": _ERROR},
        }
    },
    "/suggest": {
        "get": {
            "summary": "A did-you-mean spelling of q from the index's words",
            "parameters": [_param("q", {"type": "string"}, "the query")],
            "responses": {"200": _json("Suggestion", "the suggestion (null: none)"), "400": _ERROR},
        }
    },
    "/complete": {
        "get": {
            "summary": "Completions of a half-typed query",
            "parameters": [
                _param("prefix", {"type": "string"}, "the text typed so far"),
                _param(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": P.MAX_COMPLETIONS, "default": 8},
                    "most completions",
                ),
            ],
            "responses": {"200": _json("Completions", "completions, best first"), "400": _ERROR},
        }
    },
    "/articles": {
        "post": {
            "summary": "Add or replace many articles (NDJSON), in one commit",
            "security": _WRITE,
            "requestBody": {
                "required": True,
                "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
            },
            "responses": {
                "200": _json("WriteReport", "committed"),
                "400": _ERROR,
                "401": _ERROR,
                "403": _ERROR,
                "413": _ERROR,
            },
        }
    },
    "/articles/{id}": {
        "get": {
            "summary": "One stored article",
            "parameters": [_ID],
            "responses": {"200": _json("Article", "the article"), "400": _ERROR, "404": _ERROR},
        },
        "put": {
            "summary": "Add or replace one article, committed",
            "security": _WRITE,
            "parameters": [_ID],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("Article")}},
            },
            "responses": {
                "200": _json("WriteReport", "replaced"),
                "201": _json("WriteReport", "added"),
                "400": _ERROR,
                "401": _ERROR,
                "403": _ERROR,
                "413": _ERROR,
            },
        },
        "delete": {
            "summary": "Delete one article, committed",
            "security": _WRITE,
            "parameters": [_ID],
            "responses": {
                "200": _json("WriteReport", "deleted"),
                "400": _ERROR,
                "401": _ERROR,
                "403": _ERROR,
                "404": _ERROR,
            },
        },
    },
    "/articles/{id}/related": {
        "get": {
            "summary": "Articles related to one article (links and content)",
            "parameters": [
                _ID,
                _param(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": P.MAX_RELATED, "default": 10},
                    "most hits",
                ),
            ],
            "responses": {
                "200": _json("Related", "related articles"),
                "400": _ERROR,
                "404": _ERROR,
            },
        }
    },
    "/stats": {
        "get": {"summary": "Index statistics", "responses": {"200": _json("Stats", "statistics")}}
    },
    "/health": {
        "get": {
            "summary": "Liveness and the served commit",
            "responses": {"200": _json("Health", "ok")},
        }
    },
}


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI document (a fresh copy: callers may change it)."""
    from bnsearch import __version__

    return copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "bnsearch",
                "version": __version__,
                "description": "Full-text search for Bengali news: the API of `bnsearch serve`.",
            },
            "paths": PATHS,
            "components": {
                "schemas": SCHEMAS,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
        }
    )
