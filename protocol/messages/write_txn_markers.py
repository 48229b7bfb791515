"""WriteTxnMarkers (key 27): the coordinator writes commit/abort markers to partitions. Versions 0-1, flexible 1+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Bool, Int16, Int32, Int64, String, Struct, struct


@struct
class WritableTxnMarkerTopic(Struct):
    name: String = ""
    partition_indexes: list[Int32] = []


@struct
class WritableTxnMarker(Struct):
    producer_id: Int64 = 0
    producer_epoch: Int16 = 0
    transaction_result: Bool = False  # True commit, False abort
    topics: list[WritableTxnMarkerTopic] = []
    coordinator_epoch: Int32 = 0


@struct
class WriteTxnMarkersRequest(Struct):
    markers: list[WritableTxnMarker] = []


@struct
class WritableTxnMarkerPartitionResult(Struct):
    partition_index: Int32 = 0
    error_code: Int16 = 0


@struct
class WritableTxnMarkerTopicResult(Struct):
    name: String = ""
    partitions: list[WritableTxnMarkerPartitionResult] = []


@struct
class WritableTxnMarkerResult(Struct):
    producer_id: Int64 = 0
    topics: list[WritableTxnMarkerTopicResult] = []


@struct
class WriteTxnMarkersResponse(Struct):
    markers: list[WritableTxnMarkerResult] = []


WRITE_TXN_MARKERS = api(
    27, "WriteTxnMarkers", WriteTxnMarkersRequest, WriteTxnMarkersResponse, versions="0-1", flexible="1+"
)
