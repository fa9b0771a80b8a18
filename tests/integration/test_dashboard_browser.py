"""The local ZenML dashboard shows a finished run and its drift report, in a real browser.

A run made on the project's SQLite store before the server starts must be served by
``zenml login --local`` (the server uses the client's local store), found by name in the
runs list, and its ``drift_report`` artifact opened. Screenshots go to the test's
``tmp_path`` and to ``test-output/dashboard/`` in the repository.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.cli import run_python
from tests.helpers.dashboard import finish_onboarding, headless_chromium, local_dashboard
from tests.helpers.repo import REPO_ROOT

pytestmark = pytest.mark.slow

STABLE_OUTPUT = REPO_ROOT / "test-output" / "dashboard"
DRIFT_REPORT_RUN = REPO_ROOT / "tests" / "helpers" / "drift_report_run.py"
TIMEOUT_MS = 60_000  # a busy 2-core runner renders a React page slowly


def _screenshot(page: Page, name: str, tmp_path: Path) -> None:
    STABLE_OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=tmp_path / f"{name}.png", timeout=TIMEOUT_MS)
    shutil.copy(tmp_path / f"{name}.png", STABLE_OUTPUT / f"{name}.png")


def test_given_a_finished_run_when_the_dashboard_opens_then_it_shows_the_run_and_drift_report(
    project: Path, tmp_path: Path
) -> None:
    # Given: a pipeline run with the real drift gate, on the project's SQLite store.
    shutil.copy(DRIFT_REPORT_RUN, project / "drift_report_run.py")
    output = run_python("drift_report_run.py", cwd=project).stdout
    _, run_id, run_name, status = output.strip().splitlines()[-1].split()
    assert status == "completed"

    # When: the local server starts and a browser opens the project's runs.
    with local_dashboard(project) as dashboard, headless_chromium(tmp_path / "chromium") as browser:
        finish_onboarding(dashboard.url)
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{dashboard.url}/projects/default/runs")

        # Then: the run made before the server existed is listed, and opens.
        run_link = page.get_by_role("link", name=re.compile(re.escape(run_name))).first
        expect(run_link).to_be_visible()
        _screenshot(page, "01-runs", tmp_path)
        run_link.click()
        expect(page).to_have_url(re.compile(f"/runs/{run_id}"))
        expect(page.get_by_text("completed").first).to_be_visible()

        # The drift gate's report is an artifact of the run: open it from the run's graph.
        page.get_by_text("drift_report", exact=True).first.click()
        expect(page.get_by_role("tab", name="Visualization")).to_be_visible()
        expect(page.get_by_text("StructuredStringMaterializer")).to_be_visible()
        _screenshot(page, "02-run-drift-report-artifact", tmp_path)
        page.get_by_role("tab", name="Visualization").click()
        page.get_by_role("button", name="Load Preview").click()
        preview = page.locator('iframe[title="Secure HTML Content"]')
        expect(preview).to_be_visible()
        report_html = preview.get_attribute("srcdoc") or ""
        assert "Share of Drifted Columns" in report_html, report_html[:500]
        assert 'id="root_metric_' in report_html
        # The gate's verdict heads the report as static HTML, so the preview shows it.
        verdict = page.frame_locator('iframe[title="Secure HTML Content"]').locator(
            "#drift-gate-verdict"
        )
        heading = verdict.get_by_role("heading", name=re.compile(r"Drift gate (passed|failed)"))
        expect(heading).to_be_visible()
        expect(verdict.get_by_role("cell", name="tenure_months", exact=True)).to_be_visible()
        _screenshot(page, "03-drift-report-preview", tmp_path)

        # The dashboard's preview runs no scripts (sandboxed iframe), and Evidently draws its
        # report with JavaScript: the user's way to read it is the Download button.
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download").click()
        report_file = tmp_path / "drift_report.html"
        download_info.value.save_as(report_file)
        report_page = browser.new_page()
        report_page.set_default_timeout(TIMEOUT_MS)
        report_page.goto(report_file.as_uri())
        expect(report_page.get_by_text("Share of Drifted Columns").first).to_be_visible()
        _screenshot(report_page, "04-drift-report-downloaded", tmp_path)
