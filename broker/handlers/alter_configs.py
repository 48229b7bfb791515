"""AlterConfigs (33), versions 0-2: replace a resource's whole set of config overrides (legacy API).

Behaviour follows Kafka (ConfigAdminManager.preprocess, then the KRaft controller):

- A resource named twice -> INVALID_REQUEST "Each resource must appear at most once." for both; a
  config named twice -> INVALID_REQUEST "Error due to duplicate config keys"; a null value ->
  INVALID_REQUEST "Null value not supported for : <names>".
- TOPIC (2): the given configs become the topic's overrides, replacing all others. Unknown names or
  bad values -> INVALID_CONFIG with Kafka's message (checked before the topic's existence, as Kafka
  does); an unknown topic -> UNKNOWN_TOPIC_OR_PARTITION "The topic 'x' does not exist.". Changes reach
  the live partition logs at once and are persisted with the topic metadata.
- BROKER (4): our id (or the empty name: the cluster-wide defaults) -> the given configs become its
  whole set of dynamic broker configs, as in Kafka's ZooKeeper mode. Only Kafka 3.9's dynamic configs
  are accepted (others: INVALID_REQUEST "Cannot update these configs dynamically: Set(<names>)"; a
  per-broker one such as ``advertised.listeners`` on the empty name: INVALID_REQUEST "Cannot update
  these configs at default cluster level, broker id must be specified: Set(<names>)"); a bad value or
  one that would make a topic's log config invalid -> INVALID_CONFIG. Log configs topics inherit
  (``log.retention.ms``, ``message.max.bytes`` ...) apply at once; the rest are stored and described
  (``broker.dynamic_config``). Another broker id -> INVALID_REQUEST.
- BROKER_LOGGER and every other type -> INVALID_REQUEST "Unknown resource type N" (as Kafka: only
  IncrementalAlterConfigs changes loggers).
- ``validate_only`` checks everything and changes nothing. v2: flexible.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from broker.config import ConfigError, validate_topic_configs
from broker.controller.errors import ControllerError
from broker.dispatcher import RequestContext, handles
from broker.dynamic_config import NotDynamic, parse_configs
from broker.handlers import _authz
from broker.handlers.describe_configs import BROKER, TOPIC, ResourceError, check_broker_id
from protocol.errors import ErrorCode
from protocol.messages.alter_configs import (
    ALTER_CONFIGS,
    AlterConfigsRequest,
    AlterConfigsResource,
    AlterConfigsResourceResponse,
    AlterConfigsResponse,
)


class _Resource(Protocol):
    resource_type: int
    resource_name: str


class _Result(Protocol):
    error_code: int
    error_message: str | None


Res = TypeVar("Res", bound=_Resource)
Out = TypeVar("Out", bound=_Result)


async def answer_each(
    resources: Sequence[Res], make_result: Callable[[Res], Out], alter: Callable[[Res], Awaitable[None]]
) -> list[Out]:
    """Alter each resource on its own, as both AlterConfigs APIs do: one resource's error is its own,
    and a resource named twice is refused every time it appears."""
    seen = Counter((r.resource_type, r.resource_name) for r in resources)
    results = []
    for resource in resources:
        result = make_result(resource)
        results.append(result)
        try:
            if seen[(resource.resource_type, resource.resource_name)] > 1:
                raise ResourceError(ErrorCode.INVALID_REQUEST, "Each resource must appear at most once.")
            await alter(resource)
        except ResourceError as exc:
            result.error_code, result.error_message = exc.code, exc.message
    return results


@handles(ALTER_CONFIGS, versions="0-2")
async def handle_alter_configs(ctx: RequestContext, request: AlterConfigsRequest) -> AlterConfigsResponse:
    def result(resource: AlterConfigsResource) -> AlterConfigsResourceResponse:
        return AlterConfigsResourceResponse(
            error_code=ErrorCode.NONE, error_message=None,
            resource_type=resource.resource_type, resource_name=resource.resource_name,
        )  # fmt: skip

    return AlterConfigsResponse(
        responses=await answer_each(request.resources, result, lambda r: _alter(ctx, r, request.validate_only))
    )


async def _alter(ctx: RequestContext, resource: AlterConfigsResource, validate_only: bool) -> None:
    if (denied := _authz.config_resource_denied(ctx, resource.resource_type, resource.resource_name)) is not None:
        raise ResourceError(denied, None)
    changes = [(config.name, config.value) for config in resource.configs]
    check_changes(changes)
    if resource.resource_type == TOPIC:
        await alter_topic(ctx, resource.resource_name, lambda _: validate_topic_configs(changes), validate_only)
    elif resource.resource_type == BROKER:
        await alter_broker(
            ctx, resource.resource_name, lambda _, per_broker: parse_configs(changes, per_broker), validate_only
        )
    else:
        raise ResourceError(ErrorCode.INVALID_REQUEST, f"Unknown resource type {resource.resource_type}")


def check_changes(changes: list[tuple[str, str | None]]) -> None:
    """Kafka's first checks of one resource's changes: no name twice, no null value."""
    if len({name for name, _ in changes}) != len(changes):
        raise ResourceError(ErrorCode.INVALID_REQUEST, "Error due to duplicate config keys")
    nulls = [name for name, value in changes if value is None]
    if nulls:
        raise ResourceError(ErrorCode.INVALID_REQUEST, "Null value not supported for : " + ", ".join(nulls))


async def alter_topic(
    ctx: RequestContext, name: str, new_overrides: Callable[[dict[str, Any]], dict[str, Any]], validate_only: bool
) -> None:
    """Give topic ``name`` the overrides ``new_overrides(current)`` computes; raises ResourceError."""
    cache = ctx.components.metadata_cache
    try:
        overrides = new_overrides(dict(cache.topic_configs(name)))
    except ConfigError as exc:
        raise ResourceError(ErrorCode.INVALID_CONFIG, str(exc)) from None
    if cache.topic(name) is None:
        raise ResourceError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{name}' does not exist.")
    try:
        await ctx.components.controller.alter_topic_configs(name, overrides, validate_only)
    except ControllerError as exc:
        raise ResourceError(exc.code, exc.message) from None


async def alter_broker(
    ctx: RequestContext,
    name: str,
    new_configs: Callable[[dict[str, Any], bool], dict[str, Any]],
    validate_only: bool,
) -> None:
    """Give this broker (``name`` its id) or the cluster default (``name`` empty) the dynamic configs
    ``new_configs(current, per_broker)`` computes; raises ResourceError."""
    check_broker_id(ctx.components.node_id, name, empty_ok=True)
    config = ctx.components.config
    per_broker = bool(name)
    try:
        configs = new_configs(dict(config.dynamic_broker if per_broker else config.dynamic_default), per_broker)
    except NotDynamic as exc:
        raise ResourceError(ErrorCode.INVALID_REQUEST, str(exc)) from None
    except ConfigError as exc:
        raise ResourceError(ErrorCode.INVALID_CONFIG, str(exc)) from None
    try:
        await ctx.components.controller.alter_broker_configs(per_broker, configs, validate_only)
    except ControllerError as exc:
        raise ResourceError(exc.code, exc.message) from None
