"""The ASGI app: routes, authentication of writes, body limits and JSON errors (Starlette).

:func:`create_app` builds a Starlette app over a searcher source (see :mod:`.source`); an
existing service can mount it (``Mount("/search-api", app=create_app(...))``). Read
endpoints are plain functions (Starlette runs them in its thread pool, so a slow search
never blocks the event loop); writes read their body on the loop, then commit in the pool.

Every refusal is ``{"error": {"status", "code", "message"}}`` with a 4xx status; an
unexpected failure is a 500 in the same shape (and is a bug).
"""

from __future__ import annotations

import hmac
import os
import time
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from bnsearch.articles import Article
from bnsearch.errors import BnSearchError, IndexLockedError, SchemaError
from bnsearch.index import Index
from bnsearch.web import params as P
from bnsearch.web.errors import RequestError
from bnsearch.web.openapi import openapi_schema
from bnsearch.web.payload import article_json, related_json, search_json
from bnsearch.web.source import REFRESH_INTERVAL, SearcherSource, open_source

#: Largest request body (bytes) a write takes; larger ones get a 413.
MAX_BODY_BYTES = 8 * 1024 * 1024

#: /search adds a did-you-mean to a first page with fewer matches than this.
SUGGEST_BELOW = 5
#: Headers of every response: no sniffing; the page runs only its own scripts and styles.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
    ),
    "Referrer-Policy": "same-origin",
}


