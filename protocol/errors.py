"""Kafka's error codes, with whether a client may retry and a short description of each.

The numbers and names are Kafka's (``org.apache.kafka.common.protocol.Errors``); ``retriable`` is
true exactly where Kafka's exception for the code is a ``RetriableException``, because clients decide
from it whether to retry. Code 99 is unassigned in Kafka, so it has no member here.
"""

from __future__ import annotations

import enum

__all__ = ["ErrorCode"]


class ErrorCode(enum.IntEnum):
    UNKNOWN_SERVER_ERROR = -1
    NONE = 0
    OFFSET_OUT_OF_RANGE = 1
    CORRUPT_MESSAGE = 2
    UNKNOWN_TOPIC_OR_PARTITION = 3
    INVALID_FETCH_SIZE = 4
    LEADER_NOT_AVAILABLE = 5
    NOT_LEADER_OR_FOLLOWER = 6
    REQUEST_TIMED_OUT = 7
    BROKER_NOT_AVAILABLE = 8
    REPLICA_NOT_AVAILABLE = 9
    MESSAGE_TOO_LARGE = 10
    STALE_CONTROLLER_EPOCH = 11
    OFFSET_METADATA_TOO_LARGE = 12
    NETWORK_EXCEPTION = 13
    COORDINATOR_LOAD_IN_PROGRESS = 14
    COORDINATOR_NOT_AVAILABLE = 15
    NOT_COORDINATOR = 16
    INVALID_TOPIC_EXCEPTION = 17
    RECORD_LIST_TOO_LARGE = 18
    NOT_ENOUGH_REPLICAS = 19
    NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20
    INVALID_REQUIRED_ACKS = 21
    ILLEGAL_GENERATION = 22
    INCONSISTENT_GROUP_PROTOCOL = 23
    INVALID_GROUP_ID = 24
    UNKNOWN_MEMBER_ID = 25
    INVALID_SESSION_TIMEOUT = 26
    REBALANCE_IN_PROGRESS = 27
    INVALID_COMMIT_OFFSET_SIZE = 28
    TOPIC_AUTHORIZATION_FAILED = 29
    GROUP_AUTHORIZATION_FAILED = 30
    CLUSTER_AUTHORIZATION_FAILED = 31
    INVALID_TIMESTAMP = 32
    UNSUPPORTED_SASL_MECHANISM = 33
    ILLEGAL_SASL_STATE = 34
    UNSUPPORTED_VERSION = 35
    TOPIC_ALREADY_EXISTS = 36
    INVALID_PARTITIONS = 37
    INVALID_REPLICATION_FACTOR = 38
    INVALID_REPLICA_ASSIGNMENT = 39
    INVALID_CONFIG = 40
    NOT_CONTROLLER = 41
    INVALID_REQUEST = 42
    UNSUPPORTED_FOR_MESSAGE_FORMAT = 43
    POLICY_VIOLATION = 44
    OUT_OF_ORDER_SEQUENCE_NUMBER = 45
    DUPLICATE_SEQUENCE_NUMBER = 46
    INVALID_PRODUCER_EPOCH = 47
    INVALID_TXN_STATE = 48
    INVALID_PRODUCER_ID_MAPPING = 49
    INVALID_TRANSACTION_TIMEOUT = 50
    CONCURRENT_TRANSACTIONS = 51
    TRANSACTION_COORDINATOR_FENCED = 52
    TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
    SECURITY_DISABLED = 54
    OPERATION_NOT_ATTEMPTED = 55
    KAFKA_STORAGE_ERROR = 56
    LOG_DIR_NOT_FOUND = 57
    SASL_AUTHENTICATION_FAILED = 58
    UNKNOWN_PRODUCER_ID = 59
    REASSIGNMENT_IN_PROGRESS = 60
    DELEGATION_TOKEN_AUTH_DISABLED = 61
    DELEGATION_TOKEN_NOT_FOUND = 62
    DELEGATION_TOKEN_OWNER_MISMATCH = 63
    DELEGATION_TOKEN_REQUEST_NOT_ALLOWED = 64
    DELEGATION_TOKEN_AUTHORIZATION_FAILED = 65
    DELEGATION_TOKEN_EXPIRED = 66
    INVALID_PRINCIPAL_TYPE = 67
    NON_EMPTY_GROUP = 68
    GROUP_ID_NOT_FOUND = 69
    FETCH_SESSION_ID_NOT_FOUND = 70
    INVALID_FETCH_SESSION_EPOCH = 71
    LISTENER_NOT_FOUND = 72
    TOPIC_DELETION_DISABLED = 73
    FENCED_LEADER_EPOCH = 74
    UNKNOWN_LEADER_EPOCH = 75
    UNSUPPORTED_COMPRESSION_TYPE = 76
    STALE_BROKER_EPOCH = 77
    OFFSET_NOT_AVAILABLE = 78
    MEMBER_ID_REQUIRED = 79
    PREFERRED_LEADER_NOT_AVAILABLE = 80
    GROUP_MAX_SIZE_REACHED = 81
    FENCED_INSTANCE_ID = 82
    ELIGIBLE_LEADERS_NOT_AVAILABLE = 83
    ELECTION_NOT_NEEDED = 84
    NO_REASSIGNMENT_IN_PROGRESS = 85
    GROUP_SUBSCRIBED_TO_TOPIC = 86
    INVALID_RECORD = 87
    UNSTABLE_OFFSET_COMMIT = 88
    THROTTLING_QUOTA_EXCEEDED = 89
    PRODUCER_FENCED = 90
    RESOURCE_NOT_FOUND = 91
    DUPLICATE_RESOURCE = 92
    UNACCEPTABLE_CREDENTIAL = 93
    INCONSISTENT_VOTER_SET = 94
    INVALID_UPDATE_VERSION = 95
    FEATURE_UPDATE_FAILED = 96
    PRINCIPAL_DESERIALIZATION_FAILURE = 97
    SNAPSHOT_NOT_FOUND = 98
    UNKNOWN_TOPIC_ID = 100
    DUPLICATE_BROKER_REGISTRATION = 101
    BROKER_ID_NOT_REGISTERED = 102
    INCONSISTENT_TOPIC_ID = 103
    INCONSISTENT_CLUSTER_ID = 104
    TRANSACTIONAL_ID_NOT_FOUND = 105
    FETCH_SESSION_TOPIC_ID_ERROR = 106
    INELIGIBLE_REPLICA = 107
    NEW_LEADER_ELECTED = 108
    OFFSET_MOVED_TO_TIERED_STORAGE = 109
    FENCED_MEMBER_EPOCH = 110
    UNRELEASED_INSTANCE_ID = 111
    UNSUPPORTED_ASSIGNOR = 112
    STALE_MEMBER_EPOCH = 113
    MISMATCHED_ENDPOINT_TYPE = 114
    UNSUPPORTED_ENDPOINT_TYPE = 115
    UNKNOWN_CONTROLLER_ID = 116
    UNKNOWN_SUBSCRIPTION_ID = 117
    TELEMETRY_TOO_LARGE = 118
    INVALID_REGISTRATION = 119
    TRANSACTION_ABORTABLE = 120
    INVALID_RECORD_STATE = 121
    SHARE_SESSION_NOT_FOUND = 122
    INVALID_SHARE_SESSION_EPOCH = 123
    FENCED_STATE_EPOCH = 124
    INVALID_VOTER_KEY = 125
    DUPLICATE_VOTER = 126
    VOTER_NOT_FOUND = 127
    INVALID_REGULAR_EXPRESSION = 128

    @property
    def retriable(self) -> bool:
        """True where Kafka's client treats the error as transient and retries the request."""
        return self in _RETRIABLE

    @property
    def message(self) -> str:
        """A one-line description of the error, for logs and error messages."""
        return _MESSAGES.get(self, self.name.replace("_", " ").lower())


