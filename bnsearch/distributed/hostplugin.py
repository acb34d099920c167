"""The worker side of the resident shard hosts: a Dask worker plugin adding one handler.

:class:`ShardHostPlugin` (registered once by :class:`~bnsearch.distributed.hosts.HostRunner`
with ``client.register_plugin``; Dask sets it up on every worker, and on workers that
join later) adds the handler :data:`HANDLER` to the worker's comm server, beside Dask's
own (``gather``, ``actor_execute``, ...). A call is one Dask message on a comm the client
keeps open to the worker: its ``payload`` is ``(function, calls)`` pickled, and the reply
is :func:`answer`'s bytes, read where the call was made by :func:`read_reply`. The
handler runs on the worker's event loop, as Dask's own handlers do: a step at 100,000
articles takes 1.4-2 CPU-ms, and running it on a thread of its own cost each worker
0.6-0.85 CPU-ms more a search (two runs in one cluster, docs/distributed.md). A long
step (the first at a new generation opens the shards) holds the loop meanwhile, as it
held the actors' thread, where the next call waited.

This module imports Dask: only :mod:`.hosts` imports it, when a client is given.
"""

from __future__ import annotations

import pickle
from typing import Any

from distributed import WorkerPlugin

from bnsearch.errors import BnSearchError

#: The op of a shard host call in a worker's comm handlers.
HANDLER = "bnsearch_shard_calls"


class HostCallError(BnSearchError):
    """A shard host call failed with an error that could not travel back as itself."""


def answer(payload: bytes) -> bytes:
    """``function(*call)`` for each call of ``pickle.loads(payload)`` (``(function,
    calls)``), pickled as ``(True, answers)``; an exception any step raised (the shard
    functions', an import, unpickling) is pickled as ``(False, error)`` so it is raised
    where the call was made. ``function`` must be importable where the host runs (the
    shard functions are)."""
    out: tuple[bool, Any]
    try:
        function, calls = pickle.loads(payload)
        out = (True, [function(*call) for call in calls])
    except Exception as error:  # travels back to the caller, raised there
        out = (False, error)
    try:
        return pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # an answer or an error that does not pickle
        failed = HostCallError(f"a shard host's answer could not travel back: {error!r}")
        return pickle.dumps((False, failed), protocol=pickle.HIGHEST_PROTOCOL)


def read_reply(reply: bytes, worker: str) -> list[Any]:
    """The answers in ``worker``'s reply (:func:`answer`'s bytes), where the call was
    made; the error it carries is raised as itself, and a reply that cannot be read here
    (an error whose class is not importable here, or that does not rebuild) is a
    :class:`HostCallError` naming the worker."""
    try:
        ok, found = pickle.loads(reply)
    except Exception as error:
        raise HostCallError(
            f"the answer of the shard host on {worker} could not be read here: {error!r}"
        ) from None
    if not ok:
        raise found
    answers: list[Any] = found
    return answers


class ShardHostPlugin(WorkerPlugin):
    """Adds the :data:`HANDLER` op to a worker (and takes it away at teardown)."""

    name = "bnsearch-shard-host"
    idempotent = True

    def setup(self, worker: Any) -> None:
        worker.handlers[HANDLER] = answer

    def teardown(self, worker: Any) -> None:
        worker.handlers.pop(HANDLER, None)
