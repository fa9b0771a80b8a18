from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from zenml_integrations.evidently.config import ColumnDriftTest, DriftGateConfig
from zenml_integrations.evidently.gate import DriftVerdict, check_drift, drift_report_html
from zenml_integrations.evidently.kinds import feature_kinds
from zenml_integrations.evidently.summary import verdict_html, with_verdict

ROWS = 5_000
FEATURES = ["age", "income", "tenure", "plan"]


def make_frame(seed: int, shifted: bool = False, rows: int = ROWS) -> pd.DataFrame:
    """Customers as the pipeline sees them; ``shifted`` moves income and plan only."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": np.arange(rows, dtype=np.int64),
            "event_timestamp": pd.date_range("2025-01-01", periods=rows, freq="min", tz="UTC"),
            "age": rng.normal(40, 10, rows),
            "income": rng.lognormal(10, 0.5, rows) * (1.5 if shifted else 1.0),
            "tenure": rng.integers(0, 120, rows).astype(np.float64),
            "plan": rng.choice(
                ["basic", "plus", "pro"], rows, p=[0.2, 0.3, 0.5] if shifted else [0.6, 0.3, 0.1]
            ),
        }
    )


def make_config(**overrides: object) -> DriftGateConfig:
    fields: dict[str, object] = {
        "numerical_columns": ["age", "income", "tenure"],
        "categorical_columns": ["plan"],
        "id_columns": ["customer_id"],
        "timestamp_column": "event_timestamp",
    }
    return DriftGateConfig.model_validate({**fields, **overrides})


@pytest.fixture(scope="module")
def stable_verdict() -> DriftVerdict:
    current = make_frame(seed=2)
    # Ids and timestamps from another world: they must not count.
    current["customer_id"] += 10**9
    current["event_timestamp"] += pd.Timedelta(days=3650)
    return check_drift(make_frame(seed=1), current, make_config())


@pytest.fixture(scope="module")
def shifted_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_frame(seed=1), make_frame(seed=2, shifted=True)


@pytest.fixture(scope="module")
def shifted_verdict(shifted_frames: tuple[pd.DataFrame, pd.DataFrame]) -> DriftVerdict:
    return check_drift(*shifted_frames, make_config())


def test_given_same_distribution_when_checked_then_gate_passes_without_drift(
    stable_verdict: DriftVerdict,
) -> None:
    assert stable_verdict.passed
    assert stable_verdict.drifted_columns == []
    assert stable_verdict.drift_share == 0.0
    assert stable_verdict.schema_errors == []
    assert (stable_verdict.reference_rows, stable_verdict.current_rows) == (ROWS, ROWS)
    assert stable_verdict.reason == "Passed: none of the 4 checked columns drifted."


def test_given_id_and_timestamp_that_differ_wildly_when_checked_then_never_reported(
    stable_verdict: DriftVerdict,
) -> None:
    assert [column.column for column in stable_verdict.columns] == FEATURES
    assert [column.column_type for column in stable_verdict.columns] == [
        "numerical",
        "numerical",
        "numerical",
        "categorical",
    ]


def test_given_shifted_columns_when_checked_then_exactly_those_drift_and_gate_fails(
    shifted_verdict: DriftVerdict,
) -> None:
    assert [column.column for column in shifted_verdict.drifted_columns] == ["income", "plan"]
    assert shifted_verdict.drift_share == 0.5
    assert not shifted_verdict.passed
    assert "income" in shifted_verdict.reason
    assert "plan" in shifted_verdict.reason
    assert "age" not in shifted_verdict.reason


def test_given_evidently_defaults_when_checked_then_resolved_method_and_threshold_reported(
    shifted_verdict: DriftVerdict,
) -> None:
    # Over 1,000 rows Evidently picks a normed Wasserstein distance for numbers
    # and Jensen-Shannon for categories, both with threshold 0.1.
    income = shifted_verdict.columns[1]
    plan = shifted_verdict.columns[3]
    assert "wasserstein" in income.method.lower()
    assert "jensen" in plan.method.lower()
    assert income.threshold == plan.threshold == 0.1
    assert income.score > income.threshold


def test_given_per_column_override_when_checked_then_its_method_and_threshold_are_used(
    shifted_frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    config = make_config(
        columns={"income": {"method": "ks", "threshold": 0.01}},
        numerical_method="psi",
        categorical_method="chisquare",
    )

    verdict = check_drift(*shifted_frames, config)

    by_name = {column.column: column for column in verdict.columns}
    assert (by_name["income"].method, by_name["income"].threshold) == ("ks", 0.01)
    assert by_name["age"].method == "psi"
    assert by_name["plan"].method == "chisquare"
    # ks and chisquare give p-values: drift is a score *below* the threshold.
    assert by_name["income"].drifted
    assert by_name["income"].score < 0.01
    assert [column.column for column in verdict.drifted_columns] == ["income", "plan"]


def test_given_drift_share_at_the_maximum_when_checked_then_gate_passes(
    shifted_frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    verdict = check_drift(*shifted_frames, make_config(max_drift_share=0.5))

    assert verdict.passed
    assert verdict.drift_share == verdict.max_drift_share == 0.5
    assert verdict.reason.startswith("Passed: 2 of 4 columns drifted")


def test_given_sampling_when_checked_twice_then_same_verdict_and_full_row_counts(
    shifted_frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    config = make_config(sample_rows=1_500, random_state=3)

    first = check_drift(*shifted_frames, config)
    second = check_drift(*shifted_frames, config)

    assert first == second
    assert first.reference_rows == ROWS


def test_given_missing_extra_and_wrongly_typed_columns_when_checked_then_fails_naming_each() -> (
    None
):
    current = make_frame(seed=2).drop(columns=["tenure"])
    current["age"] = current["age"].astype(str)
    current["plan"] = 1.5
    current["debug_flag"] = True

    verdict = check_drift(make_frame(seed=1), current, make_config())

    assert not verdict.passed
    assert verdict.columns == []
    assert verdict.schema_errors == [
        "current is missing column 'tenure'",
        "current has undeclared column 'debug_flag'",
        "current numerical column 'age' has dtype object",
        "current categorical column 'plan' has dtype float64",
    ]
    for column in ("tenure", "debug_flag", "age", "plan"):
        assert repr(column) in verdict.reason


def test_given_empty_current_frame_when_checked_then_fails_closed() -> None:
    verdict = check_drift(make_frame(seed=1), make_frame(seed=2, rows=0), make_config())

    assert not verdict.passed
    assert verdict.current_rows == 0
    assert verdict.schema_errors == ["current frame has no rows"]
    assert "current frame has no rows" in verdict.reason


@pytest.mark.parametrize(
    ("column", "values", "error"),
    [
        ("income", np.nan, "reference column 'income' has no values, only nulls"),
        ("income", np.inf, "reference column 'income' has no values, only nulls"),
        ("plan", None, "reference column 'plan' has no values, only nulls"),
        (
            "income",
            True,
            "reference numerical column 'income' has dtype bool "
            "(declare bool columns as categorical)",
        ),
    ],
)
def test_given_a_column_evidently_cannot_test_when_checked_then_fails_instead_of_raising(
    column: str, values: object, error: str
) -> None:
    reference = make_frame(seed=1)
    reference[column] = values

    verdict = check_drift(reference, make_frame(seed=2), make_config())

    assert not verdict.passed
    assert verdict.schema_errors == [error]


def test_given_int_and_bool_categories_when_schema_checked_then_accepted() -> None:
    config = make_config(numerical_columns=["age"], categorical_columns=["plan", "tier", "vip"])
    frames = []
    for seed in (1, 2):
        frame = make_frame(seed=seed, rows=50).drop(columns=["income", "tenure"])
        frame["tier"] = np.arange(50) % 3
        frame["vip"] = np.arange(50) % 2 == 0
        frame["plan"] = frame["plan"].astype("category")
        frames.append(frame)

    assert check_drift(*frames, config).schema_errors == []


def test_given_shifted_data_when_report_rendered_then_html_document_names_the_columns(
    shifted_frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    page = drift_report_html(*shifted_frames, make_config())

    assert page.lstrip().lower().startswith("<!doctype html>")
    assert "</html>" in page
    for column in FEATURES:
        assert column in page
    assert "customer_id" not in page


def test_given_schema_errors_when_report_rendered_then_page_lists_them_escaped() -> None:
    current = make_frame(seed=2)
    current["<script>"] = 1

    page = drift_report_html(make_frame(seed=1), current, make_config())

    assert "current has undeclared column &#x27;&lt;script&gt;&#x27;" in page
    assert "<script>" not in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"numerical_columns": [], "categorical_columns": []}, "at least one"),
        ({"categorical_columns": ["plan", "age"]}, "more than once: 'age'"),
        ({"id_columns": ["customer_id", "age"]}, "also declared as features: 'age'"),
        ({"timestamp_column": "tenure"}, "also declared as features: 'tenure'"),
        ({"columns": {"customer_id": {"method": "ks"}}}, "not declared.*'customer_id'"),
        ({"max_drift_share": 1.5}, "max_drift_share"),
        ({"sample_rows": 0}, "sample_rows"),
        ({"columns": {"age": {"methd": "ks"}}}, "methd"),
    ],
)
def test_given_inconsistent_config_when_created_then_validation_error_names_the_problem(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        make_config(**overrides)


def test_given_overrides_when_test_resolved_then_column_fields_win_over_type_defaults() -> None:
    config = make_config(
        numerical_method="psi",
        numerical_threshold=0.2,
        columns={"income": ColumnDriftTest(threshold=0.3)},
    )

    assert config.test_for("income") == ColumnDriftTest(method="psi", threshold=0.3)
    assert config.test_for("age") == ColumnDriftTest(method="psi", threshold=0.2)
    assert config.test_for("plan") == ColumnDriftTest()


def test_given_the_config_module_when_imported_then_evidently_is_not() -> None:
    code = (
        "import sys, zenml_integrations.evidently.config; "
        "sys.exit('evidently' in sys.modules or 'zenml_integrations.evidently.gate' in sys.modules)"
    )

    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_given_a_verdict_when_put_on_the_report_then_a_script_free_summary_opens_the_body(
    shifted_frames: tuple[pd.DataFrame, pd.DataFrame], shifted_verdict: DriftVerdict
) -> None:
    page = with_verdict(drift_report_html(*shifted_frames, make_config()), shifted_verdict)

    body = page[page.lower().index("<body") :]
    section = body[body.index(">") + 1 : body.index("</section>")]
    assert section.startswith("<style>")
    assert 'id="drift-gate-verdict"' in section
    assert "<script" not in section.lower()
    assert "Drift gate failed" in section
    for column in shifted_verdict.columns:
        assert f"<td>{column.column}</td>" in section
    assert section.count("<td>drifted</td>") == len(shifted_verdict.drifted_columns) >= 1
    assert "Share of Drifted Columns" in page  # Evidently's report follows, untouched


def test_given_schema_errors_when_summarized_then_each_error_is_listed_escaped() -> None:
    current = make_frame(seed=2)
    current["<b>"] = 1
    verdict = check_drift(make_frame(seed=1), current, make_config())

    section = verdict_html(verdict)

    assert "Drift gate failed" in section
    assert "<li>current has undeclared column &#x27;&lt;b&gt;&#x27;</li>" in section


def make_loans(seed: int, rows: int = 3_000, shifted: bool = False) -> pd.DataFrame:
    """A loans table as users have them: strings, a pandas category, a bool, dates, NaN."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "loan_id": [f"L-{index}" for index in range(rows)],
            "amount": rng.lognormal(9, 0.6, rows),
            "rate": rng.uniform(0.02, 0.2, rows),
            # "E" is rare: about 1 % of rows.
            "grade": rng.choice(
                ["A", "B", "C", "D", "E"],
                rows,
                p=[0.1, 0.15, 0.25, 0.49, 0.01] if shifted else [0.3, 0.3, 0.2, 0.19, 0.01],
            ).astype(object),
            "purpose": pd.Categorical(rng.choice(["car", "home", "other"], rows)),
            "state": pd.array(rng.choice(["CA", "NY", "TX"], rows), dtype="string"),
            "has_cosigner": rng.random(rows) < (0.7 if shifted else 0.2),
            "opened": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), "D"),
        }
    )
    gaps = rng.random((rows, 3)) < 0.06
    frame.loc[gaps[:, 0], "amount"] = np.nan
    frame.loc[gaps[:, 1], "grade"] = None
    frame.loc[gaps[:, 2], "state"] = pd.NA
    return frame