_RETRIABLE = frozenset(
    {
        ErrorCode.CORRUPT_MESSAGE,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode.LEADER_NOT_AVAILABLE,
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        ErrorCode.REQUEST_TIMED_OUT,
        ErrorCode.REPLICA_NOT_AVAILABLE,
        ErrorCode.NETWORK_EXCEPTION,
        ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        ErrorCode.COORDINATOR_NOT_AVAILABLE,
        ErrorCode.NOT_COORDINATOR,
        ErrorCode.NOT_ENOUGH_REPLICAS,
        ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        ErrorCode.NOT_CONTROLLER,
        ErrorCode.CONCURRENT_TRANSACTIONS,
        ErrorCode.KAFKA_STORAGE_ERROR,
        ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
        ErrorCode.INVALID_FETCH_SESSION_EPOCH,
        ErrorCode.LISTENER_NOT_FOUND,
        ErrorCode.FENCED_LEADER_EPOCH,
        ErrorCode.UNKNOWN_LEADER_EPOCH,
        ErrorCode.OFFSET_NOT_AVAILABLE,
        ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
        ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
        ErrorCode.ELECTION_NOT_NEEDED,
        ErrorCode.UNSTABLE_OFFSET_COMMIT,
        ErrorCode.THROTTLING_QUOTA_EXCEEDED,
        ErrorCode.UNKNOWN_TOPIC_ID,
        ErrorCode.INCONSISTENT_TOPIC_ID,
        ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR,
        ErrorCode.SHARE_SESSION_NOT_FOUND,
        ErrorCode.INVALID_SHARE_SESSION_EPOCH,
    }
)

