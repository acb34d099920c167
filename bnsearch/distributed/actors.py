"""Resident shard hosts: one Dask actor per worker answers the query steps of its shards.

A Dask task costs a trip through the scheduler (submit, assign, run, report, gather):
30-80 ms for four trivial tasks on a loaded 2-core machine, about 1 ms each on an idle
one. An actor (``client.submit(cls, actor=True)``) is an object living on a worker whose
methods the client calls directly (through the scheduler's proxy unless the client was
made with ``direct_to_workers=True``), without scheduling: 1.5-3 ms for a call to each of
two workers on the same machine. So a sharded searcher on a cluster places one
:class:`ShardHost` on each worker, and each query step is one call per worker, carrying
the calls of every shard placed there (shard ``i`` on host ``i mod hosts``, as the tasks
of :class:`~bnsearch.distributed.runner.Runner` are placed), all sent before any answer
is awaited, and awaited together, for at most the runner's ``timeout``.

The hosts hold no state of their own: the shard functions keep each shard's reader open
per process (:func:`~bnsearch.distributed.shard.open_shard`, keyed by folder and
generation), and the statistics of recent queries by token, so a host answers from the
readers its worker already has, and a searcher at a newer generation opens the newer
commit there.

Dask makes no effort to keep an actor alive: if its worker dies, the actor is gone
(distributed's documentation, "Actors: Limitations"), and a call to it fails with an
``OSError`` ("Unable to contact Actor's worker") or a ``RuntimeError`` ("Worker holding
Actor was lost"). :class:`ActorRunner` then makes a new host wherever the scheduler puts
it and sends that host's calls again (shard steps only read, so the answer is the same),
up to ``retries`` times. This module uses the client it is given; it never imports Dask.
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from bnsearch.distributed.runner import RETRIES, by_slot
from bnsearch.errors import BnSearchError

T = TypeVar("T")

#: Seconds a step of a search waits for its hosts' answers before it raises
#: :class:`HostTimeoutError` (a first call also opens the shards there).
TIMEOUT = 60.0


class ShardHost:
    """The actor on a worker: runs shard functions in its process, in order."""

    def run(self, function: Callable[..., T], calls: Sequence[tuple[Any, ...]]) -> list[T]:
        """``function(*call)`` for each call."""
        return [function(*call) for call in calls]

    def run_pickled(self, payload: bytes) -> bytes:
        """:meth:`run` of ``pickle.loads(payload)`` (``(function, calls)``), its answers
        pickled. Dask frames bytes as they are: serializing a step's call and answer
        so, with plain :mod:`pickle`, cost 11 and 54 us where Dask's serialization of
        the same objects cost 66 and 64 (100,000 articles, a worker's search step; its
        loads 12 against 44 us). ``function`` must be importable where the host runs
        (the shard functions are)."""
        function, calls = pickle.loads(payload)
        return pickle.dumps(self.run(function, calls), protocol=pickle.HIGHEST_PROTOCOL)

    def ping(self) -> bool:
        """True (a call that proves the host answers)."""
        return True


class HostLostError(BnSearchError):
    """A shard host's worker was lost more often than the runner retries."""


class HostTimeoutError(BnSearchError):
    """A shard host did not answer a call within the runner's timeout."""


def _lost(error: BaseException) -> bool:
    """True if ``error`` says the host's worker is gone (not the shard function failed)."""
    if isinstance(error, RuntimeError) and "Actor was lost" in str(error):
        return True
    if isinstance(error, OSError):  # Dask's comm errors are OSErrors raised by Dask itself
        return "Actor's worker" in str(error) or type(error).__module__.startswith("distributed")
    return False


