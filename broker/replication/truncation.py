"""Where a follower truncates its log to, given what the leader says of an epoch (KIP-101, KIP-279).

Pure decisions, no I/O: the fetcher asks the leader (OffsetForLeaderEpoch, or a fetch's diverging
epoch, KIP-320) for the end offset of the follower's latest epoch, and ``truncation_offset`` turns the
answer into the offset to truncate to, and whether truncation is then complete. When the leader
answers an older epoch that the follower does not know, the follower truncates to the end of its own
largest epoch below that one and asks again (complete False), walking epochs back until both agree:
so after truncation the follower's log is a prefix of the leader's, at the same offsets and epochs.

Invariants: the offset returned is never above the follower's log end offset; an answer with no end
offset (the leader knows no epoch up to ours) truncates to the follower's high watermark, which only
committed records lie below (Kafka's rule for that case).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

UNDEFINED = -1


class Truncation(NamedTuple):
    offset: int
    complete: bool


def truncation_offset(
    leader_epoch: int,
    leader_end_offset: int,
    log_end_offset: int,
    high_watermark: int,
    local_end_offset_for_epoch: Callable[[int], tuple[int, int]],
) -> Truncation:
    """``leader_epoch``/``leader_end_offset``: the leader's answer (its largest epoch <= the one asked,
    and that epoch's end offset in its log); ``local_end_offset_for_epoch(epoch)``: the follower's
    (largest epoch <= ``epoch``, its end offset), or (-1, -1)."""
    if leader_end_offset == UNDEFINED:
        return Truncation(min(high_watermark, log_end_offset), True)
    if leader_epoch == UNDEFINED:
        return Truncation(min(leader_end_offset, log_end_offset), True)
    local_epoch, local_end = local_end_offset_for_epoch(leader_epoch)
    if local_epoch == UNDEFINED or local_end == UNDEFINED:
        # The follower kept no epochs up to the leader's: the leader's offset is where they part.
        return Truncation(min(leader_end_offset, log_end_offset), True)
    if local_epoch != leader_epoch:
        # The follower never saw the leader's epoch: cut back to the end of its own older epoch, ask again.
        return Truncation(min(local_end, log_end_offset), False)
    return Truncation(min(local_end, leader_end_offset, log_end_offset), True)
