"""The checks a PostgreSQL store passes before a runner uses it.

Our tables share a database with others (every name starts `actors_`): a database with none of
ours is a new store. One with some of ours but no `actors_meta`, or one missing a table, is
damaged; one of a newer schema, or kept with another serializer, is refused. Each error is a
`StoreError` naming the store and saying what to do.
"""

from __future__ import annotations

from typing import Any

from actors.errors import StoreError
from actors.store import schema

__all__ = ["inspect"]


def inspect(conn: Any, name: str, *, serializer: str, migrating: bool = False) -> int | None:
    """The schema version of the store on `conn` (named `name` in messages), or `None` if it
    has none of our tables.

    Raises:
        StoreError: damaged, newer than this code, older and not `migrating`, or kept with
            another serializer than `serializer`.
    """
    names = [
        table
        for (table,) in conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name LIKE 'actors\\_%%'"
        )
    ]
    if not names:
        return None
    if "actors_meta" not in names:
        msg = (
            f"{name} is damaged: it has {', '.join(sorted(names))} but no actors_meta "
            "table: restore it from a backup, or drop the actors_ tables to start afresh"
        )
        raise StoreError(msg)
    meta = dict(conn.execute("SELECT key, value FROM actors_meta").fetchall())
    version = schema.check_meta(meta, store=name, serializer=serializer, migrating=migrating)
    missing = schema.missing_tables(names)
    if version == schema.SCHEMA_VERSION and missing:
        msg = (
            f"{name} is damaged: it has no {', '.join(missing)} table: restore it "
            "from a backup, or drop the actors_ tables to start afresh"
        )
        raise StoreError(msg)
    return version
