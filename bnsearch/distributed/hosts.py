"""Resident shard hosts: each worker answers the query steps of its shards, one call a step.

A Dask task costs a trip through the scheduler (submit, assign, run, report, gather):
about 1 ms each on an idle 2-core machine, 30-80 ms for four on a loaded one. So a
sharded searcher on a cluster calls the workers themselves: every worker has one more
handler (:data:`~bnsearch.distributed.hostplugin.HANDLER`, added by a Dask worker
plugin, :mod:`.hostplugin`), and each query step is one message per worker over
Dask's comm (``distributed.comm.connect``, with the client's security settings),
carrying the calls of every shard placed there (shard ``i`` on worker ``i mod
workers``, as the tasks of :class:`~bnsearch.distributed.runner.Runner` are placed),
all sent before any answer is awaited, and awaited together, for at most ``timeout``.

The messages are sent and awaited on an event loop the *calling* thread runs itself
(one per thread, with its own open comms), not on the client's event loop: a hand-over
to the client's loop thread and back cost 0.2-0.25 ms a step, and Dask's actors (the
previous hosts) another 0.6-0.9 ms of their own machinery on top of the same comm
(measured in one run, docs/distributed.md). A thread that already runs an event loop
uses the client's (``client.sync``).

The hosts hold no state of their own: the shard functions keep each shard's reader
open per process (:func:`~bnsearch.distributed.shard.open_shard`, keyed by folder and
generation), and the statistics of recent queries by token. A kept comm that fails
(closed while idle) is replaced by a new one; a worker lost during a call (no new comm
reaches it) is left out: the calls it had are sent again to a live worker (shard steps
only read, so the answer is the same), up to ``retries`` times. This module uses the
client it is given; it imports Dask only there.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from bnsearch.distributed.runner import RETRIES, by_slot, slot_of
from bnsearch.errors import BnSearchError

T = TypeVar("T")

#: Seconds a step of a search waits for its hosts' answers before it raises
#: :class:`HostTimeoutError` (a first call also opens the shards there).
TIMEOUT = 60.0
#: Seconds to open a comm to a worker (Dask retries a refused connection until then).
CONNECT_TIMEOUT = 5.0


class HostLostError(BnSearchError):
    """A shard host's worker was lost more often than the runner retries."""


class HostTimeoutError(BnSearchError):
    """A shard host did not answer a call within the runner's timeout."""


class _Lost(Exception):
    """A worker's comm closed, or could not be opened, during a call."""


class _Comms:
    """The open comms of one event loop, by worker address; a comm in use is taken out
    (two calls never share one), and one that failed is closed, not put back."""

    def __init__(self) -> None:
        self.idle: dict[str, list[Any]] = {}

    async def call(self, address: str, payload: bytes, connection_args: dict[str, Any]) -> Any:
        """The worker's reply to ``payload``: on a kept comm, else on a new one. A kept
        comm that fails was closed while idle (by the worker or the network): the call
        goes on a new comm, and only a worker a new comm cannot reach is :class:`_Lost`
        (left out for good by the runner; shard steps only read, so sending a call
        again gives the same answer)."""
        from distributed.comm.core import connect  # the caller gave a Dask client

        kept = self.idle.get(address)
        while kept:
            comm = kept.pop()
            try:
                reply = await _exchange(comm, payload)
            except OSError:  # Dask's CommClosedError is an OSError
                continue
            self.idle.setdefault(address, []).append(comm)
            return reply
        try:
            comm = await connect(  # type: ignore[no-untyped-call]
                address, timeout=CONNECT_TIMEOUT, **connection_args
            )
            # (de)serialize in this loop: it serves only this call, where Dask's offload
            # thread (for messages over 10 MB) would add two hand-overs, and deciding
            # costs a sizeof of every message
            comm.allow_offload = False
            reply = await _exchange(comm, payload)
        except OSError as error:
            raise _Lost(address) from error
        self.idle.setdefault(address, []).append(comm)
        return reply

    def close(self) -> None:
        for comms in self.idle.values():
            for comm in comms:
                comm.abort()
        self.idle.clear()


