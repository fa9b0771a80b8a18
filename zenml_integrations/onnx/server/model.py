"""One loaded ONNX model version and what its input must look like.

Two input layouts: one float tensor ``[batch, features]`` (numeric features), or
one ``[batch, 1]`` tensor per feature, named after it, for models trained on
tables with categories or dates (strings in, the model's own encoder inside).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from zenml_integrations.onnx.errors import OnnxError
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.tabular import FEATURE_KINDS, FeatureKind, oip_datatype

if TYPE_CHECKING:
    from onnxruntime import NodeArg

# What ``predict`` takes: the float matrix of a single-input model, or one
# ``[rows, 1]`` array per input name.
Batch = np.ndarray | dict[str, np.ndarray]


class ModelLoadError(OnnxError):
    """The model file is missing, corrupt, or not what the caller expected."""


class ModelFileRefused(ModelLoadError):
    """A model path outside the server's model directory, not a regular file, or too large."""


@dataclass(frozen=True)
class ModelFolder:
    """The one folder a server reads model files from, and the largest file it reads.

    A deploy request names a path; without this, the admin API would open any
    readable path on the server's behalf (a FIFO hangs the read, ``/dev/zero``
    reads until memory runs out) and its errors would tell whether a path exists.
    """

    path: Path
    max_bytes: int

    @classmethod
    def of(cls, config: ServerConfig) -> ModelFolder:
        """``config``'s model directory (symlinks resolved: containment is checked on real paths).

        Raises:
            ModelFileRefused: when ``config`` names none (``create_server`` fills it in).
        """
        if config.model_dir is None:
            raise ModelFileRefused(
                "this server has no model_dir; set one in its config to load model files"
            )
        return cls(Path(os.path.realpath(config.model_dir)), config.max_model_bytes)

    def read(self, requested: Path) -> tuple[Path, bytes]:
        """The real path and bytes of ``requested`` (relative paths start in the folder).

        Raises:
            ModelFileRefused: unless it is a regular file inside the folder (symlinks
                resolved) of at most ``max_bytes``; the message is the same whether or
                not a path outside the folder exists.
        """
        resolved = Path(os.path.realpath(self.path / requested))
        refused = ModelFileRefused(
            f"model file {str(requested)!r} is not a readable regular file inside the server's "
            f"model directory {self.path}; copy the model there and name that file"
        )
        if not resolved.is_relative_to(self.path):
            raise refused
        try:  # non-blocking, so that opening a FIFO cannot wait for a writer
            descriptor = os.open(resolved, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        except OSError:
            raise refused from None
        with open(descriptor, "rb") as handle:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode):
                raise refused
            # One byte over the cap tells a file that grew since fstat from one that did not.
            data = handle.read(self.max_bytes + 1) if info.st_size <= self.max_bytes else b""
        if max(info.st_size, len(data)) > self.max_bytes:
            raise ModelFileRefused(
                f"model file {str(requested)!r} has over {self.max_bytes} bytes "
                "(max_model_bytes); raise the limit in the server config to serve it"
            )
        return resolved, data


