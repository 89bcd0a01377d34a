"""The package's layers and size rules, read from the source with `ast`.

`actors` is built in layers: the kernel, then the specs and values, then the actor tree, then
the facade. A module may import from its own layer and the layers below it, never above, so the
kernel can be read, tested and changed without the scheduler around it. Every module must be
placed in a layer on purpose: a new module fails `test_every_module_has_a_layer` until it is.

The size rules keep the restructure from growing back: no module over `MAX_MODULE_LINES`
lines, no class with more than `MAX_CLASS_METHODS` methods, but for the named exceptions.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

#: The layers, lowest first. A pattern is a dotted module name, or `name.*` for every module
#: inside the package `name`; a package's `__init__` is the package's own name. A module may
#: import any module of its own layer or of a lower one.
LAYERS: dict[int, tuple[str, ...]] = {
    # 0, the kernel: actors on shared threads, mailboxes, worker threads, reply futures, the
    # activity books. The only place touching pykka's internals; knows nothing of scheduling.
    0: ("actors.runtime", "actors.runtime.*"),
    # 1, the specs and values: what users write (programs, schedules, autoscaling specs), what
    # they read back (snapshots, events, timelines), errors and clocks. Plain data and rules,
    # no actors of their own (clocks drive the kernel's threads, so they may use it). The
    # stores are here too: where programs are kept, written by a thread of their own.
    1: (
        "actors.errors",
        "actors.program",
        "actors.policies",
        "actors.schedules",
        "actors.schedules.*",
        "actors.clock",
        "actors.snapshots",
        "actors.events",
        "actors.autoscaling",
        "actors.timeline",
        "actors.validation",
        "actors.references",
        "actors.resources",
        "actors.store",
        "actors.store.*",
    ),
    # 2, the actor tree: supervisor, programs, spawns, timers, monitors, events actor, and the
    # messages between them. Built from the kernel and the specs.
    2: ("actors.tree", "actors.tree.*"),
    # 3, the facade: what a user imports and calls (the Runner, handles, waiting, the CLI, the
    # package `actors` itself and its `__main__`). May use anything.
    3: (
        "actors",
        "actors.__main__",
        "actors.runner",
        "actors.installing",
        "actors.handles",
        "actors.system",
        "actors.membership",
        "actors.forwarding",
        "actors.chains",
        "actors.runner_views",
        "actors.waiting",
        "actors.cli",
        "actors.cli.*",
        "actors._tracebacks",
        # The dashboard: a Starlette app over a runner or a store, served by uvicorn.
        "actors.web",
        "actors.web.*",
    ),
}

#: Lines a module may have.
MAX_MODULE_LINES = 450

#: Methods (every `def` in the class body, properties included) a class may have.
MAX_CLASS_METHODS = 25

#: Modules allowed over `MAX_MODULE_LINES` for good: a cron parser with its day-of-week,
#: day-of-month and DST rules reads best in one place.
LONG_BY_NATURE = frozenset({"actors/schedules/_cron.py"})

#: Modules still over `MAX_MODULE_LINES` while the restructure is under way. The lead empties
#: this set as each one is split; `test_not_yet_split_lists_only_long_modules` says when an
#: entry can go. Patterns as for `fnmatch`, paths relative to the repository root.
NOT_YET_SPLIT: frozenset[str] = frozenset()

#: Classes allowed over `MAX_CLASS_METHODS`: the public API has that many calls by contract.
FACADES = frozenset({"actors.runner.Runner"})

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "actors"


# --- reading the source ----------------------------------------------------------------------


def module_name(path: Path) -> str:
    """`actors/tree/supervisor.py` -> `actors.tree.supervisor`; a package's `__init__` -> the
    package's name."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def parsed_modules() -> dict[str, tuple[ast.Module, bool]]:
    """Every module under `actors/`: name -> (syntax tree, whether it is a package)."""
    return {
        module_name(path): (ast.parse(path.read_text(), str(path)), path.name == "__init__.py")
        for path in source_files()
    }


