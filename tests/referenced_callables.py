"""Module-level callables (and some that are not), for the tests of references and definitions.

Imported as `tests.referenced_callables`, so `"tests.referenced_callables:count"` names `count`.
The tests name these by reference: keep the names stable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def count(args: Any, timestamp: datetime) -> dict[str, int]:
    """A main_fn: one more run."""
    return {"runs": 1}


def start() -> dict[str, int]:
    """A create_fn: no runs yet."""
    return {"runs": 0}


def arguments() -> str:
    """An args_fn."""
    return "args"


def add(state: dict[str, int], result: dict[str, int]) -> dict[str, int]:
    """A merge_fn that adds the runs."""
    return {"runs": state["runs"] + result["runs"]}


def _decorate(function: Any) -> Any:
    """A decorator that returns a new function under the old one's name (as `functools.wraps`
    would): the module attribute is the wrapper, so the wrapper has a reference."""

    def wrapper(*args: Any) -> Any:
        return function(*args)

    wrapper.__module__ = function.__module__
    wrapper.__qualname__ = function.__qualname__
    wrapper.__wrapped__ = function  # type: ignore[attr-defined]
    return wrapper


@_decorate
def decorated(args: Any, timestamp: datetime) -> str:
    """A main_fn behind a decorator."""
    return "decorated"


def outer() -> Any:
    """Returns a nested function (a closure), which has no reference."""

    def inner(args: Any, timestamp: datetime) -> None:
        return None

    return inner


class Jobs:
    """Functions on a class: a static method has a reference, a classmethod's bound method and an
    instance's bound method do not (each comes back as a new object)."""

    @staticmethod
    def static(args: Any, timestamp: datetime) -> str:
        return "static"

    @classmethod
    def build(cls) -> dict[str, int]:
        return {"runs": 0}

    def run(self, args: Any, timestamp: datetime) -> str:
        return "run"

    class Nested:
        @staticmethod
        def deep(args: Any, timestamp: datetime) -> str:
            return "deep"


class Handler:
    """A callable class; its instances are callable objects."""

    def __call__(self, args: Any, timestamp: datetime) -> str:
        return "handled"


#: A module-level callable instance: it has no `__qualname__` of its own, so no reference.
handler = Handler()

#: Not callable: a reference to it is refused.
NOT_CALLABLE = 42

#: An alias: the same function under a second name; its reference is its defining name.
alias = count
