"""The child process of the crash test: a runner on a store, running a counting program every
50 ms on two spawns until it is killed (`python -m tests.crash_child PATH`)."""

from __future__ import annotations

import sys
import threading

from actors import Program, Runner, every


def main(path: str) -> None:
    runner = Runner(id="crash-child", store=path, history=100_000)
    runner.install(
        Program(
            id="counter",
            schedule=every(0.05),
            min=2,
            main_fn="tests.programs_for_store:busy_count",
            create_fn="tests.programs_for_store:zero",
            merge_fn="tests.programs_for_store:add",
        )
    )
    print("ready", flush=True)
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    main(sys.argv[1])