def imports_of(
    name: str, tree: ast.Module, *, is_package: bool, known: Iterable[str]
) -> Iterator[tuple[int, str, str]]:
    """Each `actors` module that `name` imports: (line, statement as written, module imported).

    Walks the whole tree, so imports under `if TYPE_CHECKING:` and inside functions count:
    a typing-only import still ties the layers together. `from pkg import x` names the module
    `pkg.x` when there is one, else `pkg` itself.
    """
    known = set(known)
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "actors" or alias.name.startswith("actors."):
                    yield node.lineno, f"import {alias.name}", alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            if source != "actors" and not source.startswith("actors."):
                continue
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                target = candidate if candidate in known else source
                dots = "." * node.level
                written = f"from {dots}{node.module or ''} import {alias.name}"
                yield node.lineno, written, target


def layer_of(module: str) -> int | None:
    """The layer whose patterns match `module`, or None if it has none."""
    for layer, patterns in LAYERS.items():
        if any(fnmatch.fnmatchcase(module, pattern) for pattern in patterns):
            return layer
    return None


def layer_violations(modules: dict[str, tuple[ast.Module, bool]]) -> list[str]:
    """One line per import that reaches up a layer (or into a module with no layer)."""
    problems = []
    for name, (tree, is_package) in sorted(modules.items()):
        own = layer_of(name)
        if own is None:
            continue  # reported by test_every_module_has_a_layer
        for line, written, target in imports_of(name, tree, is_package=is_package, known=modules):
            theirs = layer_of(target)
            if theirs is None:
                problems.append(
                    f"{name}:{line}: `{written}` imports {target}, which is in no layer"
                )
            elif theirs > own:
                problems.append(
                    f"{name}:{line} (layer {own}) imports {target} (layer {theirs}): "
                    f"`{written}` reaches up from layer {own} to layer {theirs}"
                )
    return problems


def private_pykka_uses(name: str, tree: ast.Module) -> Iterator[str]:
    """Each use of a private pykka name in `tree`: an import of a `pykka._...` module or of a
    `_name` from pykka, or an attribute path like `pykka.messages._ActorStop`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "pykka" and _private(alias.name):
                    yield f"{name}:{node.lineno}: import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pykka":
            module = node.module or ""
            for alias in node.names:
                if _private(module) or _private(alias.name):
                    yield f"{name}:{node.lineno}: from {module} import {alias.name}"
        elif isinstance(node, ast.Attribute):
            path = _dotted(node)
            if path and path.split(".")[0] == "pykka" and _private(path):
                yield f"{name}:{node.lineno}: {path}"


def _private(dotted: str) -> bool:
    """Whether any part of a dotted name is private (`_x`, not a dunder like `__file__`)."""
    return any(part.startswith("_") and not part.endswith("__") for part in dotted.split("."))


def _dotted(node: ast.expr) -> str | None:
    """`a.b.c` for an attribute chain on a plain name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def method_counts(name: str, tree: ast.Module) -> Iterator[tuple[str, int]]:
    """(qualified class name, number of `def`s in its body) for every class, nested too."""

    def visit(body: list[ast.stmt], prefix: str) -> Iterator[tuple[str, int]]:
        for node in body:
            if isinstance(node, ast.ClassDef):
                qualified = f"{prefix}.{node.name}"
                defs = [
                    n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                ]
                yield qualified, len(defs)
                yield from visit(node.body, qualified)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.If | ast.Try):
                # Classes defined under a condition or inside a function count too.
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        yield from visit([child], prefix)

    yield from visit(tree.body, name)


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# --- the layer rule --------------------------------------------------------------------------


def test_every_module_has_a_layer() -> None:
    """Every module under `actors/` is placed in exactly one layer of `LAYERS`."""
    unplaced = [name for name in parsed_modules() if layer_of(name) is None]
    assert not unplaced, (
        f"modules in no layer: {unplaced}. Place each in LAYERS at the top of "
        "tests/test_layers.py (kernel 0, specs and values 1, actor tree 2, facade 3), so its "
        "imports are checked"
    )
    for name in parsed_modules():
        matching = [
            layer
            for layer, patterns in LAYERS.items()
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
        ]
        assert len(matching) == 1, f"{name} matches layers {matching}: place it in one"


def test_imports_never_reach_up_a_layer() -> None:
    """No module imports from a layer above its own: the kernel only from the kernel, specs and
    values from layers 0-1, the actor tree from 0-2 (typing-only and function-level imports
    included)."""
    problems = layer_violations(parsed_modules())
    assert not problems, "imports that break the layer rule:\n" + "\n".join(problems)


