"""DescribeConfigs (32), versions 0-4.

Behaviour follows Kafka's ConfigHelper:

- TOPIC (2): the name is validated (INVALID_TOPIC_EXCEPTION), an unknown topic gets
  UNKNOWN_TOPIC_OR_PARTITION; otherwise every topic config with its effective value: the topic's
  override (source DYNAMIC_TOPIC_CONFIG), else the broker's value of its synonym (STATIC_BROKER_CONFIG,
  e.g. ``log.retention.hours`` for ``retention.ms``), else the default (DEFAULT_CONFIG). Never read-only.
- BROKER (4): our id -> every broker config, read-only unless Kafka 3.9 (ZooKeeper mode) may change it
  at run time (``advertised.listeners``, ``log.retention.ms``, ...), sources DYNAMIC_BROKER_CONFIG,
  DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG; the empty name (cluster-wide
  dynamic defaults) -> those set, as DYNAMIC_DEFAULT_BROKER_CONFIG; another id -> INVALID_REQUEST
  "Unexpected broker id, expected N or empty string, but received M"; a non-number -> INVALID_REQUEST.
- BROKER_LOGGER (8): our id -> each Python logger of the broker with its effective level in log4j's
  words (source DYNAMIC_BROKER_LOGGER_CONFIG); empty name or another id -> INVALID_REQUEST.
- Other resource types (client metrics, groups) -> INVALID_REQUEST "Unsupported resource type: N".
- ``configuration_keys`` null or empty means every config; otherwise the configs named, in the order
  asked for; unknown keys are silently left out.
- include_synonyms (v1+): Kafka's ``ConfigHelper.configSynonyms``: the values of the config's broker
  synonyms, source by source, from the first one of the config's own (first broker synonym's) name on:
  topic ``retention.ms`` with only ``log.retention.hours`` set lists no broker synonym, and its source
  is DEFAULT_CONFIG, as in Kafka.
- v0: is_default (source is DEFAULT_CONFIG); v1: config_source, synonyms; v3: config_type and
  documentation (when include_documentation); v4: flexible. Sensitive values are null.
"""

from __future__ import annotations

import logging

from broker.config import ConfigEntry, ConfigSource
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.topics import InvalidTopic, validate_topic_name
from protocol.errors import ErrorCode
from protocol.messages.describe_configs import (
    DESCRIBE_CONFIGS,
    DescribeConfigsRequest,
    DescribeConfigsResource,
    DescribeConfigsResourceResult,
    DescribeConfigsResponse,
    DescribeConfigsResult,
    DescribeConfigsSynonym,
)

TOPIC, BROKER, BROKER_LOGGER = 2, 4, 8
LOG4J_LEVELS = {"CRITICAL": "FATAL", "WARNING": "WARN", "NOTSET": "OFF"}


class ResourceError(Exception):
    """A resource a config request cannot be answered for, with the Kafka error code to give."""

    def __init__(self, code: ErrorCode, message: str | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_broker_id(node_id: int, name: str, *, empty_ok: bool) -> None:
    """Raise ResourceError unless ``name`` names this broker (or is empty and that is allowed)."""
    if not name and empty_ok:
        return
    if not name:
        raise ResourceError(ErrorCode.INVALID_REQUEST, "Broker id must not be empty")
    try:
        wanted = int(name)
    except ValueError:
        raise ResourceError(ErrorCode.INVALID_REQUEST, f"Broker id must be an integer, but it is: {name}") from None
    if wanted != node_id:
        expected = f"{node_id} or empty string" if empty_ok else str(node_id)
        raise ResourceError(
            ErrorCode.INVALID_REQUEST, f"Unexpected broker id, expected {expected}, but received {name}"
        )


@handles(DESCRIBE_CONFIGS, versions="0-4")
async def handle_describe_configs(ctx: RequestContext, request: DescribeConfigsRequest) -> DescribeConfigsResponse:
    response = DescribeConfigsResponse()
    for resource in request.resources:
        result = DescribeConfigsResult(resource_type=resource.resource_type, resource_name=resource.resource_name)
        try:
            configs = _describe(ctx, resource, request.include_synonyms, request.include_documentation)
        except ResourceError as exc:
            result.error_code, result.error_message = exc.code, exc.message
        else:
            result.configs = _select(configs, resource.configuration_keys)
        response.results.append(result)
    return response


def _select(
    configs: list[DescribeConfigsResourceResult], keys: list[str] | None
) -> list[DescribeConfigsResourceResult]:
    """All configs, or those named in ``keys`` in the order asked for (kafkajs reads the first entry as
    the first name it asked for); unknown names are left out, a name asked twice comes once."""
    if not keys:
        return configs
    by_name = {config.name: config for config in configs}
    return [by_name[key] for key in dict.fromkeys(keys) if key in by_name]


def _describe(
    ctx: RequestContext, resource: DescribeConfigsResource, with_synonyms: bool, with_docs: bool
) -> list[DescribeConfigsResourceResult]:
    if (denied := _authz.config_resource_denied(ctx, resource.resource_type, resource.resource_name)) is not None:
        raise ResourceError(denied, None)
    broker = ctx.components
    name = resource.resource_name
    if resource.resource_type == TOPIC:
        try:
            validate_topic_name(name)
        except InvalidTopic as exc:
            raise ResourceError(ErrorCode.INVALID_TOPIC_EXCEPTION, str(exc)) from None
        if broker.metadata_cache.topic(name) is None:
            raise ResourceError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "")
        entries = broker.config.describe_topic(broker.metadata_cache.topic_configs(name), with_synonyms)
        return [_render(entry, with_docs) for entry in entries]
    if resource.resource_type == BROKER:
        check_broker_id(broker.node_id, name, empty_ok=True)
        entries = broker.config.describe_broker(with_synonyms, per_broker=bool(name))
        return [_render(entry, with_docs) for entry in entries]
    if resource.resource_type == BROKER_LOGGER:
        check_broker_id(broker.node_id, name, empty_ok=False)
        return [
            DescribeConfigsResourceResult(
                name=logger, value=level, config_source=ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG, documentation=None
            )
            for logger, level in logger_levels().items()
        ]
    raise ResourceError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type: {resource.resource_type}")


def _render(entry: ConfigEntry, with_docs: bool) -> DescribeConfigsResourceResult:
    return DescribeConfigsResourceResult(
        name=entry.name,
        value=None if entry.sensitive else entry.value,
        read_only=entry.read_only,
        is_default=entry.source == ConfigSource.DEFAULT_CONFIG,
        config_source=entry.source,
        is_sensitive=entry.sensitive,
        synonyms=[
            DescribeConfigsSynonym(name=name, value=None if entry.sensitive else value, source=source)
            for name, value, source in entry.synonyms
        ],
        config_type=entry.definition.type,
        documentation=entry.definition.doc if with_docs else None,
    )


def logger_levels() -> dict[str, str]:
    """Every logger of this process with its effective level in log4j's words ("root" first)."""
    levels = {"root": logging.getLevelName(logging.getLogger().getEffectiveLevel())}
    for name, logger in sorted(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            levels[name] = logging.getLevelName(logger.getEffectiveLevel())
    return {name: LOG4J_LEVELS.get(level, level) for name, level in levels.items()}
