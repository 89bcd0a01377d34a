"""Runner: the public facade that turns every call into a message.

A `Runner` is a plain object. Creating one starts its SupervisorActor; every method builds a
message, sends it to the supervisor and waits (on the caller's thread, never an actor's) for the
answer on the message's reply future.
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from datetime import timedelta
from pathlib import Path
from typing import Any

from actors._tracebacks import user_facing
from actors.autoscaling import AutoscaleSpec
from actors.clock import Clock, SystemClock
from actors.errors import DeadlockError, InvalidSchedule, ProgramNotFound, RunnerStopped
from actors.events import Event, Subscription
from actors.handles import AutoscaleHandle, ProgramHandle
from actors.installing import install_programs
from actors.membership import Membership
from actors.program import Program
from actors.runner_views import RunnerViews
from actors.runtime import Request, inside_user_code_of
from actors.schedules import Schedule, every
from actors.store import Store, open_store
from actors.system import ActorSystem, default_id
from actors.tree.events_actor import ActorBroker, Subscribe
from actors.tree.messages import (
    NO_ARGS,
    GetState,
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
from actors.tree.monitor_actor import StartMonitor
from actors.validation import check_instance, check_int, check_non_empty_str, check_seconds
from actors.waiting import (
    CALL_TIMEOUT,
    call_text,
    refuse_to_wait_in_handler,
    settle,
    wait_for_answer,
    wait_for_run,
)

__all__ = ["Runner"]

logger = logging.getLogger("actors.runner")

#: How long a runner forgotten at interpreter exit gives its running work.
EXIT_TIMEOUT = 5.0


@user_facing
class Runner(RunnerViews):
    """Holds programs and runs them. Created = started; also a context manager.

    Args:
        id: a name for people and logs, unique among the live runners of a store (default:
            `runner-N`; with a store, `HOST-PID`, or `HOST-PID-N` for the Nth of a process).
        clock: where time comes from (default: a new `SystemClock`; tests use `ManualClock`).
        max_concurrent: at most this many `main_fn`s at once across the runner (`None` = no cap).
        history: how many `RunRecord`s to keep per program.
        store: where programs are kept: `None` or `"memory"` (nothing survives the process), a
            path (`"actors.db"`) or `"sqlite:///path"` (SQLite), or a `Store`. A runner opening
            a store restores the programs it holds (see `docs/persistence.md`).
        lease: with a store several runners share, how long a runner may go unheard before
            its programs move to the others, in seconds (see `docs/cluster.md`).
        ray_address: the Ray cluster that programs with `executor="ray"` run on (`"auto"`,
            `"ray://head:10001"`, ...); `None` connects where `ray.init()` would: to
            `RAY_ADDRESS`, else a new local cluster, started at the first Ray spawn and shut
            down at `stop()` (see `docs/executors.md`). A Ray already connected is used as is.

    Raises:
        StoreError: the store cannot be opened (the message says why and what to do).
    """

    def __init__(
        self,
        id: str | None = None,
        *,
        clock: Clock | None = None,
        max_concurrent: int | None = None,
        history: int = 1000,
        store: Store | str | Path | None = None,
        lease: float = 15.0,
        ray_address: str | None = None,
    ) -> None:
        check_non_empty_str("id", id, optional=True)
        a_clock = "a Clock such as SystemClock() or ManualClock()"
        check_instance("clock", clock, Clock, what=a_clock, optional=True)
        check_int("max_concurrent", max_concurrent, at_least=1, optional=True)
        check_int("history", history, at_least=0)
        check_non_empty_str("ray_address", ray_address, optional=True)
        lease = check_seconds("lease", lease)
        self.store = open_store(store)
        self.store.use_lease(lease)
        self.id = id if id is not None else default_id(self.store)
        self.clock = clock if clock is not None else SystemClock()
        self.max_concurrent = max_concurrent
        self._system = ActorSystem(
            self.id,
            self.clock,
            self.store,
            max_concurrent=max_concurrent,
            history=history,
            ray_address=ray_address,
        )
        self._runtime = self._system.runtime
        self.clock.attach(self)
        atexit.register(self._stop_at_exit)
        self._members: Membership | None = None
        try:
            self._members = self._system.restore(lease) if self.store.durable else None
        except BaseException:
            self.stop(wait=False)
            raise

    # --- plumbing ---------------------------------------------------------------------------

    def _send(self, message: Request) -> Future[Any]:
        return self._system.send(message)

    def _call(self, message: Request, timeout: float | None = CALL_TIMEOUT) -> Any:
        try:
            return self._system.call(message, timeout)
        except ProgramNotFound as error:
            if self._members is None or getattr(message, "program_id", None) is None:
                raise
            return self._members.calls.forward(message, timeout, error)  # another runner's?

    def _stop_at_exit(self) -> None:
        try:
            self.stop(timeout=EXIT_TIMEOUT)
        except Exception:  # never let exit fail because of us (logged with its traceback)
            logger.exception("stopping runner %r at exit failed", self.id)

    def __repr__(self) -> str:
        if self._system.stopped:
            return f"<Runner {self.id!r} stopped>"
        try:
            status = self.status()
        except Exception:  # noqa: BLE001 - a repr must not raise
            return f"<Runner {self.id!r}>"
        totals = status.totals
        return (
            f"<Runner {self.id!r} running: {totals['programs']} programs, "
            f"{totals['spawns']} spawns, {totals['runs']} runs, {totals['failed']} failed>"
        )

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __getitem__(self, program_id: str) -> ProgramHandle:
        self.info(program_id)  # raises ProgramNotFound
        return ProgramHandle(self, program_id)

    @property
    def stopped(self) -> bool:
        """Whether `stop()` was called."""
        return self._system.stopped

    # --- programs ---------------------------------------------------------------------------

    def install(self, program: Program | Mapping[str, Any], *, replace: bool = False) -> Program:
        """Register a program, start its `min` spawns and its timer.

        `program` may be a `Program` or a dict with the same keys. Its `create_fn` runs here, on
        the caller's thread: if it raises, the error propagates and nothing is installed. If
        the runner's store holds a program of that id, the install adopts it: its state,
        counters, history, schedule position and pause are kept and `create_fn` is not called;
        `replace=True` starts it fresh instead.

        Raises:
            ProgramExists: a program with that id is installed and `replace` is false.
            InvalidProgram: the spec is invalid.
            ConnectionError, TimeoutError: a Ray program, and Ray cannot be reached at
                `ray_address` (or did not start).
        """
        return install_programs(self, [Program.from_mapping(program)], replace=replace)[0]

    def install_many(
        self, programs: Iterable[Program | Mapping[str, Any]], *, replace: bool = False
    ) -> list[Program]:
        """Install several programs at once: as `install` of each, in order, with one message
        to the supervisor (installing 10,000 programs is a fraction of the time it takes one
        by one). Returns them as installed.

        All are checked before any is installed: if one cannot be (a bad spec, an id installed
        already or given twice, an `on_success` cycle, a `create_fn` that raises), none is. On
        a store several runners share, each goes on its own (each may run on another runner).

        Raises:
            ProgramExists, InvalidProgram: as `install` would, for the first that cannot be.
        """
        specs = [Program.from_mapping(program) for program in programs]
        return install_programs(self, specs, replace=replace)

    def uninstall(self, id: str) -> None:
        """Stop a program's timer and spawns (gracefully: running work finishes) and forget it.

        Raises:
            ProgramNotFound: no such program.
        """
        # From inside one of this runner's runs, the drain would wait for that very run:
        # the program is forgotten at once and its running work finishes afterwards.
        drain = inside_user_code_of(self._runtime) is None
        self._call(Uninstall(program_id=id, wait_for_drain=drain))

    def spawn(self, id: str, n: int = 1) -> list[str]:
        """Start `n` spawns of a program; returns their ids, such as `["worker-3"]`.

        Raises:
            SpawnLimitError: that would pass the program's `max` (nothing is started).
        """
        result: list[str] = self._call(Spawn(program_id=id, n=n))
        return result

    def unspawn(self, id: str, n: int = 1, *, policy: str | None = None) -> list[str]:
        """Stop `n` spawns gracefully (a running one finishes first); returns their ids.

        Args:
            id: the program.
            n: how many.
            policy: `"last"` (newest), `"first"` (oldest) or `"idle"` (an idle one, else the
                newest); default: the program's `policy`.

        Raises:
            SpawnLimitError: that would go below the program's `min` (nothing is stopped).
        """
        result: list[str] = self._call(Unspawn(program_id=id, n=n, policy=policy))
        return result

    def trigger(
        self,
        id: str,
        args: Any = NO_ARGS,
        *,
        wait: bool = True,
        timeout: float | None = None,
    ) -> Any:
        """Run `main_fn` once now, on an idle spawn or else on a temporary one.

        The run is merged and counted like any other. With `wait=True` this returns main_fn's
        result, or raises its exception (or `merge_fn`'s); with `wait=False` it returns a
        `concurrent.futures.Future` at once. `args` overrides the program's `args_fn`.

        Raises:
            ProgramNotFound: no such program.
            TimeoutError: `timeout` seconds passed before the run finished.
        """
        message = Trigger(program_id=id, args=args)
        future = self._send(message)
        if self._members is not None:
            future = self._members.calls.or_forward(future, message, timeout)
        return future if not wait else wait_for_run(future, call_text(message), timeout)

    def get_state(self, id: str) -> Any:
        """The program's merged state."""
        return self._call(GetState(program_id=id))

    def set_state(self, id: str, value: Any) -> None:
        """Replace the program's state."""
        self._call(SetState(program_id=id, value=value))

    def kill_spawn(self, id: str, spawn_id: str) -> None:
        """Hard-stop a spawn: it is abandoned at once, and replaced where `min` asks.

        A run in progress on it is cancelled (counted failed; its late result is dropped).
        Python cannot stop the thread running it, which finishes on its own.

        Raises:
            ProgramNotFound: no such program.
            SpawnNotFound: the program has no such spawn.
        """
        self._call(KillSpawn(program_id=id, spawn_id=spawn_id))

    def subscribe(
        self, callback: Callable[[Event], Any], *event_types: type[Event]
    ) -> Subscription:
        """Call `callback(event)` for every event of the given types (none given: all).

        Events are delivered by an events actor, on a worker thread, in the order they
        happened; a slow or failing subscriber never delays a tick or a run (its errors are
        logged). Returns a `Subscription`; `subscription.cancel()` ends it.

        Raises:
            InvalidProgram: `callback` is not callable, or a type is not an event class.
        """
        subscription = Subscription(callback, event_types, ActorBroker(self._system.events))
        if self._system.stopped:
            raise RunnerStopped(f"runner {self.id!r} is stopped")
        message = Subscribe(subscription=subscription)
        refuse_to_wait_in_handler("runner.subscribe()")
        self._system.events.tell(message)
        answer: Subscription = wait_for_answer(
            message.reply, "runner.subscribe()", CALL_TIMEOUT, self.id
        )
        return answer

    def autoscale(
        self,
        id: str,
        metric: Callable[[], Any],
        *,
        high: float | None = None,
        low: float | None = None,
        per_spawn: float | None = None,
        interval: float | timedelta = 1.0,
        cooldown: float | timedelta = 30.0,
        step: int = 1,
    ) -> AutoscaleHandle:
        """Start a LoadMonitor that resizes the program's pool from `metric()`.

        Every `interval` seconds the monitor calls `metric()` (on a worker thread) for a number
        such as a queue depth. Threshold mode (`high`, `low`): above `high` it starts `step`
        spawns, below `low` it stops `step`. Target mode (`per_spawn`): it wants
        `ceil(metric() / per_spawn)` spawns. Always within `[min, max]`; it grows at once and
        shrinks once `cooldown` seconds have passed since its last change, idle spawns first,
        busy ones after their run (never interrupted). A failing metric changes nothing that
        round (counted, published as `MetricFailed`). A second `autoscale` of a program
        replaces the first. Returns an `AutoscaleHandle` (`.info()`, `.stop()`).

        Raises:
            InvalidProgram: a bad argument (named with its value), or target mode on a program
                without `max`.
            ProgramNotFound: no such program.
        """
        options = {"high": high, "low": low, "per_spawn": per_spawn, "interval": interval}
        spec = AutoscaleSpec.create(id, metric, cooldown=cooldown, step=step, **options)
        number: int = self._call(StartMonitor(spec=spec))
        return AutoscaleHandle(self, spec, number, self._call)

    # --- timing ---------------------------------------------------------------------------

    def pause(self, id: str | None = None) -> None:
        """Pause one program, or (no id) the whole runner, programs installed later included.

        Ticks while paused are counted as missed and are not replayed on resume; `trigger`
        still runs.
        """
        self._call(Pause(program_id=id))

    def resume(self, id: str | None = None) -> None:
        """Resume one program, or (no id) the whole runner and every program in it."""
        self._call(Resume(program_id=id))

    def reschedule(self, id: str, schedule: Schedule) -> None:
        """Give a program a new schedule; it takes effect from the next tick.

        The new schedule is anchored at the time of this call (an `every()` without `start`
        counts its first interval from now).

        Raises:
            InvalidSchedule: `schedule` is not a Schedule.
            ProgramNotFound: no such program.
        """
        if not isinstance(schedule, Schedule):
            msg = f"schedule must be a Schedule such as every(60), got {schedule!r}"
            raise InvalidSchedule(msg)
        self._call(Reschedule(program_id=id, schedule=schedule))

    def set_interval(self, id: str, seconds: float | timedelta) -> None:
        """Shorthand for `reschedule(id, every(seconds))`."""
        self.reschedule(id, every(seconds))

    # --- time and lifecycle -----------------------------------------------------------------

    def settle(self, timeout: float = 5.0, *, runs: bool = True) -> None:
        """Block until every due tick is delivered and every resulting run finished and merged.

        On a clock that moves by itself (`SystemClock`) it also waits for retries still in
        their backoff; on a `ManualClock` only for retries already due (`advance` reaches the
        others). With a store, it also waits until the store has committed what happened.
        Event subscribers are not waited for: see `Subscription.flush`.

        Args:
            timeout: seconds to wait at most.
            runs: with `False`, wait only until every message is handled, and leave runs that
                are still inside user code running: for tests that hold a run open on purpose.

        Raises:
            TimeoutError: the runner did not settle within `timeout` seconds; the message says
                what is still in flight.
            DeadlockError: called from inside `merge_fn`, or (with `runs=True`) from inside a
                run of this runner, which settling would have to wait for.
            RunnerStopped: the runner is stopped.
        """
        if self._system.stopped:
            raise RunnerStopped(f"runner {self.id!r} is stopped")
        refuse_to_wait_in_handler("runner.settle()")
        ticket = inside_user_code_of(self._runtime)
        if runs and ticket is not None and ticket.counted:
            msg = (
                f"runner.settle() was called from inside {ticket.label}: settling waits for "
                "every run to finish, this one included, so it would wait on itself "
                "(settle(runs=False) waits for messages only)"
            )
            raise DeadlockError(msg)
        if self._members is not None and not self.clock.moves_by_itself:
            self._members.beat_now(timeout)  # leases move on virtual time: at settle
        settle(self._runtime, self.clock, self.id, timeout, runs=runs)

    def settle_at_deadline(self, timeout: float, stuck_after: float) -> None:
        """What `ManualClock.advance` does at each deadline: `settle()`, except that a run
        with a `timeout` still inside user code after `stuck_after` real seconds is taken as
        stuck, and no longer waited for, so that virtual time can reach its timeout."""
        if not self._system.stopped:
            settle(self._runtime, self.clock, self.id, timeout, runs=True, stuck_after=stuck_after)

    def stop(self, *, wait: bool = True, timeout: float = 10.0) -> None:
        """Stop the runner: no new ticks; running `main_fn`s get `timeout` to finish; then
        every actor stops and no thread of ours is left (but the threads of abandoned runs:
        Python cannot stop them). Calling it again waits for the first call to finish.

        Called from inside the runner's own code (a `main_fn`, `merge_fn`, event subscriber
        or metric), it starts the stop and returns at once: the stop goes on in a thread of its
        own, and the run that called it finishes first.

        Args:
            wait: wait (up to `timeout`) for running work to finish; `False` abandons it.
            timeout: seconds running work gets before it is abandoned.
        """
        if self._system.stop(self, wait=wait, timeout=timeout):
            atexit.unregister(self._stop_at_exit)