# Our own wording. Codes whose name says it all fall back to the name in lower case.
_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.UNKNOWN_SERVER_ERROR: "the broker failed in an unexpected way",
    ErrorCode.NONE: "no error",
    ErrorCode.OFFSET_OUT_OF_RANGE: "the requested offset is outside the partition's log",
    ErrorCode.CORRUPT_MESSAGE: "a record batch failed its CRC or is otherwise damaged",
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: "the broker does not host this topic or partition",
    ErrorCode.INVALID_FETCH_SIZE: "the requested fetch size is invalid",
    ErrorCode.LEADER_NOT_AVAILABLE: "the partition has no leader right now (an election is under way)",
    ErrorCode.NOT_LEADER_OR_FOLLOWER: "this broker is not the partition's leader (or a follower of it)",
    ErrorCode.REQUEST_TIMED_OUT: "the request timed out",
    ErrorCode.BROKER_NOT_AVAILABLE: "the broker is not available",
    ErrorCode.REPLICA_NOT_AVAILABLE: "the replica is not available on this broker",
    ErrorCode.MESSAGE_TOO_LARGE: "a record batch is larger than the broker or topic allows",
    ErrorCode.STALE_CONTROLLER_EPOCH: "the request came from a controller that is no longer current",
    ErrorCode.OFFSET_METADATA_TOO_LARGE: "the committed offset's metadata string is too long",
    ErrorCode.NETWORK_EXCEPTION: "the connection was closed before a response arrived",
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS: "the coordinator is still loading its state",
    ErrorCode.COORDINATOR_NOT_AVAILABLE: "the coordinator is not available",
    ErrorCode.NOT_COORDINATOR: "this broker is not the coordinator for that key",
    ErrorCode.INVALID_TOPIC_EXCEPTION: "the topic name is invalid, or the operation is not allowed on it",
    ErrorCode.RECORD_LIST_TOO_LARGE: "the produce payload is larger than the segment size allows",
    ErrorCode.NOT_ENOUGH_REPLICAS: "too few in-sync replicas to accept the write",
    ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND: "written, but fewer in-sync replicas than required hold it",
    ErrorCode.INVALID_REQUIRED_ACKS: "acks must be -1, 0 or 1",
    ErrorCode.ILLEGAL_GENERATION: "the group generation in the request is not the current one",
    ErrorCode.INCONSISTENT_GROUP_PROTOCOL: "the member's protocols do not match the group's",
    ErrorCode.UNKNOWN_MEMBER_ID: "the group does not know this member id",
    ErrorCode.INVALID_SESSION_TIMEOUT: "the session timeout is outside the broker's allowed range",
    ErrorCode.REBALANCE_IN_PROGRESS: "the group is rebalancing; rejoin it",
    ErrorCode.INVALID_COMMIT_OFFSET_SIZE: "the offset commit is too large",
    ErrorCode.INVALID_TIMESTAMP: "a record timestamp is outside the range the topic accepts",
    ErrorCode.UNSUPPORTED_SASL_MECHANISM: "the broker does not offer that SASL mechanism",
    ErrorCode.ILLEGAL_SASL_STATE: "this request is not valid in the current SASL state",
    ErrorCode.UNSUPPORTED_VERSION: "the broker does not support this API version",
    ErrorCode.INVALID_REPLICA_ASSIGNMENT: "the replica assignment is invalid",
    ErrorCode.INVALID_CONFIG: "the configuration is invalid",
    ErrorCode.NOT_CONTROLLER: "this broker is not the controller",
    ErrorCode.INVALID_REQUEST: "the request is malformed or inconsistent",
    ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT: "the topic's message format does not support this request",
    ErrorCode.POLICY_VIOLATION: "the request breaks a configured policy",
    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER: "the broker got a producer sequence number out of order",
    ErrorCode.DUPLICATE_SEQUENCE_NUMBER: "the broker already has a batch with this sequence number",
    ErrorCode.INVALID_PRODUCER_EPOCH: "the producer epoch is older than the current one",
    ErrorCode.INVALID_TXN_STATE: "the operation is not valid in the transaction's current state",
    ErrorCode.INVALID_PRODUCER_ID_MAPPING: "the producer id is not the one mapped to the transactional id",
    ErrorCode.INVALID_TRANSACTION_TIMEOUT: "the transaction timeout exceeds the broker's maximum",
    ErrorCode.CONCURRENT_TRANSACTIONS: "another transaction of this producer is still completing",
    ErrorCode.TRANSACTION_COORDINATOR_FENCED: "a newer transaction coordinator has taken over",
    ErrorCode.SECURITY_DISABLED: "security features are disabled",
    ErrorCode.OPERATION_NOT_ATTEMPTED: "the operation was not attempted because another failed",
    ErrorCode.KAFKA_STORAGE_ERROR: "a disk error on the broker; the replica is offline",
    ErrorCode.LOG_DIR_NOT_FOUND: "the log directory is not configured on the broker",
    ErrorCode.UNKNOWN_PRODUCER_ID: "the broker has no state for this producer id",
    ErrorCode.DELEGATION_TOKEN_AUTH_DISABLED: "delegation token authentication is disabled",
    ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED: "delegation tokens cannot be requested on this channel",
    ErrorCode.INVALID_PRINCIPAL_TYPE: "the principal type is not supported",
    ErrorCode.NON_EMPTY_GROUP: "the group still has members",
    ErrorCode.GROUP_ID_NOT_FOUND: "the group does not exist",
    ErrorCode.FETCH_SESSION_ID_NOT_FOUND: "the fetch session is unknown to the broker",
    ErrorCode.INVALID_FETCH_SESSION_EPOCH: "the fetch session epoch is not the expected one",
    ErrorCode.LISTENER_NOT_FOUND: "the leader has no endpoint for the listener the client used",
    ErrorCode.FENCED_LEADER_EPOCH: "the leader epoch in the request is older than the broker's",
    ErrorCode.UNKNOWN_LEADER_EPOCH: "the leader epoch in the request is newer than the broker's",
    ErrorCode.UNSUPPORTED_COMPRESSION_TYPE: "this request version cannot use that compression codec",
    ErrorCode.STALE_BROKER_EPOCH: "the broker epoch is not the current one",
    ErrorCode.OFFSET_NOT_AVAILABLE: "the leader's high watermark is not yet known",
    ErrorCode.MEMBER_ID_REQUIRED: "join again with the member id the coordinator gave",
    ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE: "the preferred leader is not available",
    ErrorCode.GROUP_MAX_SIZE_REACHED: "the group is at its maximum size",
    ErrorCode.FENCED_INSTANCE_ID: "another member with the same group instance id has joined",
    ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE: "no eligible replica can become leader",
    ErrorCode.ELECTION_NOT_NEEDED: "the leader is already the preferred one",
    ErrorCode.INVALID_RECORD: "a record failed the broker's validation",
    ErrorCode.UNSTABLE_OFFSET_COMMIT: "pending transactional offset commits; try again later",
    ErrorCode.THROTTLING_QUOTA_EXCEEDED: "the request exceeded a throttling quota",
    ErrorCode.PRODUCER_FENCED: "a newer producer with the same transactional id has been started",
    ErrorCode.INCONSISTENT_VOTER_SET: "the voter set differs from the leader's",
    ErrorCode.PRINCIPAL_DESERIALIZATION_FAILURE: "the forwarded principal could not be decoded",
    ErrorCode.INCONSISTENT_TOPIC_ID: "the topic id does not match the one the broker has",
    ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR: "the fetch session's topic ids are inconsistent",
    ErrorCode.INELIGIBLE_REPLICA: "the replica cannot join the ISR",
    ErrorCode.NEW_LEADER_ELECTED: "a new leader was elected while the request was pending",
    ErrorCode.FENCED_MEMBER_EPOCH: "the member epoch is fenced; rejoin the group",
    ErrorCode.STALE_MEMBER_EPOCH: "the member epoch is stale",
    ErrorCode.TRANSACTION_ABORTABLE: "the transaction must be aborted",
    ErrorCode.INVALID_RECORD_STATE: "the record is not in a state that allows this",
    ErrorCode.FENCED_STATE_EPOCH: "the state epoch is fenced",
}
