"""DescribeCluster (key 60): cluster id, controller and brokers or controllers. Versions 0-1, flexible 0+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Bool, Int8, Int16, Int32, String, Struct, V, struct


@struct
class DescribeClusterRequest(Struct):
    include_cluster_authorized_operations: Bool = False
    endpoint_type: Annotated[Int8, V("1+")] = 1  # 1 brokers, 2 controllers


@struct
class DescribeClusterBroker(Struct):
    broker_id: Int32 = 0
    host: String = ""
    port: Int32 = 0
    rack: String | None = None


@struct
class DescribeClusterResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Int16 = 0
    error_message: String | None = None
    endpoint_type: Annotated[Int8, V("1+")] = 1
    cluster_id: String = ""
    controller_id: Int32 = -1
    brokers: list[DescribeClusterBroker] = []
    cluster_authorized_operations: Int32 = -2147483648


DESCRIBE_CLUSTER = api(
    60,
    "DescribeCluster",
    DescribeClusterRequest,
    DescribeClusterResponse,
    versions="0-1",
    flexible="0+",
)
