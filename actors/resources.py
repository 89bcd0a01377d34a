"""`Program(resources=...)`: what each Ray spawn of a program asks of the cluster.

The keys are Ray's actor options of the same names: `num_cpus` (1 unless given), `num_gpus`,
`memory` (bytes), `resources` (custom resources, `{"name": amount}`), `accelerator_type` and
`runtime_env` (a dict: `pip`, `env_vars`, `working_dir`, ...). Each is checked when the
program is made, so a typo fails where it is written rather than when Ray places the actor.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from actors.errors import InvalidProgram
from actors.runtime import RAY_NODE_RESOURCES

__all__ = ["RESOURCE_KEYS", "check_resources", "ray_installed"]

#: Ray's own resources, which `resources["resources"]` may not name: Ray refuses them there
#: (they have options of their own), and would only say so when the actor is made.
_BUILT_IN = {resource: option for option, resource in RAY_NODE_RESOURCES.items()}
_BUILT_IN_TOO = ("object_store_memory",)

#: The options `resources` may hold, with what each must be.
RESOURCE_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "num_cpus": "a number >= 0",
        "num_gpus": "a number >= 0",
        "memory": "a number of bytes >= 0",
        "resources": "a dict of custom resource names to amounts >= 0",
        "accelerator_type": "a non-empty str",
        "runtime_env": "a dict",
    }
)


def _is_amount(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _valid(key: str, value: Any) -> bool:
    if key in ("num_cpus", "num_gpus", "memory"):
        return _is_amount(value)
    if key == "resources":
        return isinstance(value, Mapping) and all(
            isinstance(name, str) and name and _is_amount(amount) for name, amount in value.items()
        )
    if key == "accelerator_type":
        return isinstance(value, str) and bool(value)
    return isinstance(value, Mapping)  # runtime_env: Ray checks its contents


def check_resources(value: Any) -> Mapping[str, Any]:
    """`value` as a read-only mapping, once every key and value is one Ray takes.

    Raises:
        InvalidProgram: not a dict, an unknown key, or a value of the wrong kind; the message
            names the key and the value.
    """
    if not isinstance(value, Mapping):
        msg = f"resources must be a dict of Ray actor options, got {value!r}"
        raise InvalidProgram(msg)
    for key, item in value.items():
        if key not in RESOURCE_KEYS:
            known = ", ".join(RESOURCE_KEYS)
            msg = f"resources has an unknown key {key!r} (known: {known})"
            raise InvalidProgram(msg)
        if not _valid(key, item):
            msg = f"resources[{key!r}] must be {RESOURCE_KEYS[key]}, got {item!r}"
            raise InvalidProgram(msg)
        if key == "resources":
            _check_custom(item)
    return MappingProxyType(dict(value)) if value else _NONE


#: What every program without resources shares (a program with none is the usual one).
_NONE: Mapping[str, Any] = MappingProxyType({})


def _check_custom(custom: Mapping[str, Any]) -> None:
    for name in custom:
        if name in _BUILT_IN:
            msg = (
                f"resources['resources'] may not name Ray's own resource {name!r}: give it as "
                f"resources[{_BUILT_IN[name]!r}]"
            )
            raise InvalidProgram(msg)
        if name in _BUILT_IN_TOO:
            msg = f"resources['resources'] may not name Ray's own resource {name!r}"
            raise InvalidProgram(msg)


def ray_installed() -> bool:
    """Whether `ray` can be imported here (without importing it: that takes a second)."""
    return importlib.util.find_spec("ray") is not None
