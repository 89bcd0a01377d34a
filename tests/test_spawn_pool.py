"""SpawnPool, without actors: numbering, choosing, retiring, losing and replacing spawns."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from actors import InvalidProgram, SpawnLimitError
from actors.events import SpawnReplaced, SpawnStarted, SpawnStopped
from actors.tree.messages import Tick
from actors.tree.spawn_pool import SpawnNumbers, SpawnPool
from tests.conftest import T0


class FakeHost:
    """A SpawnHost that records what the pool asks of its actor."""

    def __init__(self) -> None:
        self.time = T0
        self.launched: list[str] = []
        self.halted: list[Any] = []
        self.dropped: list[tuple[datetime, str]] = []
        self.events: list[tuple[str, tuple[Any, ...]]] = []

    def launch_spawn(self, spawn_id: str) -> Any:
        self.launched.append(spawn_id)
        return f"ref-{spawn_id}"

    def halt_spawn(self, ref: Any) -> None:
        self.halted.append(ref)

    def drop_tick(self, tick: Tick, spawn_id: str) -> None:
        self.dropped.append((tick.scheduled_at, spawn_id))

    def now(self) -> datetime:
        return self.time

    def publish(self, event_class: type, program_id: str, *args: Any, **kwargs: Any) -> None:
        self.events.append((event_class.__name__, args))


@pytest.fixture
def host() -> FakeHost:
    return FakeHost()


@pytest.fixture
def pool(host: FakeHost) -> SpawnPool:
    return SpawnPool("p", host)


def test_members_are_numbered_and_temporary_ones_apart(pool: SpawnPool, host: FakeHost) -> None:
    """Members are p-1, p-2...; temporary spawns p-temp-1... take no ticks and do not count."""
    pool.start()
    pool.start(temporary=True)
    pool.start()
    assert [s.id for s in pool.members()] == ["p-1", "p-2"]
    assert host.launched == ["p-1", "p-temp-1", "p-2"]
    assert [e for e, _ in host.events] == [SpawnStarted.__name__] * 3
    assert [info.id for info in pool.infos()] == ["p-1", "p-2"]


def test_numbers_outlive_the_pool(host: FakeHost) -> None:
    """A new pool on the same SpawnNumbers never reuses an id."""
    numbers = SpawnNumbers()
    SpawnPool("p", host, numbers).start()
    assert SpawnPool("p", host, numbers).start().id == "p-2"


def test_grow_within_max_and_refuse_past_it(pool: SpawnPool) -> None:
    """grow(n) starts n members; past max it starts none and says why."""
    assert pool.grow(2, 3) == ["p-1", "p-2"]
    with pytest.raises(SpawnLimitError, match="it has 2 spawn"):
        pool.grow(2, 3)
    assert len(pool.members()) == 2
    with pytest.raises(InvalidProgram, match="n must be an int >= 1"):
        pool.grow(True, None)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("last", ["p-3", "p-2"]), ("first", ["p-1", "p-2"]), ("idle", ["p-3", "p-1"])],
)
def test_choose_by_policy(pool: SpawnPool, policy: str, expected: list[str]) -> None:
    """With p-2 busy: last takes the newest, first the oldest, idle the idle ones first."""
    pool.grow(3, None)
    pool.slots["p-2"].running = True
    assert [s.id for s in pool.choose(policy, 2)] == expected


def test_shrink_retires_busy_spawns_after_their_run(pool: SpawnPool, host: FakeHost) -> None:
    """A retired busy spawn is `stopping`, leaves the members at once, and stops when its run
    ends; an idle one stops at once."""
    pool.grow(2, None)
    pool.slots["p-1"].running = True
    assert pool.shrink(2, 0, "last") == ["p-2", "p-1"]
    assert host.halted == ["ref-p-2"]
    assert [(s.id, s.stopping) for s in pool.slots.values()] == [("p-1", True)]
    assert pool.members() == []
    assert pool.run_ended(pool.slots["p-1"], None) is None
    assert host.halted == ["ref-p-2", "ref-p-1"]


def test_shrink_below_min_refused_but_gentle_shrink_stops_at_min(pool: SpawnPool) -> None:
    """shrink below min raises and stops nothing; a gentle shrink takes what min allows."""
    pool.grow(3, None)
    with pytest.raises(SpawnLimitError, match="min=2"):
        pool.shrink(2, 2, "last")
    assert pool.shrink(5, 2, "last", gently=True) == ["p-3"]
    with pytest.raises(InvalidProgram, match="policy must be one of"):
        pool.shrink(1, 0, "random")


def test_stop_drops_queued_ticks(pool: SpawnPool, host: FakeHost) -> None:
    """A spawn stopped with ticks queued hands each to the host as dropped."""
    slot = pool.start()
    slot.queued.append(Tick(T0))
    pool.stop(slot)
    assert host.dropped == [(T0, "p-1")]
    assert (SpawnStopped.__name__, ("p-1", "unspawned")) in host.events


def test_run_ended_returns_the_queued_tick(pool: SpawnPool) -> None:
    """When a run ends the spawn's queued tick comes back for the caller to offer."""
    slot = pool.start()
    slot.running = True
    slot.queued.append(Tick(T0))
    assert pool.run_ended(slot, ValueError("x")) == Tick(T0)
    assert (slot.runs, slot.failed, slot.running) == (1, 1, False)


