"""The classic group coordinator and committed offsets (Kafka's GroupCoordinator and GroupMetadataManager).

Modules: ``state`` (states and transitions as data), ``group`` (a group, its members and offsets),
``membership`` (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), ``coordinator`` (offsets, admin,
retention, loading), ``records`` (``__consumer_offsets`` key/value schemas), ``store`` (the offsets
topic: appends and replay), ``timers`` (the clock), ``service`` (how the broker runs it all).
"""
