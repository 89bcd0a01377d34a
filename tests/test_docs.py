"""Every ```python block in README.md and docs/*.md runs, and shows what it prints.

The blocks of one file run in order in one namespace, so a later block can use what an earlier
one defined; each file starts afresh. Rules, for people writing docs:

- A ```python block runs with `exec`. Its traceback points at the Markdown file and line.
- A ```python block whose first line starts with `>>>` is a REPL transcript, checked with
  doctest (ELLIPSIS and NORMALIZE_WHITESPACE on), in the same namespace.
- A ```output block right after a ```python block is what that block prints, exactly.
- `<!-- no-test -->` (a reason may follow: `<!-- no-test: needs a TTY -->`) on the line before
  a block skips it. Use it sparingly: for a block that runs for minutes or needs a terminal.
- Other blocks (```sh, ```console, ```text, plain ```) are not run.
- Every `Runner` a file creates must be stopped by the file's own blocks (the autouse
  `no_leaked_threads` fixture fails a file that leaves threads behind).
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from actors import Runner

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)")
_NO_TEST = re.compile(r"^\s*<!--\s*no-test\b.*-->\s*$")


@dataclass
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int  # the line number of the block's first line of code (1-based)
    lang: str
    code: str
    skip: bool = False
    output: str | None = None  # the ```output block that follows, if any

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def is_doctest(self) -> bool:
        return self.code.lstrip().startswith(">>>")


def parse(path: Path, text: str | None = None) -> list[Block]:
    """The fenced blocks of a Markdown file. An ```output block right after a ```python block
    (nothing but blank lines between) becomes that block's `output`; any other stays a block."""
    lines = (path.read_text() if text is None else text).splitlines()
    blocks: list[Block] = []
    previous_end = -1  # the line index of the previous block's closing fence
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        end = index + 1
        while end < len(lines) and not (
            lines[end].strip().startswith(fence) and set(lines[end].strip()) == {fence[0]}
        ):
            end += 1
        body = [
            line[indent:] if line[:indent].isspace() else line for line in lines[index + 1 : end]
        ]
        before = next((line for line in reversed(lines[:index]) if line.strip()), "")
        block = Block(
            path=path,
            line=index + 2,
            lang=match["info"].lower(),
            code=textwrap.dedent("\n".join(body)) + "\n",
            skip=bool(_NO_TEST.match(before)),
        )
        right_after = blocks and not any(line.strip() for line in lines[previous_end + 1 : index])
        if block.lang == "output" and right_after and blocks[-1].lang == "python":
            blocks[-1].output = block.code
        else:
            blocks.append(block)
        previous_end = index = end
        index += 1
    return blocks


def python_blocks(path: Path) -> list[Block]:
    return [block for block in parse(path) if block.lang in ("python", "py", "python3")]


def _doctest(block: Block, namespace: dict[str, Any]) -> None:
    test = doctest.DocTestParser().get_doctest(
        block.code, namespace, block.where, str(block.path), block.line - 1
    )
    out = io.StringIO()
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    runner.run(test, out=out.write, clear_globs=False)
    namespace.update(test.globs)
    if runner.failures:
        pytest.fail(f"doctest in {block.where} failed:\n{out.getvalue()}", pytrace=False)


def _exec(block: Block, namespace: dict[str, Any]) -> None:
    # Pad with blank lines so that a traceback names the Markdown file's own line numbers.
    code = compile("\n" * (block.line - 1) + block.code, str(block.path), "exec")
    if block.output is None:
        exec(code, namespace)
        return
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, namespace)
    assert printed.getvalue() == block.output, (
        f"the ```output block after {block.where} differs from what the block prints:\n"
        f"--- printed ---\n{printed.getvalue()}--- documented ---\n{block.output}"
    )


def _runners(namespace: dict[str, Any]) -> list[Runner]:
    return [value for value in namespace.values() if isinstance(value, Runner)]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_python_block_runs(path: Path, tmp_path: Path) -> None:
    """The file's ```python blocks run in order in one namespace; transcripts pass doctest;
    documented output matches; every runner they start is stopped by the blocks themselves.
    A page that needs a folder for files (a store) finds a fresh one as `docs_tmp`."""
    namespace: dict[str, Any] = {"__name__": "__docs__", "docs_tmp": tmp_path}
    try:
        for block in python_blocks(path):
            if block.skip:
                continue
            if block.is_doctest:
                _doctest(block, namespace)
            else:
                _exec(block, namespace)
        running = [runner.id for runner in _runners(namespace) if not runner.stopped]
        assert not running, f"{path.name} leaves runners running: {running}; stop them"
    finally:
        for runner in _runners(namespace):
            runner.stop(wait=False)


class TestTheCollector:
    """The rules above, on a made-up page."""

    PAGE = textwrap.dedent(
        """\
        # A page

        ```python
        x = 1
        print(x + 1)
        ```

        ```output
        2
        ```

        <!-- no-test: needs a terminal -->
        ```python
        input()
        ```

        ```sh
        make docs
        ```

        1. In a list:

           ```python
           y = x * 10
           ```

        ```python
        >>> y
        10
        ```
        """
    )

    def test_blocks_languages_lines_and_outputs(self) -> None:
        blocks = parse(ROOT / "page.md", self.PAGE)

        assert [(b.lang, b.line, b.skip) for b in blocks] == [
            ("python", 4, False),
            ("python", 14, True),
            ("sh", 18, False),
            ("python", 24, False),
            ("python", 28, False),
        ]
        assert blocks[0].output == "2\n"
        assert blocks[3].code == "y = x * 10\n"
        assert blocks[4].is_doctest

    def test_runs_in_one_namespace_with_doctest_and_output(self) -> None:
        namespace: dict[str, Any] = {}
        for block in parse(ROOT / "page.md", self.PAGE):
            if block.lang == "python" and not block.skip:
                (_doctest if block.is_doctest else _exec)(block, namespace)

        assert namespace["y"] == 10

    def test_a_wrong_output_fails(self) -> None:
        (block,) = parse(ROOT / "page.md", "```python\nprint(3)\n```\n```output\n4\n```\n")

        with pytest.raises(AssertionError, match="differs from what the block prints"):
            _exec(block, {})

    def test_a_traceback_names_the_markdown_line(self) -> None:
        (block,) = parse(ROOT / "page.md", "text\n\n```python\nx = 1\n1 / 0\n```\n")

        with pytest.raises(ZeroDivisionError) as raised:
            _exec(block, {})

        frame = raised.traceback[-1]
        assert (Path(str(frame.path)).name, frame.lineno + 1) == ("page.md", 5)

    def test_the_docs_have_blocks_to_run(self) -> None:
        """A guard against a parser that silently finds nothing."""
        runnable = [b for path in DOCS for b in python_blocks(path) if not b.skip]

        assert len(runnable) >= 20
        assert any(b.output for b in runnable)
        assert any(b.is_doctest for b in runnable)

    def test_every_output_block_follows_a_python_block(self) -> None:
        """An ```output block anywhere else would be checked against nothing."""
        orphans = [b.where for path in DOCS for b in parse(path) if b.lang == "output"]

        assert not orphans
