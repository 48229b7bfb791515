"""Server-side assignors of KIP-848 consumer groups: ``uniform`` (the default) and ``range``.

An assignor is a pure function: the members' subscriptions, the partition count of every
subscribed topic and the previous target assignment in, the new target assignment out.

- ``uniform`` spreads every partition over the members subscribed to its topic so that each
  member's count differs from any other eligible member's by at most one where subscriptions allow,
  and keeps every partition with its previous owner when that owner still subscribes and is not over
  its share (Kafka's UniformAssignor is sticky and balanced the same way; its exact choices differ).
- ``range`` assigns each topic on its own: the members subscribed to it, sorted by member id, get
  contiguous ranges, the first ``partitions % members`` one partition more (the classic range rule;
  co-partitioned topics land on the same members).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

# topic name -> partitions
Assignment = dict[str, set[int]]
Assignor = Callable[[Mapping[str, set[str]], Mapping[str, int], Mapping[str, Assignment]], dict[str, Assignment]]


def _empty(members: Mapping[str, set[str]]) -> dict[str, Assignment]:
    return {member: {} for member in members}


def range_assign(
    members: Mapping[str, set[str]], topics: Mapping[str, int], previous: Mapping[str, Assignment]
) -> dict[str, Assignment]:
    result = _empty(members)
    for topic in sorted(topics):
        subscribed = sorted(m for m, subscription in members.items() if topic in subscription)
        if not subscribed:
            continue
        count = topics[topic]
        share, extra = divmod(count, len(subscribed))
        start = 0
        for i, member in enumerate(subscribed):
            size = share + (1 if i < extra else 0)
            if size:
                result[member][topic] = set(range(start, start + size))
            start += size
    return result


def uniform_assign(
    members: Mapping[str, set[str]], topics: Mapping[str, int], previous: Mapping[str, Assignment]
) -> dict[str, Assignment]:
    owner: dict[tuple[str, int], str] = {}
    load = dict.fromkeys(members, 0)
    eligible: dict[str, list[str]] = {t: sorted(m for m, s in members.items() if t in s) for t in topics}
    partitions = [(t, p) for t in sorted(topics) for p in range(topics[t]) if eligible[t]]
    if not partitions:
        return _empty(members)
    # A member's fair share: the partitions it could take, spread over everyone who could take them.
    limit = {m: -(-len(partitions) // max(len(members), 1)) for m in members}
    # 1. Stickiness: a previous owner keeps what it still subscribes to, up to its share.
    for member in sorted(previous):
        if member not in members:
            continue
        for topic, owned in sorted(previous[member].items()):
            if topic not in topics or topic not in members[member]:
                continue
            for p in sorted(owned):
                if p < topics[topic] and (topic, p) not in owner and load[member] < limit[member]:
                    owner[(topic, p)] = member
                    load[member] += 1
    # 2. Every other partition goes to the least loaded member subscribed to its topic.
    for tp in partitions:
        if tp not in owner:
            member = min(eligible[tp[0]], key=lambda m: (load[m], m))
            owner[tp] = member
            load[member] += 1
    # 3. Balance: move a partition from a member with two more than an eligible member, until none does.
    moved = True
    while moved:
        moved = False
        for tp in partitions:
            current = owner[tp]
            target = min(eligible[tp[0]], key=lambda m: (load[m], m))
            if load[current] - load[target] > 1:
                owner[tp] = target
                load[current] -= 1
                load[target] += 1
                moved = True
    result = _empty(members)
    for (topic, p), member in owner.items():
        result[member].setdefault(topic, set()).add(p)
    return result


ASSIGNORS: dict[str, Assignor] = {"uniform": uniform_assign, "range": range_assign}