def test_only_the_kernel_touches_private_pykka_names() -> None:
    """Outside `actors/runtime/`, no module imports a private pykka module or name (or reaches
    one through an attribute path): the kernel is the one place `test_pykka_contract.py` pins."""
    uses = [
        use
        for name, (tree, _) in sorted(parsed_modules().items())
        if layer_of(name) != 0
        for use in private_pykka_uses(name, tree)
    ]
    assert not uses, "private pykka names outside actors/runtime/:\n" + "\n".join(uses)


def test_the_kernel_does_use_private_pykka_names() -> None:
    """The private-name scan finds the kernel's own uses (`pykka.messages._ActorStop`, the
    `pykka._envelope` import), so an empty result elsewhere means something."""
    found = [
        use
        for name, (tree, _) in parsed_modules().items()
        if layer_of(name) == 0
        for use in private_pykka_uses(name, tree)
    ]
    assert any("_ActorStop" in use for use in found), found
    assert any("pykka._envelope" in use for use in found), found


class TestTheChecker:
    """The checker run on small synthetic sources, so the rule above can fail."""

    @staticmethod
    def check(sources: dict[str, str], packages: Iterable[str] = ()) -> list[str]:
        packages = set(packages)
        modules = {name: (ast.parse(text), name in packages) for name, text in sources.items()}
        return layer_violations(modules)

    def test_a_kernel_module_importing_the_tree_is_caught(self) -> None:
        """An upward import is reported with the module, the import and both layers."""
        problems = self.check(
            {
                "actors.runtime._x": "from actors.tree.supervisor import SupervisorActor\n",
                "actors.tree.supervisor": "",
            }
        )
        assert len(problems) == 1
        assert "actors.runtime._x:1 (layer 0)" in problems[0]
        assert "imports actors.tree.supervisor (layer 2)" in problems[0]
        assert "`from actors.tree.supervisor import SupervisorActor`" in problems[0]

    def test_typing_only_and_function_level_imports_count(self) -> None:
        """Imports under `if TYPE_CHECKING:` and inside functions are checked too."""
        source = (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from actors.runner import Runner\n"
            "def f():\n"
            "    import actors.cli\n"
        )
        problems = self.check({"actors.schedules": source, "actors.runner": "", "actors.cli": ""})
        assert len(problems) == 2
        assert "actors.schedules:3 (layer 1) imports actors.runner (layer 3)" in problems[0]
        assert "actors.schedules:5 (layer 1) imports actors.cli (layer 3)" in problems[1]

    def test_relative_imports_are_resolved(self) -> None:
        """`from ..runner import x` in `actors.tree.m` is an import of `actors.runner`; `from .
        import y` in a package's `__init__` is an import of the package's own module `y`."""
        problems = self.check(
            {
                "actors.tree.m": "from ..runner import Runner\nfrom . import messages\n",
                "actors.tree.messages": "",
                "actors.runtime": "from . import _actor\nfrom .. import handles\n",
                "actors.runtime._actor": "",
                "actors.runner": "",
                "actors.handles": "",
            },
            packages={"actors.runtime"},
        )
        assert problems == [
            "actors.runtime:2 (layer 0) imports actors.handles (layer 3): "
            "`from .. import handles` reaches up from layer 0 to layer 3",
            "actors.tree.m:1 (layer 2) imports actors.runner (layer 3): "
            "`from ..runner import Runner` reaches up from layer 2 to layer 3",
        ]

    def test_from_package_import_name_is_the_package(self) -> None:
        """`from actors import Runner` (a name, not a module) imports the package `actors`,
        the facade; allowed downward, refused from the kernel."""
        assert self.check({"actors.runner": "from actors import Runner\n", "actors": ""}) == []
        problems = self.check({"actors.runtime._y": "from actors import Runner\n", "actors": ""})
        assert len(problems) == 1
        assert "imports actors (layer 3)" in problems[0]

    def test_downward_and_sideways_imports_pass(self) -> None:
        """The tree may import the kernel and the specs, and the facade anything."""
        problems = self.check(
            {
                "actors.tree.a": "from actors.runtime import Actor\nimport actors.errors\n",
                "actors.runner": "from actors.tree.a import x\nfrom actors.cli import y\n",
                "actors.runtime": "",
                "actors.errors": "",
                "actors.cli": "",
            }
        )
        assert problems == []

    def test_an_import_of_an_unplaced_module_is_caught(self) -> None:
        """Importing a module that is in no layer is reported, naming it."""
        problems = self.check({"actors.tree.a": "import actors.newthing\n"})
        assert problems == [
            "actors.tree.a:1: `import actors.newthing` imports actors.newthing, which is in no "
            "layer"
        ]

    def test_private_pykka_names_are_found(self) -> None:
        """A private pykka module, a private name from pykka, and an attribute path through a
        private name are each found; public names and dunders are not."""
        tree = ast.parse(
            "import pykka\n"
            "from pykka._envelope import Envelope\n"
            "from pykka.messages import _ActorStop, ProxyCall\n"
            "from pykka import ActorRef\n"
            "x = pykka.messages._ActorStop()\n"
            "y = pykka.__file__\n"
        )
        assert list(private_pykka_uses("m", tree)) == [
            "m:2: from pykka._envelope import Envelope",
            "m:3: from pykka.messages import _ActorStop",
            "m:5: pykka.messages._ActorStop",
        ]

    def test_a_new_module_needs_a_layer(self) -> None:
        """A module name that no pattern matches has no layer."""
        assert layer_of("actors.newthing") is None
        assert layer_of("actors.runtime._actor") == 0
        assert layer_of("actors.schedules.cron") == 1
        assert layer_of("actors") == 3


