"""ProgramRegistry, without actors: lookup, spawn numbering, on_success edges and cycles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from actors import InvalidProgram, Program, ProgramNotFound, every, manual, on_success
from actors.tree.program_registry import ProgramRegistry, Registration
from tests.conftest import T0


def register(registry: ProgramRegistry, program_id: str, schedule: Any) -> Registration:
    program = Program(id=program_id, main_fn=lambda a, t: None, schedule=schedule)
    registration = Registration(program, schedule, T0, f"actor-{program_id}", f"timer-{program_id}")  # type: ignore[arg-type]
    registry.add(registration)
    return registration


def test_lookup_names_the_runner() -> None:
    """A missing program is ProgramNotFound, naming the program and the runner."""
    registry = ProgramRegistry("r1")
    with pytest.raises(ProgramNotFound, match="no program 'x' in runner 'r1'"):
        registry.lookup("x")


def test_numbers_outlive_a_removal() -> None:
    """Spawn numbering is kept by id across remove and add."""
    registry = ProgramRegistry("r")
    register(registry, "a", manual())
    registry.numbers("a").regular = 4
    registry.remove("a")
    assert registry.numbers("a").regular == 4


@pytest.mark.parametrize(
    ("installed", "new", "cycle"),
    [
        ({}, ("a", "a"), "'a' -> 'a'"),
        ({"a": "b"}, ("b", "a"), "'b' -> 'a' -> 'b'"),
        ({"a": "b", "b": "c"}, ("c", "a"), "'c' -> 'a' -> 'b' -> 'c'"),
    ],
)
def test_cycles_are_refused(installed: dict[str, str], new: tuple[str, str], cycle: str) -> None:
    """An on_success chain leading back to the program is refused, naming the cycle."""
    registry = ProgramRegistry("r")
    for program_id, upstream in installed.items():
        register(registry, program_id, on_success(upstream))
    with pytest.raises(InvalidProgram, match=cycle):
        registry.check_no_cycle(new[0], on_success(new[1]))


def test_a_chain_without_a_cycle_passes() -> None:
    """A chain that ends at a timed program, or at one not installed, is fine."""
    registry = ProgramRegistry("r")
    register(registry, "a", every(timedelta(seconds=1)))
    register(registry, "b", on_success("a"))
    registry.check_no_cycle("c", on_success("b"))
    registry.check_no_cycle("d", on_success("nowhere"))


def test_follow_and_unfollow_say_when_the_upstream_must_report() -> None:
    """The first follower of an installed upstream, and the last to leave, return it."""
    registry = ProgramRegistry("r")
    upstream = register(registry, "a", manual())
    b_schedule, c_schedule = on_success("a"), on_success("a")
    assert registry.follow("b", b_schedule) is upstream
    assert registry.follow("c", c_schedule) is None
    register(registry, "b", b_schedule)
    register(registry, "c", c_schedule)
    assert {r.program.id for r in registry.dependents("a")} == {"b", "c"}
    assert registry.unfollow("b", b_schedule) is None
    assert registry.unfollow("c", c_schedule) is upstream
    assert not registry.has_dependents("a")


def test_waiting_for_an_upstream_not_installed() -> None:
    """waiting_for names the upstream while it is not installed, and None once it is."""
    registry = ProgramRegistry("r")
    assert registry.waiting_for(on_success("a")) == "a"
    register(registry, "a", manual())
    assert registry.waiting_for(on_success("a")) is None
    assert registry.waiting_for(manual()) is None


def test_restart_intensity_per_program() -> None:
    """Each program's actor may be restarted 3 times in 5 s, the fourth is refused."""
    registry = ProgramRegistry("r")
    assert [registry.may_restart("a", T0) for _ in range(4)] == [True, True, True, False]
    assert registry.may_restart("b", T0)
