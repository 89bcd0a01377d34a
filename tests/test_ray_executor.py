"""`Program(executor="ray")` on a real local Ray cluster (2 CPUs, started once per session):
each spawn is a Ray actor of its own, reused for its runs; spawn, unspawn, trigger, errors,
timeouts, kills, deaths and autoscaling work as with threads; no actor outlives its spawn;
and on a cluster of several nodes (in a process of its own), a lost node's spawns are
replaced on a node that joins."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors import InvalidProgram, ManualClock, Program, Runner, SchedulerError
from tests.conftest import T0
from tests.helpers import eventually
from tests.process_jobs import fail, node_and_pid, slow, stuck_telling

pytestmark = pytest.mark.usefixtures("ray_cluster")


def alive(pid: int) -> bool:
    """Whether process `pid` (a Ray actor's worker, on this machine) still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def runner() -> Iterator[Runner]:
    runner = Runner(id="ray-test")
    yield runner
    runner.stop()


def where(runner: Runner, program_id: str, times: int = 1) -> set[tuple[str, int]]:
    """The (node, pid) of the Ray actors `times` triggers of `program_id` ran in."""
    return {runner.trigger(program_id, timeout=60) for _ in range(times)}


def test_ray_spawns_run_in_ray_actors_reused_and_show_their_node(runner: Runner) -> None:
    """Each Ray spawn is a Ray actor, not this process, the same for all its runs; its spawn
    snapshot shows the Ray node it lives on."""
    ray = pytest.importorskip("ray")
    runner.install(Program(id="r", main_fn=node_and_pid, executor="ray", min=1))
    (node, pid), *more = where(runner, "r", 3)
    assert more == []
    assert pid != os.getpid()
    assert node == ray.get_runtime_context().get_node_id()
    (spawn,) = eventually(lambda: [s for s in runner.spawns("r") if s.node is not None])
    assert spawn.node == node
    assert f"node={node[:12]}" in repr(spawn)


def test_spawn_and_unspawn_make_and_kill_ray_actors(runner: Runner) -> None:
    """`spawn` adds Ray actors that take runs at once; `unspawn` kills theirs: their processes
    end."""
    program = Program(id="p", main_fn=slow, executor="ray", resources={"num_cpus": 0.5})
    runner.install(program)
    runner.spawn("p", 3)
    runs = [runner.trigger("p", 0.5, wait=False) for _ in range(3)]
    pids = {run.result(60) for run in runs}
    assert len(pids) == 3  # three at once: three actors
    assert os.getpid() not in pids
    runner.unspawn("p", 3)
    assert runner.spawns("p") == []
    eventually(lambda: not any(alive(pid) for pid in pids), timeout=30)


def test_an_error_in_a_ray_actor_comes_back_as_raised(runner: Runner) -> None:
    """main_fn's exception, raised in the Ray actor, is the run's error here, with its type
    and message; the actor lives on."""
    runner.install(Program(id="f", main_fn=fail, executor="ray", min=1))
    with pytest.raises(ValueError, match="bad input 'x'"):
        runner.trigger("f", "x", timeout=60)
    (spawn,) = runner.spawns("f")
    assert (spawn.failed, spawn.status) == (1, "idle")


def test_a_stuck_run_is_killed_at_its_timeout_and_its_spawn_replaced(
    runner: Runner, tmp_path: Path
) -> None:
    """A run stuck past its timeout fails with a TimeoutError; its Ray actor is killed (the
    process it was stuck in ends) and a new spawn, with a new actor, replaces it."""
    runner.install(Program(id="s", main_fn=stuck_telling, executor="ray", min=1, timeout=1))
    (stuck_spawn,) = runner.spawns("s")
    told = tmp_path / "pid"
    with pytest.raises(TimeoutError, match="took longer than 1 s"):
        runner.trigger("s", str(told), timeout=30)
    (replacement,) = runner.spawns("s")
    assert replacement.id != stuck_spawn.id
    stuck_pid = int(told.read_text())
    assert stuck_pid != os.getpid()
    eventually(lambda: not alive(stuck_pid), timeout=30)
    assert runner.info("s").failed == 1


def test_kill_spawn_ends_a_run_in_its_ray_actor(runner: Runner) -> None:
    """`kill_spawn` during a long run kills the Ray actor at once: the run is cancelled and
    a replacement spawn is ready for the next run."""
    runner.install(Program(id="k", main_fn=slow, executor="ray", min=1))
    (spawn,) = runner.spawns("k")
    running = runner.trigger("k", 600, wait=False)
    eventually(lambda: runner.spawns("k")[0].status == "running", timeout=30)
    runner.kill_spawn("k", spawn.id)
    with pytest.raises(SchedulerError, match="killed"):
        running.result(30)
    (replacement,) = runner.spawns("k")
    assert replacement.id != spawn.id
    assert runner.trigger("k", 0, timeout=60) != os.getpid()


def test_a_ray_actor_that_dies_is_a_dead_spawn_replaced(runner: Runner) -> None:
    """An idle Ray actor killed from outside (kill -9 of its process, as a lost node would take
    it) is noticed without waiting for a run: its spawn is replaced where `min` asks, and the
    program runs on in the new actor."""
    runner.install(Program(id="d", main_fn=node_and_pid, executor="ray", min=1))
    ((_, pid),) = where(runner, "d")
    (first,) = runner.spawns("d")
    os.kill(pid, 9)
    (replacement,) = eventually(
        lambda: [s for s in runner.spawns("d") if s.id != first.id], timeout=30
    )
    assert replacement.id != first.id
    ((_, new_pid),) = where(runner, "d")
    assert new_pid != pid
    assert runner.info("d").spawns == 1


def test_the_load_monitor_scales_ray_spawns() -> None:
    """A LoadMonitor grows a Ray program's pool as its metric asks (each new spawn a Ray
    actor that runs), and shrinks it again, killing the actors it retires."""
    clock = ManualClock(T0)
    backlog = [8]
    runner = Runner(id="ray-scaled", clock=clock)
    try:
        resources = {"num_cpus": 0.25}
        program = Program(id="w", main_fn=slow, executor="ray", resources=resources, min=1, max=4)
        runner.install(program)
        runner.autoscale("w", lambda: backlog[0], per_spawn=2, interval=1, cooldown=1)
        clock.advance(1)
        runner.settle()
        assert runner.info("w").spawns == 4
        runs = [runner.trigger("w", 0.5, wait=False) for _ in range(4)]
        pids = {run.result(60) for run in runs}
        assert len(pids) == 4
        nodes = eventually(lambda: [s.node for s in runner.spawns("w") if s.node], timeout=30)
        assert len(nodes) == 4
        backlog[0] = 0
        clock.advance(2)
        runner.settle()
        assert runner.info("w").spawns == 1
        (kept,) = {runner.trigger("w", 0, timeout=60) for _ in range(2)}
        eventually(lambda: [pid for pid in pids if alive(pid)] == [kept], timeout=30)
    finally:
        runner.stop()


def test_no_ray_actor_is_left_after_stop(tmp_path: Path) -> None:
    """After `stop()` no Ray actor of the runner is alive, idle or running."""
    runner = Runner(id="ray-stopped")
    half = {"num_cpus": 0.5}  # three actors on the session's two CPUs
    runner.install(Program(id="idle", main_fn=node_and_pid, executor="ray", min=2, resources=half))
    runner.install(Program(id="busy", main_fn=stuck_telling, executor="ray", resources=half, min=1))
    pids = {pid for _, pid in where(runner, "idle", 4)}
    told = tmp_path / "pid"
    runner.trigger("busy", str(told), wait=False)
    eventually(lambda: told.exists() and told.read_text(), timeout=30)
    pids.add(int(told.read_text()))
    runner.stop(timeout=0.5)
    eventually(lambda: not any(alive(pid) for pid in pids), timeout=30)


def test_ray_programs_are_checked_at_construction() -> None:
    """A lambda cannot go to a Ray actor; resources are Ray's actor options, each checked by
    name and value, and only for executor="ray"."""
    with pytest.raises(InvalidProgram, match="main_fn must be picklable with executor='ray'"):
        Program(id="l", main_fn=lambda args, at: None, executor="ray")
    with pytest.raises(InvalidProgram, match="unknown key 'cpus'"):
        Program(id="r", main_fn=slow, executor="ray", resources={"cpus": 1})
    with pytest.raises(InvalidProgram, match=r"resources\['num_gpus'\] must be a number >= 0"):
        Program(id="r", main_fn=slow, executor="ray", resources={"num_gpus": -1})
    with pytest.raises(InvalidProgram, match=r"Ray's own resource 'GPU': give it as .*num_gpus"):
        Program(id="r", main_fn=slow, executor="ray", resources={"resources": {"GPU": 1}})
    with pytest.raises(InvalidProgram, match="Ray's own resource 'object_store_memory'"):
        Program(
            id="r",
            main_fn=slow,
            executor="ray",
            resources={"resources": {"object_store_memory": 1}},
        )
    with pytest.raises(InvalidProgram, match="resources are for executor='ray'"):
        Program(id="r", main_fn=slow, resources={"num_cpus": 1})
    program = Program(id="r", main_fn=slow, executor="ray", resources={"num_cpus": 2})
    assert program.resources == {"num_cpus": 2}
    assert Program.from_definition(program.to_definition()) == program


def test_a_lost_node_takes_its_spawns_which_are_replaced_on_a_new_node() -> None:
    """On a Ray cluster of three nodes (in a process of its own: `tests/ray_node_child.py`),
    two spawns land one per worker node; the node of one dies: its spawn is a dead spawn,
    replaced at once by one that waits for room, without a node; once a new node joins, the
    replacement lives there, and runs go to both nodes. No run failed."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.ray_node_child"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(seen["before"].values()) == sorted([seen["first"], seen["second"]])
    assert seen["replaced"] is True
    assert seen["waiting"] == sorted([seen["first"], "None"])
    assert sorted(seen["after"].values()) == sorted([seen["first"], seen["third"]])
    assert seen["runs_on"] == sorted([seen["first"], seen["third"]])
    assert seen["failed"] == 0


def test_runners_of_a_process_share_the_ray_they_start_and_the_last_stops_it(
    tmp_path: Path,
) -> None:
    """In a process of its own (`tests/ray_connection_child.py`): a Ray a runner starts lives
    as long as a runner uses it, however its spawns were made (a program restored from a store
    makes its spawn on a worker thread, which exits when idle; Ray outlives it); the last
    runner to stop shuts it down and leaves no thread; a stopped runner starts it no more; a
    second runner may not point at another cluster, and an address where nothing listens, or
    a malformed one, fails the install at once, naming it; spawns starting at once all wait for Ray
    to be up; a runner stopped while Ray starts leaves the next runner a Ray of its own."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.ray_connection_child", str(tmp_path / "store.db")],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert "ray_address='127.0.0.1:" in seen["unreachable"]
    assert "nothing answers" in seen["unreachable"]
    assert seen["unreachable_s"] < 10  # Ray itself retries for minutes
    assert seen["unreachable_programs"] == []
    assert "ray_address='ray://:x' is not an address" in seen["malformed"]
    assert seen["both_up"] == [True, True]
    assert len(seen["stopped_while_starting"]) == 1
    assert "has stopped" in seen["stopped_while_starting"][0]
    assert (seen["up_after_restart"], seen["down_after_restart"]) == (True, True)
    assert seen["first_ran"] is True
    assert seen["up_after_first"] is False
    assert seen["restored_placed"] is True
    assert seen["restored_ran_later"] is True
    assert "ray_address='127.0.0.1:" in seen["other_address"]
    assert "cannot be used" in seen["other_address"]
    assert (seen["up_after_one"], seen["two_ran"], seen["up_after_two"]) == (True, True, False)
    assert seen["threads_after"] == []
    assert seen["late"].startswith("RunnerStopped")
    assert "has stopped" in seen["queued_start"]
    assert seen["up_at_end"] is False


