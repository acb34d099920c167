"""Fault injection for crash tests: kill the process at a named point of a commit.

Set ``BNSEARCH_CRASH_AT=<point>`` (optionally ``<point>:<n>`` to crash at its n-th pass)
in a writer subprocess; when the writer reaches that point it sends itself SIGKILL, like
a power cut as far as the index is concerned. Points: ``flush-started``,
``segment-written``, ``deletes-written``, ``manifest-written`` (temp manifest fsynced,
not yet renamed), ``committed`` (renamed, old files not yet removed), ``merge-written``,
``background-merge-written`` (a background merge's segment written, in its thread).
Unset (the normal case), :func:`crash_point` costs one dict lookup.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def crash_point(name: str) -> None:
    """SIGKILL this process if ``BNSEARCH_CRASH_AT`` names this point (and pass count)."""
    wanted = os.environ.get("BNSEARCH_CRASH_AT")
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if not nth or _counts[name] >= int(nth):
        os.kill(os.getpid(), signal.SIGKILL)
