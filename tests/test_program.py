"""Program, Retry and Misfire: validated, frozen specs, and the default merge."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

import tests.referenced_callables as jobs
from actors import InvalidProgram, InvalidSchedule, Misfire, Program, Retry, cron, every, manual
from actors.program import default_merge
from actors.schedules import Manual, Schedule, on_success
from tests.conftest import T0


def noop(args: object, timestamp: object) -> None:
    return None


def make(**fields: Any) -> Program:
    """A valid program with `fields` changed."""
    return Program(**{"id": "job", "main_fn": noop, **fields})


def raises_naming(error: type[Exception], *words: str) -> Any:
    """pytest.raises(error) whose message contains every word, in order."""
    return pytest.raises(error, match=".*".join(re.escape(word) for word in words))


class TestValidation:
    @pytest.mark.parametrize("bad", ["", 0, None, b"job", ["job"]])
    def test_bad_id(self, bad: Any) -> None:
        """An id that is not a non-empty str is refused, naming the field and the value."""
        with raises_naming(InvalidProgram, "id", repr(bad)):
            make(id=bad)

    @pytest.mark.parametrize("field", ["main_fn", "create_fn", "args_fn", "merge_fn"])
    @pytest.mark.parametrize("bad", [None, 42, "print"])
    def test_non_callable_functions(self, field: str, bad: Any) -> None:
        """Each user function must be callable; the message names the field and the value."""
        with raises_naming(InvalidProgram, field, "callable", repr(bad)):
            make(**{field: bad})

    @pytest.mark.parametrize("bad", [-1, 1.5, True, "1", None])
    def test_bad_min(self, bad: Any) -> None:
        """min must be an int >= 0 (a bool is not an int here)."""
        with raises_naming(InvalidProgram, "min", repr(bad)):
            make(min=bad)

    @pytest.mark.parametrize("bad", [0, -3, 2.0, False, "2"])
    def test_bad_max(self, bad: Any) -> None:
        """max must be an int >= 1 or None; max=0 is refused."""
        with raises_naming(InvalidProgram, "max", repr(bad)):
            make(max=bad)

    def test_min_above_max(self) -> None:
        """min > max is refused, naming both values."""
        with raises_naming(InvalidProgram, "min", "max", "min=3", "max=2"):
            make(min=3, max=2)

    def test_min_equal_to_max(self) -> None:
        """min == max is a fixed pool size, and valid."""
        assert make(min=2, max=2).max == 2

    @pytest.mark.parametrize("bad", ["newest", "LAST", "", None])
    def test_bad_policy(self, bad: Any) -> None:
        """policy must be one of last, first, idle; the message lists them."""
        with raises_naming(InvalidProgram, "policy", "'last'", "'first'", "'idle'", repr(bad)):
            make(policy=bad)

    @pytest.mark.parametrize("bad", ["drop", "Queue", None])
    def test_bad_overlap(self, bad: Any) -> None:
        """overlap must be skip or queue."""
        with raises_naming(InvalidProgram, "overlap", "'skip'", "'queue'", repr(bad)):
            make(overlap=bad)

    def test_schedule_and_interval_both_given(self) -> None:
        """Giving schedule and interval is ambiguous and refused, naming both."""
        with raises_naming(InvalidProgram, "schedule", "interval", "interval=5"):
            make(schedule=every(10), interval=5)

    @pytest.mark.parametrize(
        "bad", [0, -1, -0.5, timedelta(0), timedelta(seconds=-1), float("nan"), True, "5"]
    )
    def test_bad_interval(self, bad: Any) -> None:
        """interval must be a positive number of seconds or timedelta."""
        with raises_naming(InvalidProgram, "interval", repr(bad)):
            make(interval=bad)

    def test_interval_below_a_microsecond(self) -> None:
        """interval=1e-9 is an InvalidProgram naming interval and the value as written."""
        with raises_naming(InvalidProgram, "interval must be at least 1 microsecond, got 1e-09"):
            make(interval=1e-9)

    @pytest.mark.parametrize("bad", [60, "every 60", every, lambda now: now])
    def test_non_schedule_schedule(self, bad: Any) -> None:
        """schedule must be a Schedule instance, not a number, text or factory."""
        with raises_naming(InvalidProgram, "schedule", "Schedule", repr(bad)):
            make(schedule=bad)

    @pytest.mark.parametrize("bad", [0, -1, 1.0, True])
    def test_bad_max_runs(self, bad: Any) -> None:
        """max_runs must be an int >= 1 or None."""
        with raises_naming(InvalidProgram, "max_runs", repr(bad)):
            make(max_runs=bad)

    @pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "10"])
    def test_bad_timeout(self, bad: Any) -> None:
        """timeout must be a finite number of seconds > 0 or None."""
        with raises_naming(InvalidProgram, "timeout", repr(bad)):
            make(timeout=bad)

    @pytest.mark.parametrize("bad", [3, {"attempts": 3}, "Retry(3)"])
    def test_bad_retry(self, bad: Any) -> None:
        """retry must be a Retry or None."""
        with raises_naming(InvalidProgram, "retry", "Retry", repr(bad)):
            make(retry=bad)

    @pytest.mark.parametrize("bad", [1.5, "high", None, True])
    def test_bad_priority(self, bad: Any) -> None:
        """priority must be an int."""
        with raises_naming(InvalidProgram, "priority", repr(bad)):
            make(priority=bad)

    @pytest.mark.parametrize("bad", [None, 30, {"grace": 30}])
    def test_bad_misfire(self, bad: Any) -> None:
        """misfire must be a Misfire."""
        with raises_naming(InvalidProgram, "misfire", "Misfire", repr(bad)):
            make(misfire=bad)

    @pytest.mark.parametrize("bad", ["nightly", ("a", 1), [None], 7])
    def test_bad_tags(self, bad: Any) -> None:
        """tags must be strs: a bare str is not a tuple of tags."""
        with raises_naming(InvalidProgram, "tags"):
            make(tags=bad)

    def test_bad_tags_message_names_the_value(self) -> None:
        """The tags message shows the value given."""
        with raises_naming(InvalidProgram, "tags", "'nightly'"):
            make(tags="nightly")

    @pytest.mark.parametrize("bad", [1, b"name", ["a"]])
    def test_bad_name(self, bad: Any) -> None:
        """name must be a str (or omitted)."""
        with raises_naming(InvalidProgram, "name", repr(bad)):
            make(name=bad)

    def test_interval_timedelta_and_float_accepted(self) -> None:
        """interval takes float seconds and timedeltas alike."""
        assert make(interval=0.5).schedule == every(0.5)
        assert make(interval=timedelta(minutes=2)).schedule == every(120)

    def test_seconds_fields_take_a_timedelta(self) -> None:
        """timeout, Retry's waits and Misfire.grace take a timedelta and hold float seconds."""
        minute = timedelta(minutes=1)

        assert make(timeout=minute).timeout == 60.0
        retry = Retry(backoff=minute, max_backoff=minute, jitter=minute)
        assert (retry.backoff, retry.max_backoff, retry.jitter) == (60.0, 60.0, 60.0)
        assert Misfire(grace=minute).grace == 60.0

    def test_invalid_program_is_a_value_error(self) -> None:
        """Callers that only know builtins can catch a bad spec as a ValueError."""
        with pytest.raises(ValueError, match="min"):
            make(min=-1)


