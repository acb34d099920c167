"""``bnsearch serve``: run the app with uvicorn, in one process or several workers.

Several workers need the app by import string, so the settings travel in environment
variables that :func:`app_from_env` (the factory uvicorn calls in each worker) reads:
``BNSEARCH_INDEX`` (the index folder) and ``BNSEARCH_WRITE_TOKEN_FILE`` (a file holding
the write token; the token itself never goes into the environment or the command line).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from starlette.applications import Starlette

from bnsearch.distributed import ShardedIndex, is_sharded
from bnsearch.errors import BnSearchError
from bnsearch.index import Index
from bnsearch.web.app import create_app

ENV_INDEX = "BNSEARCH_INDEX"
ENV_TOKEN_FILE = "BNSEARCH_WRITE_TOKEN_FILE"


def read_token(path: str | os.PathLike[str]) -> str:
    """The write token in file ``path`` (surrounding whitespace removed; must not be empty)."""
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise BnSearchError(
            f"cannot read the write token file {os.fspath(path)!r}: {error}"
        ) from None
    if not token:
        raise BnSearchError(f"the write token file {os.fspath(path)!r} is empty")
    return token


def app_from_env() -> Starlette:
    """The app configured by :data:`ENV_INDEX` and :data:`ENV_TOKEN_FILE` (uvicorn factory)."""
    folder = os.environ.get(ENV_INDEX)
    if not folder:
        raise BnSearchError(f"set {ENV_INDEX} to the index folder to serve")
    token_file = os.environ.get(ENV_TOKEN_FILE)
    token = read_token(token_file) if token_file else None
    return create_app(folder, write_token=token)


def serve(
    index: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    write_token_file: str | os.PathLike[str] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve the index folder ``index`` (one index, or a sharded index searched in this
    process) until interrupted.

    The index and the token file are checked here first, so a mistake is one clear error
    instead of every worker failing to start.
    """
    import uvicorn

    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be from 0 to 65535, got {port}")
    folder = Path(index).resolve()
    if is_sharded(folder):  # raises IndexFormatError / ShardError with the reason
        ShardedIndex.open(folder)
    else:
        Index.open(folder)
    if write_token_file is not None:
        read_token(write_token_file)
    os.environ[ENV_INDEX] = str(folder)
    if write_token_file is not None:
        os.environ[ENV_TOKEN_FILE] = str(Path(write_token_file).resolve())
    else:
        os.environ.pop(ENV_TOKEN_FILE, None)
    writes = "on (bearer token)" if write_token_file is not None else "off"
    shown = f"[{host}]" if ":" in host else host
    print(
        f"bnsearch: serving {folder} at http://{shown}:{port}/ "
        f"({workers} worker{'s' if workers > 1 else ''}, writes {writes}); Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        "bnsearch.web.serve:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )
