"""The machine's own ceiling: the same bytes over a plain loopback TCP socket, no broker.

A sender process (``python -m bench.broker.loopback PORT BYTES``) writes 1 MiB buffers with ``sendall``;
this process receives them with ``recv_into`` a 1 MiB buffer. Two processes, like a client and a broker,
so the figure is what two Python processes on this machine can move through the kernel's loopback.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from bench.broker.servers import ROOT

CHUNK = 1 << 20


def ceiling_mb_s(nbytes: int) -> float:
    """Move ``nbytes`` from a sender process to this one over loopback TCP; returns 10^6 bytes per second."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        sender = subprocess.Popen([sys.executable, "-m", "bench.broker.loopback", str(port), str(nbytes)], cwd=ROOT)
        listener.settimeout(30)
        conn, _ = listener.accept()
    with conn:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * CHUNK)
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        got = 0
        started = time.perf_counter()
        while got < nbytes:
            n = conn.recv_into(view)
            if n == 0:
                break
            got += n
        elapsed = time.perf_counter() - started
    sender.wait(30)
    if got != nbytes:
        raise RuntimeError(f"loopback: received {got} of {nbytes} bytes (sender exit {sender.returncode})")
    return nbytes / elapsed / 1e6


def _send(port: int, nbytes: int) -> None:
    data = b"x" * CHUNK
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * CHUNK)
        left = nbytes
        while left > 0:
            n = min(left, CHUNK)
            s.sendall(data[:n] if n < CHUNK else data)
            left -= n


if __name__ == "__main__":
    _send(int(sys.argv[1]), int(sys.argv[2]))
