"""Errors from the public API point at the caller's code, not at the runner's insides.

A `Runner` call is a message to an actor and a wait on a future, so an error it raises has been
through the runner, pykka, an actor's handler and `concurrent.futures` before it reaches the
caller: about eight frames of machinery above the one line that matters. `user_facing` wraps
the public methods of a class so that the traceback of an exception leaving one keeps only the
caller's frames, user code the runner called (a failing `main_fn`, a `create_fn`), and one
frame for the method itself. The exception, its message and its chain are unchanged. An
exception that starts inside the machinery and is not one of ours (a bug, not a mistake of the
caller) keeps every frame, for the bug report.

This helps every caller (a script, `python -i`, `actors repl`, IPython, a test), since it is
done where the error leaves the API rather than where a console prints it.
"""

from __future__ import annotations

import concurrent.futures
import functools
import inspect
import os
import threading
import types
from collections.abc import Callable
from typing import Any, TypeVar

import pykka

import actors
from actors.errors import SchedulerError

__all__ = ["user_facing", "without_internals"]

_Class = TypeVar("_Class", bound=type)

#: Methods wrapped besides the public ones: `runner["id"]` raises `ProgramNotFound`.
_DUNDERS = ("__getitem__",)


def _folder(module: types.ModuleType) -> str:
    return os.path.dirname(module.__file__ or "") + os.sep


#: Frames from these folders and this file are machinery. (A code object's file name is the
#: module's `__file__`, as the import system found it.)
_INTERNAL_FOLDERS = tuple({_folder(actors), _folder(pykka), _folder(concurrent.futures)})
_THREADING_FILE = threading.__file__


def _is_internal(frame: types.FrameType) -> bool:
    filename = frame.f_code.co_filename
    return filename.startswith(_INTERNAL_FOLDERS) or filename == _THREADING_FILE


def _innermost(traceback: types.TracebackType) -> types.FrameType:
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback.tb_frame


def _is_expected(error: Exception) -> bool:
    """Whether `error` is one the API means to raise: one of ours (`ProgramNotFound`, a
    timeout, ...), or one user code raised. Anything else started inside the machinery, is a
    bug, and keeps its whole traceback for the bug report."""
    traceback = error.__traceback__
    return (
        isinstance(error, SchedulerError | TimeoutError)
        or traceback is None
        or not _is_internal(_innermost(traceback))
    )


def without_internals(traceback: types.TracebackType | None) -> types.TracebackType | None:
    """`traceback` without the frames of actors, pykka, concurrent.futures and threading."""
    kept: list[types.TracebackType] = []
    while traceback is not None:
        if not _is_internal(traceback.tb_frame):
            kept.append(traceback)
        traceback = traceback.tb_next
    trimmed: types.TracebackType | None = None
    for entry in reversed(kept):
        trimmed = types.TracebackType(trimmed, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return trimmed


def _public(method: Callable[..., Any]) -> Callable[..., Any]:
    """`method`, raising its exceptions with the machinery's frames left out."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as error:
            if _is_expected(error):
                error.__traceback__ = without_internals(error.__traceback__)
            # Raising adds this one frame in front, named after the method (see below).
            raise error

    # The one frame left then reads `in get_state`, not `in call`.
    call.__code__ = call.__code__.replace(co_name=method.__name__, co_qualname=method.__qualname__)
    return functools.wraps(method)(call)


def user_facing(cls: _Class) -> _Class:
    """Class decorator: every public method and property of `cls` (and `__getitem__`) raises
    with a traceback that shows the caller's code, not the runner's insides."""
    for name, value in list(vars(cls).items()):
        if name.startswith("_") and name not in _DUNDERS:
            continue
        if isinstance(value, property) and value.fget is not None:
            setattr(cls, name, property(_public(value.fget), value.fset, value.fdel, value.__doc__))
        elif inspect.isfunction(value):
            setattr(cls, name, _public(value))
    return cls
