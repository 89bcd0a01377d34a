"""A worker pool scaled by hand: `min=1, max=5` workers polling one job queue.

Every tick goes to every spawn, so each extra spawn takes one more job per tick. The pool grows
with repeated `runner.spawn("worker")`, refuses a sixth, and shrinks with `runner.unspawn`.

Run it: `.venv/bin/python examples/worker_pool.py` (about 4 s), or keep it alive in a REPL:
`.venv/bin/python -i examples/worker_pool.py`, then `runner.status()`.
"""

from __future__ import annotations

import queue
import sys
import time
from datetime import datetime

from actors import Program, Runner, SpawnLimitError, every

jobs: queue.Queue[int] = queue.Queue()
started = time.monotonic()


def work(args: None, timestamp: datetime) -> dict[str, int]:
    """Take one job from the queue, if any, and process it."""
    try:
        job = jobs.get_nowait()
    except queue.Empty:
        return {"done": 0}
    time.sleep(0.05)  # the work
    print(f"{time.monotonic() - started:4.1f}s  job {job:2} done, {jobs.qsize():2} left")
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
for job in range(1, 31):
    jobs.put(job)

for _ in range(5):  # scale up, one spawn at a time; the fifth try goes past max=5
    time.sleep(0.5)
    try:
        print(f"{time.monotonic() - started:4.1f}s  spawned {runner.spawn('worker')}")
    except SpawnLimitError as error:
        print(f"{time.monotonic() - started:4.1f}s  {error}")
time.sleep(1.0)
print(f"{time.monotonic() - started:4.1f}s  unspawned {runner.unspawn('worker', 4)}")
print(f"spawns left: {[spawn.id for spawn in runner.spawns('worker')]}")
print(runner.status())

if sys.flags.interactive:
    print("runner is still running; try runner.status(), runner.spawn('worker'), runner.stop()")
else:
    runner.stop()
