"""Partition reassignment (KIP-455): the controller's side in ZooKeeper mode, as Kafka 2.4+'s
KafkaController.onPartitionReassignment and its callers.

Vocabulary (Kafka's): RS the full replica set while moving, ORS the original replicas, TRS the target
replicas, AR = TRS - ORS the replicas being added, RR = ORS - TRS those being removed; RS = TRS then
the rest of ORS (``reassign_to``), so a preferred election during a move picks TRS's first replica.

- Started by AlterPartitionReassignments (``alter``, on the controller's event queue; a broker that is not
  the controller answers NOT_CONTROLLER for the whole request), by the /admin/reassign_partitions znode
  (created: every partition in it is started; the latest reassignment of a partition wins, so an API one
  takes the partition out of the znode), and resumed when the controller is elected (from the
  ``adding_replicas``/``removing_replicas`` of /brokers/topics/<t>: the znode, then the others) and when a
  broker of a TRS starts.
- Checked as Kafka checks an API target: an empty list, a broker twice, a negative id, or an added
  replica whose broker is not alive -> INVALID_REPLICA_ASSIGNMENT; cancelling (null replicas) a partition
  that is not moving -> NO_REASSIGNMENT_IN_PROGRESS; a partition that does not exist, or of a topic queued
  for deletion -> UNKNOWN_TOPIC_OR_PARTITION "The partition does not exist.". Targets from the znode are
  not checked (as in Kafka): a dead target broker waits for it.
- U: /brokers/topics/<t> gets RS, AR, RR (version 3 with a topic id, else 2, as ``znodes`` writes it),
  then memory; replicas of a replaced reassignment no longer in RS are stopped and deleted.
- A (TRS not all in the ISR): the leader epoch is bumped (replicas dropped by a replaced reassignment
  leave the ISR), LeaderAndIsr goes to every live member of RS (the added ones create their logs and
  fetch from the leader), UpdateMetadata to every broker (Metadata shows RS meanwhile).
- B (every TRS member in the ISR; checked after each AlterPartition that changed the ISR): the leader
  stays if it is a live member of TRS, else the first live TRS member in the ISR leads; leader epoch +1,
  ISR = ISR n TRS, RS = TRS, written to the state znode first; LeaderAndIsr to TRS; StopReplica(delete)
  to each removed replica (a dead one gets it when it comes back, while this controller reigns); then
  /brokers/topics/<t> without AR/RR, the partition out of /admin/reassign_partitions (the znode deleted
  once empty), UpdateMetadata to every broker.
- Cancelling (null replicas) is a reassignment back to ORS: it completes at once, AR is stopped and deleted.
- A topic marked for deletion while a partition of it moves is deleted once its reassignments complete
  (Kafka marks it ineligible for deletion meanwhile); unlike Kafka, such a reassignment may still be
  cancelled, so a move that cannot finish does not keep the topic forever.

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from kazoo.exceptions import BadVersionError, NoNodeError
from kazoo.protocol.states import EventType, WatchedEvent

from broker.controller.errors import ControllerError
from protocol.errors import ErrorCode

from . import paths
from .election import ControllerMoved, fenced_multi
from .topics import delete, set_data, update_topic_assignment
from .znodes import (
    PartitionState,
    ReplicaAssignment,
    ZnodeDataError,
    decode_reassign_partitions,
    encode_reassign_partitions,
)

if TYPE_CHECKING:
    from .controller import ZkController

log = logging.getLogger(__name__)
TopicPartition = tuple[str, int]
NO_LEADER = -1
REIGN_CHECK_S = 0.5
NOT_CONTROLLER = "This is not the correct controller for this cluster."
NO_SUCH_PARTITION = "The partition does not exist."
NOT_IN_PROGRESS = "No partition reassignment is in progress."
UNKNOWN_SERVER = "The server experienced an unexpected error when processing the request."


# -- pure: Kafka's ReplicaAssignment arithmetic ----------------------------------------------------------
def origin_replicas(assignment: ReplicaAssignment) -> tuple[int, ...]:
    return tuple(r for r in assignment.replicas if r not in assignment.adding_replicas)


def target_replicas(assignment: ReplicaAssignment) -> tuple[int, ...]:
    return tuple(r for r in assignment.replicas if r not in assignment.removing_replicas)


def is_reassigning(assignment: ReplicaAssignment) -> bool:
    return bool(assignment.adding_replicas or assignment.removing_replicas)


def reassign_to(assignment: ReplicaAssignment, target: Sequence[int]) -> ReplicaAssignment:
    """RS = TRS then the rest of ORS; AR = RS - ORS; RR = RS - TRS (Kafka's ``reassignTo``)."""
    origin = origin_replicas(assignment)
    full = tuple(dict.fromkeys((*target, *origin)))
    return ReplicaAssignment(full, tuple(r for r in full if r not in origin), tuple(r for r in full if r not in target))


def build_reassignment(current: ReplicaAssignment, target: Sequence[int] | None) -> ReplicaAssignment | None:
    """What a request makes of the partition's assignment; None: a cancellation with nothing to cancel."""
    if is_reassigning(current):
        return reassign_to(current, origin_replicas(current) if target is None else target)
    return None if target is None else reassign_to(current, target)


def check_target(replicas: Sequence[int], current: ReplicaAssignment, live: Collection[int]) -> ControllerError | None:
    """Kafka's validateReplicas of an API reassignment's target."""
    if not replicas:
        return ControllerError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT, "Empty replica list specified in partition reassignment."
        )
    shown = "List(" + ", ".join(map(str, replicas)) + ")"
    if len(set(replicas)) != len(replicas):
        return ControllerError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            f"Duplicate replica ids in partition reassignment replica list: {shown}",
        )
    if any(r < 0 for r in replicas):
        return ControllerError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, f"Invalid broker id in replica list: {shown}")
    adding = reassign_to(current, replicas).adding_replicas
    if not set(adding) <= set(live):
        return ControllerError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            "Replica assignment has brokers that are not alive. Replica list: "
            f"List({', '.join(map(str, adding))}), live broker list: Set({', '.join(map(str, sorted(live)))})",
        )
    return None


