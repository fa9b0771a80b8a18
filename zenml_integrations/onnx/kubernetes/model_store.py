"""Copy a verified ONNX file to where the cluster's storage initializer fetches it."""

from __future__ import annotations

import hashlib
import os

from zenml.client import Client
from zenml.io import fileio
from zenml_integrations.onnx.errors import OnnxArtifactMismatch
from zenml_integrations.onnx.kubernetes.config import KubernetesServingConfig
from zenml_integrations.onnx.kubernetes.manifests import MODEL_FILE


def publish_model(
    serving: KubernetesServingConfig, model_name: str, model_path: str, sha256: str
) -> str:
    """Copy ``model_path`` to ``<store>/<model>/<sha256>/1/model.onnx``; return the folder URI.

    Folders are content-addressed: a model already published is not copied
    again, and a folder never changes once written. The store defaults to
    ``onnx-models`` under the active stack's artifact store, which the
    cluster can read with the artifact store's credentials.

    Raises:
        OnnxArtifactMismatch: when the file's digest is not ``sha256``.
    """
    with open(model_path, "rb") as handle:
        actual = hashlib.file_digest(handle, "sha256").hexdigest()
    if actual != sha256:
        raise OnnxArtifactMismatch(
            f"{model_path} has sha256 {actual}, expected {sha256}; refusing to publish it"
        )
    store = serving.model_store or f"{Client().active_stack.artifact_store.path}/onnx-models"
    folder = f"{store.rstrip('/')}/{model_name}/{sha256}"
    target = f"{folder}/{MODEL_FILE}"
    if not fileio.exists(target):
        fileio.makedirs(os.path.dirname(target))
        partial = f"{target}.partial"
        fileio.copy(model_path, partial, overwrite=True)
        fileio.rename(partial, target, overwrite=True)
    return folder
