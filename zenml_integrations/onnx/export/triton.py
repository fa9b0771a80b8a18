"""Write an ONNX model in Triton's model-repository layout.

``<root>/<name>/config.pbtxt`` and ``<root>/<name>/<version>/model.onnx``, so
the artifact registered by the training pipeline also runs on Triton-based
servers. The batch dimension stays explicit (``max_batch_size: 0``) because
the model's tensors already carry it as a variable first dimension.
"""

from __future__ import annotations

from pathlib import Path

_TRITON_TYPES = {
    "float32": "TYPE_FP32",
    "float64": "TYPE_FP64",
    "int64": "TYPE_INT64",
    "int32": "TYPE_INT32",
    "bool": "TYPE_BOOL",
    "object": "TYPE_STRING",
}


def write_triton_repository(
    onnx_bytes: bytes, root: Path, model_name: str, version: int = 1
) -> Path:
    """Lay the model out for Triton under ``root``; returns the model's folder."""
    import onnx
    from onnx import helper

    model = onnx.load_from_string(onnx_bytes)

    def tensors(values: list[onnx.ValueInfoProto]) -> str:
        entries = []
        for value in values:
            tensor = value.type.tensor_type
            dtype = helper.tensor_dtype_to_np_dtype(tensor.elem_type).name
            dims = ", ".join(str(dim.dim_value or -1) for dim in tensor.shape.dim)
            entries.append(
                f'  {{\n    name: "{value.name}"\n    data_type: {_TRITON_TYPES[dtype]}\n'
                f"    dims: [ {dims} ]\n  }}"
            )
        return ",\n".join(entries)

    model_dir = root / model_name
    (model_dir / str(version)).mkdir(parents=True, exist_ok=True)
    (model_dir / str(version) / "model.onnx").write_bytes(onnx_bytes)
    (model_dir / "config.pbtxt").write_text(
        f'name: "{model_name}"\n'
        'platform: "onnxruntime_onnx"\n'
        "max_batch_size: 0\n"
        f"input [\n{tensors(list(model.graph.input))}\n]\n"
        f"output [\n{tensors(list(model.graph.output))}\n]\n",
        encoding="utf-8",
    )
    return model_dir
