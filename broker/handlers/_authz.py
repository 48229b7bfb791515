"""What each API must be authorized for, in one table, and the small helpers handlers ask.

The table is Kafka's ``KafkaApis`` checks (ZooKeeper era, with KIP-679's later relaxations left out):
per API, the operation it needs on each kind of resource it names. A handler asks
``allowed(ctx, ResourceType.TOPIC, name)`` and gets the answer for *its* API from the table, so the
rules live here, not copied into handlers. The error a denial gives is the resource type's
(``DENIED_ERRORS``): TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, and so on.

With no authorizer (``authorizer.class.name`` unset) every helper answers "allowed" after one None
check, so the hot paths pay nothing else. With one, ``broker.security.acl.Authorizer`` caches decisions.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext
from broker.security.acl import CLUSTER_NAME, NOT_REQUESTED, AclOperation, ResourceType, all_operations_mask
from broker.security.principal import ANONYMOUS
from protocol.errors import ErrorCode

Op = AclOperation
RT = ResourceType

# API name -> resource type -> the operation needed on it.
RULES: dict[str, dict[ResourceType, AclOperation]] = {
    "Produce": {RT.TOPIC: Op.WRITE, RT.TRANSACTIONAL_ID: Op.WRITE},
    "Fetch": {RT.TOPIC: Op.READ, RT.CLUSTER: Op.CLUSTER_ACTION},  # CLUSTER: a follower's fetch
    "ListOffsets": {RT.TOPIC: Op.DESCRIBE},
    "Metadata": {RT.TOPIC: Op.DESCRIBE, RT.CLUSTER: Op.CREATE},  # CLUSTER/TOPIC CREATE: auto-creation
    "OffsetForLeaderEpoch": {RT.TOPIC: Op.DESCRIBE, RT.CLUSTER: Op.CLUSTER_ACTION},
    "LeaderAndIsr": {RT.CLUSTER: Op.CLUSTER_ACTION},
    "StopReplica": {RT.CLUSTER: Op.CLUSTER_ACTION},
    "UpdateMetadata": {RT.CLUSTER: Op.CLUSTER_ACTION},
    "ControlledShutdown": {RT.CLUSTER: Op.CLUSTER_ACTION},
    "WriteTxnMarkers": {RT.CLUSTER: Op.CLUSTER_ACTION},
    "OffsetCommit": {RT.GROUP: Op.READ, RT.TOPIC: Op.READ},
    "OffsetFetch": {RT.GROUP: Op.DESCRIBE, RT.TOPIC: Op.DESCRIBE},
    "OffsetDelete": {RT.GROUP: Op.DELETE, RT.TOPIC: Op.READ},
    "FindCoordinator": {RT.GROUP: Op.DESCRIBE, RT.TRANSACTIONAL_ID: Op.DESCRIBE},
    "JoinGroup": {RT.GROUP: Op.READ},
    "SyncGroup": {RT.GROUP: Op.READ},
    "Heartbeat": {RT.GROUP: Op.READ},
    "LeaveGroup": {RT.GROUP: Op.READ},
    "ConsumerGroupHeartbeat": {RT.GROUP: Op.READ, RT.TOPIC: Op.DESCRIBE},
    "ConsumerGroupDescribe": {RT.GROUP: Op.DESCRIBE},
    "DescribeGroups": {RT.GROUP: Op.DESCRIBE},
    "ListGroups": {RT.CLUSTER: Op.DESCRIBE, RT.GROUP: Op.DESCRIBE},  # CLUSTER: all; else those described
    "DeleteGroups": {RT.GROUP: Op.DELETE},
    "CreateTopics": {RT.CLUSTER: Op.CREATE, RT.TOPIC: Op.CREATE},  # either one
    "DeleteTopics": {RT.TOPIC: Op.DELETE},
    "DeleteRecords": {RT.TOPIC: Op.DELETE},
    "CreatePartitions": {RT.TOPIC: Op.ALTER},
    "InitProducerId": {RT.TRANSACTIONAL_ID: Op.WRITE, RT.CLUSTER: Op.IDEMPOTENT_WRITE},
    "AddPartitionsToTxn": {RT.TRANSACTIONAL_ID: Op.WRITE, RT.TOPIC: Op.WRITE},
    "AddOffsetsToTxn": {RT.TRANSACTIONAL_ID: Op.WRITE, RT.GROUP: Op.READ},
    "EndTxn": {RT.TRANSACTIONAL_ID: Op.WRITE},
    "TxnOffsetCommit": {RT.TRANSACTIONAL_ID: Op.WRITE, RT.GROUP: Op.READ, RT.TOPIC: Op.READ},
    "DescribeTransactions": {RT.TRANSACTIONAL_ID: Op.DESCRIBE},
    "ListTransactions": {RT.TRANSACTIONAL_ID: Op.DESCRIBE},
    "DescribeProducers": {RT.TOPIC: Op.READ},
    "CreateAcls": {RT.CLUSTER: Op.ALTER},
    "DeleteAcls": {RT.CLUSTER: Op.ALTER},
    "DescribeAcls": {RT.CLUSTER: Op.DESCRIBE},
    "DescribeLogDirs": {RT.CLUSTER: Op.DESCRIBE},
    "AlterReplicaLogDirs": {RT.CLUSTER: Op.ALTER},
    "ElectLeaders": {RT.CLUSTER: Op.ALTER},
    "AlterPartitionReassignments": {RT.CLUSTER: Op.ALTER},
    "ListPartitionReassignments": {RT.CLUSTER: Op.DESCRIBE},
    "AlterUserScramCredentials": {RT.CLUSTER: Op.ALTER},
    "DescribeUserScramCredentials": {RT.CLUSTER: Op.DESCRIBE},
    "DescribeConfigs": {RT.TOPIC: Op.DESCRIBE_CONFIGS, RT.CLUSTER: Op.DESCRIBE_CONFIGS},
    "AlterConfigs": {RT.TOPIC: Op.ALTER_CONFIGS, RT.CLUSTER: Op.ALTER_CONFIGS},
    "IncrementalAlterConfigs": {RT.TOPIC: Op.ALTER_CONFIGS, RT.CLUSTER: Op.ALTER_CONFIGS},
    "DescribeTopicPartitions": {RT.TOPIC: Op.DESCRIBE},
}

DENIED_ERRORS: dict[ResourceType, ErrorCode] = {
    RT.TOPIC: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    RT.GROUP: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    RT.CLUSTER: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    RT.TRANSACTIONAL_ID: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    RT.DELEGATION_TOKEN: ErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED,
}


def enabled(ctx: RequestContext) -> bool:
    return ctx.components.authorizer is not None


def principal(ctx: RequestContext) -> str:
    """Kafka's principal of the connection: SASL's user, the certificate's mapped DN, else User:ANONYMOUS."""
    return ctx.security.principal if ctx.security is not None else ANONYMOUS