# --- the size rules --------------------------------------------------------------------------


def _allowed_long(relative: str) -> bool:
    return relative in LONG_BY_NATURE or any(
        fnmatch.fnmatchcase(relative, pattern) for pattern in NOT_YET_SPLIT
    )


def _line_count(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_no_module_is_too_long() -> None:
    """No module under `actors/` is over `MAX_MODULE_LINES` lines, but those in
    `LONG_BY_NATURE` and `NOT_YET_SPLIT`."""
    too_long = [
        f"{_relative(path)}: {lines} lines"
        for path in source_files()
        if (lines := _line_count(path)) > MAX_MODULE_LINES and not _allowed_long(_relative(path))
    ]
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: split them:\n" + "\n".join(
        too_long
    )


def test_not_yet_split_lists_only_long_modules() -> None:
    """Each plain path in `NOT_YET_SPLIT` that exists is still over the limit: once split
    (or shortened) its entry goes, so the exceptions only shrink."""
    fits = [
        f"{entry}: {_line_count(ROOT / entry)} lines"
        for entry in sorted(NOT_YET_SPLIT)
        if "*" not in entry
        and (ROOT / entry).is_file()
        and _line_count(ROOT / entry) <= MAX_MODULE_LINES
    ]
    assert not fits, "remove from NOT_YET_SPLIT in tests/test_layers.py:\n" + "\n".join(fits)


def test_no_class_has_too_many_methods() -> None:
    """No class under `actors/` has more than `MAX_CLASS_METHODS` methods (every `def` in its
    body, properties included), but the facades in `FACADES`."""
    too_big = [
        f"{qualified}: {count} methods"
        for name, (tree, _) in sorted(parsed_modules().items())
        for qualified, count in method_counts(name, tree)
        if count > MAX_CLASS_METHODS and qualified not in FACADES
    ]
    assert not too_big, f"classes over {MAX_CLASS_METHODS} methods: split them:\n" + "\n".join(
        too_big
    )


def test_facades_exist() -> None:
    """Each class in `FACADES` exists, so the exception cannot outlive its class unnoticed."""
    classes = {
        qualified
        for name, (tree, _) in parsed_modules().items()
        for qualified, _ in method_counts(name, tree)
    }
    assert classes >= FACADES, f"FACADES names classes that do not exist: {FACADES - classes}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("class A:\n    def f(self): ...\n    @property\n    def g(self): ...\n", [("m.A", 2)]),
        (
            "class A:\n    x = 1\n    class B:\n        async def f(self): ...\n",
            [("m.A", 0), ("m.A.B", 1)],
        ),
        ("def f():\n    class C:\n        def g(self): ...\n", [("m.C", 1)]),
    ],
)
def test_method_counting(source: str, expected: list[tuple[str, int]]) -> None:
    """Methods are the `def`s (sync, async, decorated) directly in a class body; nested
    classes and classes defined inside functions are counted on their own."""
    assert list(method_counts("m", ast.parse(source))) == expected
