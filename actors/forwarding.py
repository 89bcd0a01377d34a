"""Forwarding: calls between the runners of a shared store.

A call to a program another runner owns becomes a command to that runner, through the
store (`forward`); the commands sent to this runner become messages to its supervisor, and
their answers go back through the store. Fields, results and errors travel pickled: both
ends are runners of one store. The membership thread takes the commands and writes the
answers; callers wait on their own threads.
"""

from __future__ import annotations

import logging
import pickle
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import attrs

from actors.clock import Clock
from actors.errors import ProgramNotFound, ProgramUnavailable, SchedulerError
from actors.store.abc import Command, Coordinator
from actors.store.codec import to_micros
from actors.system import ActorSystem
from actors.tree import messages as m
from actors.waiting import CALL_TIMEOUT

__all__ = ["COMMANDS", "Forwarding", "send_command"]

logger = logging.getLogger("actors.membership")

#: The requests a runner may send to a program another runner owns, by name.
COMMANDS: dict[str, type[Any]] = {
    kind.__name__: kind
    for kind in (
        m.Trigger,
        m.Spawn,
        m.Unspawn,
        m.GetState,
        m.SetState,
        m.Pause,
        m.Resume,
        m.Reschedule,
        m.KillSpawn,
        m.GetProgramInfo,
        m.GetSpawns,
        m.GetHistory,
        m.GetNextFires,
        m.Uninstall,
        m.SucceededElsewhere,
    )
}


def send_command(
    coordinator: Coordinator, owner: str, message: Any, *, now: int, timeout: float
) -> tuple[bool, Any]:
    """Send the request `message` (one of `COMMANDS`) to runner `owner` through the store, and
    wait for its answer: `(True, result)` or `(False, error)`.

    Raises:
        ProgramUnavailable: `owner` did not answer within `timeout` seconds.
    """
    kind = type(message).__name__
    fields = {f.name: getattr(message, f.name) for f in attrs.fields(type(message))}
    del fields["reply"]  # a future of this process: the answer comes back through the store
    answer = coordinator.call(
        owner, message.program_id, kind, pickle.dumps(fields), now=now, timeout=timeout
    )
    if answer is None:
        msg = (
            f"program {message.program_id!r} is run by runner {owner!r}, which did not "
            f"answer {kind} within {timeout:g} s"
        )
        raise ProgramUnavailable(msg)
    ok, payload = answer
    return ok, pickle.loads(payload)


class Forwarding:
    """The calls of runner `system.runner_id` to the other runners of its store, and theirs
    to it.

    Args:
        lock: held around each use of `coordinator`'s connection (the membership's).
        wake: wakes the membership thread (an answer is ready to be written).
        uninstalled: told the id of a program uninstalled on its owner by a call from here.
    """

    def __init__(
        self,
        system: ActorSystem,
        coordinator: Coordinator,
        clock: Clock,
        *,
        lease: float,
        lock: threading.RLock,
        wake: Callable[[], None],
        uninstalled: Callable[[str], object],
    ) -> None:
        self.system = system
        self.coordinator = coordinator
        self.clock = clock
        self.runner_id = system.runner_id
        self.lease = lease
        self.span = int(lease * 1_000_000 / 2)
        self._lock = lock
        self._wake = wake
        self._uninstalled = uninstalled
        self._answers: queue.SimpleQueue[tuple[int, bool, bytes]] = queue.SimpleQueue()

    def _now(self) -> int:
        return to_micros(self.clock.now())

    def forward(self, message: Any, timeout: float | None, error: Exception) -> Any:
        """Send `message` to the runner that owns its program, and return that runner's answer
        (or raise its error); `error` (the program is not here) if the store does not hold it.

        Raises:
            ProgramUnavailable: its owner is dead or did not answer within `timeout` seconds.
        """
        kind = type(message).__name__
        program_id = message.program_id
        now = self._now()
        with self._lock:
            owner = self.coordinator.owner_of(program_id, now=now, span=self.span)
        # Not stored, or stored and nobody runs it (released just now, or waiting for code
        # that no runner has): what this runner knows of it is the answer.
        if owner is None or owner[0] is None or kind not in COMMANDS:
            raise error
        if owner[0] == self.runner_id:
            raise error
        if not owner[1]:
            msg = (
                f"program {program_id!r} has no live owner now (its runner {owner[0]!r} is not "
                f"heard of): a live runner takes it over within {self.lease:g} s"
            )
            raise ProgramUnavailable(msg)
        wait = CALL_TIMEOUT if timeout is None else timeout
        ok, value = send_command(self.coordinator, owner[0], message, now=now, timeout=wait)
        if isinstance(message, m.Uninstall):
            self._uninstalled(program_id)  # there: so not to run here either
        if not ok:
            raise value
        return value

    def or_forward(
        self, future: Future[Any], message: m.ProgramRequest, timeout: float | None
    ) -> Future[Any]:
        """`future`, the local answer to `message`; if it says the program is not here, a
        future of the answer of the runner that owns it (asked from a thread of its own: the
        local answer may come on an actor's thread)."""
        forwarded: Future[Any] = Future()

        # The owner's silence is told (ProgramUnavailable) a moment before the caller's
        # wait for the run ends.
        wait = None if timeout is None else timeout * 0.9

        def ask(error: Exception) -> None:
            try:
                forwarded.set_result(self.forward(message, wait, error))
            except BaseException as failure:  # noqa: BLE001 - the caller's future has it
                forwarded.set_exception(failure)

        def local(done: Future[Any]) -> None:
            error = done.exception()
            if isinstance(error, ProgramNotFound):
                threading.Thread(target=ask, args=(error,), daemon=True).start()
            elif error is not None:
                forwarded.set_exception(error)
            else:
                forwarded.set_result(done.result())

        future.add_done_callback(local)
        return forwarded

    def take_commands(self) -> None:
        with self._lock:
            commands = self.coordinator.pending()
        for command in commands:
            self._execute(command)

    def _execute(self, command: Command) -> None:
        """Send a command's request to the supervisor; its answer goes back once it comes."""
        try:
            kind = COMMANDS[command.kind]
            fields = pickle.loads(command.payload)
            message = kind(**fields)
            future = self.system.send(message)
        except Exception as error:  # noqa: BLE001 - the caller hears of it
            self._queue_answer(command.id, False, error)
            return
        future.add_done_callback(lambda done: self._answered(command.id, done))

    def _answered(self, command_id: int, done: Future[Any]) -> None:
        """On whatever thread answered: queue the answer for the membership thread."""
        error = done.exception()
        self._queue_answer(command_id, error is None, done.result() if error is None else error)

    def _queue_answer(self, command_id: int, ok: bool, value: Any) -> None:
        try:
            payload = pickle.dumps(value)
        except Exception as error:  # noqa: BLE001 - an answer that cannot travel
            text = f"the answer of runner {self.runner_id!r} cannot be sent back: {error}"
            ok, payload = False, pickle.dumps(SchedulerError(text))
        self._answers.put((command_id, ok, payload))
        self._wake()

    def answer_all(self) -> None:
        while True:
            try:
                command_id, ok, payload = self._answers.get_nowait()
            except queue.Empty:
                return
            with self._lock:
                self.coordinator.answer(command_id, ok, payload)
