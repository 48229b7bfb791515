"""Dynamic broker configs in cluster mode: ``/config/brokers/<id>`` and ``/config/brokers/<default>``.

Kafka's ZooKeeper layout (DynamicConfigManager): AlterConfigs and IncrementalAlterConfigs on a broker
resource write the entity's whole set of dynamic configs as ``{"version":1,"config":{...}}`` (Kafka's
strings) and a ``/config/changes/config_change_<n>`` notification naming ``brokers/<id>`` or
``brokers/<default>``. Every broker follows the notifications (``node.ZkBrokerNode``) and reloads what
concerns it, its own id and the cluster default, with ``load_broker_configs``; at start-up it loads
them before its logs open, so the logs start with the inherited values.

Loading never stops a broker: a stored value it cannot use is logged and left out; a set that together
makes an invalid log config is ignored whole (the static values apply), as ``dynamic_config`` does with
the embedded broker's file.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kazoo.exceptions import NoNodeError

from broker.config import BrokerConfig, ConfigError
from broker.dynamic_config import parse_configs

from . import paths
from .client import ZkClient
from .znodes import ZnodeDataError, decode_entity_config

log = logging.getLogger(__name__)
DEFAULT_ENTITY = "<default>"


def usable(stored: Mapping[str, str], per_broker: bool, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, raw in stored.items():
        try:
            out.update(parse_configs([(name, raw)], per_broker))
        except ConfigError as exc:
            log.error("ignoring the dynamic config %s=%r of %s: %s", name, raw, where, exc)
    return out


async def read_entity(zk: ZkClient, entity: str) -> dict[str, Any]:
    """The typed dynamic configs stored for ``entity`` (a broker id or ``<default>``)."""
    path = paths.broker_config_path(entity)
    try:
        data, _ = await zk.get(path)
        stored = decode_entity_config(path, data)
    except NoNodeError:
        return {}
    except ZnodeDataError as exc:
        log.error("ignoring %s: %s", path, exc)
        return {}
    return usable(stored, per_broker=entity != DEFAULT_ENTITY, where=path)


async def load_broker_configs(zk: ZkClient, config: BrokerConfig, broker_id: int) -> bool:
    """Give ``config`` this broker's and the cluster default's dynamic configs; True if they changed."""
    broker = await read_entity(zk, str(broker_id))
    default = await read_entity(zk, DEFAULT_ENTITY)
    before = (config.dynamic_broker, config.dynamic_default)
    config.dynamic_broker, config.dynamic_default = broker, default
    try:
        config.check_topic_configs({})
    except ConfigError as exc:
        log.error("ignoring the dynamic broker configs in ZooKeeper: %s", exc)
        config.dynamic_broker, config.dynamic_default = {}, {}
    changed = before != (config.dynamic_broker, config.dynamic_default)
    if changed:
        log.info("dynamic broker configs: this broker %s, cluster default %s", broker, default)
    return changed
