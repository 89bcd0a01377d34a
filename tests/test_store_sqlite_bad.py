"""Bad stores: each gets a StoreError naming the file and what to do, and none is written.

"Never written" is checked on the bytes of the file, and on the files beside it: a file that
is not an actors store gets no `-wal` or `-shm` file either. The permission cases
run the open in a second process (`tests/store_child.py open`), which drops to nobody when
the tests run as root, as root ignores permission bits.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.errors import StoreError
from actors.store import SQLiteStore
from actors.store.schema import SCHEMA_VERSION
from tests.store_helpers import CHILD, install

NOBODY = 65534


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "actors.db"


def make_store(path: Path, **options: object) -> None:
    """A closed actors store at `path`, holding one program."""
    store = SQLiteStore(path, **options)  # type: ignore[arg-type]
    store.open("maker")
    store.write([install("kept")])
    store.close()


def refused(path: Path, **options: object) -> str:
    """The message of the StoreError that opening `path` raises."""
    store = SQLiteStore(path, **options)  # type: ignore[arg-type]
    with pytest.raises(StoreError) as caught:
        store.open("runner-1")
    return str(caught.value)


def beside(path: Path) -> list[str]:
    """The names of the files in `path`'s directory."""
    return sorted(p.name for p in path.parent.iterdir())


def test_a_text_file_is_refused_and_untouched(path: Path) -> None:
    """A file that is not SQLite is not an actors store: open and load refuse it, naming
    the file, and neither the file nor its directory changes."""
    path.write_text("name,value\nx,1\n")
    message = refused(path)
    assert message == (
        f"store {path} is not an actors store: it is not an SQLite database (it begins "
        "b'name,value\\nx,1\\n'): give another path; actors does not write to it"
    )
    with pytest.raises(StoreError, match="not an SQLite database"):
        SQLiteStore(path).load()
    assert path.read_text() == "name,value\nx,1\n"
    assert beside(path) == ["actors.db"]


def test_an_sqlite_database_of_something_else_is_never_written(path: Path) -> None:
    """An SQLite file with tables but no actors_meta is refused, naming its tables, and
    is left byte for byte as it was, with no file made beside it."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO users (name) VALUES ('ada')")
    conn.close()
    before = path.read_bytes()
    message = refused(path)
    assert message.startswith(f"store {path} is not an actors store: it is an SQLite database")
    assert "(it has users)" in message
    assert path.read_bytes() == before
    assert beside(path) == ["actors.db"]


def test_an_actors_meta_without_the_marker_is_not_an_actors_store(path: Path) -> None:
    """A database with an actors_meta table that does not say application = 'actors' is
    someone else's, and is refused unchanged."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE actors_meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO actors_meta VALUES ('application', 'theatre')")
    conn.close()
    before = path.read_bytes()
    assert "is not an actors store (its actors_meta table has no application" in refused(path)
    assert path.read_bytes() == before


def test_a_store_of_a_newer_schema_is_refused_naming_both_versions(path: Path) -> None:
    """A store written by a newer schema is refused with both versions and what to do, and
    its file is not written."""
    make_store(path)
    newer = SCHEMA_VERSION + 1
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE actors_meta SET value = ? WHERE key = 'schema_version'", (newer,))
    conn.close()
    before = path.read_bytes()
    assert refused(path) == (
        f"store {path} has schema version {newer}, this actors understands up to "
        f"{SCHEMA_VERSION}: upgrade actors (the store was written by a newer version)"
    )
    with pytest.raises(StoreError, match=f"schema version {newer}"):
        SQLiteStore(path).load()
    assert path.read_bytes() == before


