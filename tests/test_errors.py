"""The error family: everything derives from SchedulerError, and some are builtins too."""

from __future__ import annotations

import pytest

import actors
from actors import (
    InvalidProgram,
    InvalidSchedule,
    ProgramExists,
    ProgramNotFound,
    RunnerStopped,
    SchedulerError,
    SpawnLimitError,
)
from actors import errors as errors_module

ALL_ERRORS = [
    InvalidProgram,
    InvalidSchedule,
    ProgramExists,
    ProgramNotFound,
    RunnerStopped,
    SpawnLimitError,
]


class TestHierarchy:
    @pytest.mark.parametrize("error", ALL_ERRORS)
    def test_derives_from_scheduler_error(self, error: type[Exception]) -> None:
        """Every error of the package is a SchedulerError."""
        assert issubclass(error, SchedulerError)

    def test_scheduler_error_is_an_exception(self) -> None:
        """SchedulerError is an ordinary Exception, so `except Exception` catches it."""
        assert issubclass(SchedulerError, Exception)
        assert not issubclass(Exception, SchedulerError)

    def test_program_not_found_is_a_key_error(self) -> None:
        """ProgramNotFound is caught by `except KeyError`, as a missing dict key would be."""
        with pytest.raises(KeyError):
            raise ProgramNotFound("no program 'x'")

    @pytest.mark.parametrize("error", [InvalidProgram, InvalidSchedule])
    def test_invalid_input_is_a_value_error(self, error: type[Exception]) -> None:
        """InvalidProgram and InvalidSchedule are caught by `except ValueError`."""
        with pytest.raises(ValueError, match="bad"):
            raise error("bad")

    def test_invalid_schedule_is_an_invalid_program(self) -> None:
        """A bad schedule is a bad program: `except InvalidProgram` catches InvalidSchedule."""
        assert issubclass(InvalidSchedule, InvalidProgram)

    @pytest.mark.parametrize(
        "error", [ProgramExists, RunnerStopped, SpawnLimitError, SchedulerError]
    )
    def test_others_are_not_key_or_value_errors(self, error: type[Exception]) -> None:
        """Only the errors the SPEC names double as KeyError or ValueError."""
        assert not issubclass(error, KeyError | ValueError)

    def test_exported_from_the_package(self) -> None:
        """Every error is importable from `actors` and listed in both `__all__`s."""
        for error in [*ALL_ERRORS, SchedulerError]:
            assert getattr(actors, error.__name__) is error
            assert error.__name__ in actors.__all__
            assert error.__name__ in errors_module.__all__


class TestProgramNotFoundMessage:
    def test_str_is_the_plain_message(self) -> None:
        """str() is the message itself, not KeyError's quoted repr of it."""
        error = ProgramNotFound("no program 'x' in runner 'r'")

        assert str(error) == "no program 'x' in runner 'r'"

    def test_plain_key_error_would_quote(self) -> None:
        """The override matters: a bare KeyError quotes the same message."""
        assert str(KeyError("no program 'x'")) == "\"no program 'x'\""
        assert str(ProgramNotFound("no program 'x'")) == "no program 'x'"

    def test_str_without_args(self) -> None:
        """Raised without a message, str() still reads as a sentence."""
        assert str(ProgramNotFound()) == "program not found"

    def test_args_are_kept(self) -> None:
        """The message stays in args, as for any exception."""
        assert ProgramNotFound("gone").args == ("gone",)

    def test_caught_as_scheduler_error(self) -> None:
        """`except SchedulerError` catches a ProgramNotFound with its message intact."""
        with pytest.raises(SchedulerError, match=r"^no program 'x'$"):
            raise ProgramNotFound("no program 'x'")
