"""``python -m broker [server.properties] [--override key=value ...]``, like kafka-server-start.sh.

At start the soft limit on open files is raised to the hard one, as Kafka's documentation asks of its
operators (every connection and every log segment holds descriptors); the hard limit is the operator's.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import resource
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from broker.config import BrokerConfig, ConfigError, parse_properties
from broker.controller.errors import ClusterStartError
from storage.errors import StorageError

log = logging.getLogger("broker")
GC_GEN0_THRESHOLD = 7000  # CPython's default: 700


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="kafkish", description="A Kafka-compatible broker. Reads Kafka's server.properties names and defaults."
    )
    parser.add_argument("properties", nargs="?", help="a server.properties file")
    parser.add_argument(
        "--override", action="append", default=[], metavar="KEY=VALUE", help="set a property (repeatable)"
    )
    return parser.parse_args(argv)


def load_config(args: argparse.Namespace) -> BrokerConfig:
    props: dict[str, str] = {}
    if args.properties:
        try:
            with open(args.properties, encoding="utf-8") as f:
                props.update(parse_properties(f.read()))
        except OSError as exc:
            raise ConfigError(f"cannot read {args.properties}: {exc.strerror}") from None
    for item in args.override:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--override needs KEY=VALUE, got {item!r}")
        props[key.strip()] = value.strip()
    return BrokerConfig.from_properties(props)


def raise_descriptor_limit() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit (an unlimited hard limit: as far as the kernel allows)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if hard == resource.RLIM_INFINITY:
        try:
            with open("/proc/sys/fs/nr_open", encoding="ascii") as f:
                target = int(f.read())
        except (OSError, ValueError):
            return
    if soft == resource.RLIM_INFINITY or soft >= target:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (OSError, ValueError) as exc:
        log.warning("cannot raise the open files limit from %d to %d: %s", soft, target, exc)


def settle_garbage_collector() -> None:
    """After start-up: move everything alive into the permanent generation (``gc.freeze``), so full
    collections no longer walk the tens of thousands of long-lived objects start-up made (modules,
    compiled codecs, configs, logs), and collect the young generation ten times less often. Request
    objects are mostly freed by reference counting; each full collection paused the loop for 5 to
    over 100 ms under load. No collection first: the broker is serving already, and a full collection
    now would be the very pause this avoids (the little start-up garbage frozen with the rest stays)."""
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 10, 10)


def prestarted_executor() -> ThreadPoolExecutor:
    """The loop's default executor (``asyncio.to_thread``) with all its threads started now: started
    lazily, each of the first few ``to_thread`` calls waited on the loop for a new thread to come up,
    up to 100 ms on a busy machine. Same size as asyncio's own default."""
    workers = min(32, (os.cpu_count() or 1) + 4)
    executor = ThreadPoolExecutor(workers, thread_name_prefix="asyncio")
    all_up = threading.Barrier(workers + 1)
    for _ in range(workers):  # a busy worker is not idle, so each submit starts another thread
        executor.submit(all_up.wait)
    all_up.wait()
    return executor


async def serve(config: BrokerConfig, started_at: float) -> None:
    from broker.server import Broker

    # Signals are handled before start-up ends, so a supervisor may stop the broker the moment it is ready.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_default_executor(prestarted_executor())
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    from broker.loop_monitor import install_from_env

    monitor = install_from_env()  # off (None) unless KAFKISH_LOOP_STALL_MS is set
    broker = Broker(config, started_at)
    log.info(
        "starting kafkish broker %d: listeners %s; data in %s",
        broker.node_id, ", ".join(config.get("listeners")), ", ".join(broker.log_dirs),
    )  # fmt: skip
    await broker.start()
    settle_garbage_collector()
    await stop.wait()
    await broker.shutdown()
    if monitor is not None:
        monitor.uninstall()


def main(argv: list[str] | None = None) -> int:
    started_at = time.monotonic()
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="[%(asctime)s] %(levelname)s %(message)s (%(name)s)"
    )
    raise_descriptor_limit()
    try:
        config = load_config(parse_args(sys.argv[1:] if argv is None else argv))
    except ConfigError as exc:
        log.error("invalid configuration: %s", exc)
        return 1
    try:
        asyncio.run(serve(config, started_at))
    except ConfigError as exc:
        log.error("invalid configuration: %s", exc)
        return 1
    except (OSError, StorageError, ClusterStartError) as exc:  # e.g. a damaged metadata file, ZooKeeper unreachable
        log.error("cannot start: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
