"""A Ray cluster of three nodes on this machine, one of which dies under a runner's Ray spawns:
`python -m tests.ray_node_child` prints what it saw as JSON on its last line.

Run by `tests/test_ray_executor.py` in a process of its own: a driver holds one Ray cluster,
and the tests' session holds another. The head node has no `slot` resource, so each spawn
(asking for one `slot`) lands on a worker node: one on `first`, one on `second`. `second` is
removed (its raylet and its actors die, as a lost machine's would); its spawn is a dead spawn,
replaced at once, and the replacement waits for room until a new node, `third`, joins (what
Ray's autoscaler would add), then runs there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from ray.cluster_utils import Cluster

from actors import Program, Runner
from tests.process_jobs import node_and_pid


def wait_for(condition: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            msg = f"not within {timeout} s"
            raise TimeoutError(msg)
        time.sleep(0.05)  # sleep-ok: polling another process's cluster
    return value


def main() -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    first = cluster.add_node(num_cpus=1, resources={"slot": 1})
    second = cluster.add_node(num_cpus=1, resources={"slot": 1})
    cluster.wait_for_nodes()
    seen: dict[str, Any] = {"first": first.node_id, "second": second.node_id}
    runner = Runner(id="nodes", ray_address=cluster.address)
    try:
        resources = {"num_cpus": 0, "resources": {"slot": 1}}
        program = Program(id="n", main_fn=node_and_pid, executor="ray", min=2, resources=resources)
        runner.install(program)
        placed = wait_for(lambda: {s.id: s.node for s in runner.spawns("n")} if all(
            s.node for s in runner.spawns("n")) else None)  # fmt: skip
        seen["before"] = placed
        cluster.remove_node(second)
        lost = [spawn for spawn, node in placed.items() if node == second.node_id]
        seen["replaced"] = wait_for(
            lambda: lost and all(s.id not in lost for s in runner.spawns("n"))
            and len(runner.spawns("n")) == 2
        )  # fmt: skip
        seen["waiting"] = sorted(str(s.node) for s in runner.spawns("n"))
        third = cluster.add_node(num_cpus=1, resources={"slot": 1})
        seen["third"] = third.node_id
        seen["after"] = wait_for(
            lambda: {s.id: s.node for s in runner.spawns("n")}
            if all(s.node for s in runner.spawns("n")) else None
        )  # fmt: skip
        runs = [runner.trigger("n", wait=False) for _ in range(2)]  # both spawns at once
        seen["runs_on"] = sorted(run.result(60)[0] for run in runs)
        seen["failed"] = runner.info("n").failed
    finally:
        runner.stop()
        cluster.shutdown()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
