"""Errors from Runner calls show the caller's code and user code, not the runner's insides."""

from __future__ import annotations

import concurrent.futures
import os
import traceback
from pathlib import Path
from typing import Any

import pykka
import pytest

import actors
import actors.runner
from actors import Program, ProgramNotFound, Runner


def _folder(module: Any) -> str:
    return str(Path(module.__file__).parent) + os.sep


ACTORS, PYKKA, FUTURES = _folder(actors), _folder(pykka), _folder(concurrent.futures)


def frames(error: BaseException) -> list[traceback.FrameSummary]:
    return traceback.extract_tb(error.__traceback__)


def in_actors(error: BaseException) -> list[traceback.FrameSummary]:
    """The frames of a traceback that are the runner's own code."""
    return [frame for frame in frames(error) if frame.filename.startswith(ACTORS)]


def machinery(error: BaseException) -> list[traceback.FrameSummary]:
    """The frames of pykka and concurrent.futures."""
    return [frame for frame in frames(error) if frame.filename.startswith((PYKKA, FUTURES))]


def failing_main(args: Any, timestamp: Any) -> None:
    msg = "bad input"
    raise ValueError(msg)


class TestOurErrors:
    def test_get_state_of_a_missing_program(self, runner: Runner) -> None:
        """runner.get_state("nope"): the caller's frame, at most one of actors, no machinery."""
        with pytest.raises(ProgramNotFound, match="no program 'nope'") as caught:
            runner.get_state("nope")

        assert frames(caught.value)[0].name == "test_get_state_of_a_missing_program"
        assert len(in_actors(caught.value)) <= 1
        assert machinery(caught.value) == []

    def test_the_one_frame_left_is_named_after_the_method(self, runner: Runner) -> None:
        """The frame that stays reads `in get_state`, the call the user made."""
        with pytest.raises(ProgramNotFound) as caught:
            runner.get_state("nope")

        assert [frame.name for frame in in_actors(caught.value)] == ["get_state"]

    def test_the_chain_is_unchanged(self, runner: Runner) -> None:
        """Trimming the frames keeps the error's type, message and (suppressed) context."""
        with pytest.raises(ProgramNotFound) as caught:
            runner.get_state("nope")

        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None or caught.value.__suppress_context__

    def test_getitem_and_a_handle_property(self, runner: Runner) -> None:
        """runner["nope"], and a handle's `state` once its program is gone: one actors frame."""
        runner.install(Program(id="job", main_fn=lambda args, ts: None))
        handle = runner["job"]
        runner.uninstall("job")

        with pytest.raises(ProgramNotFound) as by_key:
            runner["nope"]
        with pytest.raises(ProgramNotFound) as by_property:
            _ = handle.state

        for caught in (by_key, by_property):
            assert len(in_actors(caught.value)) <= 1
            assert machinery(caught.value) == []

    def test_a_stopped_runner(self, runner: Runner) -> None:
        """RunnerStopped from a call on a stopped runner shows no machinery either."""
        runner.stop()

        with pytest.raises(actors.RunnerStopped) as caught:
            runner.status()

        assert len(in_actors(caught.value)) <= 1


class TestUserErrors:
    def test_a_failing_main_fn_shows_its_own_frame(self, runner: Runner) -> None:
        """trigger() re-raises main_fn's error with main_fn's frame, not the worker's."""
        runner.install(Program(id="job", main_fn=failing_main))

        with pytest.raises(ValueError, match="bad input") as caught:
            runner.trigger("job")

        names = [frame.name for frame in frames(caught.value)]
        assert names[0] == "test_a_failing_main_fn_shows_its_own_frame"
        assert names[-1] == "failing_main"
        assert len(in_actors(caught.value)) <= 1
        assert machinery(caught.value) == []

    def test_a_user_error_keeps_its_cause(self, runner: Runner) -> None:
        """An error main_fn raised `from` another keeps that cause."""

        def main(args: Any, timestamp: Any) -> None:
            try:
                {}["key"]
            except KeyError as error:
                msg = "no key"
                raise RuntimeError(msg) from error

        runner.install(Program(id="job", main_fn=main))

        with pytest.raises(RuntimeError) as caught:
            runner.trigger("job")

        assert isinstance(caught.value.__cause__, KeyError)


class TestBugs:
    def test_a_bug_inside_keeps_every_frame(
        self, runner: Runner, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An unexpected error raised inside actors keeps its frames, for the bug report."""
        monkeypatch.setattr(actors.runner, "GetState", None)  # a stand-in for a bug

        with pytest.raises(TypeError) as caught:
            runner.get_state("job")

        assert "get_state" in [frame.name for frame in in_actors(caught.value)]
        assert frames(caught.value)[-1].filename == actors.runner.__file__
