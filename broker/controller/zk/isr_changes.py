"""The controller's side of AlterPartition: partition leaders propose ISR changes, the controller commits
them (Kafka's ``KafkaController.processAlterPartition``, ZooKeeper mode, 2.7+).

Why AlterPartition and not /isr_change_notification: the controller stays the only writer of the
partition state znodes. With notifications a leader wrote its own state znode and the controller wrote
the same znode on elections, two writers racing on its zkVersion; here a leader only proposes, and the
controller decides against the state it holds, which is why Kafka moved to it (KIP-497).

``submit`` puts each request on the controller's one event queue (so it is ordered with elections,
broker changes and deletions) and answers once its turn ran. The checks, in Kafka's order:

- this broker is not (or no longer) the controller: top-level NOT_CONTROLLER;
- the requesting broker is not live with that broker epoch: top-level STALE_BROKER_EPOCH;
- per partition: unknown topic id (v2+) UNKNOWN_TOPIC_ID; unknown partition UNKNOWN_TOPIC_OR_PARTITION;
  a leader or partition epoch newer than the controller's NOT_CONTROLLER (this controller is behind:
  the leader should find the new one); an older leader epoch FENCED_LEADER_EPOCH; a requester that is
  not the leader INVALID_REQUEST; the ISR already as proposed: answered as is (idempotent, before the
  partition epoch check); an older partition epoch INVALID_UPDATE_VERSION; a leader recovering
  (KIP-704), or an ISR without the leader, INVALID_REQUEST; an ISR member that is not a live replica
  INELIGIBLE_REPLICA (OPERATION_NOT_ATTEMPTED before v2).
- The accepted ones are written to /brokers/topics/<t>/partitions/<p>/state with the zkVersion the
  controller holds, fenced by the controller epoch (a moved version: INVALID_UPDATE_VERSION), keeping
  the leader epoch (ZooKeeper mode bumps only the partition epoch, the znode's version); the answer
  carries the leader, leader epoch, ISR and the new partition epoch; then every live broker gets
  UpdateMetadata, so Metadata and DescribeTopics show the new ISR everywhere.

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from protocol.errors import ErrorCode
from protocol.messages.alter_partition import (
    AlterPartitionRequest,
    AlterPartitionRequestPartition,
    AlterPartitionResponse,
    AlterPartitionResponsePartition,
    AlterPartitionResponseTopic,
)

from .topics import update_partition_state
from .znodes import PartitionState

if TYPE_CHECKING:
    from .controller import ZkController, _Partition

log = logging.getLogger(__name__)
TopicPartition = tuple[str, int]
RECOVERING = 1  # LeaderRecoveryState: the leader came from an unclean election and is recovering
REIGN_CHECK_S = 0.5


def error_response(code: ErrorCode) -> AlterPartitionResponse:
    return AlterPartitionResponse(error_code=code)


async def submit(controller: ZkController, request: AlterPartitionRequest, version: int) -> AlterPartitionResponse:
    """Queue ``request`` on the controller's event queue and wait for its answer. If the controller
    resigns before its turn (the queue drops events of an earlier reign), NOT_CONTROLLER."""
    if controller.epoch is None:
        return error_response(ErrorCode.NOT_CONTROLLER)
    reign = controller._reign
    answer: asyncio.Future[AlterPartitionResponse] = asyncio.get_running_loop().create_future()

    async def alter_partition() -> None:
        try:
            result = await process(controller, request, version)
        except BaseException:
            if not answer.done():
                answer.set_result(error_response(ErrorCode.NOT_CONTROLLER))
            raise
        if not answer.done():
            answer.set_result(result)

    controller._enqueue(alter_partition)
    while True:
        done, _ = await asyncio.wait({answer}, timeout=REIGN_CHECK_S)
        if done:
            return answer.result()
        if controller._reign != reign or controller.epoch is None:
            return error_response(ErrorCode.NOT_CONTROLLER)


async def process(controller: ZkController, request: AlterPartitionRequest, version: int) -> AlterPartitionResponse:
    """One AlterPartition request, in its turn on the event queue (see the module notes)."""
    epoch = controller.epoch
    if epoch is None:
        return error_response(ErrorCode.NOT_CONTROLLER)
    live = controller.live.get(request.broker_id)
    if live is None or live.broker_epoch != request.broker_epoch:
        log.info("controller %d: ignoring AlterPartition from broker %d with broker epoch %d (live: %s)",
                 controller.broker_id, request.broker_id, request.broker_epoch,
                 None if live is None else live.broker_epoch)  # fmt: skip
        return error_response(ErrorCode.STALE_BROKER_EPOCH)
    names = {a.topic_id.bytes: name for name, a in controller.topics.items() if a.topic_id is not None}
    response = AlterPartitionResponse()
    writes: list[tuple[TopicPartition, _Partition, PartitionState, AlterPartitionResponsePartition]] = []
    touched: list[TopicPartition] = []
    for topic in request.topics:
        name = topic.topic_name if version < 2 else names.get(topic.topic_id)
        answers = AlterPartitionResponseTopic(topic_name=topic.topic_name, topic_id=topic.topic_id)
        response.topics.append(answers)
        for wanted in topic.partitions:
            answer = AlterPartitionResponsePartition(partition_index=wanted.partition_index)
            answers.partitions.append(answer)
            if name is None:
                answer.error_code = ErrorCode.UNKNOWN_TOPIC_ID
                continue
            key = (name, wanted.partition_index)
            partition = controller.partitions.get(key)
            if partition is None or partition.state is None:
                answer.error_code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                continue
            touched.append(key)
            isr = _isr_of(wanted, version)
            code = _check(controller, request.broker_id, partition, wanted, isr, version)
            state = partition.state
            if code is not None:
                answer.error_code = code
            elif sorted(isr) == sorted(state.isr):  # already so: answer the committed state
                _fill(answer, state, partition.zk_version)
            else:
                target = PartitionState(state.leader, state.leader_epoch, tuple(isr), epoch.epoch)
                writes.append((key, partition, target, answer))
    written = await asyncio.gather(
        *(update_partition_state(controller._zk, epoch, k[0], k[1], target, p.zk_version) for k, p, target, _ in writes)
    )  # pipelined; ControllerMoved if this controller's epoch is gone
    for (key, partition, target, answer), new_version in zip(writes, written, strict=True):
        if new_version is None:
            log.info("controller %d: cannot write ISR %s of %s-%d: bad zkVersion", controller.broker_id,
                     list(target.isr), *key)  # fmt: skip
            answer.error_code = ErrorCode.INVALID_UPDATE_VERSION
            continue
        partition.state, partition.zk_version = target, new_version
        _fill(answer, target, new_version)
        log.info("controller %d: ISR of %s-%d is now %s (partition epoch %d)", controller.broker_id, *key,
                 list(target.isr), new_version)  # fmt: skip
    if touched:
        controller._send_update_metadata(touched)
    changed = [key for (key, _, _, _), version in zip(writes, written, strict=True) if version is not None]
    if any(controller.partitions[key].reassigning for key in changed if key in controller.partitions):
        controller.submit(lambda: controller.reassign.isr_changed(changed))  # after this answer: Kafka's order
    return response


def _isr_of(wanted: AlterPartitionRequestPartition, version: int) -> list[int]:
    return [b.broker_id for b in wanted.new_isr_with_epochs] if version >= 3 else list(wanted.new_isr)


def _check(
    controller: ZkController,
    broker_id: int,
    partition: _Partition,
    wanted: AlterPartitionRequestPartition,
    isr: list[int],
    version: int,
) -> ErrorCode | None:
    """The refusal of one partition's proposal, or None to accept it (or answer it as already done)."""
    state = partition.state
    assert state is not None
    if wanted.partition_epoch > partition.zk_version or wanted.leader_epoch > state.leader_epoch:
        return ErrorCode.NOT_CONTROLLER  # the leader knows a newer state than ours: we are likely deposed
    if wanted.leader_epoch < state.leader_epoch:
        return ErrorCode.FENCED_LEADER_EPOCH
    if broker_id != state.leader:
        return ErrorCode.INVALID_REQUEST
    if sorted(isr) == sorted(state.isr):
        return None
    if wanted.partition_epoch < partition.zk_version:
        return ErrorCode.INVALID_UPDATE_VERSION
    if (
        (version >= 1 and wanted.leader_recovery_state == RECOVERING)
        or state.leader not in isr
        or len(set(isr)) < len(isr)
    ):
        return ErrorCode.INVALID_REQUEST
    ineligible = [r for r in isr if r not in controller.live or r not in partition.replicas]
    if ineligible:
        log.info("controller %d: refusing ISR %s from broker %d: replicas %s are not live replicas",
                 controller.broker_id, isr, broker_id, ineligible)  # fmt: skip
        return ErrorCode.INELIGIBLE_REPLICA if version >= 2 else ErrorCode.OPERATION_NOT_ATTEMPTED
    return None


def _fill(answer: AlterPartitionResponsePartition, state: PartitionState, partition_epoch: int) -> None:
    answer.leader_id = state.leader
    answer.leader_epoch = state.leader_epoch
    answer.isr = list(state.isr)
    answer.partition_epoch = partition_epoch