def _error(error: RequestError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return JSONResponse(error.to_json(), status_code=error.status, headers=headers)


class _SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _Service:
    """The endpoints, bound to one source and the write settings."""

    def __init__(
        self, source: SearcherSource, write_token: str | None, max_body_bytes: int
    ) -> None:
        self.source = source
        self.write_token = write_token
        self.max_body_bytes = max_body_bytes

    # -- reads --------------------------------------------------------------------------
    def search(self, request: Request) -> JSONResponse:
        started = time.perf_counter()
        args = P.search_params(_query(request))
        searcher = self.source.searcher()
        results = searcher.search(
            args.q, limit=args.limit, offset=args.offset, filter=args.filter, sort=args.sort
        )
        suggestion = None
        # a did-you-mean costs ~10x a search on long questions: only for poor results
        if args.q.strip() and args.offset == 0 and results.total < SUGGEST_BELOW:
            found = searcher.suggest(args.q)
            suggestion = found if found and found != args.q.strip() else None
        took = (time.perf_counter() - started) * 1000
        return JSONResponse(search_json(results, q=args.q, suggestion=suggestion, took_ms=took))

    def suggest(self, request: Request) -> JSONResponse:
        params = _query(request)
        P.check_known(params, ("q",), "/suggest")
        q = P.text(params, "q")
        found = self.source.searcher().suggest(q) if q.strip() else None
        return JSONResponse({"q": q, "suggestion": found if found != q.strip() else None})

    def complete(self, request: Request) -> JSONResponse:
        params = _query(request)
        P.check_known(params, ("prefix", "limit"), "/complete")
        prefix = P.text(params, "prefix")
        limit = P.integer(params, "limit", 8, 1, P.MAX_COMPLETIONS)
        found = self.source.searcher().complete(prefix, limit=limit) if prefix.strip() else []
        return JSONResponse({"prefix": prefix, "completions": list(found)})

    def stats(self, request: Request) -> JSONResponse:
        P.check_known(_query(request), (), "/stats")
        return JSONResponse(dict(self.source.stats()))

    def health(self, request: Request) -> JSONResponse:
        P.check_known(_query(request), (), "/health")
        stats = self.source.stats()
        return JSONResponse(
            {
                "status": "ok",
                "articles": stats.get("articles"),
                "generation": stats.get("generation"),
                "writable": self.write_token is not None and self.source.writable,
            }
        )

    def openapi(self, request: Request) -> JSONResponse:
        return JSONResponse(openapi_schema())

    def page(self, request: Request) -> Response:
        html = resources.files("bnsearch.web").joinpath("static/index.html").read_bytes()
        return Response(html, media_type="text/html; charset=utf-8")

    # -- /articles/{id}[/related] ---------------------------------------------------------
    async def article(self, request: Request) -> Response:
        article_id, related = _article_path(request)
        method = request.method
        if related:
            if method != "GET":
                raise RequestError(
                    405, "method_not_allowed", f"{method} is not allowed here; use GET"
                )
            return await run_in_threadpool(self._related, request, article_id)
        if method == "GET":
            return await run_in_threadpool(self._get_article, request, article_id)
        if method == "PUT":
            self._authorize(request)
            P.check_known(_query(request), (), "PUT /articles/{id}")
            body = await self._body(request)
            article = P.one_article(body, article_id)
            report = await run_in_threadpool(self._apply, [article], [])
            return JSONResponse(report, status_code=201 if report["added"] else 200)
        if method == "DELETE":
            self._authorize(request)
            P.check_known(_query(request), (), "DELETE /articles/{id}")
            report = await run_in_threadpool(self._apply, [], [article_id])
            if not report["deleted"]:
                raise RequestError(404, "not_found", f"no article with id {article_id!r}")
            return JSONResponse(report)
        raise RequestError(405, "method_not_allowed", f"{method} is not allowed here")

    def _get_article(self, request: Request, article_id: str) -> JSONResponse:
        P.check_known(_query(request), (), "/articles/{id}")
        article = self.source.article(article_id)
        if article is None:
            raise RequestError(404, "not_found", f"no article with id {article_id!r}")
        return JSONResponse(article_json(article))

    def _related(self, request: Request, article_id: str) -> JSONResponse:
        started = time.perf_counter()
        params = _query(request)
        P.check_known(params, ("limit",), "/articles/{id}/related")
        limit = P.integer(params, "limit", 10, 1, P.MAX_RELATED)
        try:
            results = self.source.searcher().related(article_id, limit=limit)
        except KeyError:
            raise RequestError(404, "not_found", f"no article with id {article_id!r}") from None
        took = (time.perf_counter() - started) * 1000
        return JSONResponse(related_json(article_id, results, took_ms=took))

    # -- writes ---------------------------------------------------------------------------
    async def post_articles(self, request: Request) -> JSONResponse:
        self._authorize(request)
        P.check_known(_query(request), (), "POST /articles")
        articles = P.ndjson_articles(await self._body(request))
        report = await run_in_threadpool(self._apply, articles, [])
        return JSONResponse(report, status_code=200)

    def _apply(self, upserts: list[Article], deletes: list[str]) -> dict[str, int]:
        if not self.source.writable:
            raise RequestError(403, "read_only", "this index takes no writes")
        try:
            return self.source.apply(upserts, deletes).to_json()
        except IndexLockedError as error:
            raise RequestError(503, "busy", f"another writer holds the index: {error}") from None
        except OSError as error:  # a full disk, an I/O error: the writer rolled back
            raise RequestError(
                503, "write_failed", f"the write failed and nothing was committed: {error}"
            ) from None

    def _authorize(self, request: Request) -> None:
        if self.write_token is None:
            raise RequestError(
                403,
                "writes_disabled",
                "writes are disabled: the service was started without a write token",
            )
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise RequestError(
                401, "unauthorized", "writes need the header 'Authorization: Bearer <token>'"
            )
        if not hmac.compare_digest(given.strip().encode(), self.write_token.encode()):
            raise RequestError(401, "unauthorized", "the write token is wrong")

    async def _body(self, request: Request) -> bytes:
        limit = self.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                raise RequestError(400, "bad_header", "Content-Length is not a number") from None
            if size > limit:
                raise RequestError(
                    413, "too_large", f"the body is {size} bytes; the limit is {limit}"
                )
        chunks = []
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise RequestError(413, "too_large", f"the body is over the limit of {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _query(request: Request) -> P.Params:
    return P.parse_query_string(request.scope.get("query_string", b""))


def _article_path(request: Request) -> tuple[str, bool]:
    """``(id, is_related)`` of ``/articles/{id}`` or ``/articles/{id}/related``, the id
    decoded strictly from the raw path (a ``%2F`` in it is a slash, refused)."""
    rest: str = request.path_params["rest"]
    raw = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    raw_segments = raw.split(b"?", 1)[0].split(b"/")
    related = (
        len(raw_segments) >= 2 and raw_segments[-1] == b"related" and rest.endswith("/related")
    )
    rest_id = rest[: -len("/related")] if related else rest
    if "/" in rest_id:
        raise RequestError(400, "bad_id", f"article id {rest_id[:80]!r} contains a slash")
    return P.path_article_id(raw_segments[-2] if related else raw_segments[-1]), related


def create_app(
    index: Index | str | os.PathLike[str] | SearcherSource,
    *,
    write_token: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    refresh_interval: float = REFRESH_INTERVAL,
) -> Starlette:
    """The ASGI app of the search service over ``index``.

    Args:
        index: an :class:`~bnsearch.index.Index`, the path of an index folder, or any
            :class:`~bnsearch.web.source.SearcherSource` (e.g. a sharded index's).
        write_token: the bearer token writes need; None disables writes (403).
        max_body_bytes: largest write body; larger ones get a 413.
        refresh_interval: seconds between looks for a newer commit (another process's
            writes are visible after at most this long; this app's own at once).
    """
    if write_token is not None and not write_token.strip():
        raise ValueError("write_token must not be empty or blank (use None to disable writes)")
    if max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be >= 1, got {max_body_bytes}")
    source = open_source(index, refresh_interval=refresh_interval)
    service = _Service(source, write_token.strip() if write_token else None, max_body_bytes)
    routes = [
        Route("/", service.page, methods=["GET"]),
        Route("/search", service.search, methods=["GET"]),
        Route("/suggest", service.suggest, methods=["GET"]),
        Route("/complete", service.complete, methods=["GET"]),
        Route("/stats", service.stats, methods=["GET"]),
        Route("/health", service.health, methods=["GET"]),
        Route("/openapi.json", service.openapi, methods=["GET"]),
        Route("/articles", service.post_articles, methods=["POST"]),
        Route("/articles/{rest:path}", service.article, methods=["GET", "PUT", "DELETE"]),
        Mount("/static", app=StaticFiles(packages=[("bnsearch.web", "static")]), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(_SecurityHeaders)],
        exception_handlers={
            RequestError: _on_request_error,
            HTTPException: _on_http_error,
            BnSearchError: _on_library_error,
            Exception: _on_crash,
        },
    )
    app.state.source = source
    return app


async def _on_request_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestError)
    return _error(error)


async def _on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    message = {
        404: f"no endpoint {request.url.path!r}",
        405: f"{request.method} is not allowed on {request.url.path!r}",
    }.get(error.status_code, str(error.detail))
    return _error(RequestError(error.status_code, code, message))


async def _on_library_error(request: Request, error: Exception) -> Response:
    status = 400 if isinstance(error, (SchemaError, ValueError)) else 500
    return _error(
        RequestError(status, "bad_request" if status == 400 else "index_error", str(error))
    )


async def _on_crash(request: Request, error: Exception) -> Response:
    return JSONResponse(
        {
            "error": {
                "status": 500,
                "code": "internal",
                "message": f"internal error: {type(error).__name__}",
            }
        },
        status_code=500,
    )
