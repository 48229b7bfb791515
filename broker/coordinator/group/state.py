"""The states of a classic group and the transitions between them, written as data.

::

    Empty --join--> PreparingRebalance --all joined / rebalance timeout--> CompletingRebalance
      ^                  |      ^                                                |
      |  (no members)    |      +---------- member joins, leaves or dies --------+
      +------------------+      |                                                | leader's SyncGroup
                                +-------------- Stable <-------------------------+

    any state --(group deleted, offsets expired, coordinator moved)--> Dead
"""

from __future__ import annotations

import enum


class GroupState(enum.Enum):
    EMPTY = "Empty"  # no members; may still hold committed offsets
    PREPARING_REBALANCE = "PreparingRebalance"  # waiting for members to (re)join
    COMPLETING_REBALANCE = "CompletingRebalance"  # joined; waiting for the leader's assignment
    STABLE = "Stable"  # assignment handed out; members heartbeat
    DEAD = "Dead"  # removed: no members, no offsets, about to be forgotten

    def __str__(self) -> str:
        return self.value


# For each state, the states a group may enter it from (Kafka's validPreviousStates).
VALID_PREVIOUS: dict[GroupState, frozenset[GroupState]] = {
    GroupState.EMPTY: frozenset({GroupState.PREPARING_REBALANCE}),
    GroupState.PREPARING_REBALANCE: frozenset({GroupState.STABLE, GroupState.COMPLETING_REBALANCE, GroupState.EMPTY}),
    GroupState.COMPLETING_REBALANCE: frozenset({GroupState.PREPARING_REBALANCE}),
    GroupState.STABLE: frozenset({GroupState.COMPLETING_REBALANCE}),
    GroupState.DEAD: frozenset(GroupState),
}

# The states from which a join, a leave or a death starts a rebalance.
CAN_REBALANCE = frozenset({GroupState.STABLE, GroupState.COMPLETING_REBALANCE, GroupState.EMPTY})


class IllegalStateTransition(RuntimeError):
    """A coordinator bug: a transition the table above does not allow."""


def check_transition(group_id: str, current: GroupState, target: GroupState) -> None:
    if current not in VALID_PREVIOUS[target]:
        raise IllegalStateTransition(f"group {group_id}: cannot go from {current} to {target}")


def parse_state(name: str) -> GroupState | None:
    """A state by its name, case-insensitively (ListGroups' states filter); None if unknown."""
    for state in GroupState:
        if state.value.lower() == name.lower():
            return state
    return None
