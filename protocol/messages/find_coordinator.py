"""FindCoordinator (key 10): which broker coordinates a group or a transactional id. Versions 0-6, flexible 3+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int8, Int16, Int32, String, Struct, V, struct


@struct
class FindCoordinatorRequest(Struct):
    key: Annotated[String, V("0-3")] = ""
    key_type: Annotated[Int8, V("1+")] = 0  # 0 group, 1 transaction, 2 share
    coordinator_keys: Annotated[list[String], V("4+")] = []


@struct
class Coordinator(Struct):
    key: Annotated[String, V("4+")] = ""
    node_id: Annotated[Int32, V("4+")] = 0
    host: Annotated[String, V("4+")] = ""
    port: Annotated[Int32, V("4+")] = 0
    error_code: Annotated[Int16, V("4+")] = 0
    error_message: Annotated[String | None, V("4+")] = ""


@struct
class FindCoordinatorResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("1+")] = 0
    error_code: Annotated[Int16, V("0-3")] = 0
    error_message: Annotated[String | None, V("1-3")] = ""
    node_id: Annotated[Int32, V("0-3")] = 0
    host: Annotated[String, V("0-3")] = ""
    port: Annotated[Int32, V("0-3")] = 0
    coordinators: Annotated[list[Coordinator], V("4+")] = []


FIND_COORDINATOR = api(
    10, "FindCoordinator", FindCoordinatorRequest, FindCoordinatorResponse, versions="0-6", flexible="3+"
)
