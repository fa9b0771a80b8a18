"""A loans table as users bring it: string ids and times, categories, bools, gaps, yes/no target.

Deterministic for a seed. Rare levels (grade G, purpose 'wedding') and missing
values in several columns are there on purpose; ``UNSEEN_PURPOSE`` never
appears in training data, so a test can send it to the server.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES = [
    "amount",
    "income",
    "term_months",
    "grade",
    "purpose",
    "home_ownership",
    "state",
    "has_cosigner",
    "employment_years",
    "first_credit_line",
]
TARGET, ENTITY, TIMESTAMP = "defaulted", "loan_id", "applied_at"
UNSEEN_PURPOSE = "crypto"
_MISSING = {"amount": 0.02, "income": 0.08, "grade": 0.03, "purpose": 0.02, "has_cosigner": 0.05,
            "employment_years": 0.10, "first_credit_line": 0.01}  # fmt: skip


def loans_table(rows: int = 4_000, seed: int = 7) -> pd.DataFrame:
    """The table, newest applications last, with a target that depends on most features."""
    rng = np.random.default_rng(seed)
    grade = rng.choice(list("ABCDEFG"), rows, p=[0.22, 0.25, 0.2, 0.15, 0.1, 0.07, 0.01])
    purpose = rng.choice(
        ["car", "home", "debt", "education", "business", "wedding"],
        rows,
        p=[0.3, 0.25, 0.25, 0.1, 0.095, 0.005],
    )
    income = rng.lognormal(10.8, 0.5, rows).round(0)
    amount = (income * rng.uniform(0.05, 0.6, rows)).round(2)
    has_cosigner = rng.random(rows) < 0.2
    employment = rng.exponential(6.0, rows).round(1)
    risk = (
        1.8 * (amount / income)
        + 0.35 * (np.searchsorted(list("ABCDEFG"), grade))
        - 0.6 * has_cosigner
        - 0.05 * employment
        + 0.4 * (purpose == "business")
        + rng.normal(0, 0.6, rows)
    )
    start = np.datetime64("2024-01-01T00:00:00")
    applied = start + np.sort(rng.integers(0, 600 * 86_400, rows)).astype("timedelta64[s]")
    first_credit = applied - (rng.integers(365, 25 * 365, rows) * 86_400).astype("timedelta64[s]")
    frame = pd.DataFrame(
        {
            ENTITY: [f"L-{1000 + index}" for index in range(rows)],
            TIMESTAMP: pd.Series(applied).dt.strftime("%Y-%m-%dT%H:%M:%S"),
            "amount": amount,
            "income": income,
            "term_months": rng.choice([36, 60], rows),
            "grade": grade.astype(object),
            "purpose": purpose.astype(object),
            "home_ownership": rng.choice(["RENT", "OWN", "MORTGAGE"], rows).astype(object),
            "state": rng.choice([f"S{code:02d}" for code in range(25)], rows).astype(object),
            "has_cosigner": has_cosigner.astype(object),
            "employment_years": employment,
            "first_credit_line": pd.Series(first_credit).dt.strftime("%Y-%m-%d"),
            TARGET: np.where(risk > np.quantile(risk, 0.75), "yes", "no").astype(object),
        }
    )
    for column, share in _MISSING.items():
        frame.loc[rng.random(rows) < share, column] = None
    return frame
