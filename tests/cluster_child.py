"""A runner process of the cluster chaos test (`test_cluster_chaos.py`): one runner on a shared
PostgreSQL store, installing the witnessing programs `c00`, `c01`, ... (4 Hz, one spawn
each; `tests.cluster_callables`), until SIGTERM, which stops it (`runner.stop()`: its programs
go to the other runners at once).

`python -m tests.cluster_child URL RUNNER_ID LEASE PROGRAMS`: prints `ready <runner id> <pid>`
once its runner runs, and `stopped <runner id>` once it stopped. Logs go to stderr, each line
starting with its time in seconds since the epoch; the membership's (programs lost, given up)
included.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType

from actors import Program, Runner, every
from tests.cluster_callables import configure, ensure_witness_table, program_ids

#: How often each program runs (seconds).
PERIOD = 0.25


def main(url: str, runner_id: str, lease: float, programs: int) -> None:
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format=f"%(created).3f {runner_id} %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("actors.membership").setLevel(logging.INFO)
    configure(url, runner_id)
    ensure_witness_table(url)
    terminated = threading.Event()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        terminated.set()

    signal.signal(signal.SIGTERM, on_sigterm)
    runner = Runner(id=runner_id, store=url, lease=lease)
    try:
        for program_id in program_ids(programs):
            runner.install(
                Program(
                    id=program_id,
                    schedule=every(PERIOD),
                    min=1,
                    main_fn=f"tests.cluster_callables:witness_{program_id}",
                )
            )
        print(f"ready {runner_id} {os.getpid()}", flush=True)
        while not terminated.wait(1.0):
            pass
    finally:
        runner.stop()
    print(f"stopped {runner_id}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
