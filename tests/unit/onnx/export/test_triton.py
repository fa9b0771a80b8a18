from __future__ import annotations

from pathlib import Path

from zenml_integrations.onnx.export.triton import write_triton_repository

from tests.helpers.onnx_models import logistic_model


def test_given_an_onnx_model_when_laid_out_for_triton_then_config_matches_its_tensors(
    tmp_path: Path,
) -> None:
    onnx_bytes = logistic_model([0.1] * 8)
    model_dir = write_triton_repository(onnx_bytes, tmp_path, "churn", version=3)

    assert model_dir == tmp_path / "churn"
    assert (model_dir / "3" / "model.onnx").read_bytes() == onnx_bytes
    config = (model_dir / "config.pbtxt").read_text()
    assert 'name: "churn"' in config
    assert 'platform: "onnxruntime_onnx"' in config
    assert "max_batch_size: 0" in config
    assert 'name: "input"\n    data_type: TYPE_FP32\n    dims: [ -1, 8 ]' in config
    assert 'name: "label"\n    data_type: TYPE_INT64\n    dims: [ -1 ]' in config
    assert 'name: "probabilities"\n    data_type: TYPE_FP32\n    dims: [ -1, 2 ]' in config
