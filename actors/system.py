"""ActorSystem: one runner's actors and threads, started together and stopped together.

A `Runner` is the public face; behind it, its `ActorSystem` holds the kernel's `Runtime` (the
dispatcher and worker threads), the SupervisorActor that every request goes to, and the
EventsActor. It is the one door messages go in by (`send`, `call`) and the one place that
knows how to stop it all, even from inside the system's own threads.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from typing import Any

from pykka import ActorRef

from actors.clock import Clock, Settleable
from actors.errors import RunnerStopped
from actors.runtime import ACTOR_STOP_TIMEOUT, Request, Runtime, in_handler, inside_user_code_of
from actors.tree.events_actor import EventsActor
from actors.tree.messages import Shutdown
from actors.tree.supervisor import SupervisorActor
from actors.waiting import CALL_TIMEOUT, call_text, refuse_to_wait_in_handler, wait_for_answer

__all__ = ["ActorSystem"]

logger = logging.getLogger("actors.runner")


class ActorSystem:
    """The runtime, supervisor and events actor of the runner `runner_id`."""

    def __init__(
        self, runner_id: str, clock: Clock, *, max_concurrent: int | None, history: int
    ) -> None:
        self.runner_id = runner_id
        self.clock = clock
        self.runtime = Runtime(runner_id, clock, max_concurrent=max_concurrent)
        self.events: ActorRef[Any] = EventsActor.start(self.runtime)
        self.supervisor: ActorRef[Any] = SupervisorActor.start(self.runtime, runner_id, history)
        self._stop_lock = threading.Lock()
        self._stopped = False
        self._stop_done = threading.Event()

    @property
    def stopped(self) -> bool:
        """Whether a stop was asked for."""
        return self._stopped

    def send(self, message: Request) -> Future[Any]:
        """Hand `message` to the supervisor; its reply future answers it.

        Raises:
            RunnerStopped: the system is stopped.
        """
        if self._stopped:
            raise RunnerStopped(f"runner {self.runner_id!r} is stopped")
        self.supervisor.tell(message)
        return message.reply

    def call(self, message: Request, timeout: float | None = CALL_TIMEOUT) -> Any:
        """Send `message` and wait for its answer (never from inside an actor's handler)."""
        what = call_text(message)
        refuse_to_wait_in_handler(what)
        return wait_for_answer(self.send(message), what, timeout, self.runner_id)

    def ours(self) -> bool:
        """Whether the calling thread is one of this system's own (a handler, or user code)."""
        return in_handler() or inside_user_code_of(self.runtime) is not None

    def stop(self, settleable: Settleable, *, wait: bool, timeout: float) -> bool:
        """Stop everything: no new ticks, running work gets `timeout` (unless not `wait`), then
        every actor and thread. Returns `False` if a stop was asked for already (it waits for
        that one, unless called from the system's own threads).

        From the system's own threads (a `main_fn` stopping its runner), the stop runs on a
        thread of its own and this returns at once: the run that asked finishes first.
        """
        ours = self.ours()
        with self._stop_lock:
            first = not self._stopped
            self._stopped = True
        if not first:
            if not ours:  # the first stop may be under way on another thread
                self._stop_done.wait(timeout + ACTOR_STOP_TIMEOUT + 5.0)
            return False
        if ours:
            stopper = threading.Thread(
                target=self._stop_now,
                args=(settleable, wait, timeout),
                name=f"actors-{self.runner_id}-stop",
                daemon=True,
            )
            stopper.start()
        else:
            self._stop_now(settleable, wait, timeout)
        return True

    def _stop_now(self, settleable: Settleable, wait: bool, timeout: float) -> None:
        try:
            work_deadline = time.monotonic() + (timeout if wait else 0.0)
            shutdown = Shutdown()
            self.supervisor.tell(shutdown)
            if wait:
                try:
                    shutdown.reply.result(timeout)
                except TimeoutError:
                    logger.warning(
                        "runner %r: running work did not finish within %s s; abandoning it",
                        self.runner_id,
                        timeout,
                    )
            self.runtime.shutdown(work_deadline)
            self.clock.detach(settleable)
            self.clock.release()
        finally:
            self._stop_done.set()
