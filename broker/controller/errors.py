"""What the controller refuses, each carrying the Kafka error code a handler answers with."""

from __future__ import annotations

from protocol.errors import ErrorCode


class ControllerError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ClusterStartError(Exception):
    """A broker cannot join its ZooKeeper cluster (unreachable, another cluster's log dir, its id in use):
    the process logs the message and exits 1."""
