"""The dashboard in a real browser: headless Chromium (Debian's) driven by selenium, against a
runner under load on the system clock.

Each test waits for what the page shows (WebDriverWait on a condition), never for a time.
Screenshots go to build/test-artifacts/web/ (docs/web.md shows copies of them).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("selenium", reason="selenium is in the `test` extra: make test installs it")
pytest.importorskip("uvicorn", reason="the dashboard is the `web` extra: make test installs it")

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from actors import Program, Runner, every, manual
from actors.web import serve
from tests.browser import ARTEFACTS, chromium, screenshot
from tests.test_web_app import add, count

TOKEN = "s3cret-token"

#: How long a page may take to show what a test waits for: the bound of "responsive".
WAIT = 15.0


def _busy(state: Any, args: Any) -> None:
    time.sleep(0.05)  # sleep-ok: the work a spawn is busy with, not a synchronisation


@pytest.fixture
def runner_under_load() -> Iterator[Runner]:
    """A runner on the system clock, busy: a ticker every 0.05 s on four spawns (80 runs a
    second), a pool that a LoadMonitor grows with a load that rises, a counter that only a
    trigger runs."""
    runner = Runner(id="web-test")
    runner.install_many(
        [
            Program(
                id="ticker",
                main_fn=count,
                schedule=every(0.05),
                create_fn=int,
                merge_fn=add,
                min=4,
                tags=("demo", "fast"),
            ),
            Program(id="pool", main_fn=_busy, schedule=every(0.2), min=1, max=4, tags=("demo",)),
            Program(
                id="counter",
                main_fn=count,
                schedule=manual(),
                create_fn=int,
                merge_fn=add,
                tags=("manual",),
            ),
        ]
    )
    load = itertools.count(1)
    runner.autoscale("pool", lambda: next(load), per_spawn=2.0, interval=0.2, cooldown=0.2)
    yield runner
    runner.stop()


def _wait(driver: Any, condition: Any, what: str) -> Any:
    # The page redraws what the server pushes: an element read a moment ago may be gone.
    return WebDriverWait(
        driver, WAIT, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,)
    ).until(lambda d: condition(d), message=f"the page did not show {what} within {WAIT:g} s")


def _text(driver: Any, css: str) -> str:
    """The text of the first element `css` selects now ("" if none): read in one step."""
    text = driver.execute_script(
        "const found = document.querySelector(arguments[0]); return found ? found.textContent : ''",
        css,
    )
    return str(text).strip()


def _count_of(driver: Any, css: str) -> int:
    return int(driver.execute_script("return document.querySelectorAll(arguments[0]).length", css))


def _cell(driver: Any, program: str, column: str) -> str:
    return _text(driver, f'#programs tbody tr[data-id="{program}"] td[data-col="{column}"]')


def _enter_token(driver: Any, token: str) -> None:
    field = driver.find_element(By.ID, "token")
    field.clear()
    field.send_keys(token)
    driver.execute_script("arguments[0].dispatchEvent(new Event('change'))", field)


def test_the_table_updates_without_a_reload(runner_under_load: Runner) -> None:
    """The programs table shows the ticker's runs growing while the page stays the same
    document: the server pushes each change, nothing reloads it."""
    server = serve(runner_under_load, bind=":0", token=TOKEN)
    with chromium() as driver:
        driver.get(server.url)
        _wait(driver, lambda d: _cell(d, "ticker", "runs").isdigit(), "the ticker's runs")
        driver.execute_script("window.sameDocument = true")
        first = int(_cell(driver, "ticker", "runs"))
        _wait(
            driver,
            lambda d: (
                _cell(d, "ticker", "runs").isdigit()
                and int(_cell(d, "ticker", "runs")) >= first + 5
            ),
            "the ticker's runs growing",
        )
        assert driver.execute_script("return window.sameDocument") is True
        assert _text(driver, "#live") == "live"
        runners = (
            "return [...document.querySelectorAll('#runners tbody tr')].map(r => r.dataset.id)"
        )
        assert driver.execute_script(runners) == ["web-test"]
        _wait(
            driver,
            lambda d: _count_of(d, "#events li[data-kind='RunSucceeded']"),
            "run events in the events stream",
        )
        screenshot(driver, "dashboard")


def test_a_trigger_from_the_page_runs_the_program_and_its_state_changes(
    runner_under_load: Runner,
) -> None:
    """With the token entered, the trigger button on a program's page runs it once: the state
    the page shows goes from 0 to 1, as the runner's own does, and the page says it is done."""
    server = serve(runner_under_load, bind=":0", token=TOKEN)
    with chromium() as driver:
        driver.get(f"{server.url}programs/counter")
        _wait(driver, lambda d: _text(d, "#state") == "0", "the state 0")
        _enter_token(driver, TOKEN)
        driver.find_element(By.CSS_SELECTOR, '.actions button[data-action="trigger"]').click()
        _wait(driver, lambda d: _text(d, "#state") == "1", "the state 1")
        assert "trigger counter: done" in _text(driver, "#message")
        assert runner_under_load.get_state("counter") == 1
        _wait(
            driver,
            lambda d: _count_of(d, "#history tbody tr"),
            "the run in the history",
        )
        assert runner_under_load.info("counter").runs == 1


