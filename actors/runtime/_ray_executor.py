"""RayExecutor: each spawn's calls in a Ray actor of its own, wherever Ray places it.

A spawn of a program with `executor="ray"` is a Ray actor (`RaySpawnWorker`), made with the
program's `resources` (CPUs, GPUs, memory, a runtime environment) on whatever node of the
cluster Ray chooses; Ray's autoscaler adds nodes when the actors it is asked for do not fit.
The function goes to the actor once, when it is made; a call is an actor method call, whose
answer the spawn's worker thread waits for. Killing the spawn `ray.kill`s its actor (a call
under way ends at once); an actor that dies, with its node or on its own, is a lost spawn: a
call under way raises `ExecutorLost`, and an idle one is noticed at once by a watch call that
never answers while the actor lives. The runner's hold on Ray is its `RayConnection`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from actors.runtime._executor import Executor, ExecutorLost
from actors.runtime._ray_connection import RayConnection, ray_module

__all__ = ["RayExecutor", "RaySpawnWorker"]


class RaySpawnWorker:
    """The Ray actor of one spawn: calls its function, says where it lives, and never answers
    `watch` (so the caller hears at once when it dies). `call` and `watch` have a concurrency
    group each, so a watch never waits behind a run."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self._function = function
        self._forever = threading.Event()

    def call(self, *args: Any) -> Any:
        return self._function(*args)

    def where(self) -> tuple[str, int]:
        """The id of the node this actor lives on, and its pid."""
        return ray_module().get_runtime_context().get_node_id(), os.getpid()

    def watch(self) -> None:
        self._forever.wait()


_remote_class: Any = None
_remote_lock = threading.Lock()


def _remote_worker() -> Any:
    """`RaySpawnWorker` as a Ray actor class (made once: Ray exports it to the cluster)."""
    global _remote_class
    with _remote_lock:
        if _remote_class is None:
            ray = ray_module()
            groups = {"run": 1, "watch": 2}  # `where` must not wait behind `watch`
            _remote_class = ray.remote(concurrency_groups=groups)(RaySpawnWorker)
        return _remote_class


class RayExecutor(Executor):
    """Calls in a Ray actor of the spawn's own, made with `options` (Ray's actor options:
    `num_cpus`, `num_gpus`, `memory`, `runtime_env`, `resources`, ...)."""

    kind = "ray"
    slow_start = True  # it connects to Ray and makes an actor

    def __init__(
        self,
        function: Callable[..., Any],
        name: str,
        *,
        connection: RayConnection,
        options: Mapping[str, Any],
    ) -> None:
        super().__init__(function, name)
        self._connection = connection
        self._options = dict(options)
        self._lock = threading.Lock()
        self._actor: Any = None
        self._killed = False
        self._started = threading.Event()  # start ended: with an actor, or without

    def start(self, placed: Callable[[str], None], lost: Callable[[ExecutorLost], None]) -> None:
        def on_placed(future: Any) -> None:
            if future.exception() is None:
                self.node = future.result()[0]
                placed(self.node)

        def on_watch_ended(future: Any) -> None:
            if not self._killed:
                lost(self._lost(future.exception()))

        try:
            if self._killed:
                return
            self._connection.ensure()
            options = {"num_cpus": 1, **self._options}
            with self._connection.in_use():  # the runner's stop waits for these calls
                self._connection.warn_if_no_node_fits(self.name, options)
                # Made outside the lock (it may wait on the cluster): a kill waits not.
                actor = _remote_worker().options(**options).remote(self.function)
                with self._lock:
                    killed = self._killed
                    if not killed:
                        self._actor = actor
                if not killed:
                    where = actor.where.options(concurrency_group="watch").remote()
                    where.future().add_done_callback(on_placed)
                    watch = actor.watch.options(concurrency_group="watch").remote()
                    watch.future().add_done_callback(on_watch_ended)
            if killed:
                self._connection.kill_later(self.name, actor)
        finally:
            self._started.set()

    def call(self, *args: Any) -> Any:
        self._started.wait()  # made by the start job, on another worker thread
        actor = self._actor
        if actor is None:
            raise ExecutorLost(f"{self.name} was stopped")
        ray = ray_module()
        try:
            return ray.get(actor.call.options(concurrency_group="run").remote(*args))
        except ray.exceptions.RayTaskError as error:
            cause = getattr(error, "cause", None)  # the user's error, as raised
            raise (cause if isinstance(cause, BaseException) else error) from None
        except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as error:
            raise self._lost(error) from None

    def _lost(self, error: BaseException | None) -> ExecutorLost:
        why = "it was killed" if self._killed else f"it died: {error}"
        return ExecutorLost(f"{self.name}'s Ray actor is gone ({why})")

    def kill(self) -> None:
        with self._lock:
            self._killed = True
            actor, self._actor = self._actor, None
        self._started.set()
        if actor is not None:
            self._connection.kill_later(self.name, actor)