class ActorRunner:
    """Runs shard functions on resident :class:`ShardHost` actors, one per worker.

    The same interface as :class:`~bnsearch.distributed.runner.Runner` (``map``,
    ``one``): a searcher uses either. Hosts are made on first use.
    """

    def __init__(
        self, client: Any, *, retries: int = RETRIES, timeout: float | None = TIMEOUT
    ) -> None:
        self.client = client
        self.retries = retries
        #: seconds a step waits for its hosts' answers (None: no limit)
        self.timeout = timeout
        workers = sorted(client.scheduler_info().get("workers", {}))
        #: per slot (a worker when the runner was made), its host's creation future
        self._slots: list[str | None] = list(workers) or [None]
        self._futures: list[Any] = [None] * len(self._slots)
        self._hosts: list[Any] = [None] * len(self._slots)

    def _host(self, slot: int) -> Any:
        host = self._hosts[slot]
        if host is None:
            where = self._slots[slot]
            placed: dict[str, Any] = {}
            if where is not None:
                placed = {"workers": [where], "allow_other_workers": True}
            future = self.client.submit(ShardHost, actor=True, pure=False, **placed)
            with self.client.as_current():  # the actor binds to the current client
                host = future.result()
            self._futures[slot], self._hosts[slot] = future, host
        return host

    def _replace(self, slot: int) -> None:
        """Forget a lost host; the next call makes one wherever the scheduler says."""
        future = self._futures[slot]
        if future is not None:
            future.release()
        self._slots[slot] = None
        self._futures[slot] = self._hosts[slot] = None

    def map(
        self,
        function: Callable[..., T],
        calls: Sequence[tuple[Any, ...]],
        shards: Sequence[int] | None = None,
    ) -> list[T]:
        """``function(*call)`` for each call, in order; call ``i`` is shard ``shards[i]``'s
        (default: shard ``i``'s). One call per host, all in flight together, their
        answers awaited together (one wait in the client's event loop, at most
        ``timeout`` seconds: :class:`HostTimeoutError` past it)."""
        numbers = range(len(calls)) if shards is None else shards
        groups: dict[int, list[int]] = {}
        for position, number in enumerate(numbers):
            groups.setdefault(number % len(self._slots), []).append(position)
        results: list[Any] = [None] * len(calls)
        for attempt in range(self.retries + 1):
            hosts: dict[int, Any] = {}
            lost: list[int] = []
            for slot in groups:
                try:
                    hosts[slot] = self._host(slot)
                except Exception as error:  # sorted out by _lost
                    if not _lost(error):
                        raise
                    lost.append(slot)
            batches = {slot: [calls[i] for i in groups[slot]] for slot in hosts}
            for slot, answers in self._call(hosts, function, batches).items():
                if isinstance(answers, BaseException):
                    if not _lost(answers):
                        raise answers
                    lost.append(slot)
                    continue
                for position, answer in zip(groups[slot], answers, strict=True):
                    results[position] = answer
            if not lost:
                return results
            for slot in lost:
                self._replace(slot)
            groups = {slot: groups[slot] for slot in lost}
            if attempt == self.retries:
                break
        raise HostLostError(
            f"the workers holding shard hosts {sorted(groups)} were lost "
            f"{self.retries + 1} times in one step"
        )

    def _call(
        self,
        hosts: dict[int, Any],
        function: Callable[..., Any],
        batches: dict[int, list[tuple[Any, ...]]],
    ) -> dict[int, Any]:
        """Per slot, the answers of ``function`` on ``batches[slot]`` at ``hosts[slot]``
        (:meth:`ShardHost.run_pickled`), or the exception the call raised: every call
        sent, and the answers awaited, in one coroutine on the client's event loop (one
        hand-over between this thread and the loop a step, where a call made here is
        one more each), for at most ``timeout`` s."""
        if not hosts:
            return {}

        async def every() -> dict[int, Any]:
            out: dict[int, Any] = {}
            sent: dict[int, Any] = {}
            for slot, host in hosts.items():
                payload = pickle.dumps((function, batches[slot]), protocol=pickle.HIGHEST_PROTOCOL)
                try:
                    sent[slot] = host.run_pickled(payload)
                except Exception as error:  # a lost host's actor says so when called
                    out[slot] = error
            found = await asyncio.gather(*sent.values(), return_exceptions=True)
            for slot, answer in zip(sent, found, strict=True):
                out[slot] = answer if isinstance(answer, BaseException) else pickle.loads(answer)
            return out

        try:
            answers: dict[int, Any] = self.client.sync(every, callback_timeout=self.timeout)
        except (TimeoutError, asyncio.TimeoutError):
            raise HostTimeoutError(
                f"{len(hosts)} shard host(s) did not answer within {self.timeout} s "
                "(a host runs its calls one at a time: a slow call delays the next ones)"
            ) from None
        return answers

    def groups(self, count: int) -> list[list[int]]:
        """The shard numbers of ``count`` shards grouped by host."""
        return by_slot(count, len(self._slots))

    def one(self, number: int, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` on shard ``number``'s host."""
        return self.map(function, [args], [number])[0]

    def close(self) -> None:
        """Release the hosts (Dask removes an actor when no future holds it)."""
        for slot in range(len(self._slots)):
            if self._futures[slot] is not None:
                self._futures[slot].release()
            self._futures[slot] = self._hosts[slot] = None
