"""web/: the search service: a JSON API and a search page over an index (ASGI, Starlette).

:func:`create_app` gives an ASGI app an existing service can mount; ``bnsearch serve``
runs it with uvicorn (:mod:`.serve`). The app reads through a searcher source
(:mod:`.source`), so a sharded index plugs in beside a single one. Request checking lives
in :mod:`.params`, response shapes in :mod:`.payload`, their OpenAPI description in
:mod:`.openapi`; the page is plain HTML/CSS/JS in ``static/``. Nothing outside this
package imports the web framework; it needs the ``web`` extra
(``pip install "bnsearch[web]"``).
"""

from bnsearch.web.app import MAX_BODY_BYTES, create_app
from bnsearch.web.errors import RequestError
from bnsearch.web.source import IndexSource, SearcherSource, WriteReport, open_source

__all__ = [
    "MAX_BODY_BYTES",
    "IndexSource",
    "RequestError",
    "SearcherSource",
    "WriteReport",
    "create_app",
    "open_source",
]
