"""Cluster mode's ZooKeeper side: the only package that imports kazoo.

- ``paths`` and ``znodes``: Kafka's ZooKeeper-era znode layout and JSON formats, pure functions.
- ``client.ZkClient``: one ZooKeeper session with an asyncio face (kazoo's threads never touch broker
  state; results, watches and session changes come back through ``loop.call_soon_threadsafe``).
- ``registration``: top-level paths, cluster id, broker id generation, the ephemeral /brokers/ids/<id>.
- ``election.ZkControllerElection``: /controller and /controller_epoch.
- ``live_brokers.ZkLiveBrokers``: the watched children of /brokers/ids.
"""
