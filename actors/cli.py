"""The `actors` command line (also `python -m actors`).

    actors run TARGET [--for SECONDS] [--grace SECONDS] [--no-live]  run programs, live table
    actors repl TARGET [--console NAME] [--grace SECONDS]           the same, with a console
    actors next "CRON" [-n 5] [--tz ZONE] [--from ISO]              next fire times of an expression

TARGET is FILE.py, module or module:attr.

Each subcommand is a function `(args) -> exit status` set as the `handler` of its own subparser.
A mistake the user can fix (a bad expression, an unknown zone, a bad option, a file that is
missing, fails to import or holds no programs) prints ONE line on stderr and exits with status
2; no traceback.

`run` and `repl` load their target with `load_target`: a path ending in `.py` is run with
`runpy.run_path(path, run_name="__actors__")`, so its `if __name__ == "__main__":` block does
not run; `module:attr` imports the module and takes the attribute; a plain `module` takes the
module. From what is loaded they take a `runner` (an `actors.Runner`), or else an iterable
`programs` (`Program` objects or dicts), which are installed on a new `Runner`. A `module:attr`
may also name a `Runner` or an iterable of programs itself.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import runpy
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import attrs

import actors
from actors.errors import RunnerStopped, SchedulerError
from actors.schedules import _zone, cron

# `next` needs only the schedules: the runner (and pykka) and rich load when `run` or `repl`
# does, so that `actors next` starts fast.
if TYPE_CHECKING:
    from rich.console import Console

    from actors.runner import Runner
    from actors.snapshots import RunnerStatus

__all__ = ["Loaded", "build_parser", "load_target", "main"]

#: The exit status of a usage error or an invalid argument (argparse's own convention).
USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake on the command line: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (`actors next: error: ...`), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        msg = f"must be a whole number >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def _start_time(text: str | None, tz: str) -> datetime:
    """`--from` as an aware datetime (a naive one is a wall time in `tz`); default: now."""
    if text is None:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        msg = f"--from must be an ISO-8601 datetime such as 2026-03-29T00:00, got {text!r}"
        raise UsageError(f"actors next: error: {msg}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=_zone(tz))


def _next(args: argparse.Namespace) -> int:
    """Print the next `-n` fire times of a cron expression, one ISO-8601 datetime a line."""
    schedule = cron(args.expr, tz=args.tz)
    when: datetime | None = _start_time(args.from_, args.tz)
    for _ in range(args.n):
        assert when is not None
        when = schedule.next_fire(when)
        if when is None:  # an expression that never fires again (croniter looks 50 years on)
            break
        print(when.isoformat())
    return 0


# --- run and repl: loading a target ------------------------------------------------------------

#: How often `actors run` redraws its table (the live display's refresh rate is ~2/s).
REFRESH_SECONDS = 0.5

#: How long running work gets to finish when `run` or `repl` stops the runner (`--grace`).
STOP_TIMEOUT = 10.0


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


def _install(programs: list[Any], name: str, fail: Callable[[str], NoReturn]) -> Runner:
    """A new runner with `programs` installed; on any error, stop it and report the error."""
    from actors.runner import Runner

    runner = Runner(id=name)
    for number, program in enumerate(programs, 1):
        try:
            runner.install(program)
        except Exception as error:  # noqa: BLE001 - InvalidProgram, a create_fn that raised
            runner.stop()
            fail(f"cannot install program {number} of {len(programs)}: {_failure(error)}")
    return runner


def load_target(target: str, *, command: str = "run") -> Loaded:
    """Load `FILE.py`, `module` or `module:attr` and find the runner to run (see the module doc).

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
            runner, created = _install(programs, name, fail), True
        else:
            fail(f"no `runner` or `programs` in {target}")
    elif isinstance(obj, Runner):
        runner = obj
    else:
        programs = _programs(obj, target, "a Runner or an iterable of programs", fail)
        runner, created = _install(programs, name, fail), True
    if runner.stopped:
        fail(
            f"the runner in {target} is already stopped (does the file stop it when imported? "
            'keep that under `if __name__ == "__main__":`)'
        )
    names["runner"] = runner
    return Loaded(runner=runner, names=names, source=target, created=created)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        msg = f"must be a number of seconds > 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return seconds