class TestDefaults:
    def test_schedule_is_manual(self) -> None:
        """Without schedule or interval, the program only runs when triggered."""
        program = make()

        assert isinstance(program.schedule, Manual)
        assert program.schedule == manual()
        assert program.interval is None

    def test_name_defaults_to_id(self) -> None:
        """name is the id unless given."""
        assert make(id="cleanup").name == "cleanup"
        assert make(id="cleanup", name="Clean up").name == "Clean up"

    def test_scalar_defaults(self) -> None:
        """The SPEC's defaults: 0..unbounded spawns, last, skip, no limits, priority 0."""
        program = make()

        assert (program.min, program.max) == (0, None)
        assert (program.policy, program.overlap) == ("last", "skip")
        assert (program.max_runs, program.timeout, program.retry) == (None, None, None)
        assert program.priority == 0
        assert program.misfire == Misfire(grace=None, coalesce="latest")
        assert program.tags == ()

    def test_default_functions(self) -> None:
        """create_fn and args_fn give None; merge_fn is default_merge."""
        program = make()

        assert program.create_fn() is None
        assert program.args_fn() is None
        assert program.merge_fn is default_merge

    def test_list_tags_become_a_tuple(self) -> None:
        """tags given as a list are stored as a tuple, in order."""
        program = make(tags=["nightly", "db"])

        assert program.tags == ("nightly", "db")
        assert isinstance(program.tags, tuple)

    def test_set_tags_become_a_tuple(self) -> None:
        """tags given as a set are stored as a tuple of the same tags."""
        program = make(tags={"a", "b"})

        assert isinstance(program.tags, tuple)
        assert sorted(program.tags) == ["a", "b"]

    def test_interval_is_shorthand_for_every(self) -> None:
        """interval=x gives the same schedule as schedule=every(x)."""
        assert make(interval=60).schedule == make(schedule=every(60)).schedule
        assert make(interval=60).schedule == every(60)

    def test_explicit_schedule_kept(self) -> None:
        """A schedule given is stored as given."""
        schedule = every(5, start=T0)

        assert make(schedule=schedule).schedule is schedule