def allowed(ctx: RequestContext, resource_type: ResourceType, name: str = CLUSTER_NAME) -> bool:
    """May this request's principal do what its API needs (``RULES``) on the resource?"""
    authorizer = ctx.components.authorizer
    if authorizer is None:
        return True
    operation = RULES[ctx.api.name][resource_type]
    return authorizer.authorize(principal(ctx), ctx.client_host, operation, resource_type, name)


def allowed_to(ctx: RequestContext, operation: AclOperation, resource_type: ResourceType, name: str) -> bool:
    """The same for an operation the table cannot hold (one API needing two on a type)."""
    authorizer = ctx.components.authorizer
    if authorizer is None:
        return True
    return authorizer.authorize(principal(ctx), ctx.client_host, operation, resource_type, name)


def cluster_allowed(ctx: RequestContext) -> bool:
    return allowed(ctx, RT.CLUSTER)


def denied_error(resource_type: ResourceType) -> ErrorCode:
    return DENIED_ERRORS[resource_type]


def authorized_operations(ctx: RequestContext, requested: bool, resource_type: ResourceType, name: str) -> int:
    """An authorized-operations answer: Kafka's not-requested value, every supported operation with no
    authorizer, else the bits of those the principal may do."""
    if not requested:
        return NOT_REQUESTED
    authorizer = ctx.components.authorizer
    if authorizer is None:
        return all_operations_mask(resource_type)
    return authorizer.authorized_operations(principal(ctx), ctx.client_host, resource_type, name)
