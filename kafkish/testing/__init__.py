"""kafkish's test kit: a real broker for tests without a JVM, and checks of what a test produced and read.

    from kafkish.testing import Broker

    with Broker({"num.partitions": 3}) as broker:
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers})

pytest users get the same through fixtures (``kafka_broker``, ``kafka_bootstrap``, ``kafka_topic``),
registered by ``kafkish.pytest_plugin`` when kafkish is installed.
"""

from __future__ import annotations

from kafkish.testing.broker import TEST_DEFAULTS, Broker, BrokerError
from kafkish.testing.checkers import DeliveryReport, Record, check_delivery
from kafkish.testing.cluster import Cluster
from kafkish.testing.faults import FaultInjectionError, Faults

__all__ = [
    "TEST_DEFAULTS",
    "Broker",
    "BrokerError",
    "Cluster",
    "DeliveryReport",
    "FaultInjectionError",
    "Faults",
    "Record",
    "check_delivery",
]
