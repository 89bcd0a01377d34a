"""MonitorRegistry, without actors: one running monitor per program, halting and retired ones."""

from __future__ import annotations

from actors import MonitorInfo
from actors.tree.monitor_registry import RETIRED_MONITORS, MonitorRegistry


def info(program: str) -> MonitorInfo:
    return MonitorInfo(program=program, mode="target", rule="r", active=False)


def test_a_second_monitor_replaces_the_first() -> None:
    """Starting a monitor of a program that has one returns the old one, now halting."""
    registry = MonitorRegistry()
    first, second = registry.next_number(), registry.next_number()
    assert registry.start("p", first, "ref-1") is None  # type: ignore[arg-type]
    old = registry.start("p", second, "ref-2")  # type: ignore[arg-type]
    assert old is not None
    assert old.number == first
    assert registry.halting == {first: "ref-1"}
    assert registry.find("p", first) is None
    assert registry.find("p", second) is not None


def test_halted_monitors_keep_their_last_info_within_a_bound() -> None:
    """A halted monitor's info stays for its handle; only the newest are kept."""
    registry = MonitorRegistry()
    for number in range(1, RETIRED_MONITORS + 6):
        registry.start("p", number, f"ref-{number}")  # type: ignore[arg-type]
        registry.halted("p", number, info("p"))
    assert registry.running == {}
    assert len(registry.retired) == RETIRED_MONITORS
    assert min(registry.retired) == 6


def test_clear_returns_every_actor_to_stop() -> None:
    """clear() forgets running and halting monitors and returns their actors."""
    registry = MonitorRegistry()
    registry.start("p", 1, "ref-1")  # type: ignore[arg-type]
    registry.start("p", 2, "ref-2")  # type: ignore[arg-type]
    registry.start("q", 3, "ref-3")  # type: ignore[arg-type]
    assert sorted(registry.clear()) == ["ref-1", "ref-2", "ref-3"]  # type: ignore[type-var]
    assert (registry.running, registry.halting) == ({}, {})
