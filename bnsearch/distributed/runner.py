"""Where shard tasks run: in this process, or as Dask tasks on a cluster's workers.

With a Dask ``Client``, shard ``i`` is sent to worker ``i mod workers`` (sorted by
address) so each worker keeps the same shards open, with ``allow_other_workers``: a task
whose worker is gone runs on another, and ``retries`` re-runs a task that failed for a
reason that may pass (an ``OSError``, a ``MemoryError``, ...). The library's own error
(:class:`~bnsearch.errors.BnSearchError`: a bad shard, bad input) would only fail again:
it is handed back as the task's answer, so Dask does not re-run it, and raised here.
Dask also re-runs, on its own, a task whose worker died while running it (up to the
scheduler's ``allowed-failures``). Shard tasks only read, or upsert the same articles
again, so a re-run gives the same answer. This module uses the client it is given; it
never imports Dask.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs

from bnsearch.errors import BnSearchError

T = TypeVar("T")

#: Re-runs of a failed shard task (a lost worker is re-run by the scheduler anyway).
RETRIES = 2


class Runner:
    """Runs one function per shard, in this process (``client=None``) or on Dask."""

    def __init__(self, client: Any = None, *, retries: int = RETRIES) -> None:
        self.client = client
        self.retries = retries
        self._workers: list[str] = []
        if client is not None:
            self._workers = sorted(client.scheduler_info().get("workers", {}))

    def map(
        self,
        function: Callable[..., T],
        calls: Sequence[tuple[Any, ...]],
        shards: Sequence[int] | None = None,
    ) -> list[T]:
        """``function(*call)`` for each call, in order; call ``i`` is shard ``shards[i]``'s
        (default: shard ``i``'s)."""
        if self.client is None:
            return [function(*call) for call in calls]
        numbers = range(len(calls)) if shards is None else shards
        futures = [self.submit(n, function, *call) for n, call in zip(numbers, calls, strict=True)]
        results: list[Any] = self.client.gather(futures)
        for result in results:
            _raise_refused(result)
        return results

    def groups(self, count: int) -> list[list[int]]:
        """The shard numbers of ``count`` shards grouped by the worker their tasks go to
        (in this process: one group)."""
        if self.client is None:
            return [list(range(count))]
        return by_slot(count, len(self._workers) or count)

    def one(self, number: int, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` as shard ``number``'s task (on its worker)."""
        if self.client is None:
            return function(*args)
        result: T = _raise_refused(self.client.gather(self.submit(number, function, *args)))
        return result

    def submit(self, number: int, function: Callable[..., Any], *args: Any) -> Any:
        """A Dask future of ``function(*args)``, placed on shard ``number``'s worker (its
        answer a :class:`Refused` where it raised the library's error)."""
        assert self.client is not None
        where = [self._workers[slot_of(number, len(self._workers))]] if self._workers else None
        return self.client.submit(
            _answer,
            function,
            *args,
            pure=False,
            retries=self.retries,
            workers=where,
            allow_other_workers=True,
        )


@attrs.frozen
class Refused:
    """The answer of a task that raised the library's error (not re-run by Dask)."""

    error: BnSearchError


def _answer(function: Callable[..., T], *args: Any) -> T | Refused:
    """``function(*args)`` on a worker; the library's error as a :class:`Refused`."""
    try:
        return function(*args)
    except BnSearchError as error:
        return Refused(error)


def _raise_refused(result: Any) -> Any:
    """``result``, unless it is a :class:`Refused`: then its error is raised."""
    if isinstance(result, Refused):
        raise result.error
    return result


def slot_of(number: int, slots: int) -> int:
    """The slot (a worker, or a host) of shard ``number`` among ``slots``."""
    return number % slots


def by_slot(count: int, slots: int) -> list[list[int]]:
    """Shards ``0..count-1`` grouped by :func:`slot_of` (non-empty groups)."""
    groups: list[list[int]] = [[] for _ in range(min(slots, count))]
    for number in range(count):
        groups[slot_of(number, slots)].append(number)
    return groups


def connect(address: str) -> Any:
    """A Dask ``Client`` of the scheduler at ``address`` (``tcp://host:8786``)."""
    try:
        from dask.distributed import Client
    except ImportError:
        from bnsearch.errors import BnSearchError

        raise BnSearchError(
            "a Dask scheduler needs Dask: pip install 'bnsearch[distributed]'"
        ) from None
    try:
        return Client(address, timeout=30)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as error:
        from bnsearch.errors import BnSearchError

        raise BnSearchError(f"cannot reach the Dask scheduler at {address}: {error}") from None