class TestFrozen:
    @pytest.mark.parametrize(
        ("field", "value"), [("id", "other"), ("min", 3), ("schedule", manual()), ("tags", ())]
    )
    def test_assignment_refused(self, field: str, value: Any) -> None:
        """A program cannot be changed after construction."""
        program = make()

        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(program, field, value)

    def test_retry_and_misfire_frozen(self) -> None:
        """Retry and Misfire are frozen too."""
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            Retry().attempts = 5  # type: ignore[misc]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            Misfire().grace = 5  # type: ignore[misc]

    def test_equal_specs_are_equal(self) -> None:
        """Two programs built from the same values compare equal."""
        assert make(interval=5, tags=["a"]) == make(interval=5, tags=("a",))
        assert make(min=1) != make(min=2)

    def test_evolve_validates(self) -> None:
        """attrs.evolve builds a new program and validates it like the constructor."""
        program = make(max=5)

        assert attrs.evolve(program, min=2).min == 2
        with raises_naming(InvalidProgram, "min", "max"):
            attrs.evolve(program, min=9)

    def test_evolve_interval_program(self) -> None:
        """attrs.evolve works on a program built with interval=, keeping its schedule."""
        program = make(interval=5)

        evolved = attrs.evolve(program, min=1)

        assert evolved.min == 1
        assert evolved.schedule == every(5)

    def test_equal_schedule_and_interval_both_given(self) -> None:
        """schedule=every(1) with interval=1 is refused too, naming both, though they agree."""
        with raises_naming(InvalidProgram, "schedule", "interval", "interval=1"):
            make(interval=1, schedule=every(1))

    def test_evolve_interval_program_keeps_interval_and_schedule(self) -> None:
        """attrs.evolve(p, min=2) on an interval= program keeps both the interval and schedule."""
        program = make(interval=5)

        evolved = attrs.evolve(attrs.evolve(program, min=2), max=3)

        assert (evolved.interval, evolved.schedule, evolved.min) == (5, every(5), 2)
        assert evolved == attrs.evolve(program, min=2, max=3)

    def test_evolve_new_interval_makes_a_new_schedule(self) -> None:
        """attrs.evolve(p, interval=10) on an interval= program gives it every(10)."""
        evolved = attrs.evolve(make(interval=5), interval=10)

        assert evolved.schedule == every(10)

    def test_evolve_interval_to_schedule(self) -> None:
        """attrs.evolve(p, schedule=..., interval=None) swaps an interval for a schedule."""
        evolved = attrs.evolve(make(interval=5), schedule=cron("0 3 * * *"), interval=None)

        assert evolved.schedule == cron("0 3 * * *")
        assert evolved.interval is None
        assert attrs.evolve(evolved, min=1).schedule == cron("0 3 * * *")

    def test_evolve_schedule_onto_an_interval_is_refused(self) -> None:
        """attrs.evolve(p, schedule=...) keeping the interval gives both: refused, with a hint."""
        with raises_naming(InvalidProgram, "schedule", "interval=5", "interval=None"):
            attrs.evolve(make(interval=5), schedule=cron("0 3 * * *"))

    def test_evolve_schedule_to_interval(self) -> None:
        """attrs.evolve(p, interval=..., schedule=None) swaps a schedule for an interval."""
        evolved = attrs.evolve(make(schedule=cron("0 3 * * *")), interval=7, schedule=None)

        assert evolved.schedule == every(7)

    def test_private_marker_is_not_a_mapping_key(self) -> None:
        """from_mapping refuses the private _interval_schedule key as an unknown field."""
        with raises_naming(InvalidProgram, "unknown", "'_interval_schedule'"):
            Program.from_mapping({"id": "job", "main_fn": noop, "_interval_schedule": None})


