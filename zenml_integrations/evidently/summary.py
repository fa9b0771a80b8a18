"""The verdict as static HTML, placed at the top of the drift report.

The ZenML dashboard previews HTML artifacts in a sandboxed iframe that runs no
scripts, and Evidently draws its report with JavaScript: without this section
the preview is blank. The summary needs no script, so the dashboard shows the
decision and every column's score inline; Evidently's interactive report
follows it and renders once the file is downloaded or opened on its own.
"""

from __future__ import annotations

import re
from html import escape

from zenml_integrations.evidently.gate import DriftVerdict

_BODY_OPEN = re.compile(r"<body[^>]*>", re.IGNORECASE)
_STYLE = (
    "<style>#drift-gate-verdict{font-family:sans-serif;margin:16px}"
    "#drift-gate-verdict table{border-collapse:collapse}"
    "#drift-gate-verdict td,#drift-gate-verdict th{border:1px solid #ccc;padding:4px 8px}</style>"
)


def verdict_html(verdict: DriftVerdict) -> str:
    """A script-free section: the decision, its reason and each column's drift test."""
    outcome = "passed" if verdict.passed else "failed"
    rows = "".join(
        f"<tr><td>{escape(column.column)}</td><td>{column.column_type}</td>"
        f"<td>{escape(column.method)}</td><td>{column.score:.4g}</td>"
        f"<td>{column.threshold:.4g}</td><td>{'drifted' if column.drifted else 'ok'}</td></tr>"
        for column in verdict.columns
    )
    errors = "".join(f"<li>{escape(error)}</li>" for error in verdict.schema_errors)
    return (
        f'{_STYLE}<section id="drift-gate-verdict">'
        f"<h1>Drift gate {outcome}</h1><p>{escape(verdict.reason)}</p>"
        f"<p>Drifted share {verdict.drift_share:.1%} (allowed {verdict.max_drift_share:.1%}); "
        f"reference {verdict.reference_rows} rows, current {verdict.current_rows} rows.</p>"
        + (f"<ul>{errors}</ul>" if errors else "")
        + (
            "<table><thead><tr><th>column</th><th>type</th><th>method</th><th>score</th>"
            f"<th>threshold</th><th>result</th></tr></thead><tbody>{rows}</tbody></table>"
            if rows
            else ""
        )
        + "</section>"
    )


def with_verdict(report_html: str, verdict: DriftVerdict) -> str:
    """``report_html`` with the verdict's section first inside its body."""
    section = verdict_html(verdict)
    match = _BODY_OPEN.search(report_html)
    if match is None:
        return section + report_html
    return report_html[: match.end()] + section + report_html[match.end() :]
