"""Run a data quality suite against a pandas frame with Great Expectations 1.x."""

from __future__ import annotations

import html
import logging
import os
from typing import TYPE_CHECKING, Any

from zenml_integrations.great_expectations.errors import (
    DataQualityGateFailed,
    DataQualitySuiteError,
)
from zenml_integrations.great_expectations.suite import (
    DataQualityResult,
    DataQualitySuite,
    ExpectationOutcome,
)

if TYPE_CHECKING:
    import pandas as pd

# Each expectation carries its place in the suite, so outcomes keep the suite's order.
_SUITE_INDEX = "zenml_mlops_kit_suite_index"


def validate_frame(frame: pd.DataFrame, suite: DataQualitySuite) -> DataQualityResult:
    """Evaluate every expectation of the suite on the whole frame.

    Raises:
        DataQualitySuiteError: when the suite names an unknown expectation or
            gives one arguments it does not take.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # GX logs every internal registration at INFO; keep step logs readable.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    gx_suite = gx.ExpectationSuite(name=suite.name)
    for index, spec in enumerate(suite.expectations):
        gx_suite.add_expectation(_to_gx_expectation(index, spec.type, spec.kwargs))
    asset = context.data_sources.add_pandas("pipeline").add_dataframe_asset("frame")
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": frame}
    )
    validation = batch.validate(gx_suite)
    outcomes: dict[int, ExpectationOutcome] = {}
    for result in validation.results:
        config = result.expectation_config
        if config is None:  # GX attaches the configuration to every result it returns
            raise DataQualitySuiteError(
                f"GX returned a result without its expectation ({result!r}); the installed "
                "great-expectations is not a 1.x release this gate supports (>=1.15)"
            )
        # GX returns results grouped by domain, not in suite order: put them back.
        outcomes[int((config.meta or {})[_SUITE_INDEX])] = ExpectationOutcome(
            type=config.type,
            arguments={key: value for key, value in config.kwargs.items() if key != "batch_id"},
            success=bool(result.success),
            unexpected_count=result.result.get("unexpected_count"),
            unexpected_percent=result.result.get("unexpected_percent"),
            unexpected_values=[
                _plain(value) for value in result.result.get("partial_unexpected_list") or []
            ],
            observed_value=_plain(result.result.get("observed_value")),
            error=_error_message(result.exception_info),
        )
    return DataQualityResult(
        suite_name=suite.name,
        success=bool(validation.success),
        row_count=len(frame),
        outcomes=[outcomes[index] for index in sorted(outcomes)],
    )


def enforce(result: DataQualityResult, suite_location: str | None = None) -> None:
    """Stop the pipeline when the data failed its suite.

    Args:
        result: the gate's verdict.
        suite_location: where the user edits the suite, named in the message.

    Raises:
        DataQualityGateFailed: listing each failed expectation.
    """
    if not result.success:
        raise DataQualityGateFailed(result, suite_location)


def render_html(result: DataQualityResult) -> str:
    """A self-contained HTML table of the verdict, for the ZenML dashboard."""
    status = "PASSED" if result.success else "FAILED"
    rows = "".join(
        "<tr class='{cls}'><td>{mark}</td><td>{type}</td><td><code>{kwargs}</code></td>"
        "<td>{detail}</td></tr>".format(
            cls="ok" if outcome.success else "bad",
            mark="&#10003;" if outcome.success else "&#10007;",
            type=html.escape(outcome.type),
            kwargs=html.escape(str(outcome.arguments)),
            detail=html.escape(outcome.summary()),
        )
        for outcome in result.outcomes
    )
    return (
        "<html><head><style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px}.bad{background:#fdd}.ok{background:#efe}"
        "</style></head><body>"
        f"<h2>Data quality gate '{html.escape(result.suite_name)}': {status}</h2>"
        f"<p>{result.row_count} rows, {result.failed_count} of {len(result.outcomes)} "
        "expectations failed.</p><table><tr><th></th><th>expectation</th><th>arguments</th>"
        f"<th>result</th></tr>{rows}</table></body></html>"
    )


def _to_gx_expectation(index: int, type_name: str, kwargs: dict[str, Any]) -> Any:
    from great_expectations.exceptions.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    try:
        return ExpectationConfiguration(
            type=type_name, kwargs=dict(kwargs), meta={_SUITE_INDEX: index}
        ).to_domain_obj()
    except ExpectationNotFoundError as error:
        raise DataQualitySuiteError(
            f"expectations[{index}]: GX has no expectation {type_name!r}"
        ) from error
    except (ValueError, TypeError) as error:  # pydantic v1 ValidationError is a ValueError
        reason = " ".join(str(error).split())
        raise DataQualitySuiteError(
            f"expectations[{index}] ({type_name}): invalid arguments {kwargs}: {reason}"
        ) from error


def _error_message(exception_info: Any) -> str | None:
    """GX's reason for not evaluating an expectation, e.g. a range on a string column.

    GX reports it either flat (``{"raised_exception": ..., "exception_message": ...}``)
    or keyed by the metric that raised; the first message is the cause.
    """
    if not isinstance(exception_info, dict):
        return None
    infos = [exception_info, *(v for v in exception_info.values() if isinstance(v, dict))]
    for info in infos:
        if info.get("raised_exception") and info.get("exception_message"):
            message = " ".join(str(info["exception_message"]).split())
            # Some messages quote the whole column (e.g. 'Could not convert string ...').
            return message if len(message) <= _MAX_ERROR else message[: _MAX_ERROR - 3] + "..."
    return None


_MAX_ERROR = 200


def _plain(value: Any) -> Any:
    """Observed values as JSON-friendly Python scalars or lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return value
