"""The error family of actors: every error a caller can see derives from `SchedulerError`."""

from __future__ import annotations

__all__ = [
    "DeadlockError",
    "InvalidProgram",
    "InvalidSchedule",
    "ProgramExists",
    "ProgramNotFound",
    "ProgramUnavailable",
    "RunnerStopped",
    "SchedulerError",
    "SpawnLimitError",
    "SpawnNotFound",
    "StateNotSerializable",
    "StoreError",
]


class SchedulerError(Exception):
    """Base class of every error raised by actors."""


class ProgramNotFound(SchedulerError, KeyError):
    """No program with that id is installed in the runner."""

    def __str__(self) -> str:
        # KeyError.__str__ would quote the message; a sentence reads better.
        return str(self.args[0]) if self.args else "program not found"


class ProgramUnavailable(SchedulerError, TimeoutError):
    """The program is owned by another runner of the store, and that runner did not answer
    in time (it may be dead: a live runner takes its programs over within the lease)."""


class ProgramExists(SchedulerError):
    """A program with that id is already installed and `replace=True` was not given."""


class InvalidProgram(SchedulerError, ValueError):
    """A program spec (or a call's argument) is invalid; the message names field and value."""


class InvalidSchedule(InvalidProgram):
    """A schedule is invalid; the message names the bad field and value."""


class SpawnLimitError(SchedulerError):
    """Spawning past `max`, or unspawning below `min`; nothing was started or stopped."""


class RunnerStopped(SchedulerError):
    """The runner has been stopped; it accepts no more calls."""


class SpawnNotFound(SchedulerError, KeyError):
    """The program has no spawn with that id (it may have stopped already)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "spawn not found"


class DeadlockError(SchedulerError, RuntimeError):
    """A call that would wait on itself: a runner call that waits for an answer, made from
    inside one of the runner's actors (from `merge_fn`), or a `settle()` made from inside a
    run that it would have to wait for. Raised at once, naming the call and where it came
    from, instead of freezing the runner."""


class StoreError(SchedulerError):
    """A store cannot be opened or written: the message names the store and what to do."""


class StateNotSerializable(SchedulerError, TypeError):
    """A run's merged state cannot be kept in the store (not JSON, or not picklable); that run
    fails and the stored state stays as it was."""
