"""API version profiles: which Kafka release the broker presents itself as (``kafkish.api.version.profile``).

The default, ``3.9``, is Kafka 3.9's ApiVersions maxima for every API the broker serves (DescribeTopicPartitions
as a 3.9 KRaft broker has it): one coherent release, so that every client infers the same broker version
(kafka-python reads a 4.0 broker from ListOffsets v10, which kafkish's handler supports but 3.9 does not).
One exception, kept on purpose: ConsumerGroupHeartbeat v1, the version of KIP-848's general availability
(Kafka 4.0), where 3.9 had the early-access v0: librdkafka's ``group.protocol=consumer`` needs v1, and no
client infers the broker's release from it.
An older profile caps each API at that release's maximum and leaves out the APIs it did not have, for
testing applications against an older cluster; the handlers serve every version down to 0.

Applying a profile narrows the dispatcher's registrations, so ApiVersions, the connection's version check
(a request above the advertised version is refused as unsupported) and the handlers agree. The maxima
are what brokers of those releases answer ApiVersions with, for the API keys kafkish serves.
"""

from __future__ import annotations

from dataclasses import replace

from broker.dispatcher import HANDLERS, Registration
from protocol.schema import VersionRange

DEFAULT_PROFILE = "3.9"

# Kafka release -> {API key: the highest version it advertises}; keys it does not serve are absent.
PROFILES: dict[str, dict[int, int]] = {
    "2.4": {
        0: 8, 1: 11, 2: 5, 3: 9, 8: 8, 9: 6, 10: 3, 11: 6, 12: 4, 13: 4, 14: 4, 15: 5, 16: 3, 18: 3, 19: 5,
        20: 4, 21: 1, 22: 2, 23: 3, 32: 2, 33: 1, 34: 1, 35: 1, 37: 1, 42: 2, 43: 2, 44: 1, 45: 0, 46: 0, 47: 0,
    },
    "2.8": {
        0: 9, 1: 12, 2: 6, 3: 11, 8: 8, 9: 7, 10: 3, 11: 7, 12: 4, 13: 4, 14: 5, 15: 5, 16: 4, 18: 3, 19: 7,
        20: 6, 21: 2, 22: 4, 23: 4, 32: 4, 33: 2, 34: 2, 35: 2, 37: 3, 42: 2, 43: 2, 44: 1, 45: 0, 46: 0, 47: 0, 60: 0,
    },
    "3.0": {
        0: 9, 1: 12, 2: 7, 3: 11, 8: 8, 9: 8, 10: 4, 11: 7, 12: 4, 13: 4, 14: 5, 15: 5, 16: 4, 18: 3, 19: 7,
        20: 6, 21: 2, 22: 4, 23: 4, 32: 4, 33: 2, 34: 2, 35: 2, 37: 3, 42: 2, 43: 2, 44: 1, 45: 0, 46: 0, 47: 0, 60: 0,
    },
    "3.9": {
        0: 11, 1: 17, 2: 9, 3: 12, 8: 9, 9: 9, 10: 6, 11: 9, 12: 4, 13: 5, 14: 5, 15: 5, 16: 5, 18: 4, 19: 7,
        20: 6, 21: 2, 22: 5, 23: 4, 32: 4, 33: 2, 34: 2, 35: 4, 37: 3, 42: 2, 43: 2, 44: 1, 45: 0, 46: 0, 47: 0, 60: 1,
        68: 1, 69: 0, 75: 0,
    },
}  # fmt: skip


_FULL: dict[int, Registration] = {}  # the registrations as the handlers declared them


def apply_profile(name: str) -> None:
    """Cap every registered handler at profile ``name``'s maxima and drop the APIs it lacks (from the
    handlers' own ranges each time, so applying another profile later starts afresh). Call at start-up,
    after ``broker.handlers.load()``; raises KeyError for an unknown profile."""
    maxima = PROFILES[name]
    if not _FULL:
        _FULL.update(HANDLERS)
    HANDLERS.clear()
    for key, registration in _FULL.items():
        high = min(registration.max_version, maxima.get(key, -1))
        if high >= registration.min_version:
            HANDLERS[key] = replace(registration, versions=VersionRange(registration.min_version, high))
