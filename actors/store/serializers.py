"""Serializers: how a program's state becomes bytes in a store, and back.

JSON by default: readable in the store, portable between versions of your code; a state must
be made of dicts (str keys), lists, str, numbers, bools and None, and comes back that way
(a tuple comes back a list). Pickle is the opt-in for states JSON cannot hold, at pickle's
usual cost: only load a store you trust.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

from actors.store.abc import Serializer

__all__ = ["JsonSerializer", "PickleSerializer", "serializer_named", "serializer_of"]


class JsonSerializer:
    """States as JSON text (UTF-8)."""

    name = "json"

    def dumps(self, value: Any) -> bytes:
        # allow_nan=False: NaN is not JSON, and another reader would refuse it.
        return json.dumps(value, allow_nan=False, separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


class PickleSerializer:
    """States as pickles (any picklable value; only for stores you trust)."""

    name = "pickle"

    def dumps(self, value: Any) -> bytes:
        try:
            return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, AttributeError) as error:
            raise TypeError(str(error)) from error

    def loads(self, data: bytes) -> Any:
        return pickle.loads(data)


def serializer_of(serializer: str | Serializer) -> Serializer:
    """The serializer `serializer` names, or `serializer` itself if it is one.

    Raises:
        ValueError: an unknown name.
        TypeError: neither a name nor a `Serializer`.
    """
    if isinstance(serializer, str):
        return serializer_named(serializer)
    if all(hasattr(serializer, name) for name in ("name", "dumps", "loads")):
        return serializer
    msg = f"serializer must be 'json', 'pickle' or a Serializer, got {serializer!r}"
    raise TypeError(msg)


def serializer_named(name: str) -> Serializer:
    """The serializer called `name` (`"json"` or `"pickle"`).

    Raises:
        ValueError: another name.
    """
    if name == "json":
        return JsonSerializer()
    if name == "pickle":
        return PickleSerializer()
    msg = f"serializer must be 'json' or 'pickle', got {name!r}"
    raise ValueError(msg)
