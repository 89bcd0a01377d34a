"""RayExecutor: each spawn's calls in a Ray actor of its own, wherever Ray places it.

A spawn of a program with `executor="ray"` is a Ray actor (`RaySpawnWorker`), made with the
program's `resources` (CPUs, GPUs, memory, a runtime environment) on whatever node of the
cluster Ray chooses; Ray's autoscaler adds nodes when the actors it is asked for do not fit.
The function goes to the actor once, when it is made; a call is an actor method call, whose
answer the spawn's worker thread waits for. Killing the spawn `ray.kill`s its actor (a call
under way ends at once); an actor that dies, with its node or on its own, is a lost spawn: a
call under way raises `ExecutorLost`, and an idle one is noticed at once by a watch call that
never answers while the actor lives.

`RayConnection` is the runner's hold on Ray: the first Ray spawn connects (to `ray_address`,
or to what `ray.init()` finds: `RAY_ADDRESS`, else a new local cluster), the runner's stop lets
go, and Ray is shut down only if this process started it and no runner still uses it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from actors.runtime._executor import Executor, ExecutorLost

__all__ = ["RayConnection", "RayExecutor", "RaySpawnWorker", "ray_module"]

logger = logging.getLogger("actors.ray")


#: Ray's driver replaces `builtins.print` (to draw its progress bars around it) the first time
#: it shows a worker's output; a scheduler should not change its user's `print` behind their
#: back. An environment variable set by the user still wins.
_RAY_ENVIRONMENT = {"RAY_TQDM_PATCH_PRINT": "0"}


def ray_module() -> Any:
    """The `ray` package, or an `ImportError` that says how to install it."""
    for name, value in _RAY_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    try:
        import ray
    except ImportError as error:
        msg = "executor='ray' needs Ray: pip install 'actors[ray]'"
        raise ImportError(msg) from error
    return ray


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


class RayConnection:
    """A runner's use of Ray: connected at its first Ray spawn, let go at its stop.

    Args:
        address: the cluster to connect to (`"ray://host:10001"`, `"auto"`, `"host:6379"`),
            or `None` for what `ray.init()` finds (`RAY_ADDRESS`, else a new local cluster).
    """

    _users = 0  # runners of this process holding Ray
    _started_here = False  # whether one of them started it (then the last one shuts it down)
    _lock = threading.Lock()

    def __init__(self, address: str | None = None) -> None:
        self.address = address
        self._held = False

    def ensure(self) -> None:
        """Connect (once per process; a Ray the user started already is used as it is)."""
        cls = type(self)
        with cls._lock:
            if self._held:
                return
            ray = ray_module()
            if not ray.is_initialized():
                ray.init(
                    address=self.address,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
                cls._started_here = True
            cls._users += 1
            self._held = True

    def release(self) -> None:
        """Let go; the last runner lets Ray go too, if a runner of this process started it."""
        cls = type(self)
        with cls._lock:
            if not self._held:
                return
            self._held = False
            cls._users -= 1
            if cls._users == 0 and cls._started_here:
                cls._started_here = False
                ray_module().shutdown()


class RayExecutor(Executor):
    """Calls in a Ray actor of the spawn's own, made with `options` (Ray's actor options:
    `num_cpus`, `num_gpus`, `memory`, `runtime_env`, `resources`, ...)."""

    kind = "ray"

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
        try:
            self._connection.ensure()
            with self._lock:
                if self._killed:
                    return
                options = {"num_cpus": 1, **self._options}
                actor = _remote_worker().options(**options).remote(self.function)
                self._actor = actor
        finally:
            self._started.set()

        def on_placed(future: Any) -> None:
            if future.exception() is None:
                self.node = future.result()[0]
                placed(self.node)

        def on_watch_ended(future: Any) -> None:
            if not self._killed:
                lost(self._lost(future.exception()))

        actor.where.options(concurrency_group="watch").remote().future().add_done_callback(
            on_placed
        )
        watch = actor.watch.options(concurrency_group="watch").remote()
        watch.future().add_done_callback(on_watch_ended)

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
        if actor is None:
            return
        try:
            ray_module().kill(actor, no_restart=True)
        except Exception as error:  # noqa: BLE001 - Ray gone (shut down, cluster lost): so is it
            logger.debug("%s: its Ray actor could not be killed: %s", self.name, error)
