"""Program specs and their validation: `Program` (its policies `Retry` and `Misfire` are in
`actors.policies`).

A `Program` is a job definition. It is frozen and validated at construction, so a bad spec fails
where it is written, with an `InvalidProgram` that names the field and the value, before anything
starts. The rules (what a number, a number of seconds, an int is) are `actors.validation`'s.

Each of them is also a JSON-safe dict, its *definition* (`to_definition()`/`from_definition(d)`),
which a store keeps: the functions as `"package.module:function"` references
(`actors.references`), the schedule as `schedule.to_definition()`.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Literal, get_args

import attrs

from actors.errors import InvalidProgram
from actors.policies import Coalesce, Misfire, Retry, seconds_or_none
from actors.references import Resolved, reference_of, resolve_if_reference
from actors.resources import check_resources, ray_installed
from actors.schedules import Manual, Schedule, every, schedule_from_definition
from actors.validation import (
    MICROSECOND,
    as_seconds,
    callable_,
    check_seconds,
    instance_of,
    integer,
    non_empty_str,
    one_of,
    seconds,
    tuple_of,
)

__all__ = ["Program", "default_merge"]

Policy = Literal["last", "first", "idle"]
Overlap = Literal["skip", "queue"]
#: Where a spawn's runs run: on the runner's worker threads, in a child process of its own, or
#: in a Ray actor of its own.
ExecutorKind = Literal["thread", "process", "ray"]

POLICIES: tuple[str, ...] = get_args(Policy)
OVERLAPS: tuple[str, ...] = get_args(Overlap)
COALESCES: tuple[str, ...] = get_args(Coalesce)  # kept here: what status and docs read


def default_merge(state: Any, result: Any) -> Any:
    """The default `merge_fn`: dict-merge two mappings; `None` keeps the state; else replace."""
    if result is None:
        return state
    if isinstance(state, Mapping) and isinstance(result, Mapping):
        return {**state, **result}
    return result


def _none() -> None:
    return None


def _to_tags(value: Any) -> Any:
    if isinstance(value, list | set | frozenset):
        return tuple(value)
    return value


#: The fields that hold the user's functions: each takes a callable or a reference to one.
FUNCTION_FIELDS: tuple[str, ...] = ("main_fn", "create_fn", "args_fn", "merge_fn")

#: The defaults of the optional function fields: a definition writes them as `None`, so a
#: stored program never depends on where actors keeps its defaults.
#: The misfire policy of a program that gives none: frozen, so every such program shares it.
_DEFAULT_MISFIRE = Misfire()

_DEFAULT_FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {"create_fn": _none, "args_fn": _none, "merge_fn": default_merge}
)

#: The keys of a program's definition, in the order `to_definition` writes them.
_DEFINITION_KEYS: tuple[str, ...] = (
    "id", "name", "tags", *FUNCTION_FIELDS, "schedule", "interval", "min", "max", "policy",
    "overlap", "max_runs", "timeout", "retry", "priority", "misfire", "recover", "executor",
    "resources",
)  # fmt: skip


# One named converter per field: an attrs converter sees no field name, and mypy's attrs plugin
# reads named functions only.
def _check_executor(program: Program) -> None:
    """A process or Ray spawn's `main_fn` goes to its child or actor by reference: it must
    pickle; `resources` are for Ray spawns, and Ray spawns need Ray."""
    executor = program.executor
    if program.resources and executor != "ray":
        msg = f"resources are for executor='ray', got executor={executor!r}"
        raise InvalidProgram(msg)
    if executor == "ray" and not ray_installed():
        msg = "executor='ray' needs Ray, which is not installed: pip install 'actors[ray]'"
        raise InvalidProgram(msg)
    if executor == "thread":
        return
    try:
        pickle.dumps(program.main_fn)
    except Exception as error:  # noqa: BLE001 - PicklingError, AttributeError, TypeError
        msg = (
            f"main_fn must be picklable with executor={executor!r} (a module-level function, "
            f"or 'package.module:function'), got {program.main_fn!r}: {error}"
        )
        raise InvalidProgram(msg) from None


def _main_fn(value: Any) -> Any:
    return resolve_if_reference(value, field="main_fn")


def _create_fn(value: Any) -> Any:
    return resolve_if_reference(value, field="create_fn")


def _args_fn(value: Any) -> Any:
    return resolve_if_reference(value, field="args_fn")


def _merge_fn(value: Any) -> Any:
    return resolve_if_reference(value, field="merge_fn")


def _interval_key(value: Any) -> Any:
    # Equality compares intervals as seconds: `interval=timedelta(minutes=2)` and
    # `interval=120` make the same program (and a definition writes float seconds).
    return value.total_seconds() if isinstance(value, timedelta) else value


def _at_least_a_microsecond(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # A timedelta holds whole microseconds: every() would refuse anything finer, and the
    # message should name the program's field, not every()'s.
    if value is not None and check_seconds(attribute.name, value) < MICROSECOND:
        msg = f"{attribute.name} must be at least 1 microsecond, got {value!r}"
        raise InvalidProgram(msg)


@attrs.frozen
class Program:
    """A job definition: what runs (`main_fn`), when (`schedule`), and the state it builds.

    See the field table in the README. Every field is validated at construction and raises
    `InvalidProgram` naming the field and the value.

    `interval=x` is shorthand for `schedule=every(x)`; giving both is an `InvalidProgram`. The
    program keeps `interval` as given and `schedule` as the `every(x)` made from it, and it
    remembers (in `_interval_schedule`, not part of equality) which schedule it made, so that
    `attrs.evolve`, which passes every field back in, still works: `attrs.evolve(p, min=2)`
    keeps the schedule, `attrs.evolve(p, interval=10)` makes a new one, and
    `attrs.evolve(p, schedule=cron(...), interval=None)` swaps the interval for a schedule.
    Intervals compare as seconds (`timedelta(minutes=2)` equals `120`).

    `main_fn`, `create_fn`, `args_fn` and `merge_fn` take a callable or a
    `"package.module:function"` reference, imported at construction; the field holds what it
    imported, and the program remembers the text (in `_references`, carried by `attrs.evolve`),
    which `references()` and `to_definition()` give back. `recover=True` asks a store to run a
    run cut off by a crash once more after the restart.

    `executor` says where each spawn's runs run: `"thread"` (the runner's worker threads),
    `"process"` (a child process per spawn) or `"ray"` (a Ray actor per spawn, asking the
    cluster for `resources`: see `actors.resources`); the last two need a picklable `main_fn`.
    """

    id: str = attrs.field(validator=non_empty_str())
    main_fn: Callable[[Any, Any], Any] = attrs.field(converter=_main_fn, validator=callable_())
    schedule: Schedule = attrs.field(
        default=None,
        validator=instance_of(
            Schedule, what="a Schedule such as every(60) or manual()", optional=True
        ),
    )
    interval: float | timedelta | None = attrs.field(
        default=None,
        validator=[seconds(positive=True, optional=True), _at_least_a_microsecond],
        eq=_interval_key,
    )
    create_fn: Callable[[], Any] = attrs.field(
        default=_none, converter=_create_fn, validator=callable_()
    )
    args_fn: Callable[[], Any] = attrs.field(
        default=_none, converter=_args_fn, validator=callable_()
    )
    merge_fn: Callable[[Any, Any], Any] = attrs.field(
        default=default_merge, converter=_merge_fn, validator=callable_()
    )
    min: int = attrs.field(default=0, validator=integer(at_least=0))
    max: int | None = attrs.field(default=None, validator=integer(at_least=1, optional=True))
    policy: Policy = attrs.field(default="last", validator=one_of(Policy))
    overlap: Overlap = attrs.field(default="skip", validator=one_of(Overlap))
    max_runs: int | None = attrs.field(default=None, validator=integer(at_least=1, optional=True))
    timeout: float | None = attrs.field(
        default=None, converter=as_seconds, validator=seconds(positive=True, optional=True)
    )
    retry: Retry | None = attrs.field(default=None, validator=instance_of(Retry, optional=True))
    priority: int = attrs.field(default=0, validator=integer())
    misfire: Misfire = attrs.field(default=_DEFAULT_MISFIRE, validator=instance_of(Misfire))
    name: str = attrs.field(default=None, validator=instance_of(str, optional=True))
    tags: tuple[str, ...] = attrs.field(default=(), converter=_to_tags, validator=tuple_of(str))
    recover: bool = attrs.field(default=False, validator=instance_of(bool))
    executor: ExecutorKind = attrs.field(default="thread", validator=one_of(ExecutorKind))
    resources: Mapping[str, Any] = attrs.field(
        factory=dict, converter=check_resources, hash=False, repr=lambda value: repr(dict(value))
    )
    # The schedule this program made from `interval` (None: the schedule was given, or manual).
    # An init argument only so that attrs.evolve hands it to the new program, which can then
    # tell "the schedule came from the interval" from "both were given".
    _interval_schedule: Schedule | None = attrs.field(
        default=None, alias="_interval_schedule", kw_only=True, repr=False, eq=False
    )
    # The reference each function field was given as, with the function it imported: {field:
    # (text, function)}. An init argument so that attrs.evolve carries it; an entry whose
    # function is no longer in its field is dropped.
    _references: Mapping[str, tuple[str, Callable[..., Any]]] = attrs.field(
        factory=dict, alias="_references", kw_only=True, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        self._keep_references()
        self._resolve_schedule()
        if self.max is not None and self.min > self.max:
            msg = f"min must be <= max, got min={self.min!r}, max={self.max!r}"
            raise InvalidProgram(msg)
        if self.name is None:
            object.__setattr__(self, "name", self.id)
        _check_executor(self)

    def _keep_references(self) -> None:
        """Leave each imported function in its field, and keep the text it came from."""
        kept: dict[str, tuple[str, Callable[..., Any]]] = {}
        for field in FUNCTION_FIELDS:
            value = getattr(self, field)
            if isinstance(value, Resolved):
                object.__setattr__(self, field, value.function)
                kept[field] = (value.text, value.function)
            elif field in self._references and self._references[field][1] is value:
                kept[field] = self._references[field]
        object.__setattr__(self, "_references", kept)  # never changed after this

    def _resolve_schedule(self) -> None:
        """Set `schedule` from `interval` (or to `manual()`); refuse both given."""
        made = self._interval_schedule
        if self.interval is None:
            if self.schedule is None:
                object.__setattr__(self, "schedule", Manual())
            object.__setattr__(self, "_interval_schedule", None)
            return
        # A schedule equal to the one made from an interval was passed back by attrs.evolve:
        # the interval (perhaps a new one) still decides.
        if self.schedule is not None and (made is None or self.schedule != made):
            hint = " (to replace the interval, pass interval=None too)" if made is not None else ""
            msg = (
                f"give schedule or interval, not both: schedule={self.schedule!r}, "
                f"interval={self.interval!r}{hint}"
            )
            raise InvalidProgram(msg)
        shorthand = every(self.interval)
        object.__setattr__(self, "schedule", shorthand)
        object.__setattr__(self, "_interval_schedule", shorthand)

    @classmethod
    def from_mapping(cls, spec: Program | Mapping[str, Any]) -> Program:
        """Build a program from a plain dict with the same keys (map style).

        Raises:
            InvalidProgram: an unknown key, a missing required key, or an invalid value.
        """
        if isinstance(spec, Program):
            return spec
        if not isinstance(spec, Mapping):
            msg = f"program must be a Program or a dict, got {spec!r}"
            raise InvalidProgram(msg)
        known = {field.name for field in attrs.fields(cls) if not field.name.startswith("_")}
        unknown = sorted(set(spec) - known)
        if unknown:
            msg = f"unknown program field(s) {', '.join(map(repr, unknown))} in {dict(spec)!r}"
            raise InvalidProgram(msg)
        for required in ("id", "main_fn"):
            if required not in spec:
                msg = f"{required} is required, got a dict without it: {dict(spec)!r}"
                raise InvalidProgram(msg)
        return cls(**spec)

    def references(self) -> dict[str, str | None]:
        """Each function field's reference: the `"package.module:function"` text it was given
        as, else `reference_of(function)`; `None` for a function that cannot be stored (a
        lambda, a closure, a bound method, a function of `__main__`)."""
        found: dict[str, str | None] = {}
        for field in FUNCTION_FIELDS:
            given = self._references.get(field)
            found[field] = given[0] if given is not None else reference_of(getattr(self, field))
        return found

    def to_definition(self) -> dict[str, Any] | None:
        """This program as a JSON-safe dict a store can keep whole, or `None` when it cannot be.

        Every field is written: the functions as references (`None` for a default one), the
        schedule as `schedule.to_definition()` (as given, not anchored), `interval` and
        `timeout` in float seconds, `retry` and `misfire` as their definitions.
        `Program.from_definition(d)` gives back an equal program.

        Returns:
            The definition, or `None` when a function has no reference (see `references()`) or
            the schedule is a class of its own without a definition.
        """
        references = self.references()
        if any(text is None for text in references.values()):
            return None
        try:
            schedule = self.schedule.to_definition()
        except NotImplementedError:
            return None
        encoded = {
            **{
                field: None if getattr(self, field) is _DEFAULT_FUNCTIONS.get(field) else text
                for field, text in references.items()
            },
            "tags": list(self.tags),
            "schedule": schedule,
            "interval": seconds_or_none(self.interval),
            "timeout": seconds_or_none(self.timeout),
            "retry": None if self.retry is None else self.retry.to_definition(),
            "misfire": self.misfire.to_definition(),
            "resources": dict(self.resources),
        }  # the other fields are JSON values as they are (str, int, bool, None)
        return {key: encoded.get(key, getattr(self, key)) for key in _DEFINITION_KEYS}

    @classmethod
    def from_definition(cls, definition: Any) -> Program:
        """The program a `to_definition()` dict describes, its references imported now.

        A key left out takes the field's default (`id` and `main_fn` are required); a function
        given as `None` is the default one.

        Raises:
            InvalidProgram: not a dict, an unknown or missing key, an invalid value, or a
                reference that no longer imports (`InvalidSchedule` for the schedule); the
                message names the program id, the field and the reference or value.
        """
        if not isinstance(definition, Mapping):
            msg = f"a program definition must be a dict, got {definition!r}"
            raise InvalidProgram(msg)
        unknown = sorted(map(str, set(definition) - set(_DEFINITION_KEYS)))
        problems = [f"unknown key(s) {', '.join(map(repr, unknown))}"] if unknown else []
        problems += [
            f"{key} is required" for key in ("id", "main_fn") if definition.get(key) is None
        ]
        if problems:
            msg = f"program definition: {'; '.join(problems)}, in {dict(definition)!r}"
            raise InvalidProgram(msg)
        try:
            return cls._from_definition(definition)
        except InvalidProgram as error:
            raise type(error)(f"program {definition['id']!r}: {error}") from error

    @classmethod
    def _from_definition(cls, definition: Mapping[str, Any]) -> Program:
        # The JSON values the fields take as they are; a function's reference is imported by
        # its field (`None` is the default function).
        fields = {
            key: definition[key]
            for key in _DEFINITION_KEYS
            if key in definition and key not in ("schedule", "interval", "retry", "misfire")
            and (key not in FUNCTION_FIELDS or definition[key] is not None)
        }  # fmt: skip
        if definition.get("retry") is not None:
            fields["retry"] = Retry.from_definition(definition["retry"])
        if "misfire" in definition:
            fields["misfire"] = Misfire.from_definition(definition["misfire"])
        schedule = definition.get("schedule")
        schedule = None if schedule is None else schedule_from_definition(schedule)
        if definition.get("interval") is None:
            fields["schedule"] = schedule
            return cls(**fields)
        program = cls(**fields, interval=definition["interval"])
        if schedule is not None and schedule != program.schedule:
            msg = (
                f"schedule {schedule!r} does not match interval {program.interval!r} "
                "(a definition with an interval has that interval's every())"
            )
            raise InvalidProgram(msg)
        return program
