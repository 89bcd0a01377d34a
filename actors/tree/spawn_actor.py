"""SpawnActor: one worker of a program. It runs `main_fn` for each `Run` it is given.

The run itself happens on a worker thread, never on the actor's message loop: the actor hands
the run to the runtime's worker pool and goes back to its mailbox. The worker calls `main_fn`
through the spawn's executor (right there for `executor="thread"`; in the spawn's child process
or Ray actor for `"process"` and `"ray"`), then reports the run, on the spawn's behalf, with a
`RunFinished` message to the ProgramActor. A stopped spawn kills its executor's process or actor
(without waiting: the runtime's child watcher, or Ray, does the rest); one whose process or
actor is lost, during a run or while idle, tells the ProgramActor it died (`SpawnDied`).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from pykka import ActorDeadError

from actors.events import RunStarted
from actors.program import Program
from actors.runtime import (
    Actor,
    ActorRef,
    Executor,
    ExecutorLost,
    ProcessExecutor,
    RayExecutor,
    Runtime,
    ThreadExecutor,
    handles,
    post,
)
from actors.tree.messages import NO_ARGS, Run, RunBegan, RunFinished, SpawnDied, SpawnPlaced

__all__ = ["SpawnActor"]

logger = logging.getLogger("actors.spawn")


class SpawnActor(Actor):
    """Runs the program's `args_fn` and `main_fn` on a worker thread for each `Run`."""

    def __init__(
        self, runtime: Runtime, program: Program, spawn_id: str, program_ref: ActorRef[Any]
    ) -> None:
        super().__init__(runtime)
        self.program = program
        self.spawn_id = spawn_id
        self.program_ref = program_ref
        self.executor = _executor(runtime, program, spawn_id)

    def __str__(self) -> str:
        return f"SpawnActor({self.spawn_id})"

    @handles(Run)
    def _run(self, message: Run) -> None:
        self.runtime.run_user_code(
            functools.partial(self._execute, message),
            capped=True,
            priority=message.priority,
            scheduled_at=message.scheduled_at.timestamp(),
            ticket=message.ticket,
        )

    def on_start(self) -> None:
        if self.executor.slow_start:  # a Ray actor is made on a worker thread
            self.runtime.run_user_code(self._start_executor)
        else:
            self._start_executor()

    def _start_executor(self) -> None:
        program_ref, spawn_id = self.program_ref, self.spawn_id
        try:
            self.executor.start(
                lambda node: post(program_ref, SpawnPlaced(spawn_id, node)),
                lambda lost: post(program_ref, SpawnDied(spawn_id, lost)),
            )
        except Exception as error:
            logger.exception("%s could not start its executor", self)
            post(program_ref, SpawnDied(spawn_id, error))

    def died(self, error: BaseException | None) -> None:
        self.tell(self.program_ref, SpawnDied(self.spawn_id, error))

    def on_stop(self) -> None:
        # Stopped (its program drains, a timeout replaces it, the runner stops): its process
        # or Ray actor goes with it, and a run in it ends at once.
        self.executor.kill()

    def _execute(self, run: Run) -> None:
        """Runs on a worker thread: call the user's functions, then post the outcome."""
        runtime = self.runtime
        clock = runtime.clock
        started_at = clock.now()
        if runtime.max_concurrent is not None:  # it may have waited: say when it started
            post(self.program_ref, RunBegan(run.run_id, run.attempt, started_at))
        self.publish(
            RunStarted, self.program.id, run.run_id, self.spawn_id, run.scheduled_at, run.attempt
        )
        result: Any = None
        error: BaseException | None = None
        try:
            args = self.program.args_fn() if run.args is NO_ARGS else run.args
            result = self.executor.call(args, run.scheduled_at)
        except ExecutorLost as died:  # a lost process or actor is a dead spawn: its run too
            post(self.program_ref, SpawnDied(self.spawn_id, died))
            return
        except BaseException as raised:  # noqa: BLE001 - user code: record anything, die never
            error = raised
        outcome = RunFinished(
            run_id=run.run_id,
            spawn_id=self.spawn_id,
            started_at=started_at,
            finished_at=clock.now(),
            result=result,
            error=error,
            attempt=run.attempt,
        )
        # Straight to the ProgramActor, on the spawn's behalf: one hop fewer per run.
        try:
            self.program_ref.tell(outcome)
        except ActorDeadError:
            logger.info(
                "%s stopped before run %s finished; its result is dropped", self, run.run_id
            )


def _executor(runtime: Runtime, program: Program, spawn_id: str) -> Executor:
    """Where spawn `spawn_id` of `program` runs `main_fn`."""
    name = f"actors-{runtime.name}-{spawn_id}"
    match program.executor:
        case "process":
            return ProcessExecutor(program.main_fn, name, runtime.children)
        case "ray":
            options = program.resources
            return RayExecutor(program.main_fn, name, connection=runtime.ray, options=options)
        case _:
            return ThreadExecutor(program.main_fn, name)
