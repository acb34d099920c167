"""The web app's one error: :class:`RequestError`, a bad request with its HTTP status.

It derives from :class:`~bnsearch.errors.BnSearchError`, so it is one more member of the
library's hierarchy; the app turns it into ``{"error": {"status", "code", "message"}}``
with that status. Nothing here imports the web framework.
"""

from __future__ import annotations

from typing import Any

from bnsearch.errors import BnSearchError


class RequestError(BnSearchError):
    """A request the service refuses: ``status`` (4xx, or 503 when the index cannot take
    a write now), a short ``code`` and a message."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        self.status = status
        self.code = code
        self.details = details
        super().__init__(message)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "code": self.code, "message": str(self)}
        body.update(self.details)
        return {"error": body}
