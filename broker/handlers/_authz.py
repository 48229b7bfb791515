"""What each API must be authorized for, in one table, and the small helpers handlers ask.

The table is Kafka's ``KafkaApis`` checks (ZooKeeper era; an idempotent InitProducerId also passes with
WRITE on some topic, KIP-679, so today's idempotent-by-default producers start): per API, the
operation it needs on each kind of resource it names. A handler asks
``allowed(ctx, ResourceType.TOPIC, name)`` and gets the answer for *its* API from the table, so the
rules live here, not copied into handlers. The error a denial gives is the resource type's
(``DENIED_ERRORS``): TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, and so on.

With no authorizer (``authorizer.class.name`` unset) every helper answers "allowed" after one None
check, so the hot paths pay nothing else. With one, ``broker.security.acl.Authorizer`` caches decisions.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext
from broker.handlers._partitions import PartitionError
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
    "WriteTxnMarkers": {RT.CLUSTER: Op.CLUSTER_ACTION},
    "AlterPartition": {RT.CLUSTER: Op.CLUSTER_ACTION},
    "ControlledShutdown": {RT.CLUSTER: Op.CLUSTER_ACTION},
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
    "AddPartitionsToTxn": {RT.TRANSACTIONAL_ID: Op.WRITE, RT.TOPIC: Op.WRITE, RT.CLUSTER: Op.CLUSTER_ACTION},  # v4+
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
    "DescribeClientQuotas": {RT.CLUSTER: Op.DESCRIBE_CONFIGS},
    "AlterClientQuotas": {RT.CLUSTER: Op.ALTER_CONFIGS},
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


def cluster_denied_message(ctx: RequestContext) -> str:
    """Kafka's message for a request refused for want of its cluster permission (``AuthHelper``'s
    ``authorizeClusterOperation``): the request as Kafka's ``RequestChannel.Request`` prints itself."""
    protocol = ctx.security.listener.protocol if ctx.security is not None else "PLAINTEXT"
    return (
        f"Request Request(processor=0, connectionId={ctx.connection_id}, "
        f"session=Session({principal(ctx)},/{ctx.client_host}), listenerName=ListenerName({ctx.listener}), "
        f"securityProtocol={protocol}, buffer=null) is not authorized."
    )


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


def produce_denied(ctx: RequestContext, transactional_id: str | None, topic: str) -> PartitionError | None:
    """Produce: WRITE on the transactional id (if any), then WRITE on the topic."""
    if transactional_id and not allowed(ctx, RT.TRANSACTIONAL_ID, transactional_id):
        return PartitionError(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    if not allowed(ctx, RT.TOPIC, topic):
        return PartitionError(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    return None


def replica_or_topic_allowed(ctx: RequestContext, replica_id: int, topic: str) -> bool:
    """Fetch, OffsetForLeaderEpoch: a follower (replica id >= 0) needs CLUSTER_ACTION on the cluster, a
    client what ``RULES`` say on the topic."""
    if replica_id >= 0:
        return allowed(ctx, RT.CLUSTER)
    return allowed(ctx, RT.TOPIC, topic)


def create_topic_allowed(ctx: RequestContext, topic: str) -> bool:
    """CreateTopics and Metadata's auto-creation: CREATE on the cluster, or else on the topic."""
    return allowed_to(ctx, Op.CREATE, RT.CLUSTER, CLUSTER_NAME) or allowed_to(ctx, Op.CREATE, RT.TOPIC, topic)


def init_producer_id_denied(ctx: RequestContext, transactional_id: str | None) -> ErrorCode | None:
    """InitProducerId: WRITE on the transactional id; without one (idempotence) IDEMPOTENT_WRITE on the
    cluster, or WRITE on some topic (KIP-679, which lets today's idempotent-by-default producers start)."""
    authorizer = ctx.components.authorizer
    if authorizer is None:
        return None
    if transactional_id is not None:
        return None if allowed(ctx, RT.TRANSACTIONAL_ID, transactional_id) else DENIED_ERRORS[RT.TRANSACTIONAL_ID]
    if allowed(ctx, RT.CLUSTER) or authorizer.allows_any(principal(ctx), ctx.client_host, Op.WRITE, RT.TOPIC):
        return None
    return DENIED_ERRORS[RT.CLUSTER]


def txn_partitions_denied(
    ctx: RequestContext, transactional_id: str, partitions: list[tuple[str, int]]
) -> dict[tuple[str, int], ErrorCode] | None:
    """AddPartitionsToTxn: WRITE on the transactional id, then on every topic (the others of a request
    with a denied topic are OPERATION_NOT_ATTEMPTED, as Kafka answers)."""
    if ctx.components.authorizer is None:
        return None
    if not allowed(ctx, RT.TRANSACTIONAL_ID, transactional_id):
        return dict.fromkeys(partitions, DENIED_ERRORS[RT.TRANSACTIONAL_ID])
    denied = {tp for tp in partitions if not allowed(ctx, RT.TOPIC, tp[0])}
    if not denied:
        return None
    return {tp: DENIED_ERRORS[RT.TOPIC] if tp in denied else ErrorCode.OPERATION_NOT_ATTEMPTED for tp in partitions}


def txn_offsets_denied(ctx: RequestContext, transactional_id: str, group_id: str) -> ErrorCode | None:
    """TxnOffsetCommit: WRITE on the transactional id, READ on the group (topics: per partition)."""
    if not allowed(ctx, RT.TRANSACTIONAL_ID, transactional_id):
        return DENIED_ERRORS[RT.TRANSACTIONAL_ID]
    if not allowed(ctx, RT.GROUP, group_id):
        return DENIED_ERRORS[RT.GROUP]
    return None


CONFIG_TOPIC, CONFIG_BROKER, CONFIG_BROKER_LOGGER = 2, 4, 8  # the config APIs' own resource type codes


def config_resource_denied(ctx: RequestContext, config_resource_type: int, name: str) -> ErrorCode | None:
    """DescribeConfigs, AlterConfigs, IncrementalAlterConfigs: a topic needs (DESCRIBE|ALTER)_CONFIGS on
    the topic, a broker or broker logger on the cluster (TOPIC/CLUSTER_AUTHORIZATION_FAILED)."""
    if ctx.components.authorizer is None:
        return None
    if config_resource_type == CONFIG_TOPIC:
        return None if allowed(ctx, RT.TOPIC, name) else DENIED_ERRORS[RT.TOPIC]
    if config_resource_type in (CONFIG_BROKER, CONFIG_BROKER_LOGGER):
        return None if allowed(ctx, RT.CLUSTER) else DENIED_ERRORS[RT.CLUSTER]
    return None
