"""Reading /config/changes: the notifications newer than the last one a follower has seen.

As Kafka's ZkNodeChangeNotificationListener: each sequential ``config_change_NNNNNNNNNN`` znode names
an entity (``topics/<t>``, ``brokers/<id|<default>>``, ``users/<u>``) whose config znode changed. A
follower keeps the highest sequence number it has taken; at start-up it takes the numbering only (what
exists then is read anyway). Both of this broker's followers (the node's, for topic and broker
configs; the SCRAM store's, for users) read the notifications through here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kazoo.exceptions import NoNodeError
from kazoo.protocol.states import WatchedEvent

from . import paths
from .client import ZkClient
from .znodes import ZnodeDataError, decode_config_change

log = logging.getLogger(__name__)


async def new_config_changes(
    zk: ZkClient, last_change: int, watch: Callable[[WatchedEvent], None], initial: bool
) -> tuple[int, list[str]]:
    """(the highest sequence number now, the entities named after ``last_change``, oldest first),
    watching the children again; with ``initial`` no entities. A notification deleted meanwhile is
    skipped, an unreadable one logged and skipped. Raises NoNodeError without /config/changes."""
    children = await zk.get_children(paths.CONFIG_CHANGES, watch=watch)
    numbered = sorted(
        (n, child) for child in children
        if (n := paths.sequence_number(child, paths.CONFIG_CHANGE_PREFIX)) is not None and n > last_change
    )  # fmt: skip
    if not numbered:
        return last_change, []
    entities: list[str] = []
    for _, child in [] if initial else numbered:
        path = f"{paths.CONFIG_CHANGES}/{child}"
        try:
            data, _ = await zk.get(path)
            entities.append(decode_config_change(path, data))
        except NoNodeError:
            continue
        except ZnodeDataError as exc:
            log.error("ignoring config change %s: %s", path, exc)
    return numbered[-1][0], entities
