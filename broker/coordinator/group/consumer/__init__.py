"""KIP-848 consumer groups: the consumer rebalance protocol (ConsumerGroupHeartbeat, ConsumerGroupDescribe).

The coordinator owns the assignment: members heartbeat their subscription and the partitions they
own; the group epoch moves whenever a subscription, a member or a subscribed topic changes; a
server-side assignor computes the target assignment of the new epoch; each member reconciles
towards its target one heartbeat at a time, never receiving a partition another member still owns.

Modules: ``assignors`` (uniform and range), ``member`` (a member and its reconciliation, Kafka's
CurrentAssignmentBuilder), ``group`` (a group, its epochs and partition owners), ``manager`` (the
heartbeat and its timers, describe, offsets rules). Not thread-safe: the event loop owns it all.
"""
