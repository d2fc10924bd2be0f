"""The contract every extension follows."""

from __future__ import annotations

from typing import Any, Callable

from werkzeug.wrappers import Response

from sandbox.protocol import AwsRequest, Forward

Handler = Callable[[AwsRequest, Forward], Response]


class Extension:
    """Base class: route a call to the handler ``route`` picks, or let it through to moto."""

    service = ""

    def install(self) -> None:
        """Adjust moto's in-memory data once, before the first request."""

    def route(self, request: AwsRequest) -> Handler | None:
        """The handler for ``request``, or None to pass it to moto unchanged."""
        raise NotImplementedError

    def status(self) -> dict[str, Any]:
        """What this extension adds to ``GET /_sandbox/status`` (nothing by default)."""
        return {}

