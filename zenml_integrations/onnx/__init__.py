"""The ONNX plugin, in rooms by when and where code runs.

``export`` (training time: conversion, parity, Triton layout), ``rollout``
(pure rules shared by the local server and the Kubernetes controller),
``server`` (the ZenML-free ASGI core), ``kubernetes`` and ``seldon`` (cluster
manifests and the serving image), and on top the ZenML-bound deployer files
(``flavor``, ``model_deployer``, ``service``, ``deployment``, ``operations``).
pyproject.toml's import contracts keep every import pointing down this list.
"""
