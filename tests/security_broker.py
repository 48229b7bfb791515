"""A broker process with several listeners (one per security protocol asked for), for the security tests."""

from __future__ import annotations

from pathlib import Path

from tests.harness import BrokerProcess


class SecuredBroker(BrokerProcess):
    """``listeners``: name -> security protocol; the first is also the harness's ``port``. Each listener
    binds an ephemeral port; ``ports`` names them once the broker has started."""

    def __init__(self, tmp: Path, listeners: dict[str, str], overrides: dict[str, str] | None = None) -> None:
        super().__init__(tmp, overrides)
        self.overrides["listeners"] = ",".join(f"{name}://127.0.0.1:0" for name in listeners)
        self.overrides["listener.security.protocol.map"] = ",".join(f"{n}:{p}" for n, p in listeners.items())
        if "PLAINTEXT" not in listeners:
            self.overrides.setdefault("inter.broker.listener.name", next(iter(listeners)))

    def __enter__(self) -> SecuredBroker:
        self.start()
        return self

    def bootstrap_of(self, listener: str) -> str:
        return f"127.0.0.1:{self.ports[listener]}"
