"""Kafka's log on disk: segments, indexes, logs, recovery, retention, checkpoints (synchronous)."""

from storage.config import LogConfig
from storage.errors import (
    ConfigError,
    CorruptRecord,
    InvalidRecord,
    InvalidTimestamp,
    LogOffline,
    OffsetOutOfRange,
    RecordTooLarge,
    StorageError,
    UnexpectedAppendOffset,
)
from storage.fs import REAL_FS, FileSystem
from storage.log.log import Log
from storage.log.results import FetchDataInfo, FileRegion, LogAppendInfo, LogOffsetMetadata
from storage.manager import LogManager
from storage.recovery.loader import LogLoader

__all__ = [
    "REAL_FS",
    "ConfigError",
    "CorruptRecord",
    "FetchDataInfo",
    "FileRegion",
    "FileSystem",
    "InvalidRecord",
    "InvalidTimestamp",
    "Log",
    "LogAppendInfo",
    "LogConfig",
    "LogLoader",
    "LogManager",
    "LogOffline",
    "LogOffsetMetadata",
    "OffsetOutOfRange",
    "RecordTooLarge",
    "StorageError",
    "UnexpectedAppendOffset",
]
