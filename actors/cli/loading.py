"""load_target: the runner of `actors run` and `actors repl`, from FILE.py, module or module:attr.

A path ending in `.py` is run with `runpy.run_path(path, run_name="__actors__")`, so its
`if __name__ == "__main__":` block does not run; `module:attr` imports the module and takes the
attribute; a plain `module` takes the module. From what is loaded they take a `runner` (an
`actors.Runner`), or else an iterable `programs` (`Program` objects or dicts), which are
installed on a new `Runner`. A `module:attr` may also name a `Runner` or an iterable of programs
itself. Any mistake, in the target or in the user code it runs, is a one-line `UsageError`.
"""

from __future__ import annotations

import importlib
import os
import runpy
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import attrs

from actors.cli.usage import UsageError

# The runner (and pykka) load inside `load_target`, so that importing this module is cheap.
if TYPE_CHECKING:
    from actors.runner import Runner

__all__ = ["Loaded", "load_target"]


@attrs.frozen
class Loaded:
    """What `load_target` found: the runner to run and the names to put in a REPL's scope.

    Attributes:
        runner: the runner: the target's own, or a new one with its `programs` installed.
        names: the loaded names (a file's globals, a module's names, or the one attribute).
        source: the target as given, for messages.
        created: whether the runner was created here from `programs`.
    """

    runner: Runner
    names: dict[str, Any]
    source: str
    created: bool


def load_target(target: str, *, command: str = "run", store: str | None = None) -> Loaded:
    """Load `FILE.py`, `module` or `module:attr` and find the runner to run (see the module doc).

    A runner made here from `programs` keeps them in `store` (a path, a URL or `"memory"`;
    `None`: memory); a runner the target makes itself keeps its own store.

    Raises:
        UsageError: the file or module is missing, fails to load, or holds no `runner` or
            `programs`; the message is one line, `actors COMMAND: error: ...`.
    """

    from actors.runner import Runner

    def fail(message: str) -> NoReturn:
        raise UsageError(f"actors {command}: error: {message}")

    if _is_path(target):
        names = _load_file(target, fail)
        obj: object = None
        name = Path(target).stem
    else:
        obj = _load_module(target, fail)
        name = target.replace(":", ".")
        if isinstance(obj, types.ModuleType):
            names, obj = dict(vars(obj)), None
        else:
            names = {target.rpartition(":")[2].rpartition(".")[2]: obj}
    names = {key: value for key, value in names.items() if not key.startswith("__")}

    created = False
    if obj is None:  # a file's or a module's namespace
        if "runner" in names:
            runner = names["runner"]
            if not isinstance(runner, Runner):
                fail(f"`runner` in {target} ({_a(runner)}) is not an actors.Runner")
        elif "programs" in names:
            what = f"`programs` in {target}"
            programs = _programs(names["programs"], what, "an iterable of programs", fail)
            runner, created = _install(programs, name, store, fail), True
        else:
            fail(f"no `runner` or `programs` in {target}")
    elif isinstance(obj, Runner):
        runner = obj
    else:
        programs = _programs(obj, target, "a Runner or an iterable of programs", fail)
        runner, created = _install(programs, name, store, fail), True
    if runner.stopped:
        fail(
            f"the runner in {target} is already stopped (does the file stop it when imported? "
            'keep that under `if __name__ == "__main__":`)'
        )
    names["runner"] = runner
    return Loaded(runner=runner, names=names, source=target, created=created)


def _is_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or os.sep in target


def _load_file(target: str, fail: Callable[[str], NoReturn]) -> dict[str, Any]:
    """Run a `.py` file as `__actors__` and return its globals."""
    path = Path(target)
    if not path.exists():
        fail(f"no such file: {target}")
    if not path.is_file() or path.suffix != ".py":
        fail(f"{target} is not a .py file (give FILE.py, module or module:attr)")
    folder = str(path.resolve().parent)
    if folder not in sys.path:  # as `python FILE.py` does: the file's own imports work
        sys.path.insert(0, folder)
    try:
        return runpy.run_path(str(path), run_name="__actors__")
    except SystemExit as exit_:
        fail(f"{target} called sys.exit({exit_.code!r}) while loading")
    except Exception as error:  # noqa: BLE001 - any error in user code is reported, one line
        fail(f"cannot load {target}: {_failure(error)}")


def _load_module(target: str, fail: Callable[[str], NoReturn]) -> object:
    """Import `module` (or `module:attr`) and return the module (or the attribute)."""
    module_name, _, attribute = target.partition(":")
    if not module_name or (":" in target and not attribute):
        fail(f"{target!r} is not FILE.py, module or module:attr")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:  # as `python -m` does
        sys.path.insert(0, cwd)
    try:
        obj: object = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            fail(f"no module named {module_name!r} (nor a file: give FILE.py for a file)")
        fail(f"cannot import {module_name}: {_failure(error)}")
    except SystemExit as exit_:
        fail(f"{module_name} called sys.exit({exit_.code!r}) while loading")
    except Exception as error:  # noqa: BLE001 - any error in user code is reported, one line
        fail(f"cannot import {module_name}: {_failure(error)}")
    for part in attribute.split(".") if attribute else ():
        try:
            obj = getattr(obj, part)
        except AttributeError:
            fail(f"module {module_name!r} has no attribute {attribute!r}")
    return obj


def _programs(
    value: object, what: str, expected: str, fail: Callable[[str], NoReturn]
) -> list[Any]:
    """`value` as a list of programs (`Program`s or dicts); one program alone is a list of one."""
    from actors.program import Program

    if isinstance(value, Program | Mapping):
        return [value]
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        fail(f"{what} ({_a(value)}) is not {expected}")
    items = list(value)
    for item in items:
        if not isinstance(item, Program | Mapping):
            fail(f"{what} holds {_one_line(repr(item))[:60]}, not a Program or a dict")
    return items


def _install(
    programs: list[Any], name: str, store: str | None, fail: Callable[[str], NoReturn]
) -> Runner:
    """A new runner on `store` with `programs` installed; on any error, stop it and report
    the error."""
    from actors.errors import StoreError
    from actors.runner import Runner

    # Several `actors run` of one file may share a store: the process tells them apart.
    runner_id = name if store in (None, "memory") else f"{name}-{os.getpid()}"
    try:
        runner = Runner(id=runner_id, store=store)
    except StoreError as error:
        fail(str(error))
    for number, program in enumerate(programs, 1):
        try:
            runner.install(program)
        except Exception as error:  # noqa: BLE001 - InvalidProgram, a create_fn that raised
            runner.stop()
            fail(f"cannot install program {number} of {len(programs)}: {_failure(error)}")
    return runner


# --- one-line messages -------------------------------------------------------------------------


def _one_line(text: object) -> str:
    """`text` with its lines joined, so an error message stays one line."""
    return " ".join(str(text).split())


def _failure(error: BaseException) -> str:
    message = _one_line(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _a(value: object) -> str:
    """`a str`, `an int`: what `value` is, for messages."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