def reassigned_state(
    state: PartitionState, keep: Sequence[int], live: Collection[int], controller_epoch: int
) -> PartitionState:
    """The partition's state when its replica set becomes ``keep``: the ISR keeps only members of ``keep``;
    the leader stays if it is a live member of ``keep``, else the first live member of ``keep`` in the ISR
    leads (none: no leader); the leader epoch is bumped."""
    isr = tuple(r for r in state.isr if r in keep)
    if state.leader in keep and state.leader in live:
        leader = state.leader
    else:
        leader = next((r for r in keep if r in live and r in isr), NO_LEADER)
    return PartitionState(leader, state.leader_epoch + 1, isr or state.isr[-1:], controller_epoch)


def is_complete(assignment: ReplicaAssignment, state: PartitionState | None) -> bool:
    """Kafka's isReassignmentComplete: nothing moves, or every target replica is in the ISR."""
    if not is_reassigning(assignment):
        return True
    return state is not None and set(target_replicas(assignment)) <= set(state.isr)


# -- the controller's part ---------------------------------------------------------------------------------
class Reassigner:
    def __init__(self, controller: ZkController) -> None:
        self._controller = controller
        self.pending_stops: dict[int, set[TopicPartition]] = {}  # dead removed replica -> its partitions

    def resigned(self) -> None:
        self.pending_stops = {}

    def in_progress(self, topic: str) -> bool:
        return any(key[0] == topic and p.reassigning for key, p in self._controller.partitions.items())

    def ongoing(self, wanted: Iterable[TopicPartition] | None) -> dict[TopicPartition, ReplicaAssignment]:
        """ListPartitionReassignments: the partitions (all, or those of ``wanted``) being reassigned."""
        partitions = self._controller.partitions
        keys = sorted(partitions) if wanted is None else sorted(set(wanted))
        return {k: partitions[k].assignment for k in keys if k in partitions and partitions[k].reassigning}

    # -- AlterPartitionReassignments -------------------------------------------------------------------
    async def alter(
        self, wanted: Mapping[TopicPartition, Sequence[int] | None]
    ) -> dict[TopicPartition, ControllerError | None]:
        """Run on the controller's queue; ControllerError(NOT_CONTROLLER) if this broker is not (or stops
        being) the controller before its turn ran."""
        controller = self._controller
        if controller.epoch is None:
            raise ControllerError(ErrorCode.NOT_CONTROLLER, NOT_CONTROLLER)
        reign = controller.reign
        done: asyncio.Future[dict[TopicPartition, ControllerError | None]] = asyncio.get_running_loop().create_future()

        async def alter_partition_reassignments() -> None:
            try:
                result = await self._process_api(wanted)
            except BaseException:
                if not done.done():
                    done.set_exception(ControllerError(ErrorCode.NOT_CONTROLLER, NOT_CONTROLLER))
                raise
            if not done.done():
                done.set_result(result)

        controller.submit(alter_partition_reassignments)
        while True:
            finished, _ = await asyncio.wait({done}, timeout=REIGN_CHECK_S)
            if finished:
                return done.result()
            if controller.reign != reign or controller.epoch is None:
                raise ControllerError(ErrorCode.NOT_CONTROLLER, NOT_CONTROLLER)

    async def _process_api(
        self, wanted: Mapping[TopicPartition, Sequence[int] | None]
    ) -> dict[TopicPartition, ControllerError | None]:
        controller = self._controller
        results: dict[TopicPartition, ControllerError | None] = {}
        starting: dict[TopicPartition, ReplicaAssignment] = {}
        for key, target in wanted.items():
            partition = controller.partitions.get(key)
            current = partition.assignment if partition is not None else ReplicaAssignment(())
            if target is not None:
                error = check_target(target, current, controller.live)
                if error is not None:
                    results[key] = error
                    continue
            new = build_reassignment(current, target)
            if new is None:
                results[key] = ControllerError(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, NOT_IN_PROGRESS)
            else:
                starting[key] = new
        await self._remove_from_znode(lambda key, _: key in starting)  # the latest reassignment wins
        results.update(await self._trigger(starting))
        return results

    async def _trigger(
        self, starting: Mapping[TopicPartition, ReplicaAssignment]
    ) -> dict[TopicPartition, ControllerError | None]:
        controller = self._controller
        results: dict[TopicPartition, ControllerError | None] = {}
        for key, new in starting.items():
            queued = key[0] in controller.deletion_waiting and is_reassigning(new)  # a cancellation may end it
            if key not in controller.partitions or queued:
                results[key] = ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, NO_SUCH_PARTITION)
                continue
            try:
                await self.reassign(key, new)
            except ControllerMoved:
                raise
            except Exception:
                log.exception("controller %d: reassigning %s-%d failed", controller.broker_id, *key)
                results[key] = ControllerError(ErrorCode.UNKNOWN_SERVER_ERROR, UNKNOWN_SERVER)
            else:
                results[key] = None
        return results

    # -- the phases --------------------------------------------------------------------------------------
    async def reassign(self, key: TopicPartition, new: ReplicaAssignment) -> None:
        """Kafka's onPartitionReassignment (see the module notes); ``new`` may be the current assignment
        (resuming)."""
        controller = self._controller
        assert controller.epoch is not None
        partition = controller.partitions[key]
        current = partition.assignment
        unneeded: tuple[int, ...] = ()
        if current != new:  # U: ZooKeeper first, so a new controller resumes from there
            await self._write_assignment(key, new)
            partition.set_assignment(new)
            unneeded = tuple(r for r in current.replicas if r not in new.replicas)
            log.info("controller %d: reassigning %s-%d: replicas %s, adding %s, removing %s", controller.broker_id,
                     *key, list(new.replicas), list(new.adding_replicas), list(new.removing_replicas))  # fmt: skip
        if is_complete(new, partition.state):
            await self._complete(key, (*unneeded, *new.removing_replicas))
            return
        state = partition.state
        if state is not None:  # A: a new leader epoch, told to every replica of RS
            target = reassigned_state(state, new.replicas, controller.electable(), controller.epoch.epoch)
            await controller.update_state(key, partition, target)
        controller.send_leader_and_isr(new.replicas, [key])
        controller.send_update_metadata([key])
        self._stop(key, unneeded)

    async def _complete(self, key: TopicPartition, removed: Sequence[int]) -> None:
        controller = self._controller
        assert controller.epoch is not None
        partition = controller.partitions[key]
        done = ReplicaAssignment(target_replicas(partition.assignment))
        partition.set_assignment(done)
        state = partition.state
        if state is not None:
            target = reassigned_state(state, done.replicas, controller.electable(), controller.epoch.epoch)
            await controller.update_state(key, partition, target)
        controller.send_leader_and_isr(done.replicas, [key])
        self._stop(key, [r for r in dict.fromkeys(removed) if r not in done.replicas])
        await self._write_assignment(key, done)
        await self._remove_from_znode(lambda k, replicas: k == key and tuple(replicas) == done.replicas)
        controller.send_update_metadata([key])
        log.info("controller %d: reassignment of %s-%d completed: replicas %s, leader %s, ISR %s",
                 controller.broker_id, *key, list(done.replicas), partition.state and partition.state.leader,
                 partition.state and list(partition.state.isr))  # fmt: skip
        if key[0] in controller.deletion_waiting and not self.in_progress(key[0]):
            await controller.resume_deletions()

    def _stop(self, key: TopicPartition, replicas: Iterable[int]) -> None:
        """StopReplica(delete) to removed replicas; a dead one's waits for its broker to come back."""
        controller = self._controller
        partition = controller.partitions[key]
        epoch = partition.state.leader_epoch if partition.state is not None else -1
        for broker_id in replicas:
            if broker_id in controller.live:
                controller.send_stop_replica(broker_id, key[0], [key[1]], leader_epoch=epoch)
            else:
                self.pending_stops.setdefault(broker_id, set()).add(key)

    async def _write_assignment(self, key: TopicPartition, assignment: ReplicaAssignment) -> None:
        controller = self._controller
        assert controller.epoch is not None
        written = await update_topic_assignment(controller.zk, controller.epoch, key[0], {key[1]: assignment})
        if written is None:
            raise RuntimeError(f"topic {key[0]} has no assignment in ZooKeeper")
        controller.topics[key[0]] = written

    # -- what the controller reports -------------------------------------------------------------------
    async def on_elected(self) -> None:
        """Inside the election event: the znode's reassignments first, then resume the others."""
        resumed = await self._process_znode()
        for key, partition in list(self._controller.partitions.items()):
            if partition.reassigning and key not in resumed:
                await self.reassign(key, partition.assignment)

    async def brokers_started(self, brokers: Collection[int]) -> None:
        controller = self._controller
        for broker_id in brokers:
            stops = self.pending_stops.pop(broker_id, set())
            for key in sorted(stops):
                partition = controller.partitions.get(key)
                if partition is None or broker_id not in partition.replicas:
                    controller.send_stop_replica(broker_id, key[0], [key[1]], leader_epoch=-1)
        for key, partition in list(controller.partitions.items()):
            if partition.reassigning and set(target_replicas(partition.assignment)) & set(brokers):
                await self.reassign(key, partition.assignment)

    async def isr_changed(self, keys: Iterable[TopicPartition]) -> None:
        """After an AlterPartition: a reassignment whose target replicas are now all in the ISR completes."""
        for key in keys:
            partition = self._controller.partitions.get(key)
            if partition is not None and partition.reassigning and is_complete(partition.assignment, partition.state):
                log.info("controller %d: target replicas %s of %s-%d caught up", self._controller.broker_id,
                         list(target_replicas(partition.assignment)), *key)  # fmt: skip
                await self.reassign(key, partition.assignment)

    # -- /admin/reassign_partitions ---------------------------------------------------------------------
    def _on_znode_event(self, event: WatchedEvent) -> None:
        controller = self._controller
        if controller.epoch is None or event.type == EventType.NONE:
            return
        if event.type == EventType.CHANGED:  # data changes are not followed (Kafka's rule): re-arm only
            controller.submit(self._watch_znode)
        else:
            controller.submit(self._on_znode)

    async def _watch_znode(self) -> None:
        await self._controller.zk.exists(paths.REASSIGN_PARTITIONS, watch=self._on_znode_event)

    async def _on_znode(self) -> None:
        await self._process_znode()

    async def _process_znode(self) -> set[TopicPartition]:
        """Start the reassignments written in the znode (watching it); failed ones leave it. Returns the
        partitions started."""
        controller = self._controller
        zk = controller.zk
        if await zk.exists(paths.REASSIGN_PARTITIONS, watch=self._on_znode_event) is None:
            return set()
        try:
            data, _ = await zk.get(paths.REASSIGN_PARTITIONS)
            wanted = decode_reassign_partitions(data)
        except NoNodeError:
            return set()
        except ZnodeDataError as exc:
            log.error("controller %d: deleting %s: %s", controller.broker_id, paths.REASSIGN_PARTITIONS, exc)
            await self._delete_znode()
            return set()
        starting: dict[TopicPartition, ReplicaAssignment] = {}
        failed: set[TopicPartition] = set()
        for key, target in wanted.items():
            partition = controller.partitions.get(key)
            new = build_reassignment(partition.assignment if partition is not None else ReplicaAssignment(()), target)
            if new is None or not target:
                failed.add(key)
            else:
                starting[key] = new
        results = await self._trigger(starting)
        failed |= {key for key, error in results.items() if error is not None}
        if failed:
            log.warning("controller %d: reassignments of %s from %s failed", controller.broker_id,
                        sorted(failed), paths.REASSIGN_PARTITIONS)  # fmt: skip
            await self._remove_from_znode(lambda key, _: key in failed)
        return {key for key, error in results.items() if error is None}

    async def _remove_from_znode(self, remove: Callable[[TopicPartition, Sequence[int]], bool]) -> None:
        controller = self._controller
        assert controller.epoch is not None
        epoch, path = controller.epoch, paths.REASSIGN_PARTITIONS
        for _ in range(5):
            try:
                data, stat = await controller.zk.get(paths.REASSIGN_PARTITIONS)
                current = decode_reassign_partitions(data)
            except (NoNodeError, ZnodeDataError):
                return
            keep = {key: replicas for key, replicas in current.items() if not remove(key, replicas)}
            if len(keep) == len(current):
                return
            try:
                if keep:
                    encoded = encode_reassign_partitions(keep)
                    version = stat.version
                    await fenced_multi(controller.zk, epoch, set_data(path, encoded, version))
                else:
                    log.info("controller %d: no more partitions to reassign; deleting %s", controller.broker_id,
                             paths.REASSIGN_PARTITIONS)  # fmt: skip
                    await fenced_multi(controller.zk, epoch, delete(path, stat.version))
                return
            except BadVersionError:
                continue
            except NoNodeError:
                return

    async def _delete_znode(self) -> None:
        assert self._controller.epoch is not None
        with contextlib.suppress(NoNodeError):
            await fenced_multi(self._controller.zk, self._controller.epoch,
                               delete(paths.REASSIGN_PARTITIONS))  # fmt: skip
