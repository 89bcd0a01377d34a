"""A throwaway PostgreSQL server for the tests: `initdb` and `pg_ctl` in a temporary directory,
on a free loopback port, run as the `postgres` user when the tests run as root (PostgreSQL
refuses root), stopped and removed after."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["create_database", "postgres_binaries", "throwaway_postgres"]


def postgres_binaries() -> Path | None:
    """The directory holding `initdb` and `pg_ctl`, or `None` if this machine has none."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    # Debian's postgresql package keeps them out of PATH, one folder per major version.
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    pwd.getpwnam("postgres")  # KeyError: no such user to run the server as
    return ["runuser", "-u", "postgres", "--", *command]


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a server; yield the URL of its `postgres` database; stop it and remove it.

    Raises:
        RuntimeError: the binaries are missing, or the server did not start (with its log).
    """
    binaries = postgres_binaries()
    if binaries is None:
        msg = "PostgreSQL's initdb and pg_ctl are not on this machine (apt install postgresql)"
        raise RuntimeError(msg)
    folder = Path(tempfile.mkdtemp(prefix="actors-pg-"))
    data, log = folder / "data", folder / "server.log"
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    run: dict[str, Any] = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    try:
        initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "actors", "--auth=trust"]
        subprocess.run(_as_server_user([*initdb, "--no-sync", "-E", "UTF8"]), **run)
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off "
            "-c max_connections=50"
        )
        pg_ctl = [str(binaries / "pg_ctl"), "-D", str(data)]
        started = subprocess.run(
            _as_server_user([*pg_ctl, "-l", str(log), "-o", options, "-w", "-t", "60", "start"]),
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if started.returncode != 0:
            text = log.read_text() if log.exists() else started.stderr
            msg = f"PostgreSQL did not start: {text[-2000:]}"
            raise RuntimeError(msg)
        try:
            yield f"postgresql://actors@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                _as_server_user([*pg_ctl, "-m", "immediate", "-w", "stop"]),
                check=False,
                capture_output=True,
                timeout=120,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """Create the empty database `name` on the server of `server_url`; its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name