def test_a_damaged_store_is_refused(path: Path) -> None:
    """A store whose version is not a number, or that lacks a table, is damaged."""
    make_store(path)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE actors_runs")
    conn.close()
    assert "is damaged: it has no actors_runs table" in refused(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE actors_meta SET value = 'one' WHERE key = 'schema_version'")
    conn.close()
    assert "is damaged: its schema version is 'one', not a number" in refused(path)


def test_a_corrupt_file_is_refused_and_untouched(path: Path) -> None:
    """A valid SQLite header followed by garbage is a corrupt store: refused, naming the file
    and what to do, and not written."""
    make_store(path)
    size = path.stat().st_size
    garbage = random.Random(7).randbytes(size - 100)
    path.write_bytes(path.read_bytes()[:100] + garbage)
    before = path.read_bytes()
    message = refused(path)
    assert message.startswith(f"store {path} cannot be opened (")
    assert "corrupt" in message
    assert "restore it from a backup" in message
    assert path.read_bytes() == before


def test_an_empty_file_is_a_new_store(path: Path) -> None:
    """A 0-byte file is a new database to SQLite: it becomes a store."""
    path.touch()
    store = SQLiteStore(path)
    store.open("runner-1")
    try:
        assert store.load() == []
        assert store.write([install()]) == ["ok"]
    finally:
        store.close()
    assert path.stat().st_size > 0


def test_a_missing_directory_is_refused_and_not_made(tmp_path: Path) -> None:
    """A store in a directory that does not exist is refused, saying how to make it; the
    directory is not made."""
    path = tmp_path / "no" / "such" / "actors.db"
    assert refused(path) == (
        f"store {path} cannot be opened: its directory {path.parent} does not exist: create it "
        f"(mkdir -p {path.parent}), or give another store path"
    )
    assert not (tmp_path / "no").exists()


def test_a_directory_is_not_a_store(tmp_path: Path) -> None:
    """A path naming a directory is refused, suggesting a file in it."""
    assert refused(tmp_path) == (
        f"store {tmp_path} is a directory: give the path of a file, such as "
        f"{tmp_path / 'actors.db'}"
    )


def test_a_store_kept_with_another_serializer_is_refused(path: Path) -> None:
    """A store made with JSON states is not opened with pickle (nor the other way), so that
    no state is read by the wrong serializer."""
    make_store(path)
    assert refused(path, serializer="pickle") == (
        f"store {path} keeps states as 'json', and was opened with serializer 'pickle': open "
        "it with serializer='json'"
    )


# --- permissions: in a second process, as nobody if the tests run as root -------------------


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory a child process dropped to nobody can reach (pytest's tmp_path is under a
    directory private to the user running the tests)."""
    path = Path(tempfile.mkdtemp(prefix="actors-store-test-"))
    path.chmod(0o755)
    yield path
    for each in [path, *path.rglob("*")]:
        if each.is_dir():
            each.chmod(0o755)  # a read-only directory could not be emptied
    shutil.rmtree(path)


def open_in_child(path: Path) -> str:
    """What `store_child.py open` prints for `path`: `opened` or `StoreError: ...`."""
    done = subprocess.run(
        [sys.executable, str(CHILD), "open", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def give_to_child(*paths: Path) -> None:
    """Make `paths` the child's own: when the tests run as root, the child runs as nobody."""
    if os.getuid() == 0:
        for each in paths:
            os.chown(each, NOBODY, NOBODY)


def test_a_read_only_directory_is_refused(shared_dir: Path) -> None:
    """A store in a directory the runner cannot write is refused, saying why (the files a
    store keeps beside it) and what to do; nothing is created there; the same directory made
    writable works."""
    directory = shared_dir / "ro"
    directory.mkdir()
    give_to_child(directory)
    directory.chmod(0o555)
    path = directory / "actors.db"
    assert open_in_child(path) == (
        f"StoreError: store {path} cannot be opened: its directory {directory} is read-only (a "
        "store keeps actors.db-wal and -shm files beside it): make it writable, or give "
        "another store path"
    )
    assert list(directory.iterdir()) == []
    directory.chmod(0o755)
    assert open_in_child(path) == "opened"


def test_a_read_only_file_is_refused_and_untouched(shared_dir: Path) -> None:
    """A store file the runner cannot write is refused, saying how to make it writable, and
    is left as it was."""
    directory = shared_dir / "rw"
    directory.mkdir()
    path = directory / "actors.db"
    make_store(path)
    give_to_child(directory, *directory.iterdir())
    path.chmod(0o444)
    before = path.read_bytes()
    assert open_in_child(path) == (
        f"StoreError: store {path} is read-only: make it writable (chmod u+w {path}), or give "
        "another store path"
    )
    assert path.read_bytes() == before