LOAN_FEATURES = ["amount", "rate", "grade", "purpose", "state", "has_cosigner", "opened"]


def loans_config(reference: pd.DataFrame, **overrides: object) -> DriftGateConfig:
    kinds = feature_kinds(reference, LOAN_FEATURES)
    fields: dict[str, object] = {
        "numerical_columns": kinds.numerical,
        "categorical_columns": kinds.categorical,
        "datetime_columns": kinds.datetime,
        "id_columns": ["loan_id"],
    }
    return DriftGateConfig.model_validate({**fields, **overrides})


def test_given_strings_categories_bools_and_dates_when_kinds_judged_then_each_has_its_kind() -> (
    None
):
    kinds = feature_kinds(make_loans(seed=1), [*LOAN_FEATURES, "absent"])

    assert kinds.numerical == ["amount", "rate", "absent"]
    assert kinds.categorical == ["grade", "purpose", "state", "has_cosigner"]
    assert kinds.datetime == ["opened"]


def test_given_a_loans_table_with_nans_when_checked_then_categorical_methods_and_no_drift() -> None:
    verdict = check_drift(make_loans(seed=1), make_loans(seed=2), loans_config(make_loans(1)))

    assert verdict.schema_errors == []
    assert verdict.passed, verdict.reason
    methods = {column.column: column.method for column in verdict.columns}
    assert list(methods) == ["amount", "rate", "grade", "purpose", "state", "has_cosigner"]
    for column in ("grade", "purpose", "state", "has_cosigner"):
        # Evidently's categorical defaults: chi-square or Z-test up to 1,000 rows, then JS.
        assert methods[column] == "Jensen-Shannon distance", methods
    assert methods["amount"] == "Wasserstein distance (normed)"


