"""Errors of the ONNX plugin."""


class OnnxError(Exception):
    """Base class for everything the ONNX plugin refuses to do."""


class OnnxConversionError(OnnxError):
    """skl2onnx could not convert the model."""


class OnnxArtifactMismatch(OnnxError):
    """A model file differs from what the registry recorded for it."""


class OnnxParityError(OnnxError):
    """The ONNX model's outputs differ from scikit-learn's beyond the tolerance."""


class OnnxDeployerError(OnnxError):
    """The deployer cannot do what was asked in its mode or with its settings."""


class OnnxServerStartError(OnnxError):
    """The server cannot start as configured (a folder it cannot create, an exposed token)."""
