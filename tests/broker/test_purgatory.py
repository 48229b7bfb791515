"""The purgatory: operations complete once, by a check, a timeout or shutdown, and a cancelled wait
leaves nothing behind."""

from __future__ import annotations

import asyncio

from broker.purgatory import DelayedOperation, Purgatory


class Counter(DelayedOperation[str]):
    def __init__(self, timeout_ms: int, needed: int) -> None:
        super().__init__(timeout_ms)
        self.needed = needed
        self.seen = 0
        self.expired = False
        self.completions = 0

    def try_complete(self) -> bool:
        return self.seen >= self.needed and self.force_complete()

    def on_expiration(self) -> None:
        self.expired = True

    def on_complete(self) -> str:
        self.completions += 1
        return "expired" if self.expired else f"done at {self.seen}"


def test_an_operation_that_can_complete_at_once_is_not_watched() -> None:
    async def body() -> None:
        purgatory: Purgatory[str] = Purgatory("t")
        assert await purgatory.wait(Counter(10_000, needed=0), ["a"]) == "done at 0"
        assert purgatory.watched() == 0

    asyncio.run(body())


def test_check_and_complete_wakes_the_operations_of_that_key_only() -> None:
    async def body() -> None:
        purgatory: Purgatory[str] = Purgatory("t")
        on_a, on_b = Counter(10_000, needed=1), Counter(10_000, needed=1)
        wait_a = asyncio.create_task(purgatory.wait(on_a, ["a", "x"]))
        wait_b = asyncio.create_task(purgatory.wait(on_b, ["b"]))
        await asyncio.sleep(0)
        assert purgatory.watched() == 3
        on_a.seen = on_b.seen = 1
        assert purgatory.check_and_complete("a") == 1
        assert await wait_a == "done at 1"
        assert not wait_b.done()
        assert purgatory.check_and_complete("a") == 0  # completed operations are not checked again
        assert purgatory.watched() == 1
        purgatory.check_and_complete("b")
        assert await wait_b == "done at 1"
        assert on_a.completions == on_b.completions == 1
        assert purgatory.watched() == 0

    asyncio.run(body())


def test_the_timeout_expires_the_operation_once() -> None:
    async def body() -> None:
        purgatory: Purgatory[str] = Purgatory("t")
        op = Counter(20, needed=1)
        assert await purgatory.wait(op, ["a"]) == "expired"
        op.seen = 1
        assert purgatory.check_and_complete("a") == 0
        assert op.completions == 1 and purgatory.watched() == 0

    asyncio.run(body())


def test_a_cancelled_wait_leaves_no_watcher_and_never_completes() -> None:
    async def body() -> None:
        purgatory: Purgatory[str] = Purgatory("t")
        op = Counter(10_000, needed=1)
        task = asyncio.create_task(purgatory.wait(op, ["a", "b"]))
        await asyncio.sleep(0)
        assert purgatory.watched() == 2
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled() and purgatory.watched() == 0
        op.seen = 1
        assert purgatory.check_and_complete("a") == 0 and op.completions == 0

    asyncio.run(body())


def test_shutdown_completes_waiting_and_later_operations_at_once() -> None:
    async def body() -> None:
        purgatory: Purgatory[str] = Purgatory("t")
        task = asyncio.create_task(purgatory.wait(Counter(10_000, needed=1), ["a"]))
        await asyncio.sleep(0)
        purgatory.notify_all()
        assert await task == "done at 0"
        assert await purgatory.wait(Counter(10_000, needed=1), ["a"]) == "done at 0"

    asyncio.run(body())


def test_an_operation_that_fails_its_check_is_completed_not_propagated() -> None:
    class Broken(Counter):
        def try_complete(self) -> bool:
            if self.seen:
                raise RuntimeError("bug")
            return False

    async def body() -> None:
        purgatory: Purgatory[str] = Purgatory("t")
        op = Broken(10_000, needed=1)
        task = asyncio.create_task(purgatory.wait(op, ["a"]))
        await asyncio.sleep(0)
        op.seen = 1
        purgatory.check_and_complete("a")  # does not raise into the appender
        assert await task == "done at 1"

    asyncio.run(body())


def test_an_operation_that_fails_to_complete_hands_its_waiter_the_error() -> None:
    class Failing(Counter):
        def on_complete(self) -> str:
            raise RuntimeError("bug in on_complete")

    async def body() -> None:
        purgatory: Purgatory[str] = Purgatory("t")
        op = Failing(10_000, needed=1)
        task = asyncio.create_task(purgatory.wait(op, ["a"]))
        await asyncio.sleep(0)
        op.seen = 1
        purgatory.check_and_complete("a")
        try:
            await asyncio.wait_for(task, 5)
        except RuntimeError as exc:
            assert "bug in on_complete" in str(exc)
        else:
            raise AssertionError("the waiter should get the error")
        assert purgatory.watched() == 0

    asyncio.run(body())