def test_given_shifted_grades_and_cosigners_when_checked_then_exactly_those_drift() -> None:
    reference = make_loans(seed=1)

    verdict = check_drift(reference, make_loans(seed=2, shifted=True), loans_config(reference))

    assert [column.column for column in verdict.drifted_columns] == ["grade", "has_cosigner"]
    assert not verdict.passed


def test_given_a_configured_categorical_method_when_checked_then_bools_and_strings_use_it() -> None:
    reference = make_loans(seed=1)

    verdict = check_drift(
        reference, make_loans(seed=2), loans_config(reference, categorical_method="psi")
    )

    assert {c.method for c in verdict.columns if c.column_type == "categorical"} == {"psi"}
    assert verdict.passed, verdict.reason


def test_given_served_traffic_with_bools_as_text_numbers_as_objects_and_nones_then_no_drift() -> (
    None
):
    """Inference logs carry what requests sent: "true"/1/None for a bool, numbers with
    None in object columns, plain strings for a category and an unseen level."""
    reference = make_loans(seed=1)
    served = make_loans(seed=2).drop(columns=["loan_id", "opened"])
    rng = np.random.default_rng(3)
    spelled = served["has_cosigner"].map({True: "true", False: "false"}).astype(object)
    spelled[rng.random(len(served)) < 0.2] = served["has_cosigner"].astype(int)
    spelled[rng.random(len(served)) < 0.05] = None
    served["has_cosigner"] = spelled
    served["amount"] = served["amount"].astype(object).where(served["amount"].notna(), None)
    served["purpose"] = served["purpose"].astype(str)
    served.loc[served.index[:5], "grade"] = "G"  # a level training never saw, and rare
    served["state"] = served["state"].astype(object)

    verdict = check_drift(reference, served, loans_config(reference))

    assert verdict.schema_errors == []
    assert verdict.passed, verdict.reason
    assert verdict.drifted_columns == []


