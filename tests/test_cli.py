"""The command line: `actors next "CRON" [-n N] [--tz ZONE] [--from ISO]`, and `python -m`."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from actors.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m actors ARGS` in a child interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "actors", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        check=False,
    )


def parse_lines(text: str) -> list[datetime]:
    return [datetime.fromisoformat(line) for line in text.splitlines()]


class TestNext:
    def test_default_prints_five_upcoming_times(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without -n, five ISO-8601 aware datetimes, rising, all after now."""
        before = datetime.now(UTC)

        assert main(["next", "*/5 * * * *"]) == 0

        out, err = capsys.readouterr()
        times = parse_lines(out)
        assert len(times) == 5
        assert err == ""
        assert all(t.tzinfo is not None for t in times)
        assert times == sorted(times)
        assert times[0] > before
        assert times[1] - times[0] == timedelta(minutes=5)

    def test_n(self, capsys: pytest.CaptureFixture[str]) -> None:
        """-n N prints N lines."""
        assert main(["next", "@hourly", "-n", "3"]) == 0

        assert len(parse_lines(capsys.readouterr().out)) == 3

    def test_from_gives_exact_times(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--from fixes the start, so the output is exact: one line per fire time."""
        assert main(["next", "0 9 * * mon-fri", "-n", "3", "--from", "2026-01-02T12:00Z"]) == 0

        assert capsys.readouterr().out.splitlines() == [
            "2026-01-05T09:00:00+00:00",
            "2026-01-06T09:00:00+00:00",
            "2026-01-07T09:00:00+00:00",
        ]

    def test_tz_reads_the_expression_in_the_zone(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--tz reads the expression in that zone, with cron's DST rule, and prints local times."""
        args = [
            "next",
            "30 2 * * *",
            "--tz",
            "Europe/Berlin",
            "--from",
            "2026-03-28T12:00",
            "-n",
            "2",
        ]

        assert main(args) == 0

        assert capsys.readouterr().out.splitlines() == [
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00",
        ]

    def test_tz_without_from(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--tz alone prints times carrying that zone's offset."""
        assert main(["next", "0 12 * * *", "--tz", "Asia/Kolkata", "-n", "2"]) == 0

        times = parse_lines(capsys.readouterr().out)
        assert [t.utcoffset() for t in times] == [timedelta(hours=5, minutes=30)] * 2
        assert [(t.hour, t.minute) for t in times] == [(12, 0), (12, 0)]

    def test_six_fields_with_seconds(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Six fields with seconds work too; every line is one fire time."""
        assert main(["next", "0 0 1 1 * 30", "-n", "2", "--from", "2026-06-01T00:00Z"]) == 0

        assert capsys.readouterr().out.splitlines() == [
            "2027-01-01T00:00:30+00:00",
            "2028-01-01T00:00:30+00:00",
        ]


class TestErrors:
    @pytest.mark.parametrize(
        ("args", "words"),
        [
            (["next", "61 * * * *"], ["minute", "'61'"]),
            (["next", "* * *"], ["5 fields", "got 3"]),
            (["next", "0 0 * * funday"], ["day-of-week", "'funday'"]),
            (["next", "@reboot"], ["alias", "'@reboot'"]),
            (["next", "0 * * * *", "--tz", "Mars/Base"], ["tz", "'Mars/Base'"]),
            (["next", "0 * * * *", "-n", "0"], ["-n", "'0'"]),
            (["next", "0 * * * *", "-n", "many"], ["-n", "'many'"]),
            (["next", "0 * * * *", "--from", "soon"], ["--from", "'soon'"]),
            (["next"], ["EXPR"]),
            ([], ["COMMAND"]),
            (["bogus"], ["'bogus'"]),
        ],
    )
    def test_one_line_on_stderr_and_status_2(
        self, args: list[str], words: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A mistake exits with status 2 and one stderr line naming it; nothing on stdout."""
        assert main(args) == 2

        out, err = capsys.readouterr()
        assert out == ""
        assert len(err.splitlines()) == 1
        assert err.startswith("actors")
        assert "Traceback" not in err
        for word in words:
            assert word in err

    def test_help_returns_zero(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--help prints the usage and returns 0 instead of raising SystemExit."""
        assert main(["next", "--help"]) == 0

        assert "usage: actors next" in capsys.readouterr().out


class TestModuleEntryPoint:
    def test_python_m_actors_next(self) -> None:
        """`python -m actors next EXPR -n 3` prints three parseable datetimes and exits 0."""
        result = run_module("next", "@hourly", "-n", "3", "--tz", "America/New_York")

        assert result.returncode == 0, result.stderr
        times = parse_lines(result.stdout)
        assert len(times) == 3
        assert all(t.minute == 0 and t.tzinfo is not None for t in times)

    def test_python_m_actors_bad_expression(self) -> None:
        """A bad expression via `python -m actors` exits 2 with one stderr line, no traceback."""
        result = run_module("next", "0 25 * * *")

        assert result.returncode == 2
        assert result.stdout == ""
        assert len(result.stderr.splitlines()) == 1
        assert "Traceback" not in result.stderr
        assert "hour '25'" in result.stderr

    def test_subcommands_are_pluggable(self) -> None:
        """The parser has a `next` subcommand with a handler, ready for `run` and `repl`."""
        args = build_parser().parse_args(["next", "@daily"])

        assert args.command == "next"
        assert callable(args.handler)
        assert (args.n, args.tz, args.from_) == (5, "UTC", None)
