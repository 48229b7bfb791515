"""A broker's registration in a process of its own, to be killed: ``python -m tests.cluster.registrant
CONNECT BROKER_ID SESSION_MS``. Prints ``registered <broker epoch>`` and waits for its end."""

from __future__ import annotations

import asyncio
import sys

from broker.controller.zk.client import ZkClient
from broker.controller.zk.registration import ZkBrokerRegistration
from tests.cluster.support import registration


async def main(connect: str, broker_id: int, session_ms: int) -> None:
    zk = ZkClient(connect, session_timeout_ms=session_ms)
    await zk.start()
    epoch = await ZkBrokerRegistration(zk, registration(broker_id)).register()
    print(f"registered {epoch}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