def test_given_bool_training_column_and_served_text_that_flipped_then_drift_is_found() -> None:
    reference = make_loans(seed=1)
    served = make_loans(seed=2).drop(columns=["loan_id", "opened"])
    served["has_cosigner"] = np.where(served["has_cosigner"], "false", "true").astype(object)

    verdict = check_drift(reference, served, loans_config(reference))

    assert [column.column for column in verdict.drifted_columns] == ["has_cosigner"]


def test_given_float_codes_with_nan_as_categories_when_checked_then_tested_as_whole_codes() -> None:
    config = DriftGateConfig(categorical_columns=["tier"])
    reference = pd.DataFrame({"tier": np.arange(600) % 3})
    current = pd.DataFrame({"tier": (np.arange(600) % 3).astype(float)})
    current.loc[::50, "tier"] = np.nan

    verdict = check_drift(reference, current, config)

    assert verdict.schema_errors == []
    assert verdict.passed, verdict.reason


def test_given_many_rows_when_report_rendered_then_drawn_from_report_sample_rows_per_side() -> None:
    reference = pd.DataFrame({"plan": ["basic"] * 9_876})
    current = pd.DataFrame({"plan": ["basic"] * 8_765})
    config = DriftGateConfig(categorical_columns=["plan"], report_sample_rows=4_321)

    page = drift_report_html(reference, current, config)
    verdict = check_drift(reference, current, config)

    # The distribution plots count the rows drawn; the verdict still sees every row.
    assert '"y": [4321]' in page
    assert '"y": [9876]' not in page
    assert '"y": [8765]' not in page
    assert (verdict.reference_rows, verdict.current_rows) == (9_876, 8_765)
