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

# Kafka release -> {API key: the highest version a ZooKeeper-mode broker of it advertises}, client APIs
# and inter-broker ones (LeaderAndIsr, UpdateMetadata, WriteTxnMarkers, ...) alike; keys it did not
# serve are absent. A key missing here is dropped from ApiVersions and refused: every API a handler
# serves must appear in the default profile (tests/clients/test_version_profiles.py checks it).
PROFILES: dict[str, dict[int, int]] = {
    "2.4": {
        0: 8, 1: 11, 2: 5, 3: 9, 4: 4, 5: 2, 6: 6, 7: 3, 8: 8, 9: 6, 10: 3, 11: 6, 12: 4, 13: 4, 14: 4, 15: 5,
        16: 3, 17: 1, 18: 3, 19: 5, 20: 4, 21: 1, 22: 2, 23: 3, 24: 1, 25: 1, 26: 1, 27: 0, 28: 2, 29: 1, 30: 1,
        31: 1, 32: 2, 33: 1, 34: 1, 35: 1, 36: 1, 37: 1, 38: 2, 39: 1, 40: 1, 41: 1, 42: 2, 43: 2, 44: 1, 45: 0,
        46: 0, 47: 0,
    },
    "2.8": {
        0: 9, 1: 12, 2: 6, 3: 11, 4: 5, 5: 3, 6: 7, 7: 3, 8: 8, 9: 7, 10: 3, 11: 7, 12: 4, 13: 4, 14: 5, 15: 5,
        16: 4, 17: 1, 18: 3, 19: 7, 20: 6, 21: 2, 22: 4, 23: 4, 24: 3, 25: 3, 26: 3, 27: 1, 28: 3, 29: 2, 30: 2,
        31: 2, 32: 4, 33: 2, 34: 2, 35: 2, 36: 2, 37: 3, 38: 2, 39: 2, 40: 2, 41: 2, 42: 2, 43: 2, 44: 1, 45: 0,
        46: 0, 47: 0, 48: 1, 49: 1, 50: 0, 51: 0, 56: 0, 57: 0, 60: 0,
    },
    "3.0": {
        0: 9, 1: 12, 2: 7, 3: 11, 4: 5, 5: 3, 6: 7, 7: 3, 8: 8, 9: 8, 10: 4, 11: 7, 12: 4, 13: 4, 14: 5, 15: 5,
        16: 4, 17: 1, 18: 3, 19: 7, 20: 6, 21: 2, 22: 4, 23: 4, 24: 3, 25: 3, 26: 3, 27: 1, 28: 3, 29: 2, 30: 2,
        31: 2, 32: 4, 33: 2, 34: 2, 35: 2, 36: 2, 37: 3, 38: 2, 39: 2, 40: 2, 41: 2, 42: 2, 43: 2, 44: 1, 45: 0,
        46: 0, 47: 0, 48: 1, 49: 1, 50: 0, 51: 0, 56: 0, 57: 0, 60: 0, 61: 0, 65: 0, 66: 0,
    },
    "3.9": {
        0: 11, 1: 17, 2: 9, 3: 12, 4: 7, 5: 4, 6: 8, 7: 3, 8: 9, 9: 9, 10: 6, 11: 9, 12: 4, 13: 5, 14: 5, 15: 5,
        16: 5, 17: 1, 18: 4, 19: 7, 20: 6, 21: 2, 22: 5, 23: 4, 24: 5, 25: 4, 26: 4, 27: 1, 28: 4, 29: 3, 30: 3,
        31: 3, 32: 4, 33: 2, 34: 2, 35: 4, 36: 2, 37: 3, 38: 3, 39: 2, 40: 2, 41: 3, 42: 2, 43: 2, 44: 1, 45: 0,
        46: 0, 47: 0, 48: 1, 49: 1, 50: 0, 51: 0, 56: 3, 57: 1, 60: 1, 61: 0, 64: 0, 65: 0, 66: 1, 68: 1, 69: 0,
        71: 0, 72: 0, 74: 0, 75: 0,
    },
}  # fmt: skip


# Versions Kafka's message specs mark unstable (``latestVersionUnstable``) in a release: advertised only
# with ``unstable.api.versions.enable``, as Kafka's brokers do. 3.9: EndTxn v5 (KIP-890 part 2).
UNSTABLE: dict[str, dict[int, int]] = {"3.9": {26: 5}}

_FULL: dict[int, Registration] = {}  # the registrations as the handlers declared them


def apply_profile(name: str, unstable: bool = False) -> None:
    """Cap every registered handler at profile ``name``'s maxima (raised to its unstable versions when
    ``unstable``) and drop the APIs it lacks (from the handlers' own ranges each time, so applying
    another profile later starts afresh). Call at start-up, after ``broker.handlers.load()``; raises
    KeyError for an unknown profile."""
    maxima = PROFILES[name]
    if unstable:
        maxima = {**maxima, **UNSTABLE.get(name, {})}
    if not _FULL:
        _FULL.update(HANDLERS)
    HANDLERS.clear()
    for key, registration in _FULL.items():
        high = min(registration.max_version, maxima.get(key, -1))
        if high >= registration.min_version:
            HANDLERS[key] = replace(registration, versions=VersionRange(registration.min_version, high))
