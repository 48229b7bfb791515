"""IncrementalAlterConfigs (44), versions 0-1: SET, DELETE, APPEND or SUBTRACT single configs.

Behaviour follows Kafka (ConfigAdminManager.preprocess, RuntimeLoggerManager, the KRaft
controller's ConfigurationControlManager):

- A resource named twice -> INVALID_REQUEST "Each resource must appear at most once." for both; a
  config named twice -> INVALID_REQUEST "Error due to duplicate config keys"; a null value for any
  operation but DELETE -> INVALID_REQUEST "Null value not supported for : <names>"; an unknown
  operation -> INVALID_REQUEST.
- TOPIC (2): SET parses the value (INVALID_CONFIG with Kafka's message when bad or unknown), DELETE
  removes the override (absent or unknown names are fine), APPEND / SUBTRACT add or remove items of
  a list config (starting from the override, else the config's default; on another type
  INVALID_CONFIG "Can't APPEND to key x because its type is not LIST."). The configs are checked
  before the topic's existence (UNKNOWN_TOPIC_OR_PARTITION "The topic 'x' does not exist."), as in
  Kafka. Changes reach the live partition logs at once and are persisted.
- BROKER (4): our id, or the empty name (cluster-wide defaults): the operations apply to its set of
  dynamic broker configs (APPEND / SUBTRACT start from the set value, else the default), with the
  checks of AlterConfigs (``alter_configs``): Kafka 3.9's dynamic configs only, per-broker ones not on
  the empty name, values checked in full before anything changes.
- BROKER_LOGGER (8): SET changes a logger's level (log4j words: TRACE DEBUG INFO WARN ERROR FATAL),
  DELETE makes it inherit again (not allowed for "root"); unknown logger or level -> INVALID_CONFIG;
  APPEND / SUBTRACT -> INVALID_REQUEST. Levels are not persisted, as in Kafka.
- Other types -> INVALID_REQUEST "Unknown resource type N". ``validate_only`` changes nothing.
- v1: flexible.
"""

from __future__ import annotations

import logging
from typing import Any

from broker.config import BROKER_CONFIGS, AlterOp, incremental_configs, incremental_topic_configs
from broker.dispatcher import RequestContext, handles
from broker.dynamic_config import check_names
from broker.handlers import _authz
from broker.handlers.alter_configs import alter_broker, alter_topic, answer_each, check_changes
from broker.handlers.describe_configs import BROKER, BROKER_LOGGER, TOPIC, ResourceError, check_broker_id
from protocol.errors import ErrorCode
from protocol.messages.incremental_alter_configs import (
    INCREMENTAL_ALTER_CONFIGS,
    AlterConfigsResource,
    AlterConfigsResourceResponse,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)

PYTHON_LEVELS = {
    "TRACE": 5,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
}
VALID_LEVELS = "FATAL, ERROR, WARN, INFO, DEBUG, TRACE"


@handles(INCREMENTAL_ALTER_CONFIGS, versions="0-1")
async def handle_incremental_alter_configs(
    ctx: RequestContext, request: IncrementalAlterConfigsRequest
) -> IncrementalAlterConfigsResponse:
    def result(resource: AlterConfigsResource) -> AlterConfigsResourceResponse:
        return AlterConfigsResourceResponse(
            error_code=ErrorCode.NONE, error_message=None,
            resource_type=resource.resource_type, resource_name=resource.resource_name,
        )  # fmt: skip

    return IncrementalAlterConfigsResponse(
        responses=await answer_each(request.resources, result, lambda r: _alter(ctx, r, request.validate_only))
    )


async def _alter(ctx: RequestContext, resource: AlterConfigsResource, validate_only: bool) -> None:
    if (denied := _authz.config_resource_denied(ctx, resource.resource_type, resource.resource_name)) is not None:
        raise ResourceError(denied, None)
    check_changes([(c.name, "" if c.config_operation == AlterOp.DELETE else c.value) for c in resource.configs])
    ops = []
    for config in resource.configs:
        try:
            op = AlterOp(config.config_operation)
        except ValueError:
            raise ResourceError(
                ErrorCode.INVALID_REQUEST, f"Unknown operations type {config.config_operation}"
            ) from None
        ops.append((config.name, op, config.value))
    if resource.resource_type == TOPIC:
        await alter_topic(
            ctx, resource.resource_name, lambda current: incremental_topic_configs(current, ops), validate_only
        )
    elif resource.resource_type == BROKER:
        await alter_broker(
            ctx,
            resource.resource_name,
            lambda current, per_broker: _broker_ops(current, ops, per_broker),
            validate_only,
        )
    elif resource.resource_type == BROKER_LOGGER:
        check_broker_id(ctx.components.node_id, resource.resource_name, empty_ok=False)
        changes = [_logger_change(name, op, value) for name, op, value in ops]
        if not validate_only:
            for logger, level in changes:
                logger.setLevel(level)
    else:
        raise ResourceError(ErrorCode.INVALID_REQUEST, f"Unknown resource type {resource.resource_type}")


def _broker_ops(
    current: dict[str, Any], ops: list[tuple[str, AlterOp, str | None]], per_broker: bool
) -> dict[str, Any]:
    check_names((name for name, op, _ in ops if op is not AlterOp.DELETE), per_broker)
    return incremental_configs(current, ops, BROKER_CONFIGS, "broker")


def _logger_change(name: str, op: AlterOp, value: str | None) -> tuple[logging.Logger, int]:
    """The logger and the level an operation gives it; raises ResourceError as Kafka would."""
    if op in (AlterOp.APPEND, AlterOp.SUBTRACT):
        raise ResourceError(
            ErrorCode.INVALID_REQUEST, f"{op.name} operation is not allowed for the BROKER_LOGGER resource"
        )
    if name == "root":
        logger = logging.getLogger()
    elif isinstance(logging.Logger.manager.loggerDict.get(name), logging.Logger):
        logger = logging.getLogger(name)
    else:
        raise ResourceError(ErrorCode.INVALID_CONFIG, f"Logger {name} does not exist!")
    if op is AlterOp.DELETE:
        if name == "root":
            raise ResourceError(ErrorCode.INVALID_REQUEST, "Removing the log level of the root logger is not allowed")
        return logger, logging.NOTSET
    if value not in PYTHON_LEVELS:
        raise ResourceError(
            ErrorCode.INVALID_CONFIG,
            f"Cannot set the log level of {name} to {value} as it is not a supported log level. "
            f"Valid log levels are {VALID_LEVELS}",
        )
    return logger, PYTHON_LEVELS[value]
