"""One loaded ONNX model version and what its input must look like."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from zenml_integrations.onnx.errors import OnnxError

_OIP_DATATYPES: dict[str, str] = {
    "float32": "FP32",
    "float64": "FP64",
    "int64": "INT64",
    "int32": "INT32",
    "bool": "BOOL",
    "object": "BYTES",
}


class ModelLoadError(OnnxError):
    """The model file is missing, corrupt, or not what the caller expected."""


@dataclass(frozen=True)
class TensorSpec:
    """Name, element type and shape (-1 for a variable dimension) of a tensor."""

    name: str
    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    datatype: str = field(init=False)  # the OIP name; computed once, read on every response

    def __post_init__(self) -> None:
        datatype = _OIP_DATATYPES.get(self.dtype.name, self.dtype.name.upper())
        object.__setattr__(self, "datatype", datatype)

    def metadata(self) -> dict[str, Any]:
        """The OIP metadata entry for this tensor."""
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


class OnnxModel:
    """An onnxruntime session with explicit thread counts and checked metadata.

    onnxruntime ignores CPU pinning and by default spawns a thread per core;
    a server that runs several versions side by side sets both counts itself.
    """

    def __init__(
        self,
        name: str,
        version: str,
        onnx_bytes: bytes,
        *,
        expected_sha256: str | None = None,
        intra_op_threads: int = 1,
        inter_op_threads: int = 1,
        source: Path | None = None,
    ) -> None:
        import onnxruntime as ort

        self.name = name
        self.version = version
        self.source = source
        self.sha256 = hashlib.sha256(onnx_bytes).hexdigest()
        if expected_sha256 is not None and expected_sha256 != self.sha256:
            raise ModelLoadError(
                f"model {name} version {version}: checksum mismatch, expected sha256 "
                f"{expected_sha256}, file has {self.sha256}; refusing to load it"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = inter_op_threads
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self._session = ort.InferenceSession(
                onnx_bytes, options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise ModelLoadError(
                f"model {name} version {version} is not a loadable ONNX model: {error}"
            ) from error
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise ModelLoadError(
                f"model {name} version {version} has {len(inputs)} inputs; the server "
                "serves models with one tensor input of shape [batch, features]"
            )
        self.input = _spec(inputs[0])
        if len(self.input.shape) != 2 or self.input.shape[1] < 1:
            raise ModelLoadError(
                f"model {name} version {version}: input shape {list(self.input.shape)} "
                "is not [batch, features]"
            )
        self.outputs = tuple(_spec(output) for output in self._session.get_outputs())
        self._output_names = [output.name for output in self.outputs]
        # The public ``run`` re-validates feed names and graph-capture options on
        # every call; the request was already checked against the input spec, so
        # call the compiled session directly (fall back if a release renames it).
        self._run = getattr(self._session, "_sess", self._session).run
        metadata = self._session.get_modelmeta().custom_metadata_map
        names = json.loads(metadata.get("feature_names", "[]"))
        self.feature_names: tuple[str, ...] = tuple(names) or tuple(
            f"f{index}" for index in range(self.input.shape[1])
        )
        self.n_features = self.input.shape[1]

    @classmethod
    def load(
        cls,
        name: str,
        version: str,
        path: Path,
        *,
        expected_sha256: str | None = None,
        intra_op_threads: int = 1,
    ) -> OnnxModel:
        """Load a model file, remembering where it came from so a restart can reload it."""
        try:
            onnx_bytes = path.read_bytes()
        except OSError as error:
            raise ModelLoadError(
                f"model {name} version {version}: cannot read {path}: {error}"
            ) from None
        return cls(
            name,
            version,
            onnx_bytes,
            expected_sha256=expected_sha256,
            intra_op_threads=intra_op_threads,
            source=path.resolve(),
        )

    def predict(self, batch: np.ndarray) -> list[np.ndarray]:
        """Run the model; ``batch`` must already match the input spec."""
        return self._run(self._output_names, {self.input.name: batch}, None)  # type: ignore[no-any-return]

    def metadata(self) -> dict[str, Any]:
        """OIP model metadata (``GET /v2/models/{name}[/versions/{v}]``)."""
        return {
            "name": self.name,
            "versions": [self.version],
            "platform": "onnxruntime_onnx",
            "inputs": [self.input.metadata()],
            "outputs": [output.metadata() for output in self.outputs],
            "parameters": {"feature_names": list(self.feature_names), "sha256": self.sha256},
        }


def _spec(node: Any) -> TensorSpec:
    from onnxruntime.capi.onnxruntime_pybind11_state import NodeArg

    assert isinstance(node, NodeArg)
    element = node.type.removeprefix("tensor(").removesuffix(")")
    dtype = np.dtype(
        {"float": "float32", "double": "float64", "string": "object"}.get(element, element)
    )
    shape = tuple(dim if isinstance(dim, int) else -1 for dim in node.shape)
    return TensorSpec(node.name, dtype, shape)
