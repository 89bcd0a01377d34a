"""A pool of Ray actors that grows with its backlog and shrinks when the work is done.

Each spawn of the `crunch` program is a Ray actor (`executor="ray"`) asking for half a CPU;
every tick gives each spawn one number from the backlog to factor, on whatever Ray node it
lives. A LoadMonitor watches the backlog and wants one spawn per 4 numbers waiting (up to 4):
the pool grows at once, and shrinks back to 1 once the backlog is gone. The results come back
to the runner, where `merge_fn` adds them up as ever.

Run it: `make demo`'s set-up plus the `ray` extra (`.venv/bin/pip install -e '.[ray]'`, which
`make test` installs too), then `.venv/bin/python examples/ray_pool.py` (about 25 s: Ray
starts a local cluster of this machine's CPUs first, and shuts it down at the end). To use a
cluster of your own, start one (`ray start --head`) and pass `Runner(ray_address="auto")`.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import Any

from actors import Program, Runner, every

started = time.monotonic()
backlog = list(range(2_000_003, 2_000_003 + 2 * 24, 2))  # 24 odd numbers to factor


def say(text: str) -> None:
    sys.stdout.write(f"{time.monotonic() - started:5.1f}s  {text}\n")  # one write per line


def next_number() -> int | None:
    """args_fn, in the runner: the next number of the backlog, if any."""
    return backlog.pop() if backlog else None


def crunch(number: int | None, scheduled_at: datetime) -> dict[str, int]:
    """main_fn, in a Ray actor: the prime factors of `number`, by trial division."""
    if number is None:
        return {}
    factors, rest, divisor = [], number, 2
    while divisor * divisor <= rest:
        while rest % divisor == 0:
            factors.append(divisor)
            rest //= divisor
        divisor += 1
    factors.append(rest)
    time.sleep(0.3)  # a little I/O, so the pool's size shows in the pace
    return {"factored": 1, "factors": len(factors)}


def add(state: dict[str, int], result: dict[str, int]) -> dict[str, int]:
    """merge_fn, in the runner: one at a time, as with every executor."""
    return {key: state.get(key, 0) + result.get(key, 0) for key in ("factored", "factors")}


def pool_line(runner: Runner) -> str:
    spawns = runner.spawns("crunch")
    nodes = sorted({spawn.node[:8] for spawn in spawns if spawn.node is not None})
    state: dict[str, Any] = runner.get_state("crunch")
    return (
        f"backlog {len(backlog):2}  spawns {len(spawns)} on node(s) {', '.join(nodes) or '-'}"
        f"  factored {state.get('factored', 0)}"
    )


if __name__ == "__main__":
    runner = Runner(id="ray-pool")  # Ray starts with the first Ray spawn
    runner.install(
        Program(
            id="crunch",
            main_fn=crunch,
            args_fn=next_number,
            merge_fn=add,
            create_fn=dict,
            schedule=every(0.5),
            executor="ray",
            resources={"num_cpus": 0.5},
            min=1,
            max=4,
        )
    )
    say("installed: Ray is up (a local cluster), one spawn")
    runner.autoscale("crunch", lambda: len(backlog), per_spawn=4, interval=1, cooldown=2)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        time.sleep(1)
        say(pool_line(runner))
        if not backlog and len(runner.spawns("crunch")) == 1:
            break
    say(f"done: {runner.get_state('crunch')}")
    stopping = time.monotonic()
    runner.stop()
    say(f"stop took {time.monotonic() - stopping:.1f} s")
    import ray

    say(f"stopped; Ray still running: {ray.is_initialized()}")
