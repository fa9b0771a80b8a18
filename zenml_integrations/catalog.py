"""The stack component flavors this package ships.

ZenML has no plugin discovery: a flavor exists in a ZenML store only after it
has been registered there from an importable source path. This list is what
``mlops-kit flavors register`` registers. Each entry is the dotted path of a
``Flavor`` subclass in a cheap-to-import ``flavor.py`` module.
"""

from __future__ import annotations

FLAVOR_SOURCES: tuple[str, ...] = (
    "zenml_integrations.onnx.flavor.OnnxModelDeployerFlavor",
    "zenml_integrations.evidently.flavor.EvidentlyDriftGateFlavor",
    "zenml_integrations.feast.flavor.FeastFeatureStoreFlavor",
)
