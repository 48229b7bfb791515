"""Fault injection from Python: a client of a broker's fault-injection endpoint (HTTP/JSON on localhost,
served only by a broker started with ``kafkish.fault.injection.enable=true``).

    with Broker(faults=True) as broker:
        broker.faults.inject(api="Produce", error="NOT_LEADER_OR_FOLLOWER", count=3, topic="orders")
        broker.faults.inject(api="Fetch", delay_ms=500, duration_ms=5000)
        broker.faults.inject(api="Metadata", drop=True, count=1)
        broker.faults.clear()

The faults act at the wire level, so every client library sees them (see the README, "Fault injection").
Only the standard library is used, so this works wherever kafkish is installed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class FaultInjectionError(RuntimeError):
    """The endpoint refused a request (the message says why) or could not be reached."""


class Faults:
    """The fault rules of one broker, through its endpoint at ``url`` (``http://127.0.0.1:PORT``)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def inject(
        self,
        api: str | int,
        *,
        error: str | int | None = None,
        delay_ms: int | None = None,
        drop: bool = False,
        topic: str | None = None,
        partition: int | None = None,
        count: int | None = None,
        duration_ms: int | None = None,
    ) -> dict[str, Any]:
        """Add a rule: requests of ``api`` (Kafka's name, e.g. "Produce", or its key), of ``topic`` (and
        ``partition``) if given, get ``error`` (a Kafka error name or code), or are delayed ``delay_ms``,
        or their connection is dropped; for the next ``count`` such requests and/or ``duration_ms``
        (neither: until cleared). Returns the rule (its ``id`` can be passed to ``remove``)."""
        spec: dict[str, Any] = {"api": api}
        for name, value in (
            ("error", error), ("delay_ms", delay_ms), ("topic", topic), ("partition", partition),
            ("count", count), ("duration_ms", duration_ms),
        ):  # fmt: skip
            if value is not None:
                spec[name] = value
        if drop:
            spec["drop"] = True
        rule: dict[str, Any] = self._call("POST", "/faults", spec)["fault"]
        return rule

    def list(self) -> list[dict[str, Any]]:
        """The rules still in force (with ``remaining`` uses and ``applied`` counts)."""
        rules: list[dict[str, Any]] = self._call("GET", "/faults")["faults"]
        return rules

    def remove(self, rule_id: int) -> bool:
        return bool(self._call("DELETE", f"/faults/{int(rule_id)}")["removed"])

    def clear(self) -> int:
        """Remove every rule; returns how many there were."""
        return int(self._call("DELETE", "/faults")["removed"])

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                result: dict[str, Any] = json.loads(answer.read())
                return result
        except urllib.error.HTTPError as exc:
            try:
                why = json.loads(exc.read()).get("error", exc.reason)
            except ValueError:
                why = exc.reason
            raise FaultInjectionError(f"{method} {path}: {why}") from None
        except OSError as exc:
            raise FaultInjectionError(f"the fault-injection endpoint {self.url} cannot be reached: {exc}") from None
