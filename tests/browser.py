"""Headless Chromium for the dashboard's tests: Debian's `chromium` and `chromium-driver`,
driven by selenium.

`.ci/run` installs both when they are missing (it runs as root) and sets
`ACTORS_REQUIRE_BROWSER=1`, so in CI these tests always run: a missing browser fails them. On
a machine without them they skip, saying what to install.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

#: Where the tests save their screenshots (docs/web.md shows copies of them).
ARTEFACTS = Path(__file__).resolve().parent.parent / "build" / "test-artifacts" / "web"

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")

#: What Chromium needs to start headless, as root, on a machine with no network beyond itself.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


def _first(paths: tuple[str, ...], name: str) -> str | None:
    found = [path for path in paths if Path(path).exists()]
    return found[0] if found else shutil.which(name)


def browser_paths() -> tuple[str, str]:
    """Chromium's and ChromeDriver's paths; skips the test (fails it in CI) without them."""
    chromium, driver = _first(CHROMIUM, "chromium"), _first(CHROMEDRIVER, "chromedriver")
    if chromium is None or driver is None:
        missing = " and ".join(
            name for name, path in (("chromium", chromium), ("chromium-driver", driver)) if not path
        )
        why = f"no {missing} on this machine (Debian: apt install chromium chromium-driver)"
        if os.environ.get("ACTORS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ACTORS_REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)
    return chromium, driver


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium session (a selenium WebDriver), quit afterwards."""
    binary, driver_path = browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    profile = tempfile.mkdtemp(prefix="actors-chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver: Any, name: str) -> Path:
    """Save the page as `ARTEFACTS/name.png`; its path."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(max(int(height), 600), 4000))  # the whole page
    assert driver.save_screenshot(str(path)), f"no screenshot saved at {path}"
    return path
