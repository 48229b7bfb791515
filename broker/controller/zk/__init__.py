"""Cluster mode's ZooKeeper side: the only package that imports kazoo.

- ``paths`` and ``znodes``: Kafka's ZooKeeper-era znode layout and JSON formats, pure functions.
- ``client.ZkClient``: one ZooKeeper session with an asyncio face (kazoo's threads never touch broker
  state; results, watches and session changes come back through ``loop.call_soon_threadsafe``).
- ``registration``: top-level paths, cluster id, broker id generation, the ephemeral /brokers/ids/<id>.
- ``election.ZkControllerElection``: /controller and /controller_epoch.
- ``live_brokers.ZkLiveBrokers``: the watched children of /brokers/ids.
- ``topics``: topic creation, and the controller's reads and epoch-fenced writes of partition states.
- ``node.ZkBrokerNode``: all of the above wired for one broker in Kafka's start-up order (below); what
  ``broker.server`` uses when ``zookeeper.connect`` is set.
- ``controller.ZkController`` (one event queue; ``state_machine``: transition tables and elections;
  ``channel``: LeaderAndIsr / UpdateMetadata / StopReplica to every live broker): the controller role.
- ``admin.ZkAdmin``: the Controller interface of admin handlers, through ZooKeeper, on any broker.
- ``producer_ids``: producer id blocks from /latest_producer_id_block.

A broker in cluster mode starts them in Kafka's order, on one session (tests/cluster/
test_zk_broker_session.py does exactly this)::

    zk = zk_client_for(config); await zk.start()            # creates the chroot of zookeeper.connect
    await create_top_level_paths(zk)
    cluster_id = await get_or_create_cluster_id(zk, meta.cluster_id if meta else new_cluster_id())
    check_cluster_id(cluster_id, meta.cluster_id if meta else None)
    broker_id = await resolve_broker_id(zk, config.get("broker.id"), meta.node_id if meta else None,
                                        config.get("broker.id.generation.enable"),
                                        config.get("reserved.broker.max.id"))
    registration = ZkBrokerRegistration(zk, lambda: BrokerRegistration(broker_id, endpoints, rack))
    broker_epoch = await registration.register()            # BrokerIdInUse: another live broker has the id
    live = ZkLiveBrokers(zk, on_change=...); await live.start()
    election = ZkControllerElection(zk, broker_id, on_elected=..., on_resigned=...); await election.start()
"""
