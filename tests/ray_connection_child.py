"""How runners of one process start, share and let go of a local Ray they started:
`python -m tests.ray_connection_child STORE` prints what it saw as JSON on its last line.

Run by `tests/test_ray_executor.py` in a process of its own (the tests' session holds a Ray
it started itself, which runners use as it is). Runner `first` starts Ray for a program it
installs and shuts it down at its stop; runner `restored` finds that program in the store and
makes its spawn on a worker thread, which exits a few seconds later when idle: Ray lives on,
and a run after that works. Two runners share one Ray: the first to stop leaves it to the
other; the last shuts it down; a stopped runner starts Ray no more.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from typing import Any

from actors import Program, Runner
from actors.runtime import RayConnection, ray_module
from tests.process_jobs import node_and_pid

#: A little more than the seconds a runtime's idle worker thread lives.
PAST_WORKER_IDLE = 7.0


def ours() -> list[str]:
    """The names of the threads of this process that a runner's Ray hold made."""
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("actors-ray"))


def main(store: str) -> None:
    ray = ray_module()
    seen: dict[str, Any] = {}
    program = Program(id="r", main_fn=node_and_pid, executor="ray", min=1)

    # An address where nothing listens fails the install in seconds, naming it.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    nowhere = Runner(id="nowhere", ray_address=f"127.0.0.1:{port}")
    began = time.monotonic()
    try:
        nowhere.install(program)
    except ConnectionError as error:
        seen["unreachable"] = str(error)
    seen["unreachable_s"] = time.monotonic() - began
    seen["unreachable_programs"] = nowhere.programs()
    nowhere.stop()
    malformed = Runner(id="malformed", ray_address="ray://:x")
    try:
        malformed.install(program)
    except ValueError as error:
        seen["malformed"] = str(error)
    malformed.stop()

    # Two spawns of one runner start at once: both return once Ray is up, not before.
    both = RayConnection()
    up: list[bool] = []

    def start() -> None:
        both.ensure()
        up.append(ray.is_initialized())

    starts = [threading.Thread(target=start) for _ in range(2)]
    for thread in starts:
        thread.start()
    for thread in starts:
        thread.join(120)
    seen["both_up"] = up
    both.release()

    # A runner stopped while Ray is still starting: its start fails, and the next runner's
    # start waits for that Ray to be shut down, then starts its own.
    stopped = RayConnection()
    failed: list[str] = []

    def start_stopped() -> None:
        try:
            stopped.ensure()
        except RuntimeError as error:
            failed.append(str(error))

    starting = threading.Thread(target=start_stopped)
    starting.start()
    while not ours():  # the keeper thread is starting Ray
        time.sleep(0.01)  # sleep-ok: polling for another thread's progress
    stopped.release()
    starting.join(120)
    seen["stopped_while_starting"] = failed
    after = RayConnection()
    after.ensure()
    seen["up_after_restart"] = ray.is_initialized()
    after.release()
    seen["down_after_restart"] = not ray.is_initialized()

    first = Runner(id="first", store=store)
    first.install(program)
    seen["first_ran"] = first.trigger("r", timeout=60)[1] > 0
    first.stop()
    seen["up_after_first"] = ray.is_initialized()

    restored = Runner(id="restored", store=store)  # its spawn is made on a worker thread
    seen["restored_placed"] = bool(restored.trigger("r", timeout=60))
    time.sleep(PAST_WORKER_IDLE)  # sleep-ok: outliving the idle worker threads is the scenario
    seen["restored_ran_later"] = restored.trigger("r", timeout=60)[1] > 0
    restored.stop()

    one, two = Runner(id="one"), Runner(id="two")
    one.install(Program(id="a", main_fn=node_and_pid, executor="ray", min=1))
    two.install(Program(id="b", main_fn=node_and_pid, executor="ray", min=1))
    listener = socket.create_server(("127.0.0.1", 0))  # answers, but is no Ray
    other = Runner(id="other", ray_address=f"127.0.0.1:{listener.getsockname()[1]}")
    try:
        other.install(Program(id="c", main_fn=node_and_pid, executor="ray"))
    except RuntimeError as error:
        seen["other_address"] = str(error)
    finally:
        listener.close()
        other.stop()
    one.stop()
    seen["up_after_one"] = ray.is_initialized()
    seen["two_ran"] = two.trigger("b", timeout=60)[1] > 0
    two.stop()
    seen["up_after_two"] = ray.is_initialized()
    seen["threads_after"] = ours()
    try:
        two.install(Program(id="late", main_fn=node_and_pid, executor="ray"))
    except Exception as error:
        seen["late"] = f"{type(error).__name__}: {error}"
    try:
        one._runtime.ray.ensure()
    except RuntimeError as error:
        seen["queued_start"] = str(error)
    seen["up_at_end"] = ray.is_initialized()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1])
