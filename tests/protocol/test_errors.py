"""Error codes: Kafka's numbers, and the retriable flags clients act on."""

from __future__ import annotations

import pytest

from protocol.errors import ErrorCode


@pytest.mark.parametrize(
    ("code", "number"),
    [
        (ErrorCode.UNKNOWN_SERVER_ERROR, -1),
        (ErrorCode.NONE, 0),
        (ErrorCode.OFFSET_OUT_OF_RANGE, 1),
        (ErrorCode.CORRUPT_MESSAGE, 2),
        (ErrorCode.NOT_LEADER_OR_FOLLOWER, 6),
        (ErrorCode.UNSUPPORTED_VERSION, 35),
        (ErrorCode.INVALID_PRODUCER_EPOCH, 47),
        (ErrorCode.KAFKA_STORAGE_ERROR, 56),
        (ErrorCode.INVALID_RECORD, 87),
        (ErrorCode.PRODUCER_FENCED, 90),
        (ErrorCode.UNKNOWN_TOPIC_ID, 100),
        (ErrorCode.INVALID_REGULAR_EXPRESSION, 128),
    ],
)
def test_numbers_are_kafkas(code: ErrorCode, number: int) -> None:
    assert code == number
    assert ErrorCode(number) is code


def test_codes_are_contiguous_except_the_unassigned_99() -> None:
    numbers = {int(c) for c in ErrorCode}
    assert numbers == set(range(-1, 129)) - {99}


@pytest.mark.parametrize(
    "code",
    [
        ErrorCode.CORRUPT_MESSAGE,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode.LEADER_NOT_AVAILABLE,
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        ErrorCode.REQUEST_TIMED_OUT,
        ErrorCode.NETWORK_EXCEPTION,
        ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        ErrorCode.NOT_COORDINATOR,
        ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        ErrorCode.CONCURRENT_TRANSACTIONS,
        ErrorCode.KAFKA_STORAGE_ERROR,
        ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
        ErrorCode.OFFSET_NOT_AVAILABLE,
        ErrorCode.UNSTABLE_OFFSET_COMMIT,
    ],
)
def test_retriable_codes(code: ErrorCode) -> None:
    assert code.retriable


@pytest.mark.parametrize(
    "code",
    [
        ErrorCode.NONE,
        ErrorCode.UNKNOWN_SERVER_ERROR,
        ErrorCode.OFFSET_OUT_OF_RANGE,
        ErrorCode.MESSAGE_TOO_LARGE,
        ErrorCode.REBALANCE_IN_PROGRESS,
        ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        ErrorCode.UNSUPPORTED_VERSION,
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        ErrorCode.UNKNOWN_PRODUCER_ID,
        ErrorCode.INVALID_RECORD,
        ErrorCode.PRODUCER_FENCED,
        ErrorCode.TRANSACTION_ABORTABLE,
    ],
)
def test_non_retriable_codes(code: ErrorCode) -> None:
    assert not code.retriable


def test_every_code_has_a_message() -> None:
    assert ErrorCode.NONE.message == "no error"
    assert "leader" in ErrorCode.NOT_LEADER_OR_FOLLOWER.message
    assert ErrorCode.TOPIC_ALREADY_EXISTS.message == "topic already exists"
    assert all(code.message for code in ErrorCode)
