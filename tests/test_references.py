"""Callables by reference: `reference_of` gives `"module:qualname"` only for what imports back as
the very same object; `resolve_reference` imports one, or names the field and the reference."""

from __future__ import annotations

import functools
import importlib.util
import math
import re
import runpy
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

import tests.referenced_callables as jobs
from actors import InvalidProgram
from actors.references import Resolved, reference_of, resolve_if_reference, resolve_reference


def raises_naming(*words: str) -> Any:
    """pytest.raises(InvalidProgram) whose message contains every word, in order."""
    return pytest.raises(InvalidProgram, match=".*".join(re.escape(word) for word in words))


def write_module(folder: Path, source: str) -> str:
    """A module of `source` under a fresh name in `folder`; returns the name."""
    name = f"mod_{uuid.uuid4().hex}"
    (folder / f"{name}.py").write_text(source)
    return name


class TestReferenceOf:
    @pytest.mark.parametrize(
        ("fn", "reference"),
        [
            (jobs.count, "tests.referenced_callables:count"),
            (jobs.Jobs.static, "tests.referenced_callables:Jobs.static"),
            (jobs.Jobs.Nested.deep, "tests.referenced_callables:Jobs.Nested.deep"),
            (jobs.Jobs.run, "tests.referenced_callables:Jobs.run"),
            (jobs.Handler, "tests.referenced_callables:Handler"),
            (jobs.decorated, "tests.referenced_callables:decorated"),
            (print, "builtins:print"),
            (dict, "builtins:dict"),
            (math.sqrt, "math:sqrt"),
        ],
    )
    def test_module_level_callables(self, fn: Any, reference: str) -> None:
        """A module-level function, class, static method, function of a class, decorated
        function or builtin has the reference that imports it back."""
        assert reference_of(fn) == reference
        assert resolve_reference(reference, field="main_fn") is fn

    def test_an_alias_gives_the_defining_name(self) -> None:
        """A function bound to a second name is referenced by its own qualname."""
        assert reference_of(jobs.alias) == "tests.referenced_callables:count"

    @pytest.mark.parametrize(
        "fn",
        [
            pytest.param(lambda args, timestamp: None, id="lambda"),
            pytest.param(jobs.outer(), id="closure"),
            pytest.param(jobs.Jobs().run, id="bound method"),
            pytest.param(jobs.Jobs.build, id="classmethod (bound, new each time)"),
            pytest.param(functools.partial(jobs.count, None), id="partial"),
            pytest.param(jobs.handler, id="callable instance"),
            pytest.param(jobs.decorated.__wrapped__, id="function hidden by a decorator"),
            pytest.param(42, id="not callable"),
            pytest.param(None, id="None"),
        ],
    )
    def test_what_cannot_come_back_identical(self, fn: Any) -> None:
        """A lambda, a closure, a bound method, a partial, a callable instance, or anything that
        would import back as another object has no reference."""
        assert reference_of(fn) is None

    def test_a_function_replaced_in_its_module(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A function whose module attribute now holds something else has no reference."""
        original = jobs.count
        monkeypatch.setattr(jobs, "count", lambda args, timestamp: None)
        assert reference_of(original) is None

    def test_main_is_never_referenced(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A function of `__main__` has no reference, even though `__main__:name` finds it in
        this process: the next process's `__main__` is another program."""

        def job(args: Any, timestamp: Any) -> None:
            return None

        job.__module__, job.__qualname__ = "__main__", "job_for_reference_test"
        monkeypatch.setattr(sys.modules["__main__"], "job_for_reference_test", job, raising=False)
        assert reference_of(job) is None

    def test_a_file_run_with_runpy(self, tmp_path: Path) -> None:
        """A function of a file run as `__actors__` (as `actors run FILE.py` does) has no
        reference, while the file runs or after: no module imports by that name."""
        path = tmp_path / "jobs_file.py"
        path.write_text(
            "from actors.references import reference_of\n"
            "def job(args, timestamp):\n"
            "    return None\n"
            "WHILE_LOADING = reference_of(job)\n"
        )
        names = runpy.run_path(str(path), run_name="__actors__")
        assert names["WHILE_LOADING"] is None
        assert reference_of(names["job"]) is None

    def test_a_module_loaded_from_a_file_without_import(self, tmp_path: Path) -> None:
        """A module loaded from its file but not imported under its name (not in sys.modules)
        gives no reference: importing the name would make another module."""
        path = tmp_path / "loose.py"
        path.write_text("def job(args, timestamp):\n    return None\n")
        spec = importlib.util.spec_from_file_location("loose", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert reference_of(module.job) is None

    def test_never_raises(self) -> None:
        """An object whose attributes raise gives None instead of raising."""

        class Hostile:
            def __getattribute__(self, name: str) -> Any:
                raise RuntimeError(name)

            def __call__(self) -> None:
                return None

        assert reference_of(Hostile()) is None

    def test_a_module_attribute_that_raises(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A module whose `__getattr__` raises on the walk gives None."""

        def job(args: Any, timestamp: Any) -> None:
            return None

        job.__module__, job.__qualname__ = "tests.referenced_callables", "Missing.job"

        def hostile(name: str) -> Any:
            raise RuntimeError(name)

        monkeypatch.setattr(jobs, "__getattr__", hostile, raising=False)
        assert reference_of(job) is None


class TestResolveReference:
    def test_a_function(self) -> None:
        """A reference imports the function it names."""
        assert resolve_reference("tests.referenced_callables:count", field="main_fn") is jobs.count

    def test_a_dotted_qualname(self) -> None:
        """The qualname may walk classes: `module:Class.Nested.method`."""
        found = resolve_reference("tests.referenced_callables:Jobs.Nested.deep", field="main_fn")
        assert found is jobs.Jobs.Nested.deep

    def test_a_classmethod(self) -> None:
        """A classmethod resolves to its bound method (equal, though not the same object)."""
        found = resolve_reference("tests.referenced_callables:Jobs.build", field="create_fn")
        assert found == jobs.Jobs.build
        assert found() == {"runs": 0}

    def test_imports_the_module(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A module not yet imported is imported."""
        monkeypatch.syspath_prepend(str(tmp_path))
        name = write_module(tmp_path, "def job(args, timestamp):\n    return 'fresh'\n")
        monkeypatch.delitem(sys.modules, name, raising=False)
        assert resolve_reference(f"{name}:job", field="main_fn")(None, None) == "fresh"
        assert name in sys.modules

    @pytest.mark.parametrize(
        "text",
        [
            "print",
            "tests.referenced_callables.count",
            ":count",
            "tests.referenced_callables:",
            "a:b:c",
            "tests.referenced_callables:outer.<locals>.inner",
            "tests..referenced_callables:count",
            ".referenced_callables:count",
            "tests.referenced_callables:count ",
            "",
            42,
            None,
        ],
    )
    def test_malformed(self, text: Any) -> None:
        """Text that is not `package.module:qualname` is refused, naming the field, the form
        and the text."""
        with raises_naming("merge_fn", "callable or a reference", "package.module:", repr(text)):
            resolve_reference(text, field="merge_fn")

    def test_a_module_that_does_not_exist(self) -> None:
        """A module that does not import: the message names the field, the reference and the
        import error."""
        with raises_naming(
            "main_fn",
            "'no_such_module_for_actors:job'",
            "ModuleNotFoundError",
            "No module named 'no_such_module_for_actors'",
        ):
            resolve_reference("no_such_module_for_actors:job", field="main_fn")

    def test_a_module_that_raises(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A module that raises while importing: its error is in the message."""
        monkeypatch.syspath_prepend(str(tmp_path))
        name = write_module(tmp_path, "raise RuntimeError('boom at import')\n")
        with raises_naming("args_fn", f"'{name}:job'", "RuntimeError: boom at import"):
            resolve_reference(f"{name}:job", field="args_fn")

    def test_a_syntax_error(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A module with a syntax error is refused as not importable."""
        monkeypatch.syspath_prepend(str(tmp_path))
        name = write_module(tmp_path, "def job(:\n")
        with raises_naming("main_fn", f"'{name}:job'", "cannot import", "SyntaxError"):
            resolve_reference(f"{name}:job", field="main_fn")

    @pytest.mark.parametrize(
        ("text", "owner", "missing"),
        [
            ("tests.referenced_callables:nope", "tests.referenced_callables", "nope"),
            ("tests.referenced_callables:Jobs.nope", "tests.referenced_callables.Jobs", "nope"),
            ("tests.referenced_callables:nope.deeper", "tests.referenced_callables", "nope"),
        ],
    )
    def test_a_missing_attribute(self, text: str, owner: str, missing: str) -> None:
        """A name the module lacks: the message names the field, the reference and the part
        that is missing."""
        with raises_naming("create_fn", repr(text), repr(owner), f"no attribute {missing!r}"):
            resolve_reference(text, field="create_fn")

    def test_not_callable(self) -> None:
        """A reference to something that is not callable is refused, naming it."""
        with raises_naming("main_fn", "'tests.referenced_callables:NOT_CALLABLE'", "not callable"):
            resolve_reference("tests.referenced_callables:NOT_CALLABLE", field="main_fn")

    def test_errors_are_value_errors(self) -> None:
        """A refused reference is an InvalidProgram, hence a ValueError."""
        with pytest.raises(ValueError, match="main_fn"):
            resolve_reference("nope", field="main_fn")


class TestResolveIfReference:
    def test_a_str_is_resolved(self) -> None:
        """A str becomes the function it names, with the text kept beside it."""
        resolved = resolve_if_reference("tests.referenced_callables:count", field="main_fn")
        assert resolved == Resolved("tests.referenced_callables:count", jobs.count)
        assert resolved(None, None) == {"runs": 1}

    @pytest.mark.parametrize("value", [jobs.count, 42, None])
    def test_anything_else_is_left_alone(self, value: Any) -> None:
        """A non-str is left for the field's validator."""
        assert resolve_if_reference(value, field="main_fn") is value
