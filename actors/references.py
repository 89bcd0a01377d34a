"""Callables by reference: `"package.module:qualname"` text, and back.

A store keeps a program's functions as references, so that a runner opening the store can import
them again and restore the program without any code installing it. `reference_of(fn)` gives the
reference of a callable that importing it back yields *the very same object*, and `None` for any
other (a lambda, a closure, a bound method, a `functools.partial`, a function of `__main__`):
storing those would restore something else, or nothing. `resolve_reference(text, field=...)`
imports a reference, with an `InvalidProgram` naming the field and the reference when it cannot.
`resolve_if_reference` is the converter of a field that takes a callable or a reference.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

import attrs

from actors.errors import InvalidProgram

__all__ = ["Resolved", "reference_of", "resolve_if_reference", "resolve_reference"]

#: Module names that are a *different* module in every process: `python script.py` runs the
#: script as `__main__` (and multiprocessing's children re-run it as `__mp_main__`), so a
#: reference into one would import some other program's code, or nothing, after a restart.
_PROCESS_LOCAL_MODULES = frozenset({"__main__", "__mp_main__"})

_FORM = "'package.module:function' (a module path, a colon, a name; 'module:Class.method' too)"


def _dotted(text: str) -> bool:
    """Whether `text` is dotted Python identifiers: `a`, `a.b.c` (no `<locals>`, no `..`)."""
    return all(part.isidentifier() for part in text.split("."))


def _walk(owner: Any, qualname: str) -> Any:
    """`owner.a.b.c` for `qualname` `"a.b.c"` (raises `AttributeError` on a missing part)."""
    found = owner
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def reference_of(fn: Any) -> str | None:
    """The `"package.module:qualname"` that imports back as `fn` itself, or `None`.

    A reference is given only when the module `fn.__module__` names is imported under that name
    (in `sys.modules`, with an import spec of that name: not `__main__`, not a file run with
    `runpy` as `__actors__`) and walking `fn.__qualname__` from it yields `fn` itself (`is`).
    So a module-level function, a class, a static method (`Class.method`), a builtin and a
    module-level decorated function have one; a lambda, a closure or nested function, a bound
    method, a `functools.partial`, a callable instance and anything that would come back as
    another object have none. Nothing is imported: a module that is not already imported
    could only give back a new object. Never raises.

    Args:
        fn: any object; a callable is what has a reference.

    Returns:
        The reference, or `None` when `fn` cannot be imported back identical.
    """
    try:
        module_name = getattr(fn, "__module__", None)
        qualname = getattr(fn, "__qualname__", None)
        if not callable(fn) or not isinstance(module_name, str) or not isinstance(qualname, str):
            return None
        if module_name in _PROCESS_LOCAL_MODULES or not _dotted(module_name):
            return None
        if not _dotted(qualname):  # `<lambda>`, `f.<locals>.g`: no attribute has that name
            return None
        module = sys.modules.get(module_name)
        spec = getattr(module, "__spec__", None)
        # A module run from a file (runpy, `exec`) has no spec, or one under another name: its
        # name imports nothing, or something else, in the next process.
        if module is None or spec is None or getattr(spec, "name", None) != module_name:
            return None
        if _walk(module, qualname) is not fn:
            return None
    except Exception:  # noqa: BLE001 - an odd attribute (a property, __getattr__) means "no"
        return None
    return f"{module_name}:{qualname}"


def resolve_reference(text: Any, *, field: str) -> Callable[..., Any]:
    """Import the callable a `"package.module:qualname"` reference names.

    The qualname may be dotted (`"package.module:Class.method"`). The module is imported (which
    runs its code, as any import does).

    Args:
        text: the reference.
        field: the name the error messages give (`"main_fn"`).

    Returns:
        The object the reference names.

    Raises:
        InvalidProgram: naming `field` and the reference, when the text is not a reference, the
            module does not import (the import error is in the message), it has no such
            attribute, or what it names is not callable.
    """
    if not isinstance(text, str) or text.count(":") != 1:
        msg = f"{field} must be callable or a reference {_FORM}, got {text!r}"
        raise InvalidProgram(msg)
    module_name, _, qualname = text.partition(":")
    if not (module_name and qualname and _dotted(module_name) and _dotted(qualname)):
        msg = f"{field} must be callable or a reference {_FORM}, got {text!r}"
        raise InvalidProgram(msg)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # any error the module raises on import, re-raised as ours
        detail = " ".join(str(error).split())
        msg = (
            f"{field}: reference {text!r}: cannot import module {module_name!r}: "
            f"{type(error).__name__}: {detail}"
        )
        raise InvalidProgram(msg) from error
    found: Any = module
    walked: list[str] = []
    for part in qualname.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            owner = ".".join([module_name, *walked])
            msg = f"{field}: reference {text!r}: {owner!r} has no attribute {part!r}"
            raise InvalidProgram(msg) from None
        except Exception as error:  # a property or a __getattr__ that raised
            msg = f"{field}: reference {text!r}: reading {part!r} raised {error!r}"
            raise InvalidProgram(msg) from error
        walked.append(part)
    if not callable(found):
        msg = f"{field}: reference {text!r} names {found!r}, which is not callable"
        raise InvalidProgram(msg)
    result: Callable[..., Any] = found
    return result


@attrs.frozen
class Resolved:
    """A callable imported from a reference, with the reference's text.

    What `resolve_if_reference` gives an attrs class for a field given as a reference: an
    attrs converter sees the value only, so the class keeps the text (and leaves `function` in
    the field) in its `__attrs_post_init__`. Callable, so the field's validator takes it.

    Attributes:
        text: the reference, as given (`"package.module:function"`).
        function: what it imported.
    """

    text: str
    function: Callable[..., Any]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)


def resolve_if_reference(value: Any, *, field: str) -> Any:
    """A field's value that may be a reference: a str is imported now, as a `Resolved`;
    anything else is returned as it is, for the field's validator to judge.

    Raises:
        InvalidProgram: a str that `resolve_reference` refuses (naming `field` and the text).
    """
    if isinstance(value, str):
        return Resolved(value, resolve_reference(value, field=field))
    return value