def test_an_action_without_the_token_is_refused(runner_under_load: Runner) -> None:
    """Without the token the server refuses the trigger (401), the page says so, and the
    program does not run; a dashboard started without a token refuses every action (403)."""
    server = serve(runner_under_load, bind=":0", token=TOKEN)
    with chromium() as driver:
        driver.get(f"{server.url}programs/counter")
        _wait(driver, lambda d: _text(d, "#state") == "0", "the state 0")
        driver.find_element(By.CSS_SELECTOR, '.actions button[data-action="trigger"]').click()
        _wait(driver, lambda d: "refused (401)" in _text(d, "#message"), "401")
        _enter_token(driver, "not-the-token")
        driver.find_element(By.CSS_SELECTOR, '.actions button[data-action="trigger"]').click()
        _wait(driver, lambda d: "refused (403)" in _text(d, "#message"), "403")
        assert runner_under_load.get_state("counter") == 0
        assert runner_under_load.info("counter").runs == 0
        server.stop()

        read_only = serve(runner_under_load, bind=":0", token="")
        assert read_only.token is None
        driver.get(f"{read_only.url}programs/counter")
        _wait(driver, lambda d: _text(d, "#state") == "0", "the state 0")
        assert driver.find_element(By.ID, "token").get_attribute("disabled") is not None
        driver.find_element(By.CSS_SELECTOR, '.actions button[data-action="trigger"]').click()
        _wait(driver, lambda d: "read-only" in _text(d, "#message"), "read-only")
        assert runner_under_load.get_state("counter") == 0


def test_a_program_page_draws_its_timeline_and_its_load_chart(runner_under_load: Runner) -> None:
    """The pool's page draws its spawns' runs as an SVG timeline, the LoadMonitor's spawn
    count and load as an SVG chart, and lists its next fire times and spawns."""
    server = serve(runner_under_load, bind=":0", token=TOKEN)
    with chromium() as driver:
        driver.get(f"{server.url}programs/pool")
        _wait(
            driver,
            lambda d: _count_of(d, "#timeline svg rect[data-status]"),
            "the timeline's bars",
        )
        _wait(
            driver,
            lambda d: _count_of(d, "#spawns tbody tr") >= 2,
            "the pool grown by its monitor",
        )
        points = (
            "const line = document.querySelector('#chart svg polyline.spawns');"
            "return line ? line.getAttribute('points').split(' ').length : 0"
        )
        _wait(driver, lambda d: d.execute_script(points) >= 3, "the load chart")
        assert _count_of(driver, "#next-fires li") == 5
        screenshot(driver, "program")


def test_ten_thousand_programs_stay_responsive() -> None:
    """With 10,000 programs the server sends one page of 50 rows: the first page, a sort, the
    next page and a tag filter each show within the wait, measured here and saved beside the
    screenshots (build/test-artifacts/web/responsiveness.json)."""
    runner = Runner(id="big")
    try:
        runner.install_many(
            [
                Program(
                    id=f"job-{number:05d}",
                    main_fn=count,
                    schedule=manual(),
                    tags=("even",) if number % 2 == 0 else ("odd",),
                )
                for number in range(10_000)
            ]
        )
        server = serve(runner, bind=":0", token=TOKEN)
        timings: dict[str, float] = {}
        with chromium() as driver:

            def timed(name: str, condition: Any) -> None:
                started = time.perf_counter()
                _wait(driver, condition, name)
                timings[name] = round(time.perf_counter() - started, 3)

            started = time.perf_counter()
            driver.get(server.url)
            _wait(driver, lambda d: _count_of(d, "#programs tbody tr"), "rows")
            timings["first page"] = round(time.perf_counter() - started, 3)
            assert _text(driver, "#total") == "(10000)"
            assert _count_of(driver, "#programs tbody tr") == 50

            driver.find_element(By.CSS_SELECTOR, '#programs th[data-sort="id"]').click()
            timed("sort by id, descending", lambda d: _first_row(d) == "job-09999")
            driver.find_element(By.ID, "next").click()
            timed("next page", lambda d: _first_row(d) == "job-09949")
            assert _text(driver, "#pageinfo") == "page 2 of 200"
            Select(driver.find_element(By.ID, "tag")).select_by_value("odd")
            timed("filter by tag", lambda d: _text(d, "#total") == "(5000)")
            assert _first_row(driver) == "job-09999"
            screenshot(driver, "ten-thousand")
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        (ARTEFACTS / "responsiveness.json").write_text(json.dumps(timings, indent=2))
        print(f"10,000 programs: {timings}")
        assert all(seconds < WAIT for seconds in timings.values())
    finally:
        runner.stop()


def _first_row(driver: Any) -> str | None:
    first = "const row = document.querySelector('#programs tbody tr'); return row && row.dataset.id"
    return driver.execute_script(first)  # type: ignore[no-any-return]
