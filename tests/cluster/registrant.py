"""A broker's registration in a process of its own, to be killed: ``python -m tests.cluster.registrant
CONNECT BROKER_ID SESSION_MS``. Prints ``registered <broker epoch>`` at each registration (again after its
session expired, e.g. when it was paused with SIGSTOP) and waits for its end."""

from __future__ import annotations

import asyncio
import sys

from broker.controller.zk.client import ZkClient
from broker.controller.zk.registration import ZkBrokerRegistration
from tests.cluster.support import registration


async def main(connect: str, broker_id: int, session_ms: int) -> None:
    zk = ZkClient(connect, session_timeout_ms=session_ms)
    await zk.start()

    def registered(epoch: int) -> None:
        print(f"registered {epoch}", flush=True)

    registered(await ZkBrokerRegistration(zk, registration(broker_id), on_registered=registered).register())
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