async def _exchange(comm: Any, payload: bytes) -> Any:
    """Send ``payload`` to the shard host on ``comm`` and read its reply; a comm that
    fails, or whose reply is never read (the step's timeout cancelled it), is aborted."""
    from bnsearch.distributed.hostplugin import HANDLER

    try:
        await comm.write({"op": HANDLER, "payload": payload, "reply": True})
        return await comm.read()
    except BaseException:
        comm.abort()
        raise


#: A calling thread's own event loop and comms (see :meth:`HostRunner._loop`).
_ThreadLoop = tuple[threading.Thread, asyncio.AbstractEventLoop, _Comms]


def _close_ended(every: list[_ThreadLoop]) -> None:
    """Close the comms and loops of the threads of ``every`` that ended (none of them
    runs: its thread is gone), and drop them from ``every``."""
    for entry in [entry for entry in every if not entry[0].is_alive()]:
        every.remove(entry)
        _, loop, comms = entry
        comms.close()
        loop.close()


def _close_all(every: list[_ThreadLoop], shared: _Comms, client_loop: Any) -> None:
    """Close the comms of each thread's loop, and the loop; the client loop's comms on
    that loop (a runner's finalizer: it refers to none of the runner)."""
    while every:
        _, loop, comms = every.pop()
        if not loop.is_running():  # a running one is mid-call in its thread
            comms.close()
            loop.close()
    if shared.idle and client_loop is not None:
        # (a closed client's loop raises: its comms closed with it)
        with contextlib.suppress(RuntimeError):
            client_loop.add_callback(shared.close)


