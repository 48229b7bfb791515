"""Controlled shutdown: a stopping broker first asks the controller to move its leadership away.

Both halves of Kafka's ZooKeeper-era controlled shutdown (KafkaServer.controlledShutdown and
KafkaController.doControlledShutdown):

- The broker (``request_controlled_shutdown``, with ``controlled.shutdown.enable``): ControlledShutdown
  (v3, with its broker epoch) to the active controller over the inter-broker listener; an error, an
  unreachable controller or partitions still led by this broker: wait
  ``controlled.shutdown.retry.backoff.ms`` (less if another controller is elected meanwhile) and ask
  again, ``controlled.shutdown.max.retries`` times in all; then the broker stops either way (its
  session's end moves whatever is left, as an unclean stop does).
- The controller (``shut_down_broker``, an event of its one queue): an unknown broker is
  BROKER_NOT_AVAILABLE, another incarnation's epoch STALE_BROKER_EPOCH. The broker joins the
  controller's shutting-down set: from then on it is never elected. Each partition with more than one
  replica that it leads gets as leader the first replica of the assignment that is live, not shutting
  down and in the ISR, and an ISR without the shutting-down brokers; each one where it follows loses it
  from the ISR (never the last member) and the broker gets StopReplica (no delete) for it. Every change
  bumps the leader epoch, reaches the replicas by LeaderAndIsr and every broker by UpdateMetadata
  (``ZkController.apply_states``). The answer lists the partitions it still leads (no eligible leader).
  The set forgets a broker when its session ends.

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from broker.controller.errors import ControllerError
from broker.network_client import BrokerUnreachable, NetworkClient
from protocol.errors import ErrorCode
from protocol.messages.controlled_shutdown import (
    CONTROLLED_SHUTDOWN,
    ControlledShutdownRequest,
    ControlledShutdownResponse,
)
from protocol.messages.stop_replica import (
    STOP_REPLICA,
    StopReplicaPartitionState,
    StopReplicaRequest,
    StopReplicaTopicState,
)

from .znodes import PartitionState

if TYPE_CHECKING:
    from .controller import ZkController
    from .node import ZkBrokerNode

log = logging.getLogger(__name__)
TopicPartition = tuple[str, int]
CONTROLLED_SHUTDOWN_VERSION = 3
STOP_REPLICA_VERSION = 3
POLL_S = 0.05


# -- the controller's side ------------------------------------------------------------------------------
async def shut_down_broker(controller: ZkController | None, broker_id: int, broker_epoch: int) -> list[TopicPartition]:
    """Run on the controller's queue; the partitions the broker still leads afterwards."""
    if controller is None or controller.epoch is None:
        raise ControllerError(ErrorCode.NOT_CONTROLLER, "This is not the correct controller for this cluster.")
    done: asyncio.Future[list[TopicPartition]] = asyncio.get_running_loop().create_future()

    async def event() -> None:
        try:
            result = await _move_leadership(controller, broker_id, broker_epoch)
        except ControllerError as exc:
            if not done.done():
                done.set_exception(exc)
            return
        if not done.done():
            done.set_result(result)

    controller.submit(event)
    return await done


