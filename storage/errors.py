"""Storage's own exceptions. The broker maps them to Kafka error codes; storage never sees those codes.

Whose fault each one is:
- the client's: ``CorruptRecord``, ``InvalidRecord``, ``RecordTooLarge``, ``InvalidTimestamp``,
  ``OffsetOutOfRange`` (a fetch or DeleteRecords outside the log), ``ConfigError`` (a bad topic config);
- the replication protocol's: ``UnexpectedAppendOffset`` (a follower appended below its log end);
- the disk's: ``StorageError`` itself and ``LogOffline`` (KAFKA_STORAGE_ERROR).
"""

from __future__ import annotations


class StorageError(Exception):
    """A disk operation failed (I/O error, full disk). The broker answers KAFKA_STORAGE_ERROR."""


class LogOffline(StorageError):
    """The partition's log cannot be used until the broker restarts (or the log is recreated)."""

    def __init__(self, partition: str, reason: str) -> None:
        super().__init__(f"log of {partition} is offline: {reason}")
        self.partition = partition
        self.reason = reason


class ConfigError(StorageError):
    """A topic config has a bad name, type or value (INVALID_CONFIG)."""


class OffsetOutOfRange(StorageError):
    """The requested offset is below the log start offset or above the log end offset."""

    def __init__(self, offset: int, log_start_offset: int, log_end_offset: int, what: str = "read") -> None:
        super().__init__(f"{what} at offset {offset} is out of range [{log_start_offset}, {log_end_offset}]")
        self.offset = offset
        self.log_start_offset = log_start_offset
        self.log_end_offset = log_end_offset


class CorruptRecord(StorageError):
    """The record batch bytes are malformed or fail their CRC (CORRUPT_MESSAGE)."""


class InvalidRecord(StorageError):
    """A well-formed batch breaks a rule of the log (INVALID_RECORD), e.g. a record count mismatch.

    ``record_errors`` names the offending records, (index in the batch, message), when the rule is
    one of a record's (KIP-467: Produce v8+ answers them, so a client fails only those records); empty
    when the batch as a whole is at fault."""

    def __init__(self, message: str, record_errors: tuple[tuple[int, str], ...] = ()) -> None:
        super().__init__(message)
        self.record_errors = record_errors


class RecordTooLarge(StorageError):
    """A batch is larger than the topic's max.message.bytes (MESSAGE_TOO_LARGE)."""


class InvalidTimestamp(StorageError):
    """A CreateTime timestamp is outside message.timestamp.before/after.max.ms (INVALID_TIMESTAMP)."""


class UnexpectedAppendOffset(StorageError):
    """A follower append starts below the log end offset or goes backwards (replication bug)."""


class RecordBatchTooLarge(StorageError):
    """A produce's records for one partition are larger than the topic's segment.bytes (RECORD_LIST_TOO_LARGE)."""