class TestFromMapping:
    def test_builds_the_same_program(self) -> None:
        """A dict with the same keys gives the same Program as keywords do."""
        spec = {"id": "job", "main_fn": noop, "interval": 10, "min": 1, "tags": ["x"]}

        assert Program.from_mapping(spec) == Program(**spec)

    def test_program_passes_through(self) -> None:
        """A Program given to from_mapping is returned as is."""
        program = make()

        assert Program.from_mapping(program) is program

    def test_unknown_key(self) -> None:
        """A misspelt key is refused, naming it, rather than ignored."""
        with raises_naming(InvalidProgram, "unknown", "'intervall'"):
            Program.from_mapping({"id": "job", "main_fn": noop, "intervall": 5})

    def test_several_unknown_keys_all_named(self) -> None:
        """Every unknown key is named, sorted."""
        with raises_naming(InvalidProgram, "'a'", "'b'"):
            Program.from_mapping({"id": "job", "main_fn": noop, "b": 1, "a": 2})

    @pytest.mark.parametrize("missing", ["id", "main_fn"])
    def test_missing_required_key(self, missing: str) -> None:
        """A dict without id or main_fn is an InvalidProgram naming the key, not a TypeError."""
        spec = {"id": "job", "main_fn": noop}
        del spec[missing]

        with raises_naming(InvalidProgram, missing, "required"):
            Program.from_mapping(spec)

    @pytest.mark.parametrize("bad", [None, "job", [("id", "job")], 42])
    def test_not_a_mapping(self, bad: Any) -> None:
        """Anything but a Program or a mapping is refused, naming the value."""
        with raises_naming(InvalidProgram, "Program", "dict", repr(bad)):
            Program.from_mapping(bad)

    def test_values_still_validated(self) -> None:
        """Map style goes through the same validation as keywords."""
        with raises_naming(InvalidProgram, "policy", "'bogus'"):
            Program.from_mapping({"id": "job", "main_fn": noop, "policy": "bogus"})


class TestDefaultMerge:
    def test_dicts_merge(self) -> None:
        """Two mappings merge, the result's keys winning."""
        assert default_merge({"a": 1, "b": 2}, {"b": 3, "c": 4}) == {"a": 1, "b": 3, "c": 4}

    def test_merge_builds_a_new_dict(self) -> None:
        """The old state is not mutated by a merge."""
        state = {"a": 1}

        merged = default_merge(state, {"a": 2})

        assert state == {"a": 1}
        assert merged is not state

    @pytest.mark.parametrize("state", [{"a": 1}, 5, None, [1, 2]])
    def test_none_keeps_state(self, state: Any) -> None:
        """A result of None leaves the state as it was."""
        assert default_merge(state, None) is state

    @pytest.mark.parametrize(
        ("state", "result"),
        [({"a": 1}, 5), (5, {"a": 1}), (None, {"a": 1}), (1, 2), ([1], [2]), ({"a": 1}, [])],
    )
    def test_otherwise_result_replaces(self, state: Any, result: Any) -> None:
        """Unless both are mappings, the result becomes the state."""
        assert default_merge(state, result) is result

    def test_falsy_result_still_replaces(self) -> None:
        """Only None keeps the state: 0, "" and {} are results like any other."""
        assert default_merge(5, 0) == 0
        assert default_merge("x", "") == ""
        assert default_merge({"a": 1}, {}) == {"a": 1}


