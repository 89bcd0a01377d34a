"""Rows and processes shared by the store tests."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from actors.store.abc import FiringRow, ProgramRow, RunRow, Write

#: The stores' rows start here.
T0 = datetime(2026, 1, 1, tzinfo=UTC)

CHILD = Path(__file__).with_name("store_child.py")


def program(program_id: str = "p", **fields: Any) -> ProgramRow:
    """A program row with the required fields filled in."""
    fields.setdefault("definition", None)
    fields.setdefault("schedule", '{"every": 60}')
    fields.setdefault("since", T0)
    fields.setdefault("state", b"{}")
    return ProgramRow(id=program_id, **fields)


def run(program_id: str = "p", number: int = 0, **fields: Any) -> RunRow:
    """The run `number` of a program, scheduled `number` minutes after T0."""
    fields.setdefault("attempt", 1)
    fields.setdefault("spawn", "s1")
    fields.setdefault("scheduled_at", T0 + timedelta(minutes=number))
    fields.setdefault("status", "completed")
    return RunRow(program_id=program_id, run_id=f"r{number}", **fields)


def firing(program_id: str = "p", minute: int = 0, **fields: Any) -> FiringRow:
    """The firing of a program's scheduled time `minute` minutes after T0."""
    return FiringRow(program_id=program_id, scheduled_at=T0 + timedelta(minutes=minute), **fields)


def install(program_id: str = "p", **fields: Any) -> Write:
    """The write that installs a program."""
    return Write(program_id=program_id, program=program(program_id, **fields))


def start_child(*args: str) -> subprocess.Popen[str]:
    """`tests/store_child.py` with `args`, its stdin, stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(child: subprocess.Popen[str], prefix: str) -> str:
    """The child's next line of output, which must start with `prefix` (else its stderr)."""
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line.startswith(prefix):
        child.kill()
        _, err = child.communicate()
        msg = f"child printed {line!r}, expected {prefix!r}; stderr:\n{err}"
        raise AssertionError(msg)
    return line.strip()


def end_child(child: subprocess.Popen[str]) -> None:
    """Close the child's stdin, so it ends, and reap it."""
    child.communicate(timeout=10)
