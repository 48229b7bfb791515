"""The fault-injection admin endpoint: HTTP/1.1 with JSON bodies, on ``kafkish.fault.injection.port``
(0: an ephemeral port) of ``kafkish.fault.injection.host`` (127.0.0.1), started only when
``kafkish.fault.injection.enable=true``. Tests in any language drive ``broker.fault_injection`` with it:

    GET    /faults        {"faults": [rule, ...]}                 the rules still in force
    POST   /faults        {"api": "Produce", "error": "NOT_LEADER_OR_FOLLOWER", "count": 3, "topic": "t"}
                          -> 201 {"fault": rule}; or "delay_ms": 500; or "drop": true; "duration_ms",
                          "partition" optional; "api" is a name (Kafka's: "Produce", "Fetch") or a key,
                          "error" a name of Kafka's error codes or its number
    DELETE /faults        {"removed": n}                          clears every rule
    DELETE /faults/<id>   {"removed": 0|1}

A request it cannot serve gets 400 (bad JSON or rule, with {"error": why}), 404 or 405. One request per
connection (``Connection: close``); bodies are at most 64 KiB.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from broker.fault_injection import FaultInjector
from broker.faults import FaultRule, FaultRuleError
from protocol.api import APIS
from protocol.errors import ErrorCode

log = logging.getLogger(__name__)

MAX_BODY = 64 << 10
_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
_REASONS[500] = "Internal Server Error"


class FaultEndpoint:
    def __init__(self, injector: FaultInjector, host: str, port: int) -> None:
        self.injector = injector
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("fault injection endpoint listening on http://%s:%d/faults", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, answer = await self._request(reader)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.LimitOverrunError) as exc:
            status, answer = 400, {"error": f"bad HTTP request: {exc}"}
        except Exception as exc:  # a bug here must not go unanswered
            log.exception("fault injection endpoint failed")
            status, answer = 500, {"error": f"the broker failed: {exc!r}"}
        data = json.dumps(answer).encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode() + data)
            await writer.drain()
        writer.close()

    async def _request(self, reader: asyncio.StreamReader) -> tuple[int, dict[str, Any]]:
        line = (await asyncio.wait_for(reader.readline(), 10)).decode("latin-1").split()
        if len(line) != 3:
            raise ValueError("no request line")
        method, path = line[0], line[1].split("?")[0].rstrip("/")
        length = 0
        while (header := (await reader.readline()).decode("latin-1").strip()) != "":
            name, _, value = header.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if not 0 <= length <= MAX_BODY:
            raise ValueError(f"a body of {length} bytes")
        body = await reader.readexactly(length) if length else b""
        return self.route(method, path, body)

    def route(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        state = self.injector.state
        now = self.injector.clock()
        if path == "/faults":
            if method == "GET":
                return 200, {"faults": [describe(r, now) for r in state.active(now)]}
            if method == "DELETE":
                return 200, {"removed": state.clear()}
            if method == "POST":
                try:
                    spec = json.loads(body or b"{}")
                    if not isinstance(spec, dict):
                        raise ValueError("the body must be a JSON object")
                    rule = state.add(now, **rule_arguments(spec))
                except (ValueError, FaultRuleError, TypeError) as exc:
                    return 400, {"error": str(exc)}
                log.info("fault injected: %s", describe(rule, now))
                return 201, {"fault": describe(rule, now)}
            return 405, {"error": f"{method} {path} is not allowed"}
        if path.startswith("/faults/") and path[len("/faults/") :].isdigit():
            if method == "DELETE":
                return 200, {"removed": int(state.remove(int(path[len("/faults/") :])))}
            return 405, {"error": f"{method} {path} is not allowed"}
        return 404, {"error": f"no {path}: see /faults"}


def describe(rule: FaultRule, now: float) -> dict[str, Any]:
    """A rule as JSON, with Kafka's names of its API and error beside their numbers."""
    known = APIS.get(rule.api_key)
    names = {"api": known.name if known is not None else str(rule.api_key)}
    if rule.kind == "error":
        try:
            names["error"] = ErrorCode(rule.error_code).name
        except ValueError:
            names["error"] = str(rule.error_code)
    return {**names, **rule.describe(now)}


def rule_arguments(spec: dict[str, Any]) -> dict[str, Any]:
    """A POSTed rule as ``FaultState.add``'s arguments; ValueError names what is wrong."""
    known = {"api", "error", "delay_ms", "drop", "topic", "partition", "count", "duration_ms"}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}; known: {sorted(known)}")
    if "api" not in spec:
        raise ValueError("'api' is required (a name such as 'Produce', or an API key)")
    kinds = [k for k in ("error", "delay_ms", "drop") if spec.get(k) not in (None, False)]
    if len(kinds) != 1:
        raise ValueError("give exactly one of 'error', 'delay_ms' or 'drop'")
    kind = {"error": "error", "delay_ms": "delay", "drop": "drop"}[kinds[0]]
    return {
        "api_key": api_key(spec["api"]),
        "kind": kind,
        "error_code": error_code(spec["error"]) if kind == "error" else 0,
        "delay_ms": int(spec["delay_ms"]) if kind == "delay" else 0,
        "topic": spec.get("topic"),
        "partition": None if spec.get("partition") is None else int(spec["partition"]),
        "count": None if spec.get("count") is None else int(spec["count"]),
        "duration_ms": None if spec.get("duration_ms") is None else int(spec["duration_ms"]),
    }


def api_key(value: Any) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        if int(value) not in APIS:
            raise ValueError(f"no API has key {value}")
        return int(value)
    wanted = str(value).replace("_", "").replace("-", "").lower()
    for key, known in APIS.items():
        if known.name.lower() == wanted:
            return key
    raise ValueError(f"unknown API {value!r} (Kafka's names: Produce, Fetch, ListOffsets, Metadata, ...)")


def error_code(value: Any) -> int:
    try:
        if isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit()):
            return int(ErrorCode(int(value)))
        return int(ErrorCode[str(value).upper()])
    except (KeyError, ValueError):
        raise ValueError(f"unknown Kafka error code {value!r}") from None