async def _move_leadership(controller: ZkController, broker_id: int, broker_epoch: int) -> list[TopicPartition]:
    live = controller.live.get(broker_id)
    if live is None:
        raise ControllerError(ErrorCode.BROKER_NOT_AVAILABLE, f"Broker {broker_id} is not alive.")
    if broker_epoch != -1 and broker_epoch != live.broker_epoch:
        raise ControllerError(
            ErrorCode.STALE_BROKER_EPOCH,
            f"Received controlled shutdown of broker {broker_id} with a stale epoch {broker_epoch}",
        )
    controller.shutting_down.add(broker_id)
    assert controller.epoch is not None
    epoch = controller.epoch.epoch
    electable = controller.electable()
    states: dict[TopicPartition, PartitionState] = {}
    stopped: dict[str, list[int]] = {}
    for key, partition in controller.replicas().items():
        state = partition.state
        if state is None or broker_id not in partition.assignment or len(partition.assignment) < 2:
            continue
        isr = tuple(r for r in state.isr if r not in controller.shutting_down)
        if state.leader == broker_id:
            leader = next((r for r in partition.assignment if r in electable and r in state.isr), None)
            if leader is not None:
                states[key] = PartitionState(leader, state.leader_epoch + 1, isr, epoch)
        elif broker_id in state.isr and isr:
            states[key] = PartitionState(state.leader, state.leader_epoch + 1, isr, epoch)
            stopped.setdefault(key[0], []).append(key[1])
        elif broker_id not in state.isr:
            stopped.setdefault(key[0], []).append(key[1])
    written = await controller.apply_states(states)
    if stopped:
        request = StopReplicaRequest(
            controller_id=controller.broker_id, controller_epoch=epoch, broker_epoch=live.broker_epoch,
            topic_states=[
                StopReplicaTopicState(topic_name=topic, partition_states=[
                    StopReplicaPartitionState(partition_index=i, leader_epoch=-1, delete_partition=False)
                    for i in sorted(indexes)
                ])
                for topic, indexes in sorted(stopped.items())
            ],
        )  # fmt: skip
        controller.send(broker_id, STOP_REPLICA, STOP_REPLICA_VERSION, request)
    remaining = sorted(
        key for key, p in controller.replicas().items()
        if p.state is not None and p.state.leader == broker_id and len(p.assignment) > 1
    )  # fmt: skip
    log.info(
        "controller %d: controlled shutdown of broker %d moved %d partition(s), %d remain",
        controller.broker_id, broker_id, len(written), len(remaining),
    )  # fmt: skip
    return remaining


# -- the stopping broker's side ---------------------------------------------------------------------------
async def request_controlled_shutdown(node: ZkBrokerNode) -> bool:
    """Ask the controller to move this broker's leadership; True once it says nothing remains."""
    config = node.config
    retries = int(config.get("controlled.shutdown.max.retries"))
    backoff_s = int(config.get("controlled.shutdown.retry.backoff.ms")) / 1000
    client = NetworkClient(f"controlled-shutdown-{node.broker_id}")
    started = time.monotonic()
    try:
        for attempt in range(1, retries + 1):
            problem = await _attempt(node, client)
            if problem is None:
                log.info("controlled shutdown succeeded in %.2fs", time.monotonic() - started)
                return True
            log.warning("controlled shutdown attempt %d of %d: %s", attempt, retries, problem)
            if attempt < retries:
                await _backoff(node, backoff_s)
    finally:
        await client.close()
    log.warning("controlled shutdown did not complete; stopping anyway")
    return False


async def _backoff(node: ZkBrokerNode, backoff_s: float) -> None:
    """Wait ``backoff_s``, or less: a new controller is worth asking at once."""
    tried = node.active_controller
    deadline = time.monotonic() + backoff_s
    while time.monotonic() < deadline:
        await asyncio.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
        if node.active_controller not in (tried, -1):
            return


async def _attempt(node: ZkBrokerNode, client: NetworkClient) -> str | None:
    controller_id = node.active_controller
    live = node.live.live if node.live is not None else {}
    broker = live.get(controller_id)
    if broker is None:
        return f"no live controller known (controller id {controller_id})"
    registration = broker.registration
    endpoint = registration.endpoint(node.inter_broker_listener) or registration.endpoints[0]
    request = ControlledShutdownRequest(broker_id=node.broker_id, broker_epoch=node.broker_epoch)
    try:
        response: ControlledShutdownResponse = await client.request(
            controller_id, endpoint.host or "127.0.0.1", endpoint.port,
            CONTROLLED_SHUTDOWN, CONTROLLED_SHUTDOWN_VERSION, request,
        )  # fmt: skip
    except BrokerUnreachable as exc:
        return str(exc)
    if response.error_code != ErrorCode.NONE:
        return f"the controller answered {ErrorCode(response.error_code).name}"
    if response.remaining_partitions:
        names = [f"{p.topic_name}-{p.partition_index}" for p in response.remaining_partitions]
        return f"{len(names)} partition(s) still led here: {', '.join(names[:10])}"
    return None