def test_lose_replaces_below_min_only_unless_keep_size(pool: SpawnPool, host: FakeHost) -> None:
    """A lost spawn is replaced where min asks, or always with keep_size (a timeout)."""
    pool.grow(2, None)
    assert pool.lose(pool.slots["p-1"], "killed", minimum=1, keep_size=False, death=False) is None
    replacement = pool.lose(pool.slots["p-2"], "killed", minimum=1, keep_size=False, death=False)
    assert replacement is not None
    assert replacement.id == "p-3"
    kept = pool.lose(replacement, "timed out", minimum=0, keep_size=True, death=True)
    assert kept is not None
    assert (SpawnReplaced.__name__, ("p-3", "p-4", "timed out")) in host.events


def test_a_lost_running_spawn_counts_its_run_failed(pool: SpawnPool) -> None:
    """Losing a spawn in the middle of a run counts that run as a failed one of the spawn."""
    slot = pool.start()
    slot.running = True
    pool.lose(slot, "killed", minimum=0, keep_size=False, death=False)
    assert (slot.runs, slot.failed, slot.running) == (1, 1, False)


def test_no_replacement_while_draining(pool: SpawnPool) -> None:
    """With replace=False (the program drains) nothing replaces a lost spawn."""
    slot = pool.start()
    assert pool.lose(slot, "killed", minimum=1, keep_size=True, death=False, replace=False) is None
    assert pool.members() == []


def test_deaths_past_the_intensity_fail_the_pool(pool: SpawnPool, host: FakeHost) -> None:
    """A fourth death within 5 s fails the pool: no replacement; recover() brings it back."""
    slot = pool.start()
    for _ in range(3):
        replacement = pool.lose(slot, "died", minimum=1, keep_size=False, death=True)
        assert replacement is not None
        slot = replacement
    assert pool.lose(slot, "died", minimum=1, keep_size=False, death=True) is None
    assert pool.failed
    host.time = T0 + timedelta(seconds=1)
    assert pool.recover(2) == 2
    assert not pool.failed
    assert len(pool.members()) == 2


def test_kills_never_fail_the_pool(pool: SpawnPool) -> None:
    """Kills (not deaths) are replaced however many come at once."""
    slot = pool.start()
    for _ in range(10):
        replacement = pool.lose(slot, "killed", minimum=1, keep_size=False, death=False)
        assert replacement is not None
        slot = replacement
    assert not pool.failed
