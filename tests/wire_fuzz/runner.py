"""The wire fuzzer's run: requests out over one socket, the invariant checked after each.

See the package's docstring for the invariant; an answer's error codes must also be Kafka's, and
never UNKNOWN_SERVER_ERROR (a handler that maps a bug to it hides a traceback).
Not thread-safe: one ``Fuzzer`` per thread.
"""

from __future__ import annotations

import random
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from protocol import codec
from protocol.api import APIS, Api
from protocol.errors import ErrorCode
from protocol.headers import RequestHeader, decode_response, encode_request
from protocol.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
from protocol.messages.create_topics import CREATE_TOPICS, CreatableTopic, CreatableTopicConfig, CreateTopicsRequest
from protocol.messages.metadata import METADATA, MetadataRequest, MetadataRequestTopic, MetadataResponse
from protocol.schema import Struct
from tests.wire_fuzz.requests import SPECIAL_CONFIGS, TOPICS, Case, learn, make_case

API_VERSIONS = 18
BAD_MARKERS = ("failed in its handler", "Traceback", "after a broker error")
ANSWER_TIMEOUT_S = 15.0
_KAFKA_CODES = {int(code) for code in ErrorCode}
CLOSE_LINE_WAIT_S = 10.0  # the line is logged before the socket closes: it comes at once
_PIPELINED = [1, 1, 1, 1, 1, 1, 2, 3, 5]  # how many requests go out before their answers are read


@dataclass
class Finding:
    """One broken invariant and the request that broke it."""

    api: str
    version: int
    what: str
    request: str
    log: str = ""

    def __str__(self) -> str:
        return f"{self.api} v{self.version}: {self.what}\n  request: {self.request[:600]}\n  log: {self.log[-3000:]}"


@dataclass
class Stats:
    requests: int = 0
    answers: int = 0
    closes: int = 0
    by_api: dict[str, int] = field(default_factory=dict)
    codes: Counter[tuple[str, int]] = field(default_factory=Counter)  # (API, error code) in answers
    findings: list[Finding] = field(default_factory=list)


