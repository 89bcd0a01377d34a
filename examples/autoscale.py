"""A worker pool that sizes itself from a queue's depth: `runner.autoscale` in target mode.

A producer thread feeds a real `queue.Queue` in bursts. The program `worker` (min=1, max=6)
ticks every 0.2 s; on each tick every spawn takes one item off the queue and "processes" it (a
short sleep). A LoadMonitor samples `jobs.qsize()` every 0.25 s and wants one spawn per 5 queued
items: the pool grows at once when a burst arrives, and shrinks back (idle spawns only) once the
queue has drained and a 1 s cooldown has passed since the last change.

Run it: `.venv/bin/python examples/autoscale.py` (about 7 s; it stops by itself), or keep it
alive in a REPL: `.venv/bin/python -i examples/autoscale.py`, then `runner.status()`,
`jobs.put(...)`, `monitor.stop()`.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from datetime import datetime

from actors import Program, Runner, every
from actors.events import Event, ScaledDown, ScaledUp

started = time.monotonic()
jobs: queue.Queue[int] = queue.Queue()

#: (seconds after start, items): the bursts the producer puts on the queue.
BURSTS = [(0.3, 25), (3.0, 12), (4.5, 30)]
RUN_FOR = 7.5


def say(text: str) -> None:
    sys.stdout.write(f"{time.monotonic() - started:4.1f}s  {text}\n")  # one write: no interleaving


def produce() -> None:
    """Put each burst on the queue at its time."""
    number = 0
    for at, items in BURSTS:
        time.sleep(max(0.0, at - (time.monotonic() - started)))
        for _ in range(items):
            number += 1
            jobs.put(number)
        say(f"burst of {items} jobs: queue depth {jobs.qsize()}")


def work(args: None, timestamp: datetime) -> dict[str, int]:
    """Take one job off the queue, if there is one, and process it."""
    try:
        jobs.get_nowait()
    except queue.Empty:
        return {"done": 0}
    time.sleep(0.1)  # the work
    return {"done": 1}


changes: list[Event] = []


def report(event: Event) -> None:
    """Print each change of the pool's size."""
    assert isinstance(event, ScaledUp | ScaledDown)
    changes.append(event)
    sign = "+" if isinstance(event, ScaledUp) else "-"
    say(
        f"{sign}{abs(event.to_spawns - event.from_spawns)} spawn(s): "
        f"{event.from_spawns} -> {event.to_spawns} (queue depth {event.sample:g})"
    )


runner = Runner(id="autoscale-runner")
runner.install(
    Program(
        id="worker",
        schedule=every(0.2),
        create_fn=lambda: {"done": 0},
        main_fn=work,
        merge_fn=lambda state, result: {"done": state["done"] + result["done"]},
        min=1,
        max=6,
    )
)
runner.subscribe(report, ScaledUp, ScaledDown)
monitor = runner.autoscale("worker", jobs.qsize, per_spawn=5, interval=0.25, cooldown=1.0)
say(f"started: {monitor}")

producer = threading.Thread(target=produce, name="producer", daemon=True)
producer.start()
time.sleep(RUN_FOR)
producer.join()

peak = max((event.to_spawns for event in changes), default=1)
done = runner.get_state("worker")["done"]
say(
    f"summary: {done} of {sum(items for _, items in BURSTS)} jobs done, {jobs.qsize()} queued; "
    f"{len(changes)} changes, peak {peak} spawns, now {len(runner.spawns('worker'))}"
)
print(runner.status())

if sys.flags.interactive:
    print(
        "runner is still running; try jobs.put(0), runner.status(), monitor.stop(), runner.stop()"
    )
else:
    runner.stop()
