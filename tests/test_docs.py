"""The documentation site builds with ``mkdocs build --strict``: no broken link, no page left out
of the navigation, no docstring the API reference cannot read."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# every public module of the package, as `import cseoutcomes` exposes them (plus the errors,
# the registry and the HTML report), has a page in the API reference
PUBLIC_MODULES = ("instruments", "data", "psychometrics", "coding", "models", "simulate", "disclosure",
                  "plots", "report", "testing", "errors")


def test_every_public_module_has_an_api_page():
    directives = {m for page in (DOCS / "api").glob("*.md")
                  for m in re.findall(r"^::: cseoutcomes\.(\w+)", page.read_text(encoding="utf-8"), re.M)}
    import cseoutcomes

    lazy = set(cseoutcomes._LAZY_MODULES)
    missing = sorted((set(PUBLIC_MODULES) | lazy) - directives)
    assert not missing, f"no `::: cseoutcomes.<module>` directive in docs/api/ for {missing}"


def test_mkdocs_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs tools are in the dev extra: pip install -e '.[dev]'")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # silence Material's banner about MkDocs 2
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    site = tmp_path / "site"
    assert (site / "index.html").is_file()
    assert (site / "api" / "models" / "index.html").is_file()
    # the API reference was generated from the docstrings, not left empty
    html = (site / "api" / "models" / "index.html").read_text(encoding="utf-8")
    assert 'id="cseoutcomes.models.ChangeModel"' in html
    # nothing is fetched from the web when a page is read: no Google Fonts
    assert "fonts.googleapis.com" not in (site / "index.html").read_text(encoding="utf-8")
