"""An Open Inference Protocol request and result, free of any transport.

REST (JSON and Triton's binary tensor extension) and gRPC (``ModelInfer``)
each decode into a ``DecodedRequest`` and encode an ``InferResult``; between
the two, ``DataPlane.infer_decoded`` does everything else once: validation
against the model, routing, rollout, fallback, shadow, metrics and the
inference log. A transport checks only what its own encoding defines (field
types, byte sizes against shapes); what the values mean is checked behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class RequestTensor:
    """One input tensor as the client declared it.

    ``data`` is a numpy array of the declared datatype when the transport
    carried raw bytes (Triton binary data, gRPC ``raw_input_contents``; BYTES
    as an object array of ``bytes``), or the JSON values, flat or nested as
    ``shape`` says, which are checked against ``datatype`` behind the interface.
    ``content_type`` is the tensor's ``content_type`` parameter: MLServer's
    ``pd_json`` marks BYTES elements that each hold one JSON value (a pandas
    column of Python objects, such as booleans with gaps).
    """

    name: str
    datatype: str
    shape: tuple[int, ...]
    data: np.ndarray | list[Any]
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class RequestedOutput:
    """An output the client asked for; ``binary`` asks for raw bytes where the transport can."""

    name: str
    binary: bool = False


@dataclass(frozen=True, slots=True)
class DecodedRequest:
    """One inference request: its inputs, the outputs wanted (``None``: all) and routing.

    ``id`` is the client's request id; the server assigns one when it is ``None``.
    ``routing_key`` keeps a client on one variant (sticky A/B); without one the
    request id is used.
    """

    id: str | None
    inputs: tuple[RequestTensor, ...]
    outputs: tuple[RequestedOutput, ...] | None
    routing_key: str | None


@dataclass(frozen=True, slots=True)
class OutputTensor:
    """One output of the model version that answered, as the transport should send it."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    data: np.ndarray
    binary: bool


@dataclass(frozen=True, slots=True)
class InferResult:
    """The answer and the version that gave it.

    ``variant`` is that version's role (``champion``, ``challenger``, ``pinned``);
    a request whose challenger failed is answered by the champion.
    """

    model_name: str
    model_version: str
    id: str
    outputs: tuple[OutputTensor, ...]
    variant: str
