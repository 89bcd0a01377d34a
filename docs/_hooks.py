"""MkDocs hooks of this site (docs/mkdocs.yml names this file under `hooks:`).

MkDocs refuses a `docs_dir` that is the folder of its config file. Here the pages and the
config share docs/ on purpose (the repository's top level stays as it is, and README links to
docs/*.md keep working), so this hook, imported while the config is validated and before that
check runs, lifts the check. Nothing else changes: the config and this file are excluded from
the site with `exclude_docs`.
"""

from __future__ import annotations

from typing import Any

from mkdocs.config import config_options


def _allow_config_beside_pages(self: Any, config: Any, key_name: str) -> None:
    """Skip `DocsDir.post_validation`: its only check is the one described above."""


config_options.DocsDir.post_validation = _allow_config_beside_pages  # type: ignore[method-assign]
