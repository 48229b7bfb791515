"""py-spy on the kafkish process during chosen workloads: collapsed stacks, then the top frames.

``--profile DIR`` (first round, kafkish only) runs ``py-spy record --format raw`` attached to the broker's
pid around the produce, consume and 1,000-partition workloads, writes ``DIR/<workload>.txt`` (collapsed stacks, one
"frame;frame;... count" line per stack) and prints each workload's hottest frames, by own time and
by inclusive time. py-spy needs ptrace rights over the broker (root, or ptrace_scope 0).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROFILED = (
    "produce_100b_acks1",
    "produce_1kib_acks1",
    "consume_100b",
    "consume_1kib",
    "consume_1kib_kcat",
    "partitions",
)


class PySpy:
    def __init__(self, out_dir: Path, workloads: tuple[str, ...] = PROFILED, rate: int = 250) -> None:
        self.out_dir = out_dir
        self.workloads = workloads
        self.rate = rate
        beside = Path(sys.executable).parent / "py-spy"  # the venv's, even when the venv is not activated
        self.binary = str(beside) if beside.exists() else shutil.which("py-spy")
        if self.binary is None:
            raise RuntimeError("py-spy is not installed: pip install -e '.[bench]'")
        out_dir.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def __call__(self, pid: int, workload: str) -> Iterator[None]:
        if workload not in self.workloads:
            yield
            return
        path = self.out_dir / f"{workload}.txt"
        assert self.binary is not None
        args = [self.binary, "record", "--pid", str(pid), "--format", "raw", "-o", str(path), "-r", str(self.rate)]
        spy = subprocess.Popen([*args, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)  # attach before the workload starts
        try:
            yield
        finally:
            spy.send_signal(signal.SIGINT)
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait(10)


def top_frames(path: Path, n: int = 15) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(own-time, inclusive-time) top ``n`` frames of a collapsed-stack file, as shares of all samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if total == 0:
        return [], []
    return ([(f, c / total) for f, c in own.most_common(n)], [(f, c / total) for f, c in inclusive.most_common(n)])


def report(out_dir: Path, n: int = 15) -> str:
    lines = []
    for path in sorted(out_dir.glob("*.txt")):
        own, inclusive = top_frames(path, n)
        lines.append(f"== py-spy {path.stem} (kafkish) ==")
        lines.append("  own time:")
        lines += [f"    {share * 100:5.1f}%  {frame}" for frame, share in own]
        lines.append("  inclusive:")
        lines += [f"    {share * 100:5.1f}%  {frame}" for frame, share in inclusive]
    return "\n".join(lines)
