"""What request handlers work with: the broker's components, typed, and nothing of the process around them.

``Broker`` (the composition root, ``broker.server``) builds one ``BrokerComponents`` when it starts and
hands it to the socket server, which gives it to every connection and through ``RequestContext`` to
every handler. Handlers therefore never see the ``Broker`` itself (its life cycle, listeners and
periodic work), and ``connection -> dispatcher -> server`` is no longer an import circle.

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from broker.config import BrokerConfig
from broker.controller.api import Controller
from broker.controller.commands import ControllerCommands
from broker.coordinator.group.service import GroupService
from broker.coordinator.producer_id import ProducerIdManager
from broker.coordinator.transaction.service import TransactionService
from broker.fault_injection import FaultInjector
from broker.metadata_cache import MetadataCache
from broker.quotas.manager import ClientQuotaManager
from broker.replica_manager import ReplicaManager
from broker.security.acl import Authorizer
from broker.security.acl_store import AclStore
from broker.security.scram_store import ScramCredentialStore
from protocol.messages.alter_partition import AlterPartitionRequest, AlterPartitionResponse
from storage.manager import LogManager


@dataclass(slots=True, eq=False)
class BrokerComponents:
    node_id: int
    config: BrokerConfig
    log_dirs: list[str]
    log_manager: LogManager
    metadata_cache: MetadataCache  # what handlers read of the cluster
    replica_manager: ReplicaManager  # the data path
    controller: Controller  # what admin handlers change the cluster through
    group_coordinator: GroupService
    producer_ids: ProducerIdManager
    transaction_coordinator: TransactionService
    controller_commands: ControllerCommands | None = None  # cluster mode: LeaderAndIsr & co. (None: embedded)
    # cluster mode: AlterPartition as the controller answers it (NOT_CONTROLLER unless this broker is it)
    isr_controller: Callable[[AlterPartitionRequest, int], Awaitable[AlterPartitionResponse]] | None = None
    # cluster mode: ControlledShutdown(broker id, broker epoch) -> partitions still led (None: embedded)
    controlled_shutdown: Callable[[int, int], Awaitable[list[tuple[str, int]]]] | None = None
    scram_credentials: ScramCredentialStore = field(default_factory=ScramCredentialStore)  # SCRAM users
    authorizer: Authorizer | None = None  # None: no authorizer.class.name, nothing is checked
    acls: AclStore | None = None  # where the authorizer's ACLs are kept (None with no authorizer)
    client_quotas: ClientQuotaManager | None = None  # client quotas and their rates (None: none enforced)
    faults: FaultInjector | None = None  # kafkish.fault.injection.enable: the rules requests go through
    stopping: bool = False  # set once shutdown begins: connections read no further requests
