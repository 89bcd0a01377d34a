"""RestartIntensity: how often something may be restarted before it is given up on.

Erlang/OTP's rule, used by a program for its spawns and by the supervisor for its program
actors: at most `MAX_RESTARTS` restarts within `RESTART_PERIOD` seconds of the runner's clock;
one more within the period and the thing is given up on (a program is marked `failed`).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

__all__ = ["MAX_RESTARTS", "RESTART_PERIOD", "RestartIntensity"]

#: At most this many restarts ...
MAX_RESTARTS = 3
#: ... within this many seconds of the runner's clock.
RESTART_PERIOD = 5.0


class RestartIntensity:
    """The recent restarts of one thing, and whether one more is allowed."""

    __slots__ = ("_recent",)

    def __init__(self) -> None:
        self._recent: deque[datetime] = deque(maxlen=MAX_RESTARTS)

    def allow(self, now: datetime) -> bool:
        """Whether a restart at `now` is within the intensity; if so, it is counted."""
        window = timedelta(seconds=RESTART_PERIOD)
        if len(self._recent) == MAX_RESTARTS and now - self._recent[0] < window:
            return False
        self._recent.append(now)
        return True

    def forget(self) -> None:
        """Start counting afresh (a failed program brought back by `resume`)."""
        self._recent.clear()
