"""`make client-suites`: a client library's own integration tests, from its published sdist, against kafkish.

Of the client libraries the tests use, kafka-python is the one whose sdist on PyPI carries its integration
suite (confluent-kafka's sdist has no tests; kafkajs's npm package has none either). This downloads the
sdist of the installed kafka-python version with pip into a temporary folder at run time (nothing of it
is kept or committed), and runs its admin (ACLs included), consumer and producer integration tests
against a kafkish broker started as the suite's fixture starts Kafka: plaintext, the ACL authorizer on,
``allow.everyone.if.no.acl.found=true``, ``group.min.session.timeout.ms=1000``. The suite uses a running
broker through its ``KAFKA_URI`` variable; ``KAFKA_VERSION`` is the Kafka version whose APIs kafkish
answers (kafka-python infers it from ApiVersions, and a test checks that).

The sdist leaves out two files of the suite's plumbing, which this writes: an empty ``test/__init__.py``
(else ``test`` is Python's own test package) and ``test/service.py`` with the no-op ``ExternalService``
the fixture uses for a broker it did not start. The installed kafka-python is what runs, not the sdist's
copy. Not part of ``make test``: it needs PyPI and takes about a minute.

    python -m bench.client_suites [--keep] [pytest args...]
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from kafkish.testing import Broker

KAFKA_VERSION = "3.9.0"
SUITES = [
    "test/integration/test_admin_integration.py",
    "test/integration/test_consumer_integration.py",
    "test/integration/test_producer_integration.py",
]
BROKER_CONFIG = {
    "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
    "allow.everyone.if.no.acl.found": "true",
    "group.min.session.timeout.ms": "1000",
    "num.partitions": "4",
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
}
EXTERNAL_SERVICE = '''"""Written by kafkish's bench/client_suites.py: the suite's handle on a running broker."""


class ExternalService:
    def __init__(self, host, port):
        self.host, self.port = host, port

    def open(self):
        pass

    def close(self):
        pass

    def dump_logs(self):
        pass

    def wait_for(self, pattern, timeout=30):
        pass


class SpawnedService:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("kafkish's client-suites run uses a broker it started itself (KAFKA_URI)")
'''


def fetch_kafka_python(into: Path) -> Path:
    """The installed kafka-python's sdist, unpacked under ``into``; returns its root folder."""
    version = importlib.metadata.version("kafka-python")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
         f"kafka-python=={version}", "-d", str(into)],
        check=True,
    )  # fmt: skip
    (archive,) = into.glob("kafka_python-*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    root = into / f"kafka_python-{version}"
    shutil.move(root / "kafka", root / "kafka-from-sdist")  # the installed package is the one tested
    init = root / "test" / "__init__.py"
    if not init.exists():
        init.write_text("")
    service = root / "test" / "service.py"
    if not service.exists():
        service.write_text(EXTERNAL_SERVICE)
    (root / "kafka-root").mkdir()  # the fixture checks KAFKA_ROOT exists even when it starts nothing
    return root


def main(argv: list[str]) -> int:
    keep = "--keep" in argv
    pytest_args = [a for a in argv if a != "--keep"]
    work = Path(tempfile.mkdtemp(prefix="kafkish-client-suites-"))
    try:
        root = fetch_kafka_python(work)
        with Broker(BROKER_CONFIG) as broker:
            env = {
                **os.environ,
                "KAFKA_VERSION": KAFKA_VERSION,
                "KAFKA_URI": f"PLAINTEXT://{broker.bootstrap_servers}",
                "KAFKA_ROOT": str(root / "kafka-root"),
            }
            command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "ignore", "-q", *SUITES]
            print(f"kafka-python's integration suite ({root.name}) against kafkish at {broker.bootstrap_servers}")
            return subprocess.run([*command, *pytest_args], cwd=root, env=env, check=False).returncode
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
