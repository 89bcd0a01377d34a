"""A counter that survives restarts: run it twice, and the second run goes on from the first.

The runner keeps its programs in an SQLite file (`persistent.db`, in the working directory).
Installing a program the store already holds adopts it: its state, counters, history and place
in the schedule are the stored ones, and `create_fn` is not called again. The ticks that fell
due while the script was not running are late: the program's `misfire` policy decides (here the
default: the newest of them runs once, the others are counted as missed).

Run it: `.venv/bin/python examples/persistent.py` (about 2 s), then once more. Start afresh:
`.venv/bin/python examples/persistent.py --fresh`. Look inside without running anything:
`.venv/bin/actors status --store persistent.db`.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime

from actors import Program, Runner, every

STORE = "persistent.db"


def visit(args: None, timestamp: datetime) -> int:
    """One more visit."""
    return 1


def count(state: dict[str, int], result: int) -> dict[str, int]:
    """Add a visit to the running total."""
    return {"visits": state["visits"] + result}


def counter() -> Program:
    return Program(
        id="visits",
        schedule=every(0.25),
        min=1,
        create_fn=lambda: {"visits": 0},
        main_fn=visit,
        merge_fn=count,
    )


def main() -> None:
    with Runner(id="persistent", store=STORE) as runner:
        runner.install(counter(), replace="--fresh" in sys.argv)
        runner.settle()  # the catch-up tick for the downtime is due at once: let it count
        before = runner.info("visits")
        print(
            f"starting from {before.state['visits']} visits ({before.runs} runs; "
            f"{before.missed} ticks missed while nothing ran) in {STORE}"
        )
        time.sleep(2)  # let it run
        after = runner.info("visits")
        print(f"now {after.state['visits']} visits after {after.runs} runs; run me again")


if __name__ == "__main__":
    main()
