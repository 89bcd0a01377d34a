"""ProgramPhase: the status its flags add up to."""

from __future__ import annotations

import pytest

from actors.tree.program_phase import ProgramPhase


@pytest.mark.parametrize(
    ("phase", "failed", "in_flight", "status"),
    [
        (ProgramPhase(), False, 0, "active"),
        (ProgramPhase(paused=True), False, 0, "paused"),
        (ProgramPhase(waiting_for="a"), False, 0, "waiting"),
        (ProgramPhase(paused=True, waiting_for="a"), False, 0, "paused"),
        (ProgramPhase(max_runs_reached=True, paused=True), False, 0, "finished"),
        (ProgramPhase(exhausted=True), False, 1, "active"),
        (ProgramPhase(exhausted=True), False, 0, "finished"),
        (ProgramPhase(max_runs_reached=True), True, 0, "failed"),
    ],
)
def test_status(phase: ProgramPhase, failed: bool, in_flight: int, status: str) -> None:
    """failed beats finished beats paused beats waiting; exhausted waits for runs in flight."""
    assert phase.status(failed=failed, in_flight=in_flight) == status


def test_draining_once_a_drain_is_asked() -> None:
    """A phase is draining from the first drain request on."""
    phase = ProgramPhase()
    assert not phase.draining
    phase.drains.append(None)  # type: ignore[arg-type]
    assert phase.draining
