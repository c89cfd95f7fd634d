"""The HTML report of a fit: self-contained, every count protected, and it loads in a headless browser."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings

import pytest

pytest.importorskip("matplotlib")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fit():
    from cseoutcomes.errors import ConvergenceWarning
    from cseoutcomes.models import ChangeModel, Dropout
    from cseoutcomes.simulate import hub_and_spoke

    sim = hub_and_spoke(seed=5, n_hubs=3, n_areas=4, n_workers=6)
    model = ChangeModel(instrument="cse-risk-indicators", outcome="total_band",
                        groups={"service": "service", "worker": "worker"}, dropout=Dropout())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(sim.assessments, draws=200, tune=200, seed=3, progress=False)


def test_report_is_self_contained_and_protects_counts(fit, tmp_path):
    from cseoutcomes.report import fit_report

    html = fit_report(fit, tmp_path / "r.html", policy="nhs")
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == html
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched
    assert html.count('src="data:image/png;base64,') >= 5
    assert "naive share of closed cases" in html and "shared-parameter drop-out" in html
    # counts as published: multiples of 5 (NHS rounding) or suppressed, never a raw 1-7
    n_closed = int(fit._design.person_closed.sum())
    assert f"Closed cases: {5 * round(n_closed / 5)}." in html
    closures = re.findall(r"<td>(\*|\d+)</td><td>[0-9.]+</td><td>[0-9.]+</td><td>[0-9.]+</td>", html)
    assert closures and all(c == "*" or int(c) % 5 == 0 for c in closures)
    text = re.sub(r'src="data:image/png;base64,[^"]*"', "", html)  # (base64 can spell anything)
    assert "YP0" not in text  # no identifier
    safe = fit_report(fit, policy="safe_room")
    assert "secure research environments" in safe


def test_report_command_and_headless_browser(fit, tmp_path, capsys):
    from cseoutcomes.cli import main

    fit.save(tmp_path / "fit.nc")
    out = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "fit.nc"), "-o", str(out), "--policy", "dfe"]) == 0
    assert "Report:" in capsys.readouterr().out
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no headless Chromium on this machine (Debian package: chromium)")
    shot = tmp_path / "shot.png"
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", f"--screenshot={shot}", "--window-size=1200,2400", out.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.stat().st_size > 10_000
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console  # no console errors (the page has no scripts at all)
