"""Accumulating state with a custom merge_fn: a running count, sum and mean of samples.

Every 0.4 s `args_fn` takes a latency sample and `main_fn` reports it; `merge_fn` folds each
result into the state. Merges run one at a time in the program's actor, so none is lost. A
manual `runner.trigger` adds one more sample, with its own `args`, and returns main_fn's result.

Run it: `.venv/bin/python examples/stats.py` (about 3 s), or `actors repl examples/stats.py`.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime
from typing import Any

from actors import Program, Runner, every

started = time.monotonic()


def say(text: str) -> None:
    sys.stdout.write(f"{time.monotonic() - started:4.1f}s  {text}\n")


def record(latency_ms: float, timestamp: datetime) -> float:
    say(f"sample {latency_ms:6.1f} ms (tick {timestamp:%H:%M:%S})")
    return latency_ms


def fold(state: dict[str, Any], sample: float) -> dict[str, Any]:
    count, total = state["count"] + 1, state["sum"] + sample
    return {"count": count, "sum": round(total, 1), "mean": round(total / count, 1)}


runner = Runner(id="stats-runner")
runner.install(
    Program(
        id="latency",
        schedule=every(0.4),
        create_fn=lambda: {"count": 0, "sum": 0.0, "mean": None},
        args_fn=lambda: round(random.uniform(10, 50), 1),  # "measure" before each run
        main_fn=record,
        merge_fn=fold,
        min=1,
    )
)

if __name__ == "__main__":  # the demo; `actors run`/`actors repl` load only the above
    time.sleep(1.8)
    say(f"state {runner.get_state('latency')}")
    say(f"trigger returned {runner.trigger('latency', args=250.0)}")  # a spike, on demand
    say(f"state {runner.get_state('latency')}")
    time.sleep(1.0)
    info = runner.info("latency")
    say(f"state {info.state}; runs={info.runs} succeeded={info.succeeded} failed={info.failed}")

    if sys.flags.interactive:
        print("runner is still running; try runner.status(), runner.trigger('latency', 5.0),")
        print("runner['latency'].history(3), runner.stop()")
    else:
        runner.stop()