class TestRetry:
    def test_defaults(self) -> None:
        """Retry() tries three times, 1 s then doubling, no ceiling, no jitter."""
        retry = Retry()

        assert (retry.attempts, retry.backoff, retry.factor) == (3, 1.0, 2.0)
        assert (retry.max_backoff, retry.jitter) == (None, 0.0)

    @pytest.mark.parametrize(
        ("field", "bad"),
        [
            ("attempts", 0),
            ("attempts", -1),
            ("attempts", 2.0),
            ("attempts", True),
            ("backoff", -1),
            ("backoff", float("nan")),
            ("backoff", "1"),
            ("factor", -2),
            ("max_backoff", -5),
            ("max_backoff", float("inf")),
            ("jitter", -0.1),
            ("jitter", None),
        ],
    )
    def test_bad_values(self, field: str, bad: Any) -> None:
        """Each bad field raises InvalidProgram naming the field and the value."""
        with raises_naming(InvalidProgram, field, repr(bad)):
            Retry(**{field: bad})

    def test_delay_grows_by_factor(self) -> None:
        """delay(n) is backoff * factor ** (n - 1)."""
        retry = Retry(attempts=5, backoff=2, factor=3)

        assert [retry.delay(n) for n in (1, 2, 3, 4)] == [2, 6, 18, 54]

    def test_delay_capped_by_max_backoff(self) -> None:
        """No wait is longer than max_backoff."""
        retry = Retry(attempts=10, backoff=1, factor=2, max_backoff=5)

        assert [retry.delay(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]

    def test_constant_backoff(self) -> None:
        """factor=1 waits the same every time."""
        retry = Retry(backoff=0.5, factor=1)

        assert [retry.delay(n) for n in (1, 2, 3)] == [0.5, 0.5, 0.5]

    def test_program_accepts_retry(self) -> None:
        """A Retry is a valid program retry."""
        assert make(retry=Retry(attempts=2)).retry == Retry(attempts=2)


class TestMisfire:
    def test_defaults(self) -> None:
        """No grace limit; the latest late tick runs."""
        assert (Misfire().grace, Misfire().coalesce) == (None, "latest")

    @pytest.mark.parametrize("coalesce", ["latest", "all", "skip"])
    def test_coalesce_choices(self, coalesce: str) -> None:
        """Each documented coalesce value is accepted."""
        assert Misfire(coalesce=coalesce).coalesce == coalesce  # type: ignore[arg-type]

    @pytest.mark.parametrize("bad", ["first", "none", None])
    def test_bad_coalesce(self, bad: Any) -> None:
        """coalesce must be latest, all or skip."""
        with raises_naming(InvalidProgram, "coalesce", repr(bad)):
            Misfire(coalesce=bad)

    @pytest.mark.parametrize("bad", [-1, float("nan"), "30", True])
    def test_bad_grace(self, bad: Any) -> None:
        """grace must be a number of seconds >= 0 or None."""
        with raises_naming(InvalidProgram, "grace", repr(bad)):
            Misfire(grace=bad)

    def test_zero_grace(self) -> None:
        """grace=0 is valid: any late tick is missed."""
        assert Misfire(grace=0).grace == 0


class TestRecover:
    def test_default_is_false(self) -> None:
        """A program is not recovered after a crash unless it asks (at most once)."""
        assert make().recover is False
        assert make(recover=True).recover is True

    @pytest.mark.parametrize("bad", [1, 0, "yes", None])
    def test_bad_recover(self, bad: Any) -> None:
        """recover must be a bool; the message names the field and the value."""
        with raises_naming(InvalidProgram, "recover", "bool", repr(bad)):
            make(recover=bad)

    def test_from_mapping(self) -> None:
        """The map style takes recover too."""
        assert Program.from_mapping({"id": "job", "main_fn": noop, "recover": True}).recover


class TestReferences:
    @pytest.mark.parametrize(
        ("field", "text", "function"),
        [
            ("main_fn", "tests.referenced_callables:count", jobs.count),
            ("create_fn", "tests.referenced_callables:start", jobs.start),
            ("args_fn", "tests.referenced_callables:arguments", jobs.arguments),
            ("merge_fn", "tests.referenced_callables:add", jobs.add),
        ],
    )
    def test_a_field_takes_a_reference(self, field: str, text: str, function: Any) -> None:
        """Each function field takes "package.module:function", holds the function it imports,
        and gives the text back in references()."""
        program = make(**{field: text})

        assert getattr(program, field) is function
        assert program.references()[field] == text
        assert program == make(**{field: function})

    @pytest.mark.parametrize("field", ["main_fn", "create_fn", "args_fn", "merge_fn"])
    def test_a_bad_reference_names_field_and_reference(self, field: str) -> None:
        """A reference that does not import is refused at construction, naming the field and
        the reference."""
        with raises_naming(InvalidProgram, field, "'tests.referenced_callables:nope'", "'nope'"):
            make(**{field: "tests.referenced_callables:nope"})

    def test_a_module_that_does_not_import(self) -> None:
        """The import error is in the message."""
        with raises_naming(InvalidProgram, "main_fn", "'gone_module_xyz:job'", "No module"):
            make(main_fn="gone_module_xyz:job")

    def test_references_of_functions(self) -> None:
        """references() gives each function field's reference: module-level functions and the
        defaults have one; a lambda or closure has None."""
        program = make(
            main_fn=jobs.count, create_fn=lambda: 0, args_fn=jobs.outer(), merge_fn=jobs.add
        )

        assert program.references() == {
            "main_fn": "tests.referenced_callables:count",
            "create_fn": None,
            "args_fn": None,
            "merge_fn": "tests.referenced_callables:add",
        }
        assert all(make(main_fn=jobs.count).references().values())

    def test_the_text_is_kept_when_the_object_is_not_identical(self) -> None:
        """A classmethod imports as a new bound method each time: the program keeps the text it
        was given, so the reference still round-trips."""
        program = make(create_fn="tests.referenced_callables:Jobs.build")

        assert program.create_fn == jobs.Jobs.build
        assert program.references()["create_fn"] == "tests.referenced_callables:Jobs.build"

    def test_the_text_as_given_wins(self) -> None:
        """A reference through an alias is kept as written, not replaced by the defining name."""
        program = make(main_fn="tests.referenced_callables:alias")

        assert program.main_fn is jobs.count
        assert program.references()["main_fn"] == "tests.referenced_callables:alias"

    def test_evolve_keeps_the_text(self) -> None:
        """attrs.evolve carries the reference a function came from."""
        program = make(create_fn="tests.referenced_callables:Jobs.build")

        evolved = attrs.evolve(program, min=1)

        assert evolved.references()["create_fn"] == "tests.referenced_callables:Jobs.build"

    def test_evolve_with_a_new_function_forgets_the_old_text(self) -> None:
        """A function replaced by attrs.evolve is referenced afresh (a lambda: None)."""
        program = make(create_fn="tests.referenced_callables:Jobs.build")

        assert attrs.evolve(program, create_fn=jobs.start).references()["create_fn"] == (
            "tests.referenced_callables:start"
        )
        assert attrs.evolve(program, create_fn=lambda: 0).references()["create_fn"] is None

    def test_from_mapping_takes_references(self) -> None:
        """The map style takes references too."""
        program = Program.from_mapping({"id": "job", "main_fn": "tests.referenced_callables:count"})

        assert program.main_fn is jobs.count

    def test_repr_shows_the_function(self) -> None:
        """The repr shows the function the reference imported."""
        assert "function count" in repr(make(main_fn="tests.referenced_callables:count"))


def full_program() -> Program:
    """A program with every field away from its default, on module-level functions."""
    return Program(
        id="cleanup",
        name="Cleanup",
        tags=("nightly", "db"),
        main_fn=jobs.count,
        create_fn=jobs.start,
        args_fn=jobs.arguments,
        merge_fn=jobs.add,
        schedule=cron("0 3 * * *", tz="Europe/Berlin", jitter=5),
        min=1,
        max=4,
        policy="idle",
        overlap="queue",
        max_runs=10,
        timeout=timedelta(seconds=30),
        retry=Retry(attempts=4, backoff=0.5, factor=3, max_backoff=60, jitter=0.25),
        priority=-2,
        misfire=Misfire(grace=120, coalesce="all"),
        recover=True,
        executor="ray",
        resources={"num_cpus": 2, "memory": 2**30, "runtime_env": {"env_vars": {"A": "1"}}},
    )


class TestDefinition:
    def test_the_format(self) -> None:
        """A definition is a JSON-safe dict of every field: references for the functions, the
        schedule's definition, float seconds, retry and misfire as dicts."""
        assert full_program().to_definition() == {
            "id": "cleanup",
            "name": "Cleanup",
            "tags": ["nightly", "db"],
            "main_fn": "tests.referenced_callables:count",
            "create_fn": "tests.referenced_callables:start",
            "args_fn": "tests.referenced_callables:arguments",
            "merge_fn": "tests.referenced_callables:add",
            "schedule": {
                "kind": "cron",
                "expr": "0 3 * * *",
                "tz": "Europe/Berlin",
                "jitter": 5.0,
                "start": None,
                "end": None,
            },
            "interval": None,
            "min": 1,
            "max": 4,
            "policy": "idle",
            "overlap": "queue",
            "max_runs": 10,
            "timeout": 30.0,
            "retry": {
                "attempts": 4,
                "backoff": 0.5,
                "factor": 3.0,
                "max_backoff": 60.0,
                "jitter": 0.25,
            },
            "priority": -2,
            "misfire": {"grace": 120.0, "coalesce": "all"},
            "recover": True,
            "executor": "ray",
            "resources": {
                "num_cpus": 2,
                "memory": 2**30,
                "runtime_env": {"env_vars": {"A": "1"}},
            },
        }

    def test_defaults(self) -> None:
        """Default functions are written as None, and a bare program has every key."""
        definition = Program(id="job", main_fn=jobs.count).to_definition()

        assert definition is not None
        assert (definition["create_fn"], definition["args_fn"], definition["merge_fn"]) == (
            None,
            None,
            None,
        )
        assert definition["schedule"] == {"kind": "manual"}
        assert (definition["name"], definition["retry"], definition["recover"]) == (
            "job",
            None,
            False,
        )

    @pytest.mark.parametrize(
        "program",
        [
            pytest.param(full_program(), id="every field"),
            pytest.param(Program(id="job", main_fn=jobs.count), id="defaults"),
            pytest.param(Program(id="job", main_fn=jobs.count, interval=60), id="interval"),
            pytest.param(
                Program(
                    id="job", main_fn=jobs.count, interval=timedelta(minutes=2, microseconds=5)
                ),
                id="interval as a timedelta",
            ),
            pytest.param(
                Program(id="job", main_fn=jobs.count, schedule=every(5, start=T0)),
                id="every with a start",
            ),
            pytest.param(
                Program(id="job", main_fn=jobs.count, schedule=on_success("extract", delay=2)),
                id="on_success",
            ),
            pytest.param(
                Program(id="job", main_fn="tests.referenced_callables:Jobs.static"), id="static"
            ),
            pytest.param(
                Program(
                    id="job", main_fn=jobs.count, create_fn="tests.referenced_callables:Jobs.build"
                ),
                id="classmethod by reference",
            ),
        ],
    )
    def test_round_trip(self, program: Program) -> None:
        """from_definition(to_definition()) gives an equal program, through JSON text too."""
        definition = program.to_definition()
        assert definition is not None

        restored = Program.from_definition(json.loads(json.dumps(definition)))

        assert restored == program
        assert restored.references() == program.references()
        assert restored.to_definition() == definition

    def test_an_interval_program_keeps_its_interval(self) -> None:
        """A program built with interval= comes back with the interval (and its every())."""
        restored = Program.from_definition(make(interval=5).to_definition())

        assert (restored.interval, restored.schedule) == (5.0, every(5))
        assert attrs.evolve(restored, interval=10).schedule == every(10)

    @pytest.mark.parametrize("field", ["main_fn", "create_fn", "args_fn", "merge_fn"])
    def test_none_when_a_function_has_no_reference(self, field: str) -> None:
        """A program with a lambda in any function field cannot be stored whole: None."""
        program = make(**{"main_fn": jobs.count, field: lambda *args: None})

        assert program.to_definition() is None

    def test_none_for_a_schedule_without_a_definition(self) -> None:
        """A schedule class of the user's own, without to_definition, makes the definition
        None (and says so when asked directly)."""

        @attrs.frozen
        class Never(Schedule):
            def next_fire(self, after: datetime) -> datetime | None:
                return None

            def describe(self) -> str:
                return "never"

        assert make(main_fn=jobs.count, schedule=Never()).to_definition() is None
        with pytest.raises(NotImplementedError, match="Never"):
            Never().to_definition()

    def test_a_reference_that_no_longer_imports(self) -> None:
        """Restoring a definition whose reference is gone names the program and the reference."""
        definition = Program(id="cleanup", main_fn=jobs.count).to_definition()
        assert definition is not None
        definition["main_fn"] = "tests.referenced_callables:renamed"

        with raises_naming(
            InvalidProgram, "program 'cleanup'", "main_fn", "'tests.referenced_callables:renamed'"
        ):
            Program.from_definition(definition)

    @pytest.mark.parametrize(
        ("change", "error", "words"),
        [
            ({"colour": "red"}, InvalidProgram, ["unknown key(s) 'colour'"]),
            ({"main_fn": None}, InvalidProgram, ["main_fn is required"]),
            ({"id": None}, InvalidProgram, ["id is required"]),
            ({"min": -1}, InvalidProgram, ["program 'job'", "min", "-1"]),
            ({"main_fn": 42}, InvalidProgram, ["program 'job'", "main_fn", "callable", "42"]),
            ({"schedule": {"kind": "hourly"}}, InvalidSchedule, ["program 'job'", "'hourly'"]),
            ({"schedule": {"kind": "every"}}, InvalidSchedule, ["program 'job'", "interval"]),
            ({"retry": {"attempts": 0}}, InvalidProgram, ["'job'", "retry", "attempts", "0"]),
            ({"retry": {"tries": 2}}, InvalidProgram, ["'job'", "retry", "unknown", "'tries'"]),
            ({"misfire": None}, InvalidProgram, ["'job'", "misfire", "dict", "None"]),
            ({"interval": -1}, InvalidProgram, ["'job'", "interval", "-1"]),
            (
                {"interval": 5, "schedule": {"kind": "every", "interval": 6}},
                InvalidProgram,
                ["'job'", "does not match interval"],
            ),
        ],
    )
    def test_a_malformed_definition(
        self, change: dict[str, Any], error: type[Exception], words: list[str]
    ) -> None:
        """A malformed definition raises a clear error naming the program and what is wrong."""
        definition = make(main_fn=jobs.count).to_definition()
        assert definition is not None

        with raises_naming(error, *words):
            Program.from_definition({**definition, **change})

    def test_not_a_dict(self) -> None:
        """A definition must be a dict."""
        with raises_naming(InvalidProgram, "program definition must be a dict", "'cleanup'"):
            Program.from_definition("cleanup")

    def test_missing_keys_take_defaults(self) -> None:
        """Only id and main_fn are required; a short hand-written definition works."""
        program = Program.from_definition(
            {"id": "job", "main_fn": "tests.referenced_callables:count"}
        )

        assert program == Program(id="job", main_fn=jobs.count)

    def test_intervals_compare_as_seconds(self) -> None:
        """interval=timedelta(minutes=2) and interval=120 make equal programs (a definition
        keeps float seconds)."""
        assert make(interval=timedelta(minutes=2)) == make(interval=120)
        assert hash(make(interval=timedelta(minutes=2))) == hash(make(interval=120.0))


class TestRetryAndMisfireDefinitions:
    def test_retry_round_trip(self) -> None:
        """A Retry comes back equal from its definition, durations in float seconds."""
        retry = Retry(attempts=5, backoff=timedelta(seconds=2), factor=1.5, max_backoff=None)

        assert retry.to_definition() == {
            "attempts": 5,
            "backoff": 2.0,
            "factor": 1.5,
            "max_backoff": None,
            "jitter": 0.0,
        }
        assert Retry.from_definition(json.loads(json.dumps(retry.to_definition()))) == retry

    def test_misfire_round_trip(self) -> None:
        """A Misfire comes back equal from its definition."""
        for misfire in (Misfire(), Misfire(grace=2.5, coalesce="skip")):
            assert Misfire.from_definition(misfire.to_definition()) == misfire

    def test_missing_keys_take_defaults(self) -> None:
        """A partial definition fills in the defaults."""
        assert Retry.from_definition({"attempts": 2}) == Retry(attempts=2)
        assert Misfire.from_definition({}) == Misfire()

    @pytest.mark.parametrize(
        ("kind", "definition", "words"),
        [
            (Retry, [1, 2], ["retry definition must be a dict", "[1, 2]"]),
            (Retry, {"attempts": "3"}, ["retry definition", "attempts", "'3'"]),
            (Misfire, {"grace": -1}, ["misfire definition", "grace", "-1"]),
            (Misfire, {"coalesce": "x", "late": 1}, ["misfire definition", "unknown", "'late'"]),
        ],
    )
    def test_malformed(self, kind: Any, definition: Any, words: list[str]) -> None:
        """A malformed definition raises InvalidProgram naming what is wrong."""
        with raises_naming(InvalidProgram, *words):
            kind.from_definition(definition)
