"""What a dashboard's visitor may ask for, validated before anything reaches a runner.

`ProgramQuery` is a page of the programs table (sorted, filtered, paged on the server, so a
browser never holds 10,000 rows); `Action` is one of the buttons (trigger, pause, resume,
spawn, unspawn, kill a spawn), which `Action.message` turns into the very request a `Runner`
sends for it. Both are built from what the visitor sent with `from_params`, and refuse bad
input with a `ValueError` that names the field and the value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from actors.program import Policy
from actors.snapshots import ProgramInfo
from actors.tree import messages as m
from actors.validation import (
    check_non_empty_str,
    choices,
    integer,
    non_empty_str,
    one_of,
)

__all__ = [
    "ACTIONS",
    "SORT_KEYS",
    "Action",
    "ActionKind",
    "ProgramPage",
    "ProgramQuery",
    "program_id_of",
]

ActionKind = Literal["trigger", "pause", "resume", "spawn", "unspawn", "kill"]

#: The actions a dashboard offers, by the name in their URL.
ACTIONS: tuple[str, ...] = choices(ActionKind)

#: The longest text a visitor may send for an id, a tag or a search.
MAX_TEXT = 500

#: The most spawns one action may start or stop.
MAX_SPAWNS = 1000

#: The most rows one page of the programs table may have.
MAX_PAGE_SIZE = 500


def _last_run(info: ProgramInfo) -> Any:
    return (info.last_run is not None, info.last_run and info.last_run.timestamp())


def _next_run(info: ProgramInfo) -> Any:
    return (info.next_run is None, info.next_run and info.next_run.timestamp())


#: The columns the programs table sorts by, and the key of each (ties go by id).
SORT_KEYS: dict[str, Callable[[ProgramInfo], Any]] = {
    "id": lambda info: info.id,
    "status": lambda info: info.status,
    "schedule": lambda info: info.schedule,
    "spawns": lambda info: info.spawns,
    "runs": lambda info: info.runs,
    "failed": lambda info: info.failed,
    "missed": lambda info: info.missed,
    "last_run": _last_run,
    "next_run": _next_run,
    "owner": lambda info: info.owner or "",
}


def _short_text(field: str, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
        msg = f"{field} must be a text of at most {MAX_TEXT} characters, got {value!r:.80}"
        raise ValueError(msg)


def _text(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _short_text(attribute.name, value)


def _int_param(params: Mapping[str, Any], name: str, default: int) -> Any:
    """An int parameter as sent (a query string's text is converted), else `default`."""
    value = params.get(name, default)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            msg = f"{name} must be an int, got {value!r:.80}"
            raise ValueError(msg) from None
    return value


@attrs.frozen(kw_only=True)
class ProgramPage:
    """One page of the programs table, and where it lies among all the programs."""

    rows: list[ProgramInfo]
    total: int  # programs that pass the filter
    page: int
    pages: int
    size: int
    tags: list[str]  # every tag of every program, for the filter's choices


@attrs.frozen(kw_only=True)
class ProgramQuery:
    """A page of the programs table: filtered by `tag` and `search` (a piece of the id or
    name), sorted by `sort` (`SORT_KEYS`) in `order`, `size` rows from page `page` (from 1)."""

    page: int = attrs.field(default=1, validator=integer(at_least=1, error=ValueError))
    size: int = attrs.field(
        default=50, validator=integer(at_least=1, at_most=MAX_PAGE_SIZE, error=ValueError)
    )
    sort: str = attrs.field(default="id", validator=one_of(tuple(SORT_KEYS), error=ValueError))
    order: Literal["asc", "desc"] = attrs.field(
        default="asc", validator=one_of(("asc", "desc"), error=ValueError)
    )
    tag: str | None = attrs.field(default=None, validator=_text)
    search: str | None = attrs.field(default=None, validator=_text)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ProgramQuery:
        """The query a URL's parameters ask for (missing ones take their defaults)."""
        unknown = set(params) - {"page", "size", "sort", "order", "tag", "search"}
        if unknown:
            msg = f"unknown parameter {sorted(unknown)[0]!r}: page, size, sort, order, tag, search"
            raise ValueError(msg)
        return cls(
            page=_int_param(params, "page", 1),
            size=_int_param(params, "size", 50),
            sort=params.get("sort", "id"),
            order=params.get("order", "asc"),
            tag=params.get("tag") or None,
            search=params.get("search") or None,
        )

    def apply(self, programs: list[ProgramInfo]) -> ProgramPage:
        """This page of `programs`: filtered, sorted, cut."""
        tags = sorted({tag for info in programs for tag in info.tags})
        kept = programs
        if self.tag is not None:
            kept = [info for info in kept if self.tag in info.tags]
        if self.search is not None:
            needle = self.search.casefold()
            kept = [
                info
                for info in kept
                if needle in info.id.casefold() or needle in info.name.casefold()
            ]
        key = SORT_KEYS[self.sort]
        kept = sorted(kept, key=lambda info: info.id)  # ties in id order, whatever the order
        kept.sort(key=key, reverse=self.order == "desc")
        pages = max(1, -(-len(kept) // self.size))
        page = min(self.page, pages)
        start = (page - 1) * self.size
        return ProgramPage(
            rows=kept[start : start + self.size],
            total=len(kept),
            page=page,
            pages=pages,
            size=self.size,
            tags=tags,
        )


def program_id_of(value: str) -> str:
    """A program id from a URL, checked as an action's is (`ValueError` if it is not one)."""
    check_non_empty_str("program_id", value, error=ValueError)
    _short_text("program_id", value)
    return value


def _spawn_id(instance: Action, attribute: attrs.Attribute[Any], value: Any) -> None:
    _short_text(attribute.name, value)
    if (instance.kind == "kill") != (value is not None):
        msg = f"spawn_id is needed to kill a spawn and nothing else, got {value!r:.80}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class Action:
    """One action on one program, as a visitor asked for it.

    `n` (spawn, unspawn: how many) and `policy` (unspawn: which go) are what
    `Runner.spawn` and `Runner.unspawn` take; `spawn_id` names the spawn a `kill` stops.
    """

    kind: ActionKind = attrs.field(validator=one_of(ActionKind, error=ValueError))
    program_id: str = attrs.field(validator=[non_empty_str(error=ValueError), _text])
    n: int = attrs.field(
        default=1, validator=integer(at_least=1, at_most=MAX_SPAWNS, error=ValueError)
    )
    policy: Policy | None = attrs.field(default=None)
    spawn_id: str | None = attrs.field(default=None, validator=_spawn_id)

    @policy.validator
    def _policy(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            one_of(Policy, error=ValueError)(self, attribute, value)

    @classmethod
    def from_params(
        cls, kind: str, program_id: str, body: Any, spawn_id: str | None = None
    ) -> Action:
        """The action a POST asks for: `body` is its JSON (`{"n": 2}`), or `None`."""
        if kind not in ACTIONS:
            msg = f"there is no action {kind!r}: the actions are {', '.join(ACTIONS)}"
            raise ValueError(msg)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            msg = f'the body must be a JSON object such as {{"n": 1}}, got {body!r:.80}'
            raise ValueError(msg)
        allowed = {"spawn": {"n"}, "unspawn": {"n", "policy"}}.get(kind, set())
        unknown = set(body) - allowed
        if unknown:
            takes = ", ".join(sorted(allowed)) or "nothing"
            msg = f"{kind} takes {takes} in its body, got {sorted(unknown)[0]!r:.80}"
            raise ValueError(msg)
        return cls(
            kind=kind,  # type: ignore[arg-type] # checked by its validator
            program_id=program_id,
            n=body.get("n", 1),
            policy=body.get("policy"),
            spawn_id=spawn_id,
        )

    def message(self) -> m.ProgramRequest | m.Pause | m.Resume:
        """The request a `Runner` sends for this action."""
        program_id = self.program_id
        match self.kind:
            case "trigger":
                return m.Trigger(program_id=program_id)
            case "pause":
                return m.Pause(program_id=program_id)
            case "resume":
                return m.Resume(program_id=program_id)
            case "spawn":
                return m.Spawn(program_id=program_id, n=self.n)
            case "unspawn":
                return m.Unspawn(program_id=program_id, n=self.n, policy=self.policy)
        assert self.spawn_id is not None  # a kill: checked at construction
        return m.KillSpawn(program_id=program_id, spawn_id=self.spawn_id)
