"""The examples run as the README says, and do what they say (real processes)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_persistent_continues_where_its_first_run_stopped(tmp_path: Path) -> None:
    """Run twice, `examples/persistent.py` starts its second run from the visits the first
    ended with (plus the catch-up of the downtime), keeping its store in the working
    directory; `--fresh` starts from zero again."""
    first = run_example("persistent.py", tmp_path)
    assert "starting from 0 visits" in first
    ended = int(re.search(r"now (\d+) visits", first).group(1))  # type: ignore[union-attr]
    assert ended > 0
    second = run_example("persistent.py", tmp_path)
    started = int(re.search(r"starting from (\d+) visits", second).group(1))  # type: ignore[union-attr]
    assert ended <= started <= ended + 3  # a run before stop, the catch-up, one more tick
    assert (tmp_path / "persistent.db").exists()
    fresh = run_example("persistent.py", tmp_path, "--fresh")
    assert "starting from 0 visits" in fresh


def test_ray_pool_grows_with_its_backlog_and_leaves_no_ray_behind(tmp_path: Path) -> None:
    """`examples/ray_pool.py` starts a local Ray cluster of its own, grows its pool of Ray
    spawns past one while the backlog lasts, factors every number, shrinks back to one, and
    shuts Ray down at `stop()`."""
    out = run_example("ray_pool.py", tmp_path)
    sizes = [int(size) for size in re.findall(r"spawns (\d+)", out)]
    assert max(sizes) > 1
    assert sizes[-1] == 1
    assert "'factored': 24" in out
    assert "Ray still running: False" in out
