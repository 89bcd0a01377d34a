"""RayConnection: a runner's hold on Ray, from its first Ray spawn to its stop.

The first Ray spawn of a process connects (to `ray_address`, or to what `ray.init()` finds:
`RAY_ADDRESS`, else a new local cluster); the runner's stop lets go, and Ray is shut down only
if this process started it and no runner still uses it. A Ray the user started already is
used as it is.

Ray is started, and shut down, on a thread of its own (`actors-ray`) that lives as long as
Ray does: a local cluster's processes are told to die with the thread that started them
(Linux's parent-death signal follows the thread, not the process), so starting it on a
worker thread, which exits when idle, would take the cluster down a few seconds later.

Kills of Ray actors go to a thread of the connection's (`actors-ray-kill`), so a spawn's stop
never waits on the cluster; the runner's stop waits for them before it lets Ray go.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import threading
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

__all__ = ["CONNECT_TIMEOUT", "RAY_NODE_RESOURCES", "RayConnection", "ray_module"]

logger = logging.getLogger("actors.ray")

#: Seconds a runner waits for Ray to start or connect before it gives up (a local cluster
#: takes a few seconds; an address that answers but is no Ray would be waited on for ever).
CONNECT_TIMEOUT = 120.0

#: Ray's driver replaces `builtins.print` (to draw its progress bars around it) the first time
#: it shows a worker's output; a scheduler should not change its user's `print` behind their
#: back. An environment variable set by the user still wins.
_RAY_ENVIRONMENT = {"RAY_TQDM_PATCH_PRINT": "0"}

#: Ray's actor options for its own resources, with the name each resource has on a node.
RAY_NODE_RESOURCES: Mapping[str, str] = MappingProxyType(
    {"num_cpus": "CPU", "num_gpus": "GPU", "memory": "memory"}
)


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


def _check_reachable(address: str | None) -> None:
    """Raise at once if `address` (a Ray GCS `host:port`, or a Ray Client `ray://host:port`)
    names a host and port where nothing listens: Ray itself would retry for minutes. Other
    forms (`"auto"`, `"local"`, another scheme of Ray's) are left to Ray."""
    if address is None or ":" not in address:
        return
    if "://" in address and not address.startswith("ray://"):
        return
    parts = urlsplit(address if "://" in address else f"ray://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        msg = f"ray_address={address!r} is not an address Ray takes (host:port, ray://host:port)"
        raise ValueError(msg)
    try:
        socket.create_connection((host, port), timeout=5.0).close()
    except OSError as error:
        msg = (
            f"ray_address={address!r}: nothing answers at {host}:{port} ({error}); start the "
            "cluster (`ray start --head`) or correct the address"
        )
        raise ConnectionError(msg) from None


def _same_cluster(address: str, connected: str) -> bool:
    """Whether `address` names the cluster at `connected` (Ray's GCS address), as Ray spells
    addresses (`localhost` and `127.0.0.1` are the node's own IP to Ray)."""
    if address == connected:
        return True
    try:
        from ray._private.services import canonicalize_bootstrap_address

        return bool(canonicalize_bootstrap_address(address) == connected)
    except Exception:  # noqa: BLE001 - Ray's private helper moved or refused it: unknown
        return False


class _RayKeeper(threading.Thread):
    """The thread Ray is started on, and shut down on, when this process starts it."""

    def __init__(self, address: str | None) -> None:
        super().__init__(name="actors-ray", daemon=True)
        self.address = address
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._done = threading.Event()

    def run(self) -> None:
        ray = ray_module()
        try:
            ray.init(
                address=self.address,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        except BaseException as error:  # noqa: BLE001 - told to whoever waits for Ray
            self.error = error
            self.ready.set()
            return
        self.ready.set()
        self._done.wait()
        ray.shutdown()

    def stop(self, timeout: float) -> None:
        self._done.set()
        self.join(timeout)


class RayConnection:
    """A runner's use of Ray: connected at its first Ray spawn, let go at its stop; after its
    stop, it connects no more.

    Args:
        address: the cluster to connect to (`"ray://host:10001"`, `"auto"`, `"host:6379"`),
            or `None` for what `ray.init()` finds (`RAY_ADDRESS`, else a new local cluster).
    """

    _users = 0  # runners of this process holding Ray
    _keeper: _RayKeeper | None = None  # the thread that started Ray, if this process did
    _retiring: _RayKeeper | None = None  # one let go while it was still starting Ray
    _lock = threading.Lock()

    def __init__(self, address: str | None = None) -> None:
        self.address = address
        self._held = False
        self._closed = False
        self._keeper: _RayKeeper | None = None  # the keeper this runner waits on, if any
        self._checked: set[str] = set()  # requests checked against the nodes
        self._kills: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._killer: threading.Thread | None = None
        self._killer_lock = threading.Lock()
        self._use = threading.Condition()  # guards `_in_use`, the calls on Ray under way
        self._in_use = 0

    @property
    def closed(self) -> bool:
        """Whether the runner has let go of Ray for good (it has stopped)."""
        return self._closed

    def ensure(self, timeout: float = CONNECT_TIMEOUT) -> None:
        """Connect, once per process, within `timeout` seconds; every caller returns once Ray
        is up (or raises).

        Raises:
            RuntimeError: the runner has stopped, or Ray is connected elsewhere already by
                another runner of this process.
            ConnectionError, ValueError: `ray_address` is unreachable or malformed.
            TimeoutError: Ray did not start or connect in time.
        """
        cls = RayConnection
        ray = ray_module()
        if not self._held and not ray.is_initialized():
            address = self.address
            _check_reachable(
                os.environ.get("RAY_ADDRESS") if address in (None, "auto") else address
            )
        self._wait_for_retiring(timeout)
        with cls._lock:
            self._refuse_if_closed()
            if not self._held:
                keeper = cls._keeper
                if keeper is not None and keeper.ready.is_set() and keeper.error is not None:
                    keeper = cls._keeper = None  # it failed: a new one tries again
                if keeper is None and not ray.is_initialized():
                    keeper = cls._keeper = _RayKeeper(self.address)
                    keeper.start()
                elif not self._connected_to(keeper, ray):
                    where = f"{keeper.address!r}, for another runner" if keeper else "by its user"
                    msg = f"Ray was connected already in this process ({where}; one Ray per "
                    msg += f"process): ray_address={self.address!r}"
                    if keeper is not None:
                        raise RuntimeError(f"{msg} cannot be used")
                    logger.warning("%s is not used", msg)
                cls._users += 1
                self._held = True
                self._keeper = keeper
            keeper = self._keeper
        if keeper is not None:
            self._wait_for(keeper, timeout)
        with cls._lock:
            self._refuse_if_closed()  # stopped while it waited: Ray may be going away

    def _refuse_if_closed(self) -> None:
        if self._closed:
            msg = "the runner has stopped: its Ray spawns are not made"
            raise RuntimeError(msg)

    def _wait_for_retiring(self, timeout: float) -> None:
        """Wait for a keeper let go while it was starting Ray to shut it down, before another
        starts (two would start, and the first would shut down the second's Ray)."""
        retiring = RayConnection._retiring
        if retiring is None:
            return
        retiring.join(timeout)
        if retiring.is_alive():
            msg = f"Ray, started earlier and let go, did not shut down within {timeout:g} s"
            raise TimeoutError(msg)
        with RayConnection._lock:
            if RayConnection._retiring is retiring:
                RayConnection._retiring = None

    def _connected_to(self, keeper: _RayKeeper | None, ray: Any) -> bool:
        """Whether Ray, connected already, is at this runner's `ray_address`, as far as can
        be told (`None` and `"auto"` take any; else the keeper's address or Ray's own)."""
        if self.address in (None, "auto") or (keeper and self.address == keeper.address):
            return True
        if keeper is not None and not keeper.ready.is_set():
            return False
        return _same_cluster(str(self.address), ray.get_runtime_context().gcs_address)

    def _wait_for(self, keeper: _RayKeeper, timeout: float) -> None:
        if keeper.ready.wait(timeout) and keeper.error is None:
            return
        self._let_go()
        where = f"ray_address={self.address!r}" if self.address else "a local Ray cluster"
        if keeper.error is not None:
            msg = f"{where}: Ray did not start: {keeper.error}"
            raise ConnectionError(msg) from keeper.error
        msg = f"{where}: Ray did not start or connect within {timeout:g} s"
        raise TimeoutError(msg)

    @contextlib.contextmanager
    def in_use(self) -> Iterator[None]:
        """Around a call on Ray that must not outlive the connection (making an actor after
        Ray's shutdown would start Ray again, on the caller's thread): `release` waits for it.

        Raises:
            RuntimeError: the runner has stopped.
        """
        with self._use:
            self._refuse_if_closed()
            self._in_use += 1
        try:
            yield
        finally:
            with self._use:
                self._in_use -= 1
                self._use.notify_all()

    def release(self) -> None:
        """Let go, for good; the last runner lets Ray go too, if this process started it (it
        first waits for the calls on Ray under way, and the Ray actors it is killing)."""
        with self._use:
            self._closed = True
            if not self._use.wait_for(lambda: not self._in_use, 30.0):
                logger.warning("calls on Ray still under way at the runner's stop")
        self._drain_kills()
        self._let_go()

    def _let_go(self) -> None:
        cls = RayConnection
        with cls._lock:
            if not self._held:
                return
            self._held = False
            self._keeper = None
            cls._users -= 1
            keeper = cls._keeper
            if cls._users == 0 and keeper is not None:
                cls._keeper = None
                if keeper.ready.is_set():
                    # Under the lock: a runner starting meanwhile waits for Ray to be gone.
                    keeper.stop(timeout=60.0)
                else:  # it shuts Ray down once started; the next start waits for that
                    keeper.stop(timeout=0.0)
                    cls._retiring = keeper

    # --- kills ------------------------------------------------------------------------------

    def kill_later(self, name: str, actor: Any) -> None:
        """`ray.kill` `actor` (spawn `name`'s) on the connection's kill thread: a spawn's
        stop never waits on the cluster. After the runner's stop, it is killed here."""
        with self._killer_lock:
            if not self._closed:
                self._kills.put((name, actor))
                if self._killer is None:
                    self._killer = threading.Thread(
                        target=self._kill_all, name="actors-ray-kill", daemon=True
                    )
                    self._killer.start()
                return
        _kill(name, actor)

    def _kill_all(self) -> None:
        while True:
            try:
                item = self._kills.get(timeout=1.0)
            except queue.Empty:
                item = None
            if item is None:
                with self._killer_lock:
                    if self._kills.empty():  # else a kill came as it timed out: go on
                        self._killer = None
                        return
                continue
            _kill(*item)

    def _drain_kills(self) -> None:
        """Wait for the kills asked for so far (the connection is closed: no more come)."""
        with self._killer_lock:
            killer = self._killer
            if killer is not None:
                self._kills.put(None)  # it ends once it reaches this
        if killer is not None:
            killer.join(30.0)

    # --- placement --------------------------------------------------------------------------

    def warn_if_no_node_fits(self, name: str, options: Mapping[str, Any]) -> None:
        """Log a warning if no node of the cluster has what `options` ask for (a spawn waits
        for a node that has, which Ray's autoscaler may add, or never); checked once per
        runner and request, at the first spawn that makes it."""
        wanted = {RAY_NODE_RESOURCES[k]: v for k, v in options.items() if k in RAY_NODE_RESOURCES}
        wanted.update(options.get("resources", {}))
        wanted = {key: amount for key, amount in wanted.items() if amount}
        key = repr(sorted(wanted.items()))
        if not wanted or key in self._checked:
            return
        self._checked.add(key)
        try:
            nodes = [n.get("Resources", {}) for n in ray_module().nodes() if n.get("Alive")]
        except Exception as error:  # noqa: BLE001 - only a warning depends on it
            logger.debug("%s: the cluster's nodes could not be read: %s", name, error)
            return
        if any(all(node.get(r, 0) >= amount for r, amount in wanted.items()) for node in nodes):
            return
        logger.warning(
            "%s asks Ray for %s, which no node of the cluster has: it waits, unplaced, until a "
            "node that has joins (Ray's autoscaler adds one only if it is configured to)",
            name,
            wanted,
        )


def _kill(name: str, actor: Any) -> None:
    """`ray.kill` `actor`, if Ray is still connected (a call after `ray.shutdown` would start
    Ray again: what it would kill is gone with it)."""
    ray = ray_module()
    if not ray.is_initialized():
        return
    try:
        ray.kill(actor, no_restart=True)
    except Exception as error:  # noqa: BLE001 - Ray gone (shut down, cluster lost): so is it
        logger.debug("%s: its Ray actor could not be killed: %s", name, error)