# --- the run --------------------------------------------------------------------------------------
class Fuzzer:
    """Sends cases to one broker at ``port``; ``log`` returns the broker's output so far."""

    def __init__(self, port: int, log: Callable[[], str], seed: int, odd: float = 0.35) -> None:
        self.port = port
        self.log = log
        self.rng = random.Random(seed)
        self.odd = odd  # how often a field's value is a hostile one
        self.stats = Stats()
        self.sock: socket.socket | None = None
        self.correlation_id = 0
        self.log_seen = 0
        self.topic_ids: list[bytes] = []
        self.learned: dict[str, list[Any]] = {}

    def targets(self) -> list[tuple[Api, int]]:
        """Every (API, version) the broker advertises, from its own ApiVersions answer."""
        answer = self.api_versions(self.connect())
        assert answer is not None, "the broker does not answer ApiVersions"
        return [
            (APIS[key.api_key], version)
            for key in answer.api_keys
            if key.api_key in APIS
            for version in range(key.min_version, key.max_version + 1)
        ]

    def connect(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=ANSWER_TIMEOUT_S)
        return self.sock

    def drop(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def create_topics(self) -> None:
        """The pool's topics with 3 partitions each, the last one with ``SPECIAL_CONFIGS``, and their ids
        (for fields that take a topic id)."""
        topics = [CreatableTopic(name=name, num_partitions=3, replication_factor=1) for name in TOPICS]
        topics[-1].configs = [CreatableTopicConfig(name=k, value=v) for k, v in SPECIAL_CONFIGS.items()]
        self.request(CREATE_TOPICS, 5, CreateTopicsRequest(topics=topics, timeout_ms=10_000))
        answer = self.request(METADATA, 12, MetadataRequest(topics=[MetadataRequestTopic(name=t) for t in TOPICS]))
        assert isinstance(answer, MetadataResponse)
        self.topic_ids = [topic.topic_id for topic in answer.topics if topic.error_code == 0]
        assert len(self.topic_ids) == len(TOPICS), answer

    def request(self, api: Api, version: int, body: Struct) -> Struct:
        """A well-formed request and its answer, for set-up."""
        self.correlation_id += 1
        header = RequestHeader(
            request_api_key=api.key, request_api_version=version, correlation_id=self.correlation_id, client_id="fuzz"
        )
        sock = self.connect()
        sock.sendall(encode_request(header, body))
        frame = _read_frame(sock)
        assert frame is not None, f"the broker closed the connection on a well-formed {api.name} request"
        return decode_response(api, version, frame)[1]

    def run(self, rounds: int, targets: list[tuple[Api, int]] | None = None) -> Stats:
        """``rounds`` requests for each target, in a shuffled order, some of them pipelined."""
        targets = targets if targets is not None else self.targets()
        order = [t for t in targets for _ in range(rounds)]
        self.rng.shuffle(order)
        i = 0
        while i < len(order):
            count = self.rng.choice(_PIPELINED)
            self.send(order[i : i + count])
            i += count
        self.check_log(None, final=True)
        self.drop()
        return self.stats

    def send(self, targets: list[tuple[Api, int]]) -> None:
        """One request for each target, all written before the answers are read (they must come back
        in order); an ApiVersions request follows them when one of them gets no answer."""
        cases = []
        for api, version in targets:
            self.correlation_id += 1
            cases.append(make_case(api, version, self.rng, self.topic_ids, self.learned, self.correlation_id, self.odd))
            self.stats.requests += 1
            self.stats.by_api[api.name] = self.stats.by_api.get(api.name, 0) + 1
        sock = self.connect()
        host, port = sock.getsockname()[:2]
        local = f"{host}:{port}"
        waiting = [case for case in cases if case.expects_answer]
        last = cases[-1]
        try:
            frames = b"".join(case.frame for case in cases)
            if len(waiting) < len(cases):  # an acks=0 produce gets no answer: ApiVersions behind it must
                self.correlation_id += 1
                frames += _api_versions_frame(self.correlation_id)
            sock.sendall(frames)
            unanswered = [case for case in cases if not case.expects_answer]
            while waiting:
                last = waiting[0]
                frame = _read_frame(sock)
                if frame is None:
                    break
                self.expect_answer(waiting.pop(0), frame)
            if not waiting:
                if not unanswered:
                    return
                last = unanswered[0]
                frame = _read_frame(sock)
                if frame is not None:
                    self.expect_api_versions(last, frame)
                    return
        except TimeoutError:
            self.find(last, f"no answer in {ANSWER_TIMEOUT_S}s")
            self.drop()
            return
        except (ConnectionResetError, BrokenPipeError):
            pass
        # The broker closed the connection: one log line, no traceback, and the broker still answers.
        self.stats.closes += 1
        self.drop()
        self.wait_for_line(last, local, most=1 if len(cases) == 1 else 2)
        self.check_log(last)
        if self.api_versions(self.connect()) is None:
            self.find(last, "a fresh connection got no ApiVersions answer after the close")
            self.drop()

    def expect_answer(self, case: Case, frame: bytes) -> None:
        try:
            header, body = decode_response(case.api, case.version, frame)
        except Exception as exc:
            self.find(case, f"the answer does not decode: {exc}")
            return
        codes: set[int] = set()
        learn(body, self.learned, codes)
        for code in codes:
            self.stats.codes[(case.api.name, code)] += 1
            if code not in _KAFKA_CODES or code == ErrorCode.UNKNOWN_SERVER_ERROR:
                self.find(case, f"error code {code} in the answer: not a specific Kafka error code")
        if header.correlation_id != case.correlation_id:
            self.find(case, f"answer to correlation id {header.correlation_id}, not {case.correlation_id}")
        self.stats.answers += 1

    def expect_api_versions(self, case: Case, frame: bytes) -> None:
        (correlation_id,) = struct.unpack_from(">i", frame)
        if correlation_id != self.correlation_id:
            self.find(case, f"an acks=0 produce was answered (correlation id {correlation_id})")
        self.stats.answers += 1

    def api_versions(self, sock: socket.socket) -> ApiVersionsResponse | None:
        self.correlation_id += 1
        try:
            sock.sendall(_api_versions_frame(self.correlation_id))
            frame = _read_frame(sock)
        except OSError:
            return None
        if frame is None:
            return None
        _, body = decode_response(APIS[API_VERSIONS], 3, frame)
        assert isinstance(body, ApiVersionsResponse)
        return body

    def wait_for_line(self, case: Case, local: str, most: int = 1) -> None:
        """The one line the broker logs about a connection it closes (``local`` is our address). A
        pipelined batch may leave up to ``most``: a failed acks=0 produce closes the connection with
        a line, and a request read behind it that does not decode adds its own."""
        deadline = time.monotonic() + CLOSE_LINE_WAIT_S
        while time.monotonic() < deadline and local not in self.log()[self.log_seen :]:
            time.sleep(0.01)
        time.sleep(0.02)  # a traceback or a second line follows at once, if there is one
        new = self.log()[self.log_seen :]
        lines = [line for line in new.splitlines() if f"{local} " in line or f"{local}:" in line]
        if not 1 <= len(lines) <= most or any("closing" not in line for line in lines):
            self.find(case, f"{len(lines)} log lines about the closed connection, not one", new)

    def check_log(self, case: Case | None, final: bool = False) -> None:
        text = self.log()
        new, self.log_seen = text[self.log_seen :], len(text)
        if any(marker in new for marker in BAD_MARKERS):
            if case is None:
                self.stats.findings.append(Finding("?", -1, "a traceback in the broker's log", "", new))
            else:
                self.find(case, "the broker logged a traceback", new)

    def find(self, case: Case, what: str, log: str = "") -> None:
        self.stats.findings.append(Finding(case.api.name, case.version, what, repr(case.body), log))


_SOFTWARE = ApiVersionsRequest(client_software_name="kafkish-fuzz", client_software_version="1")


def _api_versions_frame(correlation_id: int) -> bytes:
    header = RequestHeader(request_api_key=API_VERSIONS, request_api_version=3, correlation_id=correlation_id)
    payload = codec.encode(header, 2) + codec.encode(_SOFTWARE, 3)
    return struct.pack(">i", len(payload)) + payload


def _read_frame(sock: socket.socket) -> bytes | None:
    """One response frame, or None when the broker closed the connection."""
    head = _read_exactly(sock, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">i", head)
    return _read_exactly(sock, size)


def _read_exactly(sock: socket.socket, n: int) -> bytes | None:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            return None
        out += chunk
    return bytes(out)
