"""A request a client can send to a registered model: rows it was trained on, as JSON.

Every version carries a sample of its training inputs (``reference.parquet``,
in the model's input encoding) and its input signature; together they give
records in the form the server takes (strings, booleans, ISO dates, ``null``
for a gap), so a README's example request is real for any project's data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zenml_integrations.mlflow.errors import ModelVersionNotFound
from zenml_integrations.mlflow.reference import REFERENCE_FILE
from zenml_integrations.mlflow.registry import (
    read_version_parquet,
    registered_signature,
    version_by_alias,
)
from zenml_integrations.tabular import client_values

if TYPE_CHECKING:
    from mlflow import MlflowClient


def example_request(
    client: MlflowClient, model_name: str, alias: str = "champion", rows: int = 1
) -> dict[str, Any]:
    """``{"id": ..., "records": [...]}`` with ``rows`` training rows of the aliased version.

    Raises:
        ModelVersionNotFound: when the alias is unset or the version has no training reference.
    """
    version = version_by_alias(client, model_name, alias)
    if version is None:
        raise ModelVersionNotFound(
            f"registered model {model_name!r} has no {alias!r} alias: run the training pipeline"
        )
    signature = registered_signature(client, model_name, str(version.version))
    reference = read_version_parquet(client, model_name, str(version.version), REFERENCE_FILE)
    reference = reference.head(rows)
    names = [str(name) for name in signature.get("feature_names") or reference.columns]
    kinds = signature.get("feature_kinds") or {}
    columns = {
        name: client_values(kinds.get(name, "numeric"), reference[name].to_numpy())
        for name in names
    }
    records = [{name: columns[name][index] for name in names} for index in range(len(reference))]
    return {"id": f"example-{model_name}-v{version.version}", "records": records}
