"""kafka-python's admin client for the tools whose APIs librdkafka lacks (ListTransactions,
DescribeTransactions, DescribeProducers, WriteTxnMarkers for an abort).

``--command-config`` holds the same client properties as for the other tools (librdkafka's names, which
are Kafka's where both exist): they are translated to kafka-python's keyword arguments. A Java client's
``sasl.jaas.config`` with ``username="..." password="..."`` is read too. Properties kafka-python has no
counterpart for are ignored.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from kafkish.cli._common import fail, read_properties

_RENAMES = {
    "security.protocol": "security_protocol",
    "sasl.mechanism": "sasl_mechanism",
    "sasl.mechanisms": "sasl_mechanism",
    "sasl.username": "sasl_plain_username",
    "sasl.password": "sasl_plain_password",
    "ssl.ca.location": "ssl_cafile",
    "ssl.certificate.location": "ssl_certfile",
    "ssl.key.location": "ssl_keyfile",
    "ssl.key.password": "ssl_password",
    "client.id": "client_id",
}
_INTEGERS = {"request.timeout.ms": "request_timeout_ms"}


def kafka_python_config(properties: dict[str, str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, value in properties.items():
        if key in _RENAMES:
            config[_RENAMES[key]] = value.upper() if key in ("security.protocol", "sasl.mechanism") else value
        elif key in _INTEGERS:
            config[_INTEGERS[key]] = int(value)
        elif key == "ssl.endpoint.identification.algorithm":
            config["ssl_check_hostname"] = value.lower() == "https"
        elif key == "sasl.jaas.config":
            for field, target in (("username", "sasl_plain_username"), ("password", "sasl_plain_password")):
                found = re.search(rf'{field}\s*=\s*"([^"]*)"', value)
                if found:
                    config.setdefault(target, found.group(1))
    return config


def admin_client(args: argparse.Namespace) -> Any:
    """A kafka-python KafkaAdminClient for ``--bootstrap-server`` and ``--command-config``."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    config = kafka_python_config(read_properties(getattr(args, "command_config", None)))
    try:
        return KafkaAdminClient(bootstrap_servers=args.bootstrap_server.split(","), **config)
    except KafkaError as exc:
        fail(f"cannot connect to {args.bootstrap_server}: {message(exc)} (is it reachable? try: kafkish doctor)")


def message(exc: BaseException) -> str:
    """A kafka-python error as the Java client's exception message: Kafka's description of the error."""
    description = getattr(exc, "description", None)
    if isinstance(description, str) and description:
        return description
    return str(exc) or type(exc).__name__
