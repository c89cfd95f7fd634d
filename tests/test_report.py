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
    _browser_check(out, tmp_path)


# -- validation and evaluation pages (no model fit: fast) ---------------------------------------------------


def _browser_check(page, tmp_path):
    """Load a page in headless Chromium: it renders and logs nothing to the console."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no headless Chromium on this machine (Debian package: chromium)")
    shot = tmp_path / f"{page.stem}.png"
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.stat().st_size > 10_000
    assert not [line for line in proc.stderr.splitlines() if "CONSOLE" in line]


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """A small simulated export with 12 unreadable dates (12 errors, 12 rows quarantined)."""
    from cseoutcomes.simulate import hub_and_spoke

    sim = hub_and_spoke(seed=1, n_hubs=3, n_areas=4, n_workers=6)
    table = sim.assessments.copy()
    table.loc[table.index[:12], "assessment_date"] = "not a date"
    path = tmp_path_factory.mktemp("export") / "export.csv"
    table.to_csv(path, index=False)
    return path, sim


def test_validation_page_protects_counts_and_lists_problems_by_row(export, tmp_path):
    import cseoutcomes as co
    from cseoutcomes.report import validation_report

    path, sim = export
    inst = co.get_instrument("cse-risk-indicators")
    report = co.validate(co.read_assessments(path, inst), inst, today=sim.programme.end)
    html = validation_report(report, tmp_path / "v.html")
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html)
    assert html.count('src="data:image/png;base64,') == 1  # the score distribution
    cards = re.findall(r'<div class="v">([^<]+)</div><div class="l">([^<]+)</div>', html)
    shown = dict((label, value) for value, label in cards)
    assert shown["rows read"] == str(5 * round(report.n_rows / 5))
    assert shown["quarantined rows (errors)"] == "10"  # 12, rounded to the nearest 5
    # the 12 problems are listed with their spreadsheet rows (header = row 1): rows 2-13
    listed = re.findall(r"<tr><td>(\d+)</td><td class=\"t\">assessment_date</td>", html)
    assert listed == [str(r) for r in range(2, 14)]
    text = re.sub(r'src="data:image/png;base64,[^"]*"', "", html)
    assert "YP0" not in text and "W01" not in text  # no person or worker identifier
    band_cells = re.findall(r"<td>(\*|\d+)</td>", text.split("Bands at referral")[1].split("</table>")[0])
    assert band_cells and all(c == "*" or int(c) % 5 == 0 for c in band_cells)
    shared = validation_report(report, issues=False)
    assert "Problems, row by row" not in shared and "Problems by rule" in shared


def test_evaluation_page_suppresses_statistics_on_few_pairs(export, tmp_path):
    import cseoutcomes as co
    from cseoutcomes.psychometrics import evaluate
    from cseoutcomes.report import evaluation_report

    path, sim = export
    inst = co.get_instrument("cse-risk-indicators")
    report = co.validate(co.read_assessments(path, inst), inst, today=sim.programme.end)
    evidence = evaluate(inst, report.valid, omega=False)
    html = evaluation_report(evidence, tmp_path / "e.html", policy="nhs")
    assert html.count('src="data:image/png;base64,') == len(evidence.items)  # one item plot per scope
    few = evidence.table[evidence.table["n"] < 8]
    assert not few.empty  # the simulated data have a handful of test-retest pairs
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"t\">([a-z_]+)</td><td>([^<]*)</td><td>([^<]*)</td>"
                      r"<td>([^<]*)</td><td>([^<]*)</td></tr>", html)
    by_stat = {(scope, stat): (est, n) for scope, stat, est, _, _, n in rows}
    for r in few.itertuples():
        assert by_stat[(r.scope, r.statistic)] == ("*", "*")
    for r in evidence.table[evidence.table["n"] >= 8].itertuples():
        est, n = by_stat[(r.scope, r.statistic)]
        assert est == f"{r.estimate:.3f}" and int(n) == 5 * round(r.n / 5)


def test_report_command_for_exports(export, tmp_path, capsys):
    from cseoutcomes.cli import main

    path, sim = export
    for kind in ("validation", "evaluation"):
        out = tmp_path / f"{kind}.html"
        argv = ["report", str(path), "-i", "cse-risk-indicators", "-o", str(out), "--today",
                str(sim.programme.end)] + (["--kind", kind] if kind == "evaluation" else [])
        assert main(argv) == 0
        assert f"Report: {out}" in capsys.readouterr().out
        _browser_check(out, tmp_path)
    assert main(["report", str(path), "-o", str(tmp_path / "x.html")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs the instrument" in err and "--instrument" in err
