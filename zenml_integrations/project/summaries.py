"""What a project command prints after a run, read from the steps' typed outputs.

Each summary takes only the fields it shows from a step's output (a pydantic
model, a dataclass or a mapping), so a step may return a richer type without
touching the summary; a missing field fails validation with its name.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from zenml.models import PipelineRunResponse


class _StepOutput(BaseModel):
    """The fields of a step output that a summary shows."""

    model_config = ConfigDict(from_attributes=True, frozen=True)


class OnnxParity(_StepOutput):
    """``export_onnx``'s parity check."""

    max_abs_diff: float
    rows: int
    passed: bool


class RegisteredVersion(_StepOutput):
    """``register_model``'s registry entry."""

    name: str
    version: str
    semver: str
    newly_registered: bool
    artifact_location: str


class PromotionDecision(_StepOutput):
    """``quality_gate``'s decision about the ``champion`` alias."""

    reason: str
    champion_after: str


class GateVerdict(_StepOutput):
    """A gate's verdict (the drift gate's)."""

    reason: str


class Deployment(_StepOutput):
    """``deploy_model``'s rollout of a version."""

    model_name: str
    version: str
    outcome: str
    strategy: str
    prediction_url: str | None


class MonitoringOutcome(_StepOutput):
    """``publish_drift``'s verdict on served traffic."""

    model_name: str
    version: str
    drift_passed: bool
    reason: str
    drifted_columns: list[str]
    retrain: bool
    metrics_exported_to: list[str]


class QualityOutcome(_StepOutput):
    """``publish_quality``'s verdict on the labelled predictions."""

    model_name: str
    retrain_metric: str
    metric_by_version: dict[str, float]
    drop_by_version: dict[str, float]
    labels_by_version: dict[str, int]
    degraded_versions: list[str]
    unknown_id: int
    retrain: bool
    metrics_exported_to: list[str]


class FeatureSourceExport(_StepOutput):
    """``export_feature_source``'s parquet file."""

    path: str
    rows: int


class Materialization(_StepOutput):
    """``materialize_features``'s load of the online store."""

    mode: str
    end: datetime
    feature_views: list[str]


class RunSummary(BaseModel):
    """A run's name and status: the first line of every command's report."""

    model_config = ConfigDict(frozen=True)

    run_name: str
    status: str

    @classmethod
    def of(cls, run: PipelineRunResponse) -> Self:
        """The summary of ``run``: its name and status, and the step outputs it shows."""
        header = {"run_name": run.name, "status": run.status.value}
        return cls.model_validate({**header, **cls.step_outputs(run)})

    @classmethod
    def step_outputs(cls, run: PipelineRunResponse) -> dict[str, Any]:
        """The summary's fields read from the run's steps (none for a bare summary)."""
        return {}

    @property
    def completed(self) -> bool:
        """Whether every step of the run finished."""
        return self.status == "completed"

    def lines(self) -> list[str]:
        """The report, one fact a line."""
        return [f"run {self.run_name}: {self.status}"]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def output(run: PipelineRunResponse, step: str, artifact: str | None = None) -> Any:
    """A completed step's output (``artifact`` names one of several), or None."""
    step_run = run.steps.get(step)
    if step_run is None or step_run.status.value != "completed":
        return None
    if artifact is None:
        return step_run.output.load()
    return step_run.outputs[artifact][0].load()


class TrainingSummary(RunSummary):
    """What a user wants to know after a training run, and where to find it."""

    feature_rows: int | None = None
    parity: OnnxParity | None = None
    drift: GateVerdict | None = None
    registered: RegisteredVersion | None = None
    decision: PromotionDecision | None = None

    @classmethod
    def step_outputs(cls, run: PipelineRunResponse) -> dict[str, Any]:
        """The outputs of the steps the run has (the feature store's only with Feast)."""
        features = output(run, "historical_features")
        return {
            "feature_rows": None if features is None else len(features),
            "parity": output(run, "export_onnx", "onnx_parity"),
            "drift": output(run, "drift_gate", "drift_verdict"),
            "registered": output(run, "register_model"),
            "decision": output(run, "quality_gate"),
        }

    def lines(self) -> list[str]:
        """The report, one fact a line."""
        lines = super().lines()
        if self.feature_rows is not None:
            lines.append(f"features: {self.feature_rows} rows point-in-time from the feature store")
        if self.parity is not None:
            lines.append(
                f"onnx parity: max |sklearn - onnx| = {self.parity.max_abs_diff:.2e} "
                f"on {self.parity.rows} held-out rows (passed: {self.parity.passed})"
            )
        if self.drift is not None:
            lines.append(f"drift gate (held-out vs training rows): {self.drift.reason}")
        if (version := self.registered) is not None:
            novelty = "new" if version.newly_registered else "identical model already registered"
            lines.append(
                f"registered: {version.name} v{version.version} (semver {version.semver}, "
                f"{novelty})"
            )
            lines.append(f"onnx file: {version.artifact_location}/model.onnx")
        if self.decision is not None:
            lines.append(f"quality gate: {self.decision.reason}")
            lines.append(f"champion: v{self.decision.champion_after}")
        return lines


