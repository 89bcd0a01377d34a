"""RestartIntensity: at most 3 restarts in 5 s of the runner's clock."""

from __future__ import annotations

from datetime import timedelta

from actors.tree.restart_intensity import MAX_RESTARTS, RESTART_PERIOD, RestartIntensity
from tests.conftest import T0


def test_the_fourth_restart_within_the_period_is_refused() -> None:
    """Three restarts are allowed in the period; a fourth is not."""
    intensity = RestartIntensity()
    assert [intensity.allow(T0) for _ in range(MAX_RESTARTS + 1)] == [True] * 3 + [False]


def test_restarts_spread_over_the_period_are_fine() -> None:
    """Restarts further apart than the period are always allowed."""
    intensity = RestartIntensity()
    step = timedelta(seconds=RESTART_PERIOD / 2)
    assert all(intensity.allow(T0 + step * n) for n in range(10))


def test_forget_starts_afresh() -> None:
    """After forget(), a full allowance again."""
    intensity = RestartIntensity()
    for _ in range(3):
        intensity.allow(T0)
    intensity.forget()
    assert intensity.allow(T0)
