"""Unclean leader election, decided per topic as Kafka's ZooKeeper-era controller does.

When a partition's leader is gone and no ISR member is alive, the controller may elect any live replica
only if ``unclean.leader.election.enable`` holds for the partition's topic: the topic's override in
/config/topics/<t> if it has one, else the broker's setting (Kafka reads the topic config from ZooKeeper
at that moment, so a change made a moment ago counts). An override that cannot be read or parsed is
logged and the broker's setting used. An unclean leader is logged with a warning naming the possible
loss: records acknowledged by the old ISR and not on the new leader are gone. When a topic's override
turns unclean election on (a /config/changes notification), the controller elects leaders for the
topic's leaderless partitions at once (``elect_leaderless``, Kafka's TopicUncleanLeaderElectionEnable).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from kazoo.exceptions import NoNodeError

from broker.config import BrokerConfig, ConfigError, validate_topic_configs

from . import paths
from .client import ZkClient
from .znodes import ZnodeDataError, decode_entity_config

if TYPE_CHECKING:
    from .controller import ZkController

log = logging.getLogger(__name__)
SETTING = "unclean.leader.election.enable"


async def unclean_election_enabled(zk: ZkClient, config: BrokerConfig, topics: Iterable[str]) -> dict[str, bool]:
    """Per topic: whether unclean leader election is enabled (the topic's override, else the broker's)."""
    names = sorted(set(topics))

    async def read(topic: str) -> bool:
        path = paths.topic_config_path(topic)
        overrides: dict[str, object] = {}
        try:
            data, _ = await zk.get(path)
            raw = decode_entity_config(path, data)
            if SETTING in raw:
                overrides = validate_topic_configs([(SETTING, raw[SETTING])])
        except NoNodeError:
            pass
        except (ZnodeDataError, ConfigError) as exc:
            log.error("topic %s: cannot read %s, using the broker's: %s", topic, SETTING, exc)
        return bool(config.topic_values(overrides)[SETTING])

    found = await asyncio.gather(*(read(topic) for topic in names))
    return dict(zip(names, found, strict=True))


def warn_if_unclean(topic: str, index: int, leader: int, isr: Sequence[int]) -> None:
    if leader >= 0 and leader not in isr:
        log.warning(
            "Unclean leader election: no replica of %s-%d in its ISR %s is alive; electing leader %d from the "
            "live replicas. There is potential data loss: records acknowledged by the old ISR and not on "
            "broker %d are lost.", topic, index, list(isr), leader, leader,
        )  # fmt: skip


async def elect_leaderless(controller: ZkController, topic: str) -> None:
    """An event of the controller's queue: elect the leaderless partitions of ``topic`` again (its
    unclean setting was just turned on) and tell the brokers."""
    keys = [
        key for key, partition in controller.partitions.items()
        if key[0] == topic and partition.state is not None and partition.state.leader not in controller.live
    ]  # fmt: skip
    changed = await controller._elect(keys)
    if changed:
        controller._send_leader_and_isr(controller.live, changed)
        controller._send_update_metadata(changed)
