"""``kafkish broker-api-versions``: kafka-broker-api-versions.sh. For every broker of the cluster::

    127.0.0.1:9092 (id: 0 rack: null) -> (
    \tProduce(0): 0 to 11 [usable: 11],
    \tLeaderAndIsr(4): UNSUPPORTED,
    ...
    )

The APIs listed are those Kafka's tool lists, by key and name, in its order. Kafka's tool writes as
"usable" the newest version both the broker and its own Java client speak; this tool has no client
version cap of its own, so "usable" is the broker's newest version. Each broker is asked at its
advertised address over one connection of its own (aiokafka's connection and codecs).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from kafkish.cli._common import add_bootstrap, fail, out
from kafkish.cli.doctor import _metadata

# API keys and names as Kafka's tool lists them (client-facing APIs; controller-only ones left out).
API_NAMES = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 4: "LeaderAndIsr", 5: "StopReplica",
    6: "UpdateMetadata", 7: "ControlledShutdown", 8: "OffsetCommit", 9: "OffsetFetch", 10: "FindCoordinator",
    11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup", 15: "DescribeGroups", 16: "ListGroups",
    17: "SaslHandshake", 18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics", 21: "DeleteRecords",
    22: "InitProducerId", 23: "OffsetForLeaderEpoch", 24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn",
    26: "EndTxn", 27: "WriteTxnMarkers", 28: "TxnOffsetCommit", 29: "DescribeAcls", 30: "CreateAcls",
    31: "DeleteAcls", 32: "DescribeConfigs", 33: "AlterConfigs", 34: "AlterReplicaLogDirs", 35: "DescribeLogDirs",
    36: "SaslAuthenticate", 37: "CreatePartitions", 38: "CreateDelegationToken", 39: "RenewDelegationToken",
    40: "ExpireDelegationToken", 41: "DescribeDelegationToken", 42: "DeleteGroups", 43: "ElectLeaders",
    44: "IncrementalAlterConfigs", 45: "AlterPartitionReassignments", 46: "ListPartitionReassignments",
    47: "OffsetDelete", 48: "DescribeClientQuotas", 49: "AlterClientQuotas", 50: "DescribeUserScramCredentials",
    51: "AlterUserScramCredentials", 55: "DescribeQuorum", 56: "AlterPartition", 57: "UpdateFeatures",
    58: "Envelope", 60: "DescribeCluster", 61: "DescribeProducers", 64: "UnregisterBroker",
    65: "DescribeTransactions", 66: "ListTransactions", 67: "AllocateProducerIds", 68: "ConsumerGroupHeartbeat",
    69: "ConsumerGroupDescribe", 71: "GetTelemetrySubscriptions", 72: "PushTelemetry",
    74: "ListClientMetricsResources", 75: "DescribeTopicPartitions", 76: "ShareGroupHeartbeat",
    77: "ShareGroupDescribe", 78: "ShareFetch", 79: "ShareAcknowledge", 80: "AddRaftVoter", 81: "RemoveRaftVoter",
    83: "InitializeShareGroupState", 84: "ReadShareGroupState", 85: "WriteShareGroupState",
    86: "DeleteShareGroupState", 87: "ReadShareGroupStateSummary",
}  # fmt: skip


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("broker-api-versions", help="API versions of every broker")
    add_bootstrap(p, admin_config=False)
    p.add_argument("--timeout", type=float, default=10.0, help=argparse.SUPPRESS)
    p.set_defaults(run=run)


def api_versions(host: str, port: int, timeout: float) -> dict[int, tuple[int, int]]:
    from aiokafka.conn import create_conn
    from aiokafka.protocol.admin import ApiVersionRequest

    async def ask() -> dict[int, tuple[int, int]]:
        conn = await create_conn(host, port, request_timeout_ms=int(timeout * 1000))
        try:
            answer = await conn.send(ApiVersionRequest())
        finally:
            conn.close()
        return {int(key): (int(low), int(high)) for key, low, high, *_ in answer.api_versions}

    async def bounded() -> dict[int, tuple[int, int]]:
        return await asyncio.wait_for(ask(), timeout)

    return asyncio.run(bounded())


def run(args: argparse.Namespace) -> int:
    metadata = None
    for server in args.bootstrap_server.split(","):
        try:
            metadata = _metadata(args, server.strip())
            break
        except Exception:
            continue
    if metadata is None:
        fail(f"no broker of {args.bootstrap_server} answered")
    for node_id, (host, port) in sorted(metadata.brokers.items()):
        try:
            versions = api_versions(host, port, args.timeout)
        except Exception as exc:
            fail(f"cannot reach broker {node_id} at {host}:{port}: {type(exc).__name__} {exc}")
        out(f"{host}:{port} (id: {node_id} rack: null) -> (")
        lines = []
        for key, name in API_NAMES.items():
            if key in versions:
                low, high = versions[key]
                span = str(low) if low == high else f"{low} to {high}"
                lines.append(f"\t{name}({key}): {span} [usable: {high}]")
            else:
                lines.append(f"\t{name}({key}): UNSUPPORTED")
        out(",\n".join(lines))
        out(")")
    return 0
