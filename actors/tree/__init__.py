"""The actor tree: one module per actor, named for it, and the messages between them.

```
SupervisorActor (supervisor.py) ── the registry; restarts what dies
  ├─ TimerActor (timer_actor.py) ── Tick at each fire time of the schedule
  ├─ ProgramActor (program_actor.py) ── state, spawns, runs; over a SpawnPool and a RunLedger
  │     └─ SpawnActor (spawn_actor.py) x n ── hands each Run to a worker thread
  └─ LoadMonitorActor (monitor_actor.py) ── resizes a pool from a metric
EventsActor (events_actor.py) ── delivers events to subscribers, off the scheduling path
```

Every message is in `messages.py` (the monitor's and the events actor's own, which no other
actor sends, live beside them). The tree sits on the kernel (`actors.runtime`) and the specs
(`actors.program`, `actors.schedules`, ...); the `Runner` sits on the tree.
"""

from __future__ import annotations

from actors.tree.events_actor import EventsActor
from actors.tree.monitor_actor import LoadMonitorActor
from actors.tree.program_actor import ProgramActor
from actors.tree.spawn_actor import SpawnActor
from actors.tree.supervisor import SupervisorActor
from actors.tree.timer_actor import TimerActor

__all__ = [
    "EventsActor",
    "LoadMonitorActor",
    "ProgramActor",
    "SpawnActor",
    "SupervisorActor",
    "TimerActor",
]
