"""A griffe extension for the API reference: Sphinx roles in docstrings read as code.

Docstrings in the package use Sphinx cross-reference roles (``:func:`score```,
``:class:`~cseoutcomes.Instrument```), which Markdown would show literally as
":func:". This rewrites each role to inline code: the target as written, or only its last
component where Sphinx would (a leading ``~``). The source is not changed.

Loaded by ``mkdocs.yml``; nothing under ``docs/_ext/`` is published.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|data|mod|exc|obj|const):`(~?)([^`<]+?)(?:\s*<[^`>]+>)?`")


def _plain(match: re.Match[str]) -> str:
    tilde, target = match.group(1), match.group(2).strip()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


class SphinxRoles(griffe.Extension):
    """Replace ``:role:`target``` by ```target``` in every docstring of the package."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        def visit(obj: griffe.Object) -> None:
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = _ROLE.sub(_plain, obj.docstring.value)
            for member in obj.members.values():
                if not member.is_alias:
                    visit(member)

        visit(pkg)