def _grace(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        msg = f"must be a number of seconds >= 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return seconds


#: A second stop signal this soon (seconds) after the first is taken as the same one, not as
#: "again, abandon the work": GNU `timeout -s INT` sends its signal to the process and then to
#: its process group, so the process gets it twice, microseconds apart. A person reading
#: "Ctrl-C again abandons it" takes longer than this to press it again.
REPEAT_WINDOW = 0.5

_SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class _StopSignals:
    """SIGINT and SIGTERM as a `KeyboardInterrupt`, remembering which came first and when.

    The first signal raises; one that repeats it within `REPEAT_WINDOW` is dropped; any later
    one raises again (the caller then abandons the work).
    """

    def __init__(self) -> None:
        self.first: str | None = None  # "Ctrl-C" or "SIGTERM"
        self.first_at = 0.0
        self.last: str | None = None

    def handle(self, signum: int, frame: object) -> None:
        now = time.monotonic()
        name = _SIGNAL_NAMES.get(signal.Signals(signum), signal.Signals(signum).name)
        if self.first is None:
            self.first, self.first_at = name, now
        elif now - self.first_at < REPEAT_WINDOW:
            return  # the first signal delivered twice, not a second request
        self.last = name
        raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[_StopSignals]:
        """While inside, both signals go to `handle` (main thread only: elsewhere, no change)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {signum: signal.signal(signum, self.handle) for signum in _SIGNAL_NAMES}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


@contextmanager
def _signals_to_main_thread() -> Iterator[None]:
    """Threads started inside (the runner's dispatcher, clock and worker threads, and the
    threads they start in turn) block SIGINT and SIGTERM, so the kernel delivers those to the
    main thread. Otherwise a Ctrl-C that lands on another thread is noticed only once the main
    thread next runs Python code: a console waiting in `input()` would miss it until a key."""
    if not hasattr(signal, "pthread_sigmask") or (
        threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _console() -> Console:
    """A console on stdout; off a terminal (a pipe, a log) as wide as the lines need."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=10_000)


def _totals(status: RunnerStatus | None) -> str:
    """A status's totals in words (empty without a status)."""
    if status is None:
        return ""
    totals = status.totals
    return (
        f"; {totals['programs']} programs, {totals['spawns']} spawns, "
        f"{totals['runs']} runs, {totals['failed']} failed"
    )


@attrs.frozen
class _WindDown:
    """How `_wind_down` went: the last status (None: the runner was already stopped) and how
    many runs were still running when the grace period ran out (0: all finished)."""

    status: RunnerStatus | None
    abandoned: int = 0

    def outcome(self, grace: float) -> str:
        """What became of the running work, in words (empty when it is not known)."""
        if self.status is None:
            return ""
        if self.abandoned:
            runs = "run" if self.abandoned == 1 else "runs"
            return f"{self.abandoned} {runs} abandoned after {grace:g}s"
        return "running work finished"


def _wind_down(runner: Runner, grace: float) -> _WindDown:
    """Pause the runner and give its running work up to `grace` seconds to finish, then take a
    last status (which `stop()` would leave no way to see)."""
    try:
        runner.pause()
        try:
            runner.settle(timeout=grace)
        except TimeoutError:  # work still running: the caller abandons it
            status = runner.status()
            return _WindDown(status, sum(info.running for info in status.programs))
        return _WindDown(runner.status())
    except RunnerStopped:
        return _WindDown(None)


def _run(args: argparse.Namespace) -> int:
    """Load the target, run it with a live status table until Ctrl-C (or --for), stop it.

    The last line says how long it ran, why it stopped (`Ctrl-C`, `SIGTERM`, `--for`, `stopped
    by its programs`) and what became of the running work: it finished, or N runs were
    abandoned once `--grace` ran out.
    """
    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    with _signals_to_main_thread():
        loaded = load_target(args.target, command="run")
    runner = loaded.runner
    console = _console()
    started = time.monotonic()
    deadline = None if args.for_ is None else started + args.for_
    ending = "Ctrl-C stops it" if deadline is None else f"stops after {args.for_:g}s (or on Ctrl-C)"
    # Transient: the live table is cleared when it stops, and the final one printed for good.
    live = (
        Live(console=console, auto_refresh=False, transient=True)
        if args.live and console.is_terminal
        else None
    )
    reason = "--for"
    with _StopSignals().installed() as signals:
        try:
            try:
                ids = ", ".join(info.id for info in runner.programs()) or "(none)"
                console.print(
                    f"actors run: {loaded.source}: runner {runner.id!r} with programs {ids}; "
                    f"{ending}",
                    highlight=False,
                )
                with live if live is not None else nullcontext():
                    while True:
                        if live is not None:
                            table = Group(runner.status(), Text(ending, style="dim"))
                            live.update(table, refresh=True)
                        else:
                            runner.status()  # notices a runner stopped by its own programs
                        if not _wait(deadline):
                            break
            except KeyboardInterrupt:
                reason = signals.first or "Ctrl-C"
                console.print(
                    f"{reason}: stopping runner {runner.id!r} gracefully: running work gets up "
                    f"to {args.grace:g}s to finish ({_again(reason)} abandons it)",
                    highlight=False,
                )
            except RunnerStopped:
                reason = "stopped by its programs"
            wound = _wind_down(runner, args.grace)
            if wound.status is not None:
                console.print(wound.status)
            if wound.abandoned:
                runner.stop(wait=False)  # the work had its grace period
            else:
                runner.stop(timeout=1.0)  # nothing is running: this is quick
        except KeyboardInterrupt:  # a second signal while stopping
            runner.stop(wait=False)
            console.print(
                f"stopped runner {runner.id!r} at once after {time.monotonic() - started:.1f}s "
                f"({signals.last or 'Ctrl-C'} while stopping): running work abandoned",
                highlight=False,
            )
            return 130
    outcome = wound.outcome(args.grace)
    console.print(
        f"stopped runner {runner.id!r} after {time.monotonic() - started:.1f}s ({reason})"
        f"{': ' + outcome if outcome else ''}{_totals(wound.status)}",
        highlight=False,
    )
    return 0


def _again(reason: str) -> str:
    """What abandons the work after the stop signal `reason`, in words."""
    return "Ctrl-C again" if reason == "Ctrl-C" else f"another {reason} or Ctrl-C"


def _wait(deadline: float | None) -> bool:
    """Sleep until the next redraw; False once `deadline` has passed."""
    if deadline is None:
        time.sleep(REFRESH_SECONDS)
        return True
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    time.sleep(min(REFRESH_SECONDS, remaining))
    return True


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


#: The consoles `actors repl` knows, in the order `--console auto` looks for them, with the
#: module each needs.
CONSOLES = {"ipython": "IPython", "ptpython": "ptpython.repl", "python": "code"}


def _pick_console(choice: str) -> tuple[str, Any]:
    """The console to open and its module: `choice`, or the first installed one for `auto`."""
    for name in CONSOLES if choice == "auto" else [choice]:
        try:
            return name, importlib.import_module(CONSOLES[name])
        except ImportError:
            continue
    msg = f"--console {choice} is not installed here (pip install {choice})"
    raise UsageError(f"actors repl: error: {msg}")


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


def _repl(args: argparse.Namespace) -> int:
    """Load the target, open a console with `runner` in scope, stop the runner on exit."""
    name, module = _pick_console(args.console)
    with _signals_to_main_thread():
        loaded = load_target(args.target, command="repl")
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
        console = _console()
        if not runner.stopped:
            console.print(f"stopping runner {runner.id!r}...", highlight=False)
            try:
                runner.stop(timeout=args.grace)
            except KeyboardInterrupt:  # Ctrl-C while stopping: abandon the running work
                runner.stop(wait=False)
        console.print(f"stopped runner {runner.id!r}", highlight=False)
    return status


def build_parser() -> argparse.ArgumentParser:
    """The parser of `actors` and its subcommands."""
    parser = _Parser(
        prog="actors",
        description="An actor-model job scheduler: programs, spawns and a runner.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    next_ = commands.add_parser(
        "next",
        help="print the next fire times of a cron expression",
        description=(
            "Print the next fire times of a cron expression, one ISO-8601 datetime a line, "
            "read in --tz with Debian cron's daylight-saving rule. Fields: minute hour "
            "day-of-month month day-of-week [second]; or @hourly, @daily, @weekly, @monthly, "
            "@yearly, @annually, @midnight."
        ),
    )
    next_.add_argument("expr", metavar="EXPR", help='a cron expression, such as "0 3 * * *"')
    next_.add_argument(
        "-n", type=_positive_int, default=5, metavar="N", help="how many (default: 5)"
    )
    next_.add_argument(
        "--tz", default="UTC", metavar="ZONE", help="IANA time zone, such as Europe/Berlin"
    )
    next_.add_argument(
        "--from",
        dest="from_",
        metavar="ISO",
        help="start after this datetime instead of now (naive: a wall time in --tz)",
    )
    next_.set_defaults(handler=_next)

    target_help = (
        "FILE.py (its `if __name__ == '__main__':` block does not run), module, or "
        "module:attr; it must hold a `runner` (an actors.Runner) or `programs` (Program "
        "objects or dicts)"
    )
    run = commands.add_parser(
        "run",
        help="run the programs of a file or module, with a live status table",
        description=(
            "Load a runner (or programs) from a file or module, run it and show its status "
            "table, redrawn twice a second, until Ctrl-C (or SIGTERM): then stop it "
            "gracefully, letting running work finish (for up to --grace seconds), and exit "
            "with status 0."
        ),
    )
    run.add_argument("target", metavar="TARGET", help=target_help)
    run.add_argument(
        "--for",
        dest="for_",
        type=_seconds,
        metavar="SECONDS",
        help="stop by itself after this many seconds",
    )
    run.add_argument(
        "--grace",
        type=_grace,
        default=STOP_TIMEOUT,
        metavar="SECONDS",
        help=(
            f"on stopping, how long running work gets to finish before it is abandoned "
            f"(default: {STOP_TIMEOUT:g})"
        ),
    )
    run.add_argument(
        "--no-live",
        dest="live",
        action="store_false",
        help="print the table once, at the end, instead of a live display (for logs, CI)",
    )
    run.set_defaults(handler=_run)

    repl = commands.add_parser(
        "repl",
        help="run the programs of a file or module and open a Python console",
        description=(
            "Load a runner (or programs) from a file or module, start it, and open an "
            "interactive console with `runner`, `actors` and the loaded names in scope: "
            "IPython if installed, else ptpython, else Python's own. Leaving the console "
            "(exit() or Ctrl-D) stops the runner."
        ),
    )
    repl.add_argument("target", metavar="TARGET", help=target_help)
    repl.add_argument(
        "--console",
        choices=["auto", "ipython", "ptpython", "python"],
        default="auto",
        help="which console (default: auto, the first installed of ipython, ptpython, python)",
    )
    repl.add_argument(
        "--grace",
        type=_grace,
        default=STOP_TIMEOUT,
        metavar="SECONDS",
        help=(
            f"on leaving, how long running work gets to finish before it is abandoned "
            f"(default: {STOP_TIMEOUT:g})"
        ),
    )
    repl.set_defaults(handler=_repl)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 a mistake on the command line)."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:
        print(error, file=sys.stderr)
        return USAGE_ERROR
    except SystemExit as done:  # --help: argparse has printed it and asks to exit
        return done.code if isinstance(done.code, int) else 0
    try:
        status: int = args.handler(args)
    except UsageError as error:
        print(error, file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:  # Ctrl-C while a file or module was still loading
        print(f"actors {args.command}: interrupted", file=sys.stderr)
        return 130
    except SchedulerError as error:  # InvalidSchedule: the message names the field and value
        print(f"actors {args.command}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:  # `actors next ... | head -1`: the reader has all it wanted
        # The recipe of Python's signal docs: point stdout at devnull, so that the flush at
        # exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return status
