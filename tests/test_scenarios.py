"""The five scenarios of the Clojure original, as a user would write them."""

from __future__ import annotations

import pytest

from actors import ManualClock, Program, Runner, SpawnLimitError, every


def test_periodic_cleanup_with_create_fn_state(runner: Runner, clock: ManualClock) -> None:
    """A cleanup job every 60 s starts from create_fn's state and merges each run into it."""
    deleted_per_run = iter(range(1, 100))
    runner.install(
        Program(
            id="cleanup",
            schedule=every(60),
            create_fn=lambda: {"deleted": 0, "runs": 0},
            main_fn=lambda args, ts: {"last": ts, "batch": next(deleted_per_run)},
            merge_fn=lambda state, result: {
                "deleted": state["deleted"] + result["batch"],
                "runs": state["runs"] + 1,
                "last": result["last"],
            },
            min=1,
        )
    )
    assert runner.get_state("cleanup") == {"deleted": 0, "runs": 0}

    clock.advance(59)
    assert runner.get_state("cleanup") == {"deleted": 0, "runs": 0}

    clock.advance(1 + 60 * 4)
    state = runner.get_state("cleanup")
    assert state["runs"] == 5
    assert state["deleted"] == 1 + 2 + 3 + 4 + 5
    assert state["last"] == clock.now()
    info = runner.info("cleanup")
    assert (info.runs, info.succeeded, info.failed) == (5, 5, 0)


def test_worker_pool_scaled_up_with_repeated_spawn(runner: Runner, clock: ManualClock) -> None:
    """A pool min=1, max=5 grows one spawn per call, every spawn polls on every tick, and
    a sixth spawn is refused without starting anything."""
    polls: list[str] = []
    runner.install(
        {
            "id": "worker",
            "interval": 1,
            "min": 1,
            "max": 5,
            "main_fn": lambda args, ts: polls.append(ts) or None,
        }
    )
    assert [s.id for s in runner.spawns("worker")] == ["worker-1"]
    for expected in ("worker-2", "worker-3", "worker-4", "worker-5"):
        assert runner.spawn("worker") == [expected]
    with pytest.raises(SpawnLimitError, match="max=5"):
        runner.spawn("worker")
    assert len(runner.spawns("worker")) == 5

    clock.advance(3)
    assert len(polls) == 5 * 3
    assert {s.runs for s in runner.spawns("worker")} == {3}


def test_worker_pool_scaled_down_with_unspawn(runner: Runner, clock: ManualClock) -> None:
    """unspawn stops spawns by policy, never below min, and ids are never reused."""
    runner.install(
        {"id": "worker", "interval": 1, "min": 2, "max": 5, "main_fn": lambda a, t: None}
    )
    runner.spawn("worker", 3)
    assert [s.id for s in runner.spawns("worker")] == [f"worker-{n}" for n in range(1, 6)]

    assert runner.unspawn("worker") == ["worker-5"]  # default policy "last": the newest
    assert runner.unspawn("worker", policy="first") == ["worker-1"]
    assert [s.id for s in runner.spawns("worker")] == ["worker-2", "worker-3", "worker-4"]
    with pytest.raises(SpawnLimitError, match="min=2"):
        runner.unspawn("worker", 2)
    assert runner.unspawn("worker", policy="idle") == ["worker-4"]
    with pytest.raises(SpawnLimitError):
        runner.unspawn("worker")

    assert runner.spawn("worker") == ["worker-6"]
    clock.advance(2)
    assert {s.id: s.runs for s in runner.spawns("worker")} == {
        "worker-2": 2,
        "worker-3": 2,
        "worker-6": 2,
    }


def test_manual_trigger(runner: Runner) -> None:
    """A manual program runs only when triggered; trigger returns main_fn's result."""
    runner.install(
        Program(
            id="report",
            create_fn=lambda: {"reports": 0},
            main_fn=lambda args, ts: {"reports": 1, "for": args},
            merge_fn=lambda state, result: {"reports": state["reports"] + 1, "for": result["for"]},
        )
    )
    assert runner.trigger("report", args="march") == {"reports": 1, "for": "march"}
    assert runner.trigger("report", args="april")["for"] == "april"
    assert runner.get_state("report") == {"reports": 2, "for": "april"}
    assert runner.info("report").runs == 2


def test_accumulating_state_with_merge_fn(runner: Runner, clock: ManualClock) -> None:
    """merge_fn folds every result into the state, across spawns, with no lost update."""
    runner.install(
        Program(
            id="stats",
            interval=0.5,
            min=3,
            create_fn=lambda: {"count": 0, "total": 0},
            main_fn=lambda args, ts: ts.microsecond // 1000 + ts.second * 1000,
            merge_fn=lambda state, ms: {"count": state["count"] + 1, "total": state["total"] + ms},
        )
    )
    clock.advance(10)
    state = runner.get_state("stats")
    assert state["count"] == 3 * 20
    assert state["total"] == 3 * sum(500 * k for k in range(1, 21))
