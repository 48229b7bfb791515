"""The controller: the one place that changes cluster metadata (topics, partitions, configs, leaders).

``EmbeddedController`` is a single broker with no ZooKeeper acting as its own controller; the
ZooKeeper controller of cluster mode offers the same operations. Handlers validate requests and turn
``ControllerError``s into Kafka error codes; they never change metadata themselves.
"""
