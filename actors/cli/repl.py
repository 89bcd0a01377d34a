"""`actors repl TARGET`: run a runner and open a Python console with it in scope.

The console is IPython if installed, else ptpython, else Python's own (`code.interact`), or the
one `--console` names; one that is not installed is refused before anything is loaded. Leaving
the console (exit() or Ctrl-D) stops the runner; `exit(n)` gives exit status `n`.
"""

from __future__ import annotations

import argparse
import importlib
import types
from typing import Any

import actors
from actors.cli.loading import Loaded, load_target
from actors.cli.output import stdout_console
from actors.cli.signals import signals_to_main_thread
from actors.cli.usage import UsageError

__all__ = ["CONSOLES", "repl_command"]

#: The consoles `actors repl` knows, in the order `--console auto` looks for them, with the
#: module each needs.
CONSOLES = {"ipython": "IPython", "ptpython": "ptpython.repl", "python": "code"}


def repl_command(args: argparse.Namespace) -> int:
    """Load the target, open a console with `runner` in scope, stop the runner on exit."""
    name, module = _pick_console(args.console)
    with signals_to_main_thread():
        loaded = load_target(args.target, command="repl", store=args.store)
    runner = loaded.runner
    namespace: dict[str, Any] = {**loaded.names, "actors": actors, "runner": runner}
    namespace.setdefault("__name__", "__console__")
    title = {"ipython": "IPython", "ptpython": "ptpython", "python": "Python"}[name]
    status = 0
    try:
        _interact(name, module, namespace, _banner(loaded, title))
    except SystemExit as exit_:  # exit() / quit() in the console
        exit_code = exit_.code
        status = exit_code if isinstance(exit_code, int) else 0 if exit_code is None else 1
    finally:
        console = stdout_console()
        if not runner.stopped:
            console.print(f"stopping runner {runner.id!r}...", highlight=False)
            try:
                runner.stop(timeout=args.grace)
            except KeyboardInterrupt:  # Ctrl-C while stopping: abandon the running work
                runner.stop(wait=False)
        console.print(f"stopped runner {runner.id!r}", highlight=False)
    return status


def _pick_console(choice: str) -> tuple[str, Any]:
    """The console to open and its module: `choice`, or the first installed one for `auto`."""
    for name in CONSOLES if choice == "auto" else [choice]:
        try:
            return name, importlib.import_module(CONSOLES[name])
        except ImportError:
            continue
    msg = f"--console {choice} is not installed here (pip install {choice})"
    raise UsageError(f"actors repl: error: {msg}")


def _banner(loaded: Loaded, console_name: str) -> str:
    runner = loaded.runner
    ids = [info.id for info in runner.programs()]
    first = ids[0] if ids else "ID"
    others = sorted(
        name
        for name, value in loaded.names.items()
        if name != "runner"
        and not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and type(value).__module__ != "__future__"  # `from __future__ import annotations`
    )
    shown = ", ".join(others[:10]) + (", ..." if len(others) > 10 else "")
    lines = [
        f"actors {actors.__version__} {console_name} console: runner {runner.id!r} is running "
        f"programs {', '.join(ids) or '(none)'} from {loaded.source}",
        "in scope: runner, actors" + (f", and from {loaded.source}: {shown}" if shown else ""),
        f'try: runner.status(), runner.spawn("{first}"), runner["{first}"].history(5)',
        "exit() or Ctrl-D stops the runner and quits",
    ]
    return "\n".join(lines)


def _interact(name: str, module: Any, namespace: dict[str, Any], banner: str) -> None:
    """Open console `name` (its module is `module`) with `namespace` in scope; return on exit."""
    print(banner, flush=True)
    if name == "ipython":
        module.start_ipython(argv=[], user_ns=namespace, display_banner=False)
    elif name == "ptpython":
        module.embed(globals=namespace, locals=namespace)
    else:
        _readline(namespace)
        module.interact(banner="", local=namespace, exitmsg="")


def _readline(namespace: dict[str, Any]) -> None:
    """Line editing and Tab completion of the names in scope, where readline exists."""
    try:
        import readline  # absent on some platforms (Windows)
        import rlcompleter
    except ImportError:
        return
    readline.set_completer(rlcompleter.Completer(namespace).complete)
    readline.parse_and_bind("tab: complete")
