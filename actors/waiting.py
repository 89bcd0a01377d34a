"""Waiting on the runner's actors, from the caller's thread: for an answer, or for quiet.

A `Runner` call sends a request and waits on its reply future (`wait_for_answer`); `settle()`
waits until nothing is in flight (`settle`). Both refuse, at once and saying why, a wait that
would wait on itself: a call from inside an actor's handler (`merge_fn`), whose answer could be
queued behind that very handler. And every `TimeoutError` they raise says what did not come.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from typing import Any

from actors.clock import Clock
from actors.errors import DeadlockError
from actors.runtime import Request, Runtime, in_handler, user_code_label
from actors.tree.messages import (
    GetHistory,
    GetNextFires,
    GetProgramInfo,
    GetSpawns,
    GetState,
    GetStatus,
    Install,
    KillSpawn,
    Pause,
    Reschedule,
    Resume,
    SetState,
    Spawn,
    Trigger,
    Uninstall,
    Unspawn,
)
from actors.tree.monitor_actor import GetMonitorInfo, StartMonitor, StopMonitor

__all__ = ["CALL_TIMEOUT", "call_text", "refuse_to_wait_in_handler", "settle", "wait_for_answer"]

#: How long a call waits for its answer. Actors never block, so an answer that takes this long
#: means something is badly wrong; better a `TimeoutError` than a hung REPL.
CALL_TIMEOUT = 60.0

#: The runner call each request stands for, for messages about it.
_CALL_NAMES: dict[type, str] = {
    GetHistory: "history",
    GetMonitorInfo: "autoscale handle's info",
    GetNextFires: "next_fires",
    GetProgramInfo: "info",
    GetSpawns: "spawns",
    GetState: "get_state",
    GetStatus: "status",
    Install: "install",
    KillSpawn: "kill_spawn",
    Pause: "pause",
    Reschedule: "reschedule",
    Resume: "resume",
    SetState: "set_state",
    Spawn: "spawn",
    StartMonitor: "autoscale",
    StopMonitor: "autoscale handle's stop",
    Trigger: "trigger",
    Uninstall: "uninstall",
    Unspawn: "unspawn",
}


def call_text(message: Request) -> str:
    """`runner.get_state('q')`: the call a request stands for, for messages."""
    name = _CALL_NAMES.get(type(message), type(message).__name__)
    program_id = getattr(message, "program_id", None)
    if isinstance(message, Install):
        program_id = message.program.id
    elif isinstance(message, StartMonitor):
        program_id = message.spec.program_id
    return f"runner.{name}({'' if program_id is None else repr(program_id)})"


def wait_for_run(future: Future[Any], what: str, timeout: float | None) -> Any:
    """Wait for a triggered run's result (or its error) on the caller's thread.

    Raises:
        TimeoutError: `timeout` passed first; the run goes on, and is merged and counted.
    """
    refuse_to_wait_in_handler(what)
    try:
        return future.result(timeout)
    except TimeoutError:
        if future.done():
            raise  # main_fn's own TimeoutError, or the program's timeout
        msg = (
            f"{what} waited {timeout:g} s and the run has not finished; it goes on and "
            "will be merged and counted (trigger(..., wait=False) returns a Future instead)"
        )
        raise TimeoutError(msg) from None


def refuse_to_wait_in_handler(what: str) -> None:
    """A call that waits for an answer must not be made from inside an actor's handler
    (`merge_fn`): the answer may be queued behind that very handler.

    Raises:
        DeadlockError: it is, naming the call and the user function it came from.
    """
    if not in_handler():
        return
    where = user_code_label() or "an actor's message handler"
    msg = (
        f"{what} was called from inside {where}, which runs inside the program's actor: "
        "a call that waits for the runner's answer there would wait on the runner itself, "
        "and the runner would stall. Make the call from main_fn (or outside the runner); "
        "trigger(..., wait=False) and stop() do not wait and may be called there."
    )
    raise DeadlockError(msg)


def wait_for_answer(future: Future[Any], what: str, timeout: float | None, runner_id: str) -> Any:
    """The answer of `future`, or a `TimeoutError` that says what did not answer."""
    try:
        return future.result(timeout)
    except TimeoutError:
        if future.done():
            raise  # the answer itself is a TimeoutError (a run that timed out)
        msg = (
            f"runner {runner_id!r}: {what} got no answer within {timeout:g} s "
            "(the runner's actors never wait, so this means one of them is stuck)"
        )
        raise TimeoutError(msg) from None


def settle(
    runtime: Runtime,
    clock: Clock,
    runner_id: str,
    timeout: float,
    *,
    runs: bool,
    stuck_after: float | None = None,
) -> None:
    """Block until `runtime` is quiet and `clock` has nothing due (see `Runner.settle`).

    With `stuck_after`, a run with a timeout still inside user code after that many real
    seconds is taken as stuck and no longer waited for (`ManualClock.advance`).

    Raises:
        TimeoutError: not quiet within `timeout` seconds; the message says what is in flight.
    """
    activity = runtime.activity
    backoffs = runs and clock.moves_by_itself
    deadline = time.monotonic() + timeout
    patience = None if stuck_after is None else time.monotonic() + stuck_after
    while True:
        now = time.monotonic()
        wait = deadline - now if patience is None else min(deadline, patience) - now
        quiet = activity.wait_idle(max(0.0, wait), runs=runs, backoffs=backoffs)
        if quiet and not clock.has_due():
            return
        now = time.monotonic()
        if patience is not None and now >= patience:
            # Runs with a timeout still going: stuck, as far as virtual time is concerned.
            patience = None
            if activity.mark_stuck() and stuck_after is not None:
                patience = now + stuck_after
            continue
        if now >= deadline:
            raise TimeoutError(_unsettled(runtime, clock, runner_id, timeout))
        if quiet:
            # A due deadline on a real clock is posted within a millisecond; look again then.
            time.sleep(0.001)


def _unsettled(runtime: Runtime, clock: Clock, runner_id: str, timeout: float) -> str:
    """Why the runner did not settle: what is still in flight."""
    activity = runtime.activity
    tickets = [t for t in activity.in_flight() if not t.stuck]
    parts = []
    if tickets:
        shown = ", ".join(t.label for t in tickets[:3]) + (", ..." if len(tickets) > 3 else "")
        parts.append(f"{len(tickets)} run(s) still inside user code ({shown})")
    messages = activity.count - activity.runs
    if messages > 0:
        parts.append(f"{messages} message(s) not yet handled")
    if activity.backoffs and clock.moves_by_itself:
        parts.append(f"{activity.backoffs} retry(s) waiting for their backoff")
    if clock.has_due():
        parts.append("clock deadlines due but not yet delivered")
    return f"runner {runner_id!r} did not settle within {timeout:g} s: " + (
        "; ".join(parts) or "work kept arriving"
    )
