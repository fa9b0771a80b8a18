"""Drive the active stack's ONNX deployer in Kubernetes mode through its whole life, in one process.

    python tests/helpers/kubernetes_deployer_actions.py CHAMPION.onnx CHALLENGER.onnx

Deploy (as the deployment step does: a local file and its digest), find it again
through ZenML's store, roll a challenger out, take one canary decision with the
cron entry point, stop, start and delete; print what each step saw as one JSON line.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

from zenml.client import Client
from zenml_integrations.onnx.kubernetes.__main__ import main as advance_canary
from zenml_integrations.onnx.kubernetes.service import KubernetesOnnxService
from zenml_integrations.onnx.model_deployer import OnnxModelDeployer
from zenml_integrations.onnx.rollout.config import RolloutConfig
from zenml_integrations.onnx.service import OnnxServerService, OnnxServerServiceConfig

MODEL_NAME = "churn_model"


def digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def found(deployer: OnnxModelDeployer) -> KubernetesOnnxService:
    services = deployer.find_model_server(model_name=MODEL_NAME)
    assert len(services) == 1, services
    service = services[0]
    assert isinstance(service, KubernetesOnnxService), service
    return service


def main(champion: str, challenger: str) -> dict[str, Any]:
    deployer = Client().active_stack.model_deployer
    assert isinstance(deployer, OnnxModelDeployer), deployer
    config = OnnxServerServiceConfig(
        model_name=MODEL_NAME, model_version="1", model_path=champion,
        model_sha256=digest(champion), pipeline_name="test", pipeline_step_name="deploy",
    )  # fmt: skip
    deployed = deployer.deploy_model(config, OnnxServerService.SERVICE_TYPE, timeout=10)
    seen: dict[str, Any] = {"deployed": type(deployed).__name__, "running": deployed.is_running}
    service = found(deployer)
    seen["found_state"] = service.status.state.value
    plan = deployer.roll_out(service, "2", challenger, digest(challenger), RolloutConfig())
    seen["challenger_percent"] = plan.challenger_percent
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        seen["advance_exit"] = advance_canary([MODEL_NAME])
    seen["advance"] = json.loads(printed.getvalue())
    seen["info"] = OnnxModelDeployer.get_model_server_info(found(deployer))
    deployer.stop_model_server(service.uuid, timeout=10)
    seen["stopped_state"] = found(deployer).status.state.value
    deployer.start_model_server(service.uuid, timeout=10)
    seen["started_state"] = found(deployer).status.state.value
    seen["requirements"] = sorted(deployer.requirements)
    deployer.delete_model_server(service.uuid, timeout=10)
    seen["remaining"] = len(deployer.find_model_server(model_name=MODEL_NAME))
    return seen


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
