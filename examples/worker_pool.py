"""A worker pool scaled by hand: `min=1, max=5` workers polling one job queue.

Every tick goes to every spawn, so each extra spawn takes one more job per tick. The pool grows
with repeated `runner.spawn("worker")`, refuses a sixth, and shrinks with `runner.unspawn`.

Run it: `.venv/bin/python examples/worker_pool.py` (about 3.5 s), or keep it alive in a REPL:
`.venv/bin/python -i examples/worker_pool.py`, then `runner.status()`. `actors repl
examples/worker_pool.py` opens a console on the pool as it is before the demo: one worker.
"""

from __future__ import annotations

import queue
import sys
import time
from datetime import datetime

from actors import Program, Runner, SpawnLimitError, every

started = time.monotonic()
jobs: queue.Queue[int] = queue.Queue()
for number in range(1, 31):
    jobs.put(number)


def say(text: str) -> None:
    sys.stdout.write(f"{time.monotonic() - started:4.1f}s  {text}\n")  # one write: no interleaving


def work(args: None, timestamp: datetime) -> dict[str, int]:
    """Take one job from the queue, if there is one, and process it."""
    try:
        job = jobs.get_nowait()
    except queue.Empty:
        return {"done": 0}
    time.sleep(0.05)  # the work
    say(f"job {job:2} done")
    return {"done": 1}


runner = Runner(id="pool-runner")
runner.install(
    Program(
        id="worker",
        schedule=every(0.5),
        create_fn=lambda: {"done": 0},
        main_fn=work,
        merge_fn=lambda state, result: {"done": state["done"] + result["done"]},
        min=1,
        max=5,
    )
)

if __name__ == "__main__":  # the demo; `actors run`/`actors repl` load only the above
    time.sleep(0.25)  # act between ticks
    for _ in range(5):  # scale up one spawn at a time; the fifth try would pass max=5
        try:
            say(f"spawned {runner.spawn('worker')}, {len(runner.spawns('worker'))} workers")
        except SpawnLimitError as error:
            say(f"refused: {error}")
        time.sleep(0.5)
    time.sleep(0.5)
    say(f"unspawned {runner.unspawn('worker', 4)}, left: {runner.spawns('worker')[0]}")
    print(runner.status())

    if sys.flags.interactive:
        print("runner is still running; try runner.status(), runner.spawn('worker'),")
        print("runner.stop()")
    else:
        runner.stop()
