"""A periodic cleanup job: every 0.5 s one worker deletes expired items and counts them.

`create_fn` builds the initial state; each run returns how many items it deleted, and `merge_fn`
(run by the program's actor, one result at a time) adds that to the total.

Run it: `.venv/bin/python examples/cleanup.py` (about 3 s). Or watch it with a live status
table until Ctrl-C: `.venv/bin/actors run examples/cleanup.py`.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime

from actors import Program, Runner, every

started = time.monotonic()


def cleanup(args: None, timestamp: datetime) -> dict[str, int]:
    """Delete the expired items (here: a random few) and say how many."""
    deleted = random.randint(0, 5)
    tick = timestamp.strftime("%H:%M:%S.%f")[:-3]
    print(f"{time.monotonic() - started:4.1f}s  tick {tick}  deleted {deleted}")
    return {"deleted": deleted}


def add_up(state: dict[str, int], result: dict[str, int]) -> dict[str, int]:
    return {"deleted": state["deleted"] + result["deleted"], "runs": state["runs"] + 1}


runner = Runner(id="cleanup-runner")
runner.install(
    Program(
        id="cleanup",
        schedule=every(0.5),  # first tick 0.5 s after install, then every 0.5 s
        create_fn=lambda: {"deleted": 0, "runs": 0},
        main_fn=cleanup,
        merge_fn=add_up,
        min=1,  # one worker from the start
    )
)

if __name__ == "__main__":  # the demo; `actors run`/`actors repl` load only the above
    print(runner.info("cleanup"))
    time.sleep(3.2)  # about six ticks
    print(f"{time.monotonic() - started:4.1f}s  state {runner.get_state('cleanup')}")
    print(runner.info("cleanup"))

    if sys.flags.interactive:
        print("runner is still running; try runner.status(), runner.trigger('cleanup'),")
        print("runner.stop()")
    else:
        runner.stop()
        print("stopped")
