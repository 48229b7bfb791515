"""DescribeCluster (60), versions 0-1.

- From the metadata cache: the cluster id, the controller, and the live brokers that have an endpoint
  on the listener the request came in on, with that address and their rack.
- v1 ``endpoint_type``: 1 (brokers) is answered; 2 (controllers) -> MISMATCHED_ENDPOINT_TYPE, as a
  Kafka broker answers it (INVALID_REQUEST in v0); anything else -> UNSUPPORTED_ENDPOINT_TYPE.
- Authorized operations, when asked for: every cluster operation (there is no authorizer).
- Flexible from v0.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.security.acl import CLUSTER_NAME
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.describe_cluster import (
    DESCRIBE_CLUSTER,
    DescribeClusterBroker,
    DescribeClusterRequest,
    DescribeClusterResponse,
)

BROKER_ENDPOINTS, CONTROLLER_ENDPOINTS = 1, 2
ENDPOINT_NAMES = {BROKER_ENDPOINTS: "BROKER", CONTROLLER_ENDPOINTS: "CONTROLLER"}


@handles(DESCRIBE_CLUSTER, versions="0-1")
async def handle_describe_cluster(ctx: RequestContext, request: DescribeClusterRequest) -> DescribeClusterResponse:
    wanted = request.endpoint_type if ctx.version >= 1 else BROKER_ENDPOINTS
    if wanted not in ENDPOINT_NAMES:
        return DescribeClusterResponse(
            error_code=ErrorCode.INVALID_REQUEST if ctx.version == 0 else ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
            error_message=f"Unsupported endpoint type {wanted}",
        )
    if wanted != BROKER_ENDPOINTS:
        return DescribeClusterResponse(
            error_code=ErrorCode.INVALID_REQUEST if ctx.version == 0 else ErrorCode.MISMATCHED_ENDPOINT_TYPE,
            error_message="The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type "
            + ENDPOINT_NAMES[wanted],
        )
    cache = ctx.components.metadata_cache
    response = DescribeClusterResponse(
        error_code=ErrorCode.NONE,
        cluster_id=cache.cluster_id,
        controller_id=cache.controller_id,
        brokers=[
            DescribeClusterBroker(broker_id=broker.id, host=endpoint.host, port=endpoint.port, rack=broker.rack)
            for broker, endpoint in cache.alive_endpoints(ctx.listener)
        ],
    )
    if request.include_cluster_authorized_operations:
        response.cluster_authorized_operations = _authz.authorized_operations(ctx, True, RT.CLUSTER, CLUSTER_NAME)
    return response
