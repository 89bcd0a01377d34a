"""The kernel: actors on a few shared threads, and the books that let a runner wait for quiet.

Everything a scheduler needs from an actor system and nothing of scheduling: this package
imports nothing from the rest of `actors` (a test holds it to that), and it is the only place
that touches pykka's internals (`tests/test_pykka_contract.py` pins each one).

- `Actor`, `ActorRef`, `handles`, `post`, `stop_actor`: the base class, its slotted reference,
  and how to talk to an actor.
- `Dispatcher`, `Mailbox`: a few threads that run many actors' mailboxes.
- `WorkerPool`: the threads that run user code.
- `Executor` (`ThreadExecutor`, `ProcessExecutor`, `RayExecutor`): where a spawn's calls run;
  `ChildWatcher`: kills, reaps and watches a runner's child processes; `RayConnection`
  (`_ray_connection.py`): a runner's hold on Ray.
- `Activity`, `RunTicket`: what is in flight, so `settle()` can wait instead of sleeping.
- `Request`, `resolve`, `gather`: answers through reply futures, so no actor ever waits.
- `Runtime`: what one runner's actors share.
- `call_user_code`, `inside_user_code_of`, `in_handler`: what the current thread is doing.
"""

from __future__ import annotations

from actors.runtime._activity import Activity, RunTicket
from actors.runtime._actor import Actor, forward_answer, handles, post, stop_actor
from actors.runtime._children import CHILD_STOP_TIMEOUT, ChildWatcher
from actors.runtime._context import (
    call_user_code,
    here,
    in_handler,
    inside_user_code_of,
    user_code_label,
)
from actors.runtime._dispatcher import Dispatcher, Mailbox, StopFlag, runs_actors
from actors.runtime._executor import Executor, ExecutorLost, ThreadExecutor
from actors.runtime._process_executor import ChildDied, ChildProcess, ProcessExecutor
from actors.runtime._ray_connection import RAY_NODE_RESOURCES, RayConnection, ray_module
from actors.runtime._ray_executor import RayExecutor, RaySpawnWorker
from actors.runtime._ref import ActorRef
from actors.runtime._replies import Request, gather, resolve
from actors.runtime._runtime import (
    ACTOR_STOP_TIMEOUT,
    DEFAULT_DISPATCHER_THREADS,
    Alarm,
    Runtime,
    TimeSource,
)
from actors.runtime._workers import DEFAULT_MAX_WORKERS, WorkerPool

__all__ = [
    "ACTOR_STOP_TIMEOUT",
    "CHILD_STOP_TIMEOUT",
    "DEFAULT_DISPATCHER_THREADS",
    "DEFAULT_MAX_WORKERS",
    "RAY_NODE_RESOURCES",
    "Activity",
    "Actor",
    "ActorRef",
    "Alarm",
    "ChildDied",
    "ChildProcess",
    "ChildWatcher",
    "Dispatcher",
    "Executor",
    "ExecutorLost",
    "Mailbox",
    "ProcessExecutor",
    "RayConnection",
    "RayExecutor",
    "RaySpawnWorker",
    "Request",
    "RunTicket",
    "Runtime",
    "StopFlag",
    "ThreadExecutor",
    "TimeSource",
    "WorkerPool",
    "call_user_code",
    "forward_answer",
    "gather",
    "handles",
    "here",
    "in_handler",
    "inside_user_code_of",
    "post",
    "ray_module",
    "resolve",
    "runs_actors",
    "stop_actor",
    "user_code_label",
]
