"""Leader balance: preferred and unclean elections on request, and the automatic preferred-leader rebalance.

The controller's side of Kafka's ElectLeaders, ``/admin/preferred_replica_election`` and
``auto.leader.rebalance.enable`` (KafkaController.onReplicaElection and checkAndTriggerAutoLeaderRebalance):

- ``plan_election`` is pure: per partition, the new leader and ISR, or the error Kafka answers. PREFERRED:
  the first replica of the assignment, if it is live and in the ISR (else PREFERRED_LEADER_NOT_AVAILABLE);
  it leads already: ELECTION_NOT_NEEDED. UNCLEAN: only for a partition without a live leader (else
  ELECTION_NOT_NEEDED): an ISR member, else any live replica (else ELIGIBLE_LEADERS_NOT_AVAILABLE). A
  partition the controller does not know: UNKNOWN_TOPIC_OR_PARTITION. The ISR is kept by a preferred
  election; an unclean one starts it again at the new leader.
- ``LeaderBalancer`` runs them as events of the controller's one queue: ElectLeaders requests received by
  this broker while it is the controller (``elect``), the ``/admin/preferred_replica_election`` znode (its
  partitions elected, then the znode deleted, as Kafka's ZooKeeper-triggered election), and a check every
  ``leader.imbalance.check.interval.seconds`` (the first 5 s after election as Kafka, or
  sooner when the interval is shorter): a broker whose
  preferred partitions it does not lead exceed ``leader.imbalance.per.broker.percentage`` percent gets its
  leadership back where it is live and in the ISR.
- Elected states are written with a bumped leader epoch (zkVersion-checked, fenced by the controller
  epoch); the replicas get LeaderAndIsr and every live broker UpdateMetadata (``ZkController.apply_states``).

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kazoo.exceptions import NoNodeError
from kazoo.protocol.states import EventType, WatchedEvent

from broker.controller.errors import ControllerError
from protocol.errors import ErrorCode

from . import paths
from .znodes import PartitionState

if TYPE_CHECKING:
    from .controller import ZkController

log = logging.getLogger(__name__)
TopicPartition = tuple[str, int]
Outcome = dict[TopicPartition, ControllerError | int]  # per partition: its new leader, or the error
FIRST_CHECK_DELAY_S = 5.0  # Kafka schedules the first imbalance check 5 s after the election
NOT_NEEDED = "Leader election not needed for topic partition."


@dataclass(frozen=True, slots=True)
class Replicas:
    """What an election needs to know of one partition."""

    assignment: tuple[int, ...]
    state: PartitionState | None


def plan_election(
    preferred: bool,
    wanted: Iterable[TopicPartition],
    known: Mapping[TopicPartition, Replicas],
    live: Collection[int],
    controller_epoch: int,
) -> tuple[dict[TopicPartition, PartitionState], dict[TopicPartition, ControllerError]]:
    """The new states of the partitions that get a leader, and the error of each of the others."""
    elected: dict[TopicPartition, PartitionState] = {}
    errors: dict[TopicPartition, ControllerError] = {}
    for key in wanted:
        partition = known.get(key)
        if partition is None or partition.state is None:
            errors[key] = ControllerError(
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The partition {key[0]}-{key[1]} does not exist."
            )
            continue
        state = partition.state
        if preferred:
            leader = partition.assignment[0] if partition.assignment else -1
            if state.leader == leader:
                errors[key] = ControllerError(ErrorCode.ELECTION_NOT_NEEDED, NOT_NEEDED)
            elif leader in live and leader in state.isr:
                elected[key] = PartitionState(leader, state.leader_epoch + 1, state.isr, controller_epoch)
            else:
                errors[key] = ControllerError(
                    ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
                    f"Failed to elect leader for partition {key[0]}-{key[1]} under strategy "
                    "PreferredReplicaPartitionLeaderElectionStrategy",
                )
            continue
        if state.leader >= 0 and state.leader in live:
            errors[key] = ControllerError(ErrorCode.ELECTION_NOT_NEEDED, NOT_NEEDED)
            continue
        in_sync = [r for r in partition.assignment if r in live and r in state.isr]
        if in_sync:
            elected[key] = PartitionState(
                in_sync[0], state.leader_epoch + 1, tuple(r for r in state.isr if r in live), controller_epoch
            )
            continue
        alive = [r for r in partition.assignment if r in live]
        if alive:
            elected[key] = PartitionState(alive[0], state.leader_epoch + 1, (alive[0],), controller_epoch)
        else:
            errors[key] = ControllerError(
                ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
                f"Failed to elect leader for partition {key[0]}-{key[1]} under strategy "
                "OfflinePartitionLeaderElectionStrategy",
            )
    return elected, errors


def imbalanced_partitions(
    known: Mapping[TopicPartition, Replicas], live: Collection[int], percentage: int
) -> list[TopicPartition]:
    """Kafka's auto rebalance choice: for each live broker, the partitions it is the preferred replica of
    but does not lead; if they are more than ``percentage`` percent of its preferred ones, those whose
    preferred replica is in the ISR are to be elected back."""
    by_broker: dict[int, list[TopicPartition]] = {}
    for key, partition in known.items():
        if partition.assignment and partition.state is not None:
            by_broker.setdefault(partition.assignment[0], []).append(key)
    chosen: list[TopicPartition] = []
    for broker_id, keys in sorted(by_broker.items()):
        if broker_id not in live:
            continue
        not_led = [k for k in keys if known[k].state.leader != broker_id]  # type: ignore[union-attr]
        if len(not_led) / len(keys) > percentage / 100:
            chosen += [k for k in not_led if broker_id in known[k].state.isr]  # type: ignore[union-attr]
    return sorted(chosen)


def decode_preferred_replica_election(path: str, data: bytes | None) -> list[TopicPartition]:
    """``{"version":1,"partitions":[{"topic":"t","partition":0}, ...]}``; ValueError when malformed."""
    value = json.loads(data or b"")
    if not isinstance(value, dict) or not isinstance(value.get("partitions"), list):
        raise ValueError(f"{path}: no partitions list")
    out: list[TopicPartition] = []
    for entry in value["partitions"]:
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: a partition entry is not an object")
        topic, partition = entry.get("topic"), entry.get("partition")
        if not isinstance(topic, str) or not isinstance(partition, int) or isinstance(partition, bool):
            raise ValueError(f"{path}: bad partition entry {entry!r}")
        out.append((topic, partition))
    return out


def encode_preferred_replica_election(partitions: Sequence[TopicPartition]) -> bytes:
    entries = [{"topic": t, "partition": p} for t, p in partitions]
    return json.dumps({"version": 1, "partitions": entries}, separators=(",", ":")).encode()


class LeaderBalancer:
    def __init__(self, controller: ZkController) -> None:
        self._controller = controller
        self._rebalance: asyncio.Task[None] | None = None

    # -- the controller's reign --------------------------------------------------------------------------
    async def on_elected(self) -> None:
        """Inside the controller's election event: follow the admin znode, start the periodic check."""
        await self._watch_admin_path()
        config = self._controller.config
        if config.get("auto.leader.rebalance.enable") and self._rebalance is None:
            interval_s = float(config.get("leader.imbalance.check.interval.seconds"))
            self._rebalance = asyncio.get_running_loop().create_task(self._every(interval_s), name="leader rebalance")

    def resigned(self) -> None:
        if self._rebalance is not None:
            self._rebalance.cancel()
            self._rebalance = None

    # -- ElectLeaders --------------------------------------------------------------------------------------
    async def elect(self, preferred: bool, wanted: Sequence[TopicPartition]) -> Outcome:
        """Run on the controller's queue; per partition its new leader, or the error."""
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

        async def event() -> None:
            outcome = await self._run(preferred, wanted)
            if not done.done():
                done.set_result(outcome)

        self._controller.submit(event)
        return await done

    async def _run(self, preferred: bool, wanted: Sequence[TopicPartition]) -> Outcome:
        controller = self._controller
        assert controller.epoch is not None
        elected, errors = plan_election(
            preferred, wanted, controller.replicas(), controller.electable(), controller.epoch.epoch
        )
        written = await controller.apply_states(elected)
        outcome: Outcome = dict(errors)
        for key, state in elected.items():
            outcome[key] = (
                state.leader
                if key in written
                else ControllerError(
                    ErrorCode.NOT_CONTROLLER if controller.epoch is None else ErrorCode.UNKNOWN_SERVER_ERROR,
                    f"The state of {key[0]}-{key[1]} could not be written.",
                )
            )
        if elected:
            log.info(
                "controller %d: %s election moved leadership of %s",
                controller.broker_id, "preferred" if preferred else "unclean",
                {f"{t}-{p}": s.leader for (t, p), s in elected.items() if (t, p) in written},
            )  # fmt: skip
        return outcome

    # -- /admin/preferred_replica_election ----------------------------------------------------------------
    def _on_admin_event(self, event: WatchedEvent) -> None:
        if self._controller.epoch is not None and event.type in (EventType.CREATED, EventType.CHANGED):
            self._controller.submit(self._on_admin_path)
        elif self._controller.epoch is not None and event.type == EventType.DELETED:
            self._controller.submit(self._watch_admin_path)

    async def _watch_admin_path(self) -> None:
        if await self._controller.zk.exists(paths.PREFERRED_REPLICA_ELECTION, watch=self._on_admin_event):
            await self._on_admin_path()

    async def _on_admin_path(self) -> None:
        path = paths.PREFERRED_REPLICA_ELECTION
        try:
            data, _ = await self._controller.zk.get(path)
        except NoNodeError:
            return
        try:
            wanted = decode_preferred_replica_election(path, data)
        except ValueError as exc:
            log.error("controller: ignoring %s: %s", path, exc)
            wanted = []
        await self._run(True, [k for k in wanted if k[0] not in self._controller.deleting])
        with contextlib.suppress(NoNodeError):
            await self._controller.zk.delete(path)
        await self._watch_admin_path()

    # -- automatic rebalance -------------------------------------------------------------------------------
    async def _every(self, interval_s: float) -> None:
        await asyncio.sleep(min(FIRST_CHECK_DELAY_S, interval_s))
        while True:
            self._controller.submit(self._check_imbalance)
            await asyncio.sleep(interval_s)

    async def _check_imbalance(self) -> None:
        controller = self._controller
        percentage = int(controller.config.get("leader.imbalance.per.broker.percentage"))
        chosen = imbalanced_partitions(controller.replicas(), controller.electable(), percentage)
        chosen = [k for k in chosen if k[0] not in controller.deleting]
        if chosen:
            log.info("controller %d: leader imbalance: electing preferred leaders of %d partition(s)",
                     controller.broker_id, len(chosen))  # fmt: skip
            await self._run(True, chosen)
