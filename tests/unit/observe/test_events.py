"""The event bus: ordered, never blocking, dropping per subscriber."""

from __future__ import annotations

import asyncio

from llamaswap.observe.events import (
    ConfigReloaded,
    EventBus,
    ProcessStateChanged,
    ProfileChanged,
)
from llamaswap.process.state import ProcessState


def test_each_subscriber_sees_events_in_publication_order() -> None:
    bus = EventBus()
    a, b = bus.subscribe(), bus.subscribe()
    events = [ProfileChanged(str(i)) for i in range(5)]
    for event in events:
        bus.publish(event)
    for sub in (a, b):
        got = [sub.get_nowait() for _ in events]
        assert got == events, f"got {got}, want publication order"
        assert sub.get_nowait() is None


def test_a_full_subscriber_drops_without_affecting_others() -> None:
    bus = EventBus()
    overflows: list[int] = []
    small = bus.subscribe(2, on_overflow=lambda: overflows.append(1))
    big = bus.subscribe(10)
    for i in range(5):
        bus.publish(ProfileChanged(str(i)))
    assert [small.get_nowait(), small.get_nowait(), small.get_nowait()] == [
        ProfileChanged("0"),
        ProfileChanged("1"),
        None,
    ]
    assert small.take_dropped() == 3
    assert small.take_dropped() == 0
    assert len([big.get_nowait() for _ in range(5)]) == 5
    assert overflows == [1], "one overflow report per episode, not one per drop"


def test_overflow_is_reported_again_after_the_reader_caught_up() -> None:
    bus = EventBus()
    overflows: list[int] = []
    sub = bus.subscribe(1, on_overflow=lambda: overflows.append(1))
    bus.publish(ConfigReloaded())
    bus.publish(ConfigReloaded())
    assert sub.get_nowait() == ConfigReloaded()
    assert sub.get_nowait() is None
    bus.publish(ConfigReloaded())
    bus.publish(ConfigReloaded())
    assert overflows == [1, 1]


async def test_get_waits_for_an_event_and_returns_none_once_unsubscribed() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    waiter = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    event = ProcessStateChanged("m", ProcessState.STOPPED, ProcessState.STARTING)
    bus.process_state_callback()("m", ProcessState.STOPPED, ProcessState.STARTING)
    async with asyncio.timeout(5):
        assert await waiter == event
    bus.unsubscribe(sub)
    async with asyncio.timeout(5):
        assert await sub.get() is None
    bus.publish(event)  # no subscribers: a no-op
    assert len(bus) == 0
    assert sub.get_nowait() is None