def test_an_address_other_than_the_connected_rays_is_named_in_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A Ray connected already (by its user) is used as it is: a runner whose `ray_address`
    names it says nothing; one that names another is warned that its address is not used."""
    ray = pytest.importorskip("ray")
    program = Program(id="r", main_fn=node_and_pid, executor="ray")
    same = Runner(id="ray-same", ray_address=ray.get_runtime_context().gcs_address)
    listener = socket.create_server(("127.0.0.1", 0))
    other = Runner(id="ray-other", ray_address=f"127.0.0.1:{listener.getsockname()[1]}")
    try:
        with caplog.at_level(logging.WARNING, logger="actors.ray"):
            same.install(program)
            assert caplog.records == []
            other.install(program)
        (record,) = caplog.records
        assert "connected already in this process (by its user" in record.getMessage()
        assert f"ray_address='127.0.0.1:{listener.getsockname()[1]}' is not used" in (
            record.getMessage()
        )
    finally:
        listener.close()
        same.stop()
        other.stop()


def test_a_spawn_no_node_has_room_for_is_named_in_a_warning(
    runner: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    """A Ray spawn asking for what no node of the cluster has (a GPU on a CPU-only cluster)
    waits unplaced, and a warning says so once, naming the spawn and what it asks for; it is
    stopped like any other."""
    resources = {"num_gpus": 1}
    with caplog.at_level(logging.WARNING, logger="actors.ray"):
        runner.install(Program(id="g", main_fn=node_and_pid, executor="ray", resources=resources))
        runner.spawn("g", 2)
        (record,) = eventually(lambda: caplog.records, timeout=30)
    assert "asks Ray for {'CPU': 1, 'GPU': 1}, which no node of the cluster has" in (
        record.getMessage()
    )
    assert re.search(r"actors-ray-test-g-[12] asks", record.getMessage())
    assert [s.node for s in runner.spawns("g")] == [None, None]
    runner.unspawn("g", 2)
    assert runner.spawns("g") == []
