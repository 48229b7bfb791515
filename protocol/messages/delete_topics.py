"""DeleteTopics (key 20): delete topics by name or (v6+) by id. Versions 0-6, flexible 4+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import ZERO_UUID, Int16, Int32, String, Struct, Uuid, V, struct


@struct
class DeleteTopicState(Struct):
    name: Annotated[String | None, V("6+")] = None
    topic_id: Annotated[Uuid, V("6+")] = ZERO_UUID


@struct
class DeleteTopicsRequest(Struct):
    topics: Annotated[list[DeleteTopicState], V("6+")] = []
    topic_names: Annotated[list[String], V("0-5")] = []
    timeout_ms: Int32 = 0


@struct
class DeletableTopicResult(Struct):
    name: Annotated[String | None, V(nullable="6+")] = ""
    topic_id: Annotated[Uuid, V("6+")] = ZERO_UUID
    error_code: Int16 = 0
    error_message: Annotated[String | None, V("5+")] = None


@struct
class DeleteTopicsResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("1+")] = 0
    responses: list[DeletableTopicResult] = []


DELETE_TOPICS = api(
    20,
    "DeleteTopics",
    DeleteTopicsRequest,
    DeleteTopicsResponse,
    versions="0-6",
    flexible="4+",
)