@dataclass(frozen=True)
class TensorSpec:
    """Name, element type and shape (-1 for a variable dimension) of a tensor."""

    name: str
    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    datatype: str = field(init=False)  # the OIP name; computed once, read on every response

    def __post_init__(self) -> None:
        datatype = oip_datatype(self.dtype)
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
        self.inputs = tuple(_spec(node) for node in self._session.get_inputs())
        metadata = self._session.get_modelmeta().custom_metadata_map
        recorded_kinds = json.loads(metadata.get("feature_kinds", "{}"))
        self.tabular = bool(self.inputs) and (
            len(self.inputs) > 1
            or self.inputs[0].datatype == "BYTES"
            or any(kind not in ("numeric", "boolean") for kind in recorded_kinds.values())
        )
        _check_layout(name, version, self.inputs, self.tabular)
        self.input = self.inputs[0]
        self.feature_names: tuple[str, ...]
        self.feature_kinds: dict[str, FeatureKind]
        if self.tabular:
            self.feature_names = tuple(spec.name for spec in self.inputs)
            self.feature_kinds = _feature_kinds(name, version, self.inputs, recorded_kinds)
            self.n_features = len(self.inputs)
        else:
            self.n_features = self.input.shape[1]
            self.feature_names = tuple(json.loads(metadata.get("feature_names", "[]"))) or tuple(
                f"f{index}" for index in range(self.n_features)
            )
            self.feature_kinds = dict.fromkeys(self.feature_names, "numeric")
        self.outputs = tuple(_spec(output) for output in self._session.get_outputs())
        self._output_names = [output.name for output in self.outputs]
        # The public ``run`` re-validates feed names and graph-capture options on
        # every call; the request was already checked against the input spec, so
        # call the compiled session directly (fall back if a release renames it).
        self._run = getattr(self._session, "_sess", self._session).run

    @classmethod
    def load(
        cls,
        name: str,
        version: str,
        path: Path,
        *,
        folder: ModelFolder,
        expected_sha256: str | None = None,
        intra_op_threads: int = 1,
    ) -> OnnxModel:
        """Load a model file from ``folder``, remembering where it came from for a restart."""
        source, onnx_bytes = folder.read(path)
        return cls(
            name,
            version,
            onnx_bytes,
            expected_sha256=expected_sha256,
            intra_op_threads=intra_op_threads,
            source=source,
        )

    def predict(self, batch: Batch) -> list[np.ndarray]:
        """Run the model; ``batch`` must already match the input specs."""
        feeds = batch if isinstance(batch, dict) else {self.input.name: batch}
        return self._run(self._output_names, feeds, None)  # type: ignore[no-any-return]

    def metadata(self) -> dict[str, Any]:
        """OIP model metadata (``GET /v2/models/{name}[/versions/{v}]``)."""
        return {
            "name": self.name,
            "versions": [self.version],
            "platform": "onnxruntime_onnx",
            "inputs": [spec.metadata() for spec in self.inputs],
            "outputs": [output.metadata() for output in self.outputs],
            # OIP parameter values are scalars: the feature list as a JSON-encoded string
            "parameters": {"feature_names": json.dumps(self.feature_names), "sha256": self.sha256},
        }


def batch_rows(batch: Batch) -> int:
    """How many rows a batch holds."""
    if isinstance(batch, dict):
        return next(iter(batch.values())).shape[0] if batch else 0
    return int(batch.shape[0])


def _check_layout(name: str, version: str, inputs: tuple[TensorSpec, ...], tabular: bool) -> None:
    if not inputs:
        raise ModelLoadError(f"model {name} version {version} has no inputs")
    if not tabular:
        if len(inputs[0].shape) != 2 or inputs[0].shape[1] < 1:
            raise ModelLoadError(
                f"model {name} version {version}: input shape {list(inputs[0].shape)} "
                "is not [batch, features]"
            )
        return
    for spec in inputs:
        if len(spec.shape) != 2 or spec.shape[1] != 1 or spec.datatype not in ("FP32", "BYTES"):
            raise ModelLoadError(
                f"model {name} version {version}: input '{spec.name}' is {spec.datatype} "
                f"{list(spec.shape)}; a model with one input per feature takes [batch, 1] "
                "FP32 or BYTES tensors"
            )


def _feature_kinds(
    name: str, version: str, inputs: tuple[TensorSpec, ...], recorded: dict[str, str]
) -> dict[str, FeatureKind]:
    kinds: dict[str, FeatureKind] = {}
    for spec in inputs:
        kind = recorded.get(spec.name, "categorical" if spec.datatype == "BYTES" else "numeric")
        if kind not in FEATURE_KINDS or (kind == "categorical") != (spec.datatype == "BYTES"):
            raise ModelLoadError(
                f"model {name} version {version}: input '{spec.name}' ({spec.datatype}) is "
                f"recorded as a {kind!r} feature; the model file is inconsistent"
            )
        kinds[spec.name] = kind
    return kinds


def _spec(node: NodeArg) -> TensorSpec:
    element = node.type.removeprefix("tensor(").removesuffix(")")
    dtype = np.dtype(
        {"float": "float32", "double": "float64", "string": "object"}.get(element, element)
    )
    shape = tuple(dim if isinstance(dim, int) else -1 for dim in node.shape)
    return TensorSpec(node.name, dtype, shape)