class DeploymentSummary(RunSummary):
    """Which version a deployment run rolled out, how, and where it answers."""

    deployment: Deployment | None = None

    @classmethod
    def step_outputs(cls, run: PipelineRunResponse) -> dict[str, Any]:
        """The ``deploy_model`` step's output."""
        return {"deployment": output(run, "deploy_model")}

    def lines(self) -> list[str]:
        """The report, one fact a line."""
        lines = super().lines()
        if (deployed := self.deployment) is not None:
            lines.append(
                f"{deployed.model_name} v{deployed.version}: {deployed.outcome} "
                f"({deployed.strategy})"
            )
            lines.append(f"endpoint: {deployed.prediction_url or 'none reported by the deployer'}")
        return lines


class RetrainingSummary(RunSummary):
    """A run that watches the model and may ask for retraining (monitoring, quality)."""

    retrain_reason: ClassVar[str] = "retraining asked for"

    @property
    def retrain(self) -> bool:
        """Whether the run asked for the model to be trained again."""
        return False


class MonitoringSummary(RetrainingSummary):
    """The drift verdict on served traffic, where its metrics went, and whether to retrain."""

    retrain_reason: ClassVar[str] = "drift persists"
    outcome: MonitoringOutcome | None = None

    @classmethod
    def step_outputs(cls, run: PipelineRunResponse) -> dict[str, Any]:
        """The ``publish_drift`` step's output."""
        return {"outcome": output(run, "publish_drift")}

    @property
    def retrain(self) -> bool:
        """Whether drift lasted long enough that the model should be trained again."""
        return self.outcome is not None and self.outcome.retrain

    def lines(self) -> list[str]:
        """The report, one fact a line."""
        lines = super().lines()
        if (outcome := self.outcome) is not None:
            verdict = "passed" if outcome.drift_passed else "FAILED"
            lines.append(
                f"{outcome.model_name} v{outcome.version}: drift gate {verdict} ({outcome.reason})"
            )
            lines.append(f"drifted features: {', '.join(outcome.drifted_columns) or 'none'}")
            lines.append(f"metrics: {', '.join(outcome.metrics_exported_to) or 'not exported'}")
        return lines


class QualitySummary(RetrainingSummary):
    """Each version's quality on the outcomes that arrived, and whether to retrain."""

    retrain_reason: ClassVar[str] = "quality dropped past retrain.max_drop"
    outcome: QualityOutcome | None = None

    @classmethod
    def step_outputs(cls, run: PipelineRunResponse) -> dict[str, Any]:
        """The ``publish_quality`` step's output."""
        return {"outcome": output(run, "publish_quality")}

    @property
    def retrain(self) -> bool:
        """Whether a version's quality fell past the configured drop."""
        return self.outcome is not None and self.outcome.retrain

    def lines(self) -> list[str]:
        """The report, one fact a line."""
        lines = super().lines()
        if (outcome := self.outcome) is None:
            return lines
        metric = outcome.retrain_metric
        for version, labels in outcome.labels_by_version.items():
            value = outcome.metric_by_version.get(version)
            drop = outcome.drop_by_version.get(version)
            scored = "no score" if value is None else f"{metric} {value:.4f}"
            compared = "" if drop is None else f", {drop:+.4f} worse than at training"
            flag = " DEGRADED" if version in outcome.degraded_versions else ""
            lines.append(f"{outcome.model_name} v{version}: {scored} on {labels} labels"
                         f"{compared}{flag}")  # fmt: skip
        lines.append(f"outcomes with an unknown request id: {outcome.unknown_id}")
        lines.append(f"metrics: {', '.join(outcome.metrics_exported_to) or 'not exported'}")
        return lines


class FeaturesSummary(RunSummary):
    """Where the feature source was written and what the online store loaded."""

    exported: FeatureSourceExport | None = None
    loaded: Materialization | None = None

    @classmethod
    def step_outputs(cls, run: PipelineRunResponse) -> dict[str, Any]:
        """The export and materialization steps' outputs."""
        return {
            "exported": output(run, "export_feature_source"),
            "loaded": output(run, "materialize_features"),
        }

    def lines(self) -> list[str]:
        """The report, one fact a line."""
        lines = super().lines()
        if self.exported is not None:
            lines.append(f"feature source: {self.exported.rows} rows -> {self.exported.path}")
        if (loaded := self.loaded) is not None:
            lines.append(
                f"online store: {loaded.mode} load of {','.join(loaded.feature_views)} "
                f"up to {loaded.end.isoformat()}"
            )
        return lines
