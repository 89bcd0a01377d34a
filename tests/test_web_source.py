"""What every dashboard source shares (`actors.web.source`): values kept fresh without asking
a runner once per browser, and the load chart's samples."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from actors.web import source as source_module
from actors.web.source import COST_RATIO, Fresh, LoadSample
from tests.conftest import T0


class FakeTime:
    """`time.monotonic` that a test moves, and that a computation advances by its cost."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(source_module.time, "monotonic", fake.monotonic)
    return fake


def test_a_value_is_computed_again_only_once_it_is_old(fake_time: FakeTime) -> None:
    """Within `max_age` every reader gets the same value; after it, a new one."""
    counter = itertools.count(1)
    fresh = Fresh(lambda: next(counter), max_age=1.0)
    assert [fresh.get(), fresh.get()] == [1, 1]
    fake_time.now += 0.99
    assert fresh.get() == 1
    fake_time.now += 0.01
    assert fresh.get() == 2


def test_a_costly_value_is_kept_longer(fake_time: FakeTime) -> None:
    """A value that took 2 s to compute is kept COST_RATIO times 2 s, not `max_age`."""
    counter = itertools.count(1)

    def costly() -> int:
        fake_time.now += 2.0
        return next(counter)

    fresh = Fresh(costly, max_age=0.25)
    assert fresh.get() == 1
    fake_time.now += COST_RATIO * 2.0 - 0.1
    assert fresh.get() == 1
    fake_time.now += 0.1
    assert fresh.get() == 2


class Source(source_module.DashboardSource):
    """The smallest source: nothing but what the base class gives."""

    name = "test"

    def __init__(self) -> None:
        super().__init__(max_age=60.0)
        self.reads = 0

    def read_runners(self):  # type: ignore[no-untyped-def]
        return []

    def programs(self):  # type: ignore[no-untyped-def]
        return []

    def read_detail(self, program_id, *, history):  # type: ignore[no-untyped-def]
        self.reads += 1
        return (program_id, history, self.reads)

    def act(self, action, timeout):  # type: ignore[no-untyped-def]
        return None


def test_samples_are_kept_per_program_without_repeats() -> None:
    """A load sample with the time of the last one is not added twice; each program has its
    own chart."""
    source = Source()
    point = LoadSample(at=T0, spawns=1, load=2.0)
    source.sample("a", point)
    source.sample("a", point)
    source.sample("a", LoadSample(at=T0 + timedelta(seconds=1), spawns=2, load=5.0))
    assert [s.spawns for s in source.samples("a")] == [1, 2]
    assert source.samples("b") == []


def test_a_program_s_page_is_read_once_for_every_viewer() -> None:
    """Two viewers of one program within a refresh get one read; another program (or another
    length of history) is a read of its own."""
    source = Source()
    assert source.detail("a", history=10) == ("a", 10, 1)
    assert source.detail("a", history=10) == ("a", 10, 1)
    assert source.detail("b", history=10) == ("b", 10, 2)
    assert source.detail("a", history=5) == ("a", 5, 3)
