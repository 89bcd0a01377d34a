"""Installing programs: what `Runner.install` and `Runner.install_many` do on the caller's
thread, and when they wait for the supervisor.

Each program's `create_fn` runs here (unless the runner's store holds the program: the install
adopts it); then the batch goes to the supervisor as one message, which checks all of them
before it installs any. With a store several runners share, each program goes on its own,
since each may be claimed here or run by another runner.

`install` of one program does not wait for the supervisor when nothing it could answer is in
doubt: no store, an id that is neither installed nor being installed, and no `on_success`
chain to check. Then the supervisor cannot refuse it, and every later call of the runner
comes after it in the supervisor's mailbox, so it is installed for them all. Waiting costs two
thread wake-ups per program, most of the time of installing ten thousand one by one.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from pykka import ActorDeadError

from actors.errors import ProgramExists, ProgramNotFound, RunnerStopped
from actors.program import Program
from actors.runtime import resolve
from actors.tree.messages import Install, InstallMany
from actors.waiting import CALL_TIMEOUT, call_text, refuse_to_wait_in_handler

if TYPE_CHECKING:
    from actors.runner import Runner

__all__ = ["InstallsInFlight", "install_programs"]

logger = logging.getLogger("actors.runner")


class InstallsInFlight:
    """A runner's installs sent to its supervisor and not answered yet, by program id.

    An install of an id waits for the one in flight before it looks at what is installed, so
    two installs of one id (from two threads, or one that did not wait) never race.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replies: dict[str, Future[Any]] = {}

    def enter(self, program_ids: Sequence[str], reply: Future[Any]) -> None:
        """Record an install of `program_ids` answered on `reply`, once any in flight for
        them has been answered; `watch` must follow."""
        while True:
            with self._lock:
                # An answered one counts as gone: its waiters wake before its callback forgets it.
                found = (self._replies.get(i) for i in program_ids)
                earlier = next((f for f in found if f is not None and not f.done()), None)
                if earlier is None:
                    self._replies.update(dict.fromkeys(program_ids, reply))
                    break
            with contextlib.suppress(Exception):  # its outcome is its caller's: this only waits
                earlier.exception(timeout=CALL_TIMEOUT)

    def watch(self, program_ids: Sequence[str], reply: Future[Any], *, quiet: bool) -> None:
        """Forget the install once `reply` is answered. `quiet`: nobody waits for `reply`, so
        an error in it is logged."""
        reply.add_done_callback(functools.partial(self._answered, program_ids, quiet=quiet))

    def _answered(self, program_ids: Sequence[str], reply: Future[Any], *, quiet: bool) -> None:
        with self._lock:
            for program_id in program_ids:
                if self._replies.get(program_id) is reply:
                    del self._replies[program_id]
        error = reply.exception()
        if not quiet or error is None or isinstance(error, ActorDeadError | RunnerStopped):
            return  # its caller heard it, or the runner stopped under it
        logger.error("install of %s failed after it returned", program_ids, exc_info=error)


def install_programs(runner: Runner, specs: Sequence[Program], *, replace: bool) -> list[Program]:
    """Install `specs` on `runner`, in order; returns them as installed (or as another runner
    of the store runs them).

    Raises:
        RunnerStopped: the runner is stopped.
        ProgramExists: an id is installed already (and not `replace`), or given twice.
        InvalidProgram: an `on_success` cycle.
        ConnectionError, TimeoutError: a Ray program, and Ray cannot be reached.
    """
    if runner._system.stopped:  # noqa: SLF001 - the runner's own parts
        raise RunnerStopped(f"runner {runner.id!r} is stopped")
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            raise ProgramExists(f"program {spec.id!r} is given twice")
        seen.add(spec.id)
    if any(spec.executor == "ray" for spec in specs):  # here, rather than on a spawn's thread
        runner._runtime.ray.ensure()  # noqa: SLF001
    if runner._members is not None:  # noqa: SLF001
        return [_install_shared(runner, spec, replace=replace) for spec in specs]
    store, system = runner.store, runner._system  # noqa: SLF001
    installs: list[Install] = []
    for spec in specs:
        stored = store.load_program(spec.id) if store.durable else None
        # A program the store holds is adopted: its state is the stored one, no create_fn.
        state = spec.create_fn() if stored is None or replace else None
        # Anchored at the call, not when the supervisor gets to it: the same for a program
        # installed without waiting and a clock moved (ManualClock.jump) right after.
        since = runner.clock.now()
        install = Install(program=spec, state=state, replace=replace, stored=stored, since=since)
        installs.append(install)
    message: Install | InstallMany = installs[0]
    if len(installs) > 1:
        message = InstallMany(installs=tuple(installs), replace=replace)
    ids = [spec.id for spec in specs]
    # From a handler, as any call that may wait (and entering may wait for an earlier install).
    refuse_to_wait_in_handler(call_text(message))
    system.installing.enter(ids, message.reply)
    try:
        return _send(runner, message, specs, ids)
    except BaseException as error:
        resolve(message.reply, error=error)  # not sent, or not answered: let the next one in
        raise


def _send(
    runner: Runner, message: Install | InstallMany, specs: Sequence[Program], ids: list[str]
) -> list[Program]:
    """Send the install; wait for its answer unless it cannot be refused (module docstring)."""
    store, system = runner.store, runner._system  # noqa: SLF001
    quiet = (
        len(specs) == 1
        and not store.durable
        and specs[0].schedule.upstream is None
        and ids[0] not in system.programs
    )
    system.installing.watch(ids, message.reply, quiet=quiet)
    if quiet:
        system.send(message)
        return list(specs)
    answer = runner._call(message)  # noqa: SLF001
    return list(answer) if isinstance(message, InstallMany) else [answer]


def _install_shared(runner: Runner, spec: Program, *, replace: bool) -> Program:
    """Install one program on a runner of a store several runners share."""
    members = runner._members  # noqa: SLF001
    assert members is not None
    if replace:  # across the runners: uninstalled wherever it runs, then installed
        with contextlib.suppress(ProgramNotFound):
            runner.uninstall(spec.id)
    if (elsewhere := members.install(spec)) is not None:
        return elsewhere  # installed here (new, or taken over), or runs elsewhere
    stored = runner.store.load_program(spec.id)
    state = spec.create_fn() if stored is None or replace else None
    # This runner holds it (claimed, and restored or waiting for this code): with the epoch
    # it holds it by, which its writes and renewals must go on carrying.
    epoch = None
    if stored is not None:
        if stored.row.owner != runner.id:  # it changed hands since: as any other's
            return members.install(spec) or spec
        epoch = stored.row.epoch
    install = Install(program=spec, state=state, replace=replace, stored=stored, epoch=epoch)
    result: Program = runner._call(install)  # noqa: SLF001
    return result
