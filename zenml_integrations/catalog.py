"""The stack component flavors this package ships.

ZenML has no plugin discovery: a flavor exists in a ZenML store only after it
has been registered there from an importable source path. This list is what
``mlops-kit flavors register`` registers. Each entry is the dotted path of a
``Flavor`` subclass in a cheap-to-import ``flavor.py`` module.
"""

from __future__ import annotations

from zenml_integrations import __version__

FLAVOR_SOURCES: tuple[str, ...] = (
    "zenml_integrations.onnx.flavor.OnnxModelDeployerFlavor",
    "zenml_integrations.evidently.flavor.EvidentlyDriftGateFlavor",
    "zenml_integrations.feast.flavor.FeastFeatureStoreFlavor",
)


def kit_requirement(extra: str) -> str:
    """This package, pinned to the running version, with the extra a component needs.

    Components outside ``zenml.integrations`` must name it in ``requirements``,
    or a remote orchestrator's image lacks it.
    """
    return f"zenml-mlops-kit[{extra}]=={__version__}"