class HostRunner:
    """Runs shard functions on the workers' resident hosts, one call a worker a step.

    The same interface as :class:`~bnsearch.distributed.runner.Runner` (``map``,
    ``one``, ``groups``): a searcher uses either. The worker plugin is registered
    when the runner is made (once per cluster: Dask keeps it for workers that join).
    """

    def __init__(
        self,
        client: Any,
        *,
        retries: int = RETRIES,
        timeout: float | None = TIMEOUT,
    ) -> None:
        from bnsearch.distributed.hostplugin import ShardHostPlugin

        self.client = client
        self.retries = retries
        #: seconds a step waits for its hosts' answers (None: no limit)
        self.timeout = timeout
        client.register_plugin(ShardHostPlugin())
        #: per slot (a worker when the runner was made, sorted), the worker it calls
        self._slots: list[str] = sorted(client.scheduler_info().get("workers", {}))
        if not self._slots:
            raise HostLostError("the Dask cluster has no workers")
        #: workers found lost: never called again by this runner
        self._dead: set[str] = set()
        self._local = threading.local()
        self._lock = threading.Lock()
        #: every calling thread's loop and comms (those of an ended thread closed when
        #: a new thread makes its own: a pool's threads come and go)
        self._every: list[_ThreadLoop] = []
        #: the comms of the client's event loop (for threads running a loop of their own)
        self._shared = _Comms()
        self._closed = weakref.finalize(
            self, _close_all, self._every, self._shared, getattr(client, "loop", None)
        )

    def _loop(self) -> tuple[asyncio.AbstractEventLoop, _Comms]:
        """This thread's own event loop and its comms (made on first use)."""
        found: tuple[asyncio.AbstractEventLoop, _Comms] | None = getattr(self._local, "loop", None)
        if found is None or found[0].is_closed():
            found = (asyncio.new_event_loop(), _Comms())
            self._local.loop = found
            with self._lock:
                _close_ended(self._every)
                self._every.append((threading.current_thread(), *found))
        return found

    def map(
        self,
        function: Callable[..., T],
        calls: Sequence[tuple[Any, ...]],
        shards: Sequence[int] | None = None,
    ) -> list[T]:
        """``function(*call)`` for each call, in order; call ``i`` is shard ``shards[i]``'s
        (default: shard ``i``'s). One call per worker, all in flight together, their
        answers awaited together (at most ``timeout`` seconds: :class:`HostTimeoutError`
        past it); the calls of a lost worker go to a live one."""
        from bnsearch.distributed.hostplugin import HostCallError, read_reply

        numbers = range(len(calls)) if shards is None else shards
        groups: dict[int, list[int]] = {}
        for position, number in enumerate(numbers):
            groups.setdefault(slot_of(number, len(self._slots)), []).append(position)
        results: list[Any] = [None] * len(calls)
        for _attempt in range(self.retries + 1):
            by_worker: dict[str, list[int]] = {}
            for slot, positions in groups.items():
                by_worker.setdefault(self._slots[slot], []).extend(positions)
            answers = self._call(
                {
                    worker: pickle.dumps(
                        (function, [calls[i] for i in positions]),
                        protocol=pickle.HIGHEST_PROTOCOL,
                    )
                    for worker, positions in by_worker.items()
                }
            )
            lost = [worker for worker, answer in answers.items() if answer is None]
            for worker, answer in answers.items():
                if answer is None:
                    continue
                if not isinstance(answer, bytes):  # Dask's own error message
                    raise HostCallError(f"the shard host on {worker} failed: {answer!r}")
                found = read_reply(answer, worker)
                for position, value in zip(by_worker[worker], found, strict=True):
                    results[position] = value
            if not lost:
                return results
            groups = {slot: p for slot, p in groups.items() if self._slots[slot] in lost}
            self._leave_out(lost)
        raise HostLostError(
            f"the workers called for shard slots {sorted(groups)} were lost "
            f"{self.retries + 1} times in one step"
        )

    def _leave_out(self, lost: list[str]) -> None:
        """Point the slots of ``lost`` workers at live ones (waiting up to ``timeout``
        for the scheduler to list one)."""
        self._dead.update(lost)
        limit = time.monotonic() + (self.timeout or TIMEOUT)
        while True:
            workers = sorted(self.client.scheduler_info().get("workers", {}))
            live = [worker for worker in workers if worker not in self._dead]
            if live or time.monotonic() > limit:
                break
            time.sleep(0.05)
        if not live:
            raise HostLostError(f"no live worker left to call after losing {sorted(lost)}")
        for slot, worker in enumerate(self._slots):
            if worker in self._dead:
                self._slots[slot] = live[slot % len(live)]

    def _call(self, payloads: dict[str, bytes]) -> dict[str, Any]:
        """Per worker, its reply to ``payloads[worker]``: None if the worker was lost, or
        if it has no shard host handler (Dask answers an op it has no handler for with
        None: a worker whose plugin was torn down as it closes); :meth:`map` leaves both
        out. Every call sent, and the replies awaited, in one coroutine on this thread's
        loop, for at most ``timeout`` s."""
        args = dict(getattr(self.client, "connection_args", None) or {})

        async def every(comms: _Comms) -> dict[str, Any]:
            workers = list(payloads)
            found = await asyncio.gather(
                *[comms.call(w, payloads[w], args) for w in workers], return_exceptions=True
            )
            out: dict[str, Any] = {}
            for worker, reply in zip(workers, found, strict=True):
                if isinstance(reply, _Lost):
                    out[worker] = None
                elif isinstance(reply, BaseException):
                    raise reply
                else:
                    out[worker] = reply
            return out

        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop running in this thread: run our own
            loop, comms = self._loop()
            try:
                return loop.run_until_complete(asyncio.wait_for(every(comms), self.timeout))
            except (TimeoutError, asyncio.TimeoutError):
                raise self._timed_out(len(payloads)) from None
        try:
            answers: dict[str, Any] = self.client.sync(
                every, self._shared, callback_timeout=self.timeout
            )
        except (TimeoutError, asyncio.TimeoutError):
            raise self._timed_out(len(payloads)) from None
        return answers

    def _timed_out(self, hosts: int) -> HostTimeoutError:
        return HostTimeoutError(
            f"{hosts} shard host(s) did not answer within {self.timeout} s "
            "(a host runs its calls one at a time: a slow call delays the next ones)"
        )

    def groups(self, count: int) -> list[list[int]]:
        """The shard numbers of ``count`` shards grouped by host."""
        return by_slot(count, len(self._slots))

    def one(self, number: int, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` on shard ``number``'s host."""
        return self.map(function, [args], [number])[0]

    def close(self) -> None:
        """Close the comms this runner opened and the threads' loops (also done when
        the runner is collected)."""
        with self._lock:
            self._closed()
