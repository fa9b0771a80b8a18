"""Kubernetes mode of the ONNX deployer: Seldon v1/v2 and KServe manifests, applied and steered.

``config`` is cheap to import (pydantic only); ``cluster`` and ``schema`` import
the ``kubernetes`` extra's libraries.
"""
