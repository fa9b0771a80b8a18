"""Drive the active stack's ONNX model deployer from a separate process.

    python tests/helpers/deployer_actions.py deploy MODEL.onnx VERSION
    python tests/helpers/deployer_actions.py promote|rollout MODEL.onnx VERSION
    python tests/helpers/deployer_actions.py info|ensure|stop|start|delete

Each call is a new process, so finding the server relies on ZenML's store,
exactly as for a user running `zenml model-deployer models list`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from zenml.client import Client
from zenml_integrations.onnx.admin_client import AdminClient
from zenml_integrations.onnx.model_deployer import OnnxModelDeployer
from zenml_integrations.onnx.service import OnnxServerService, OnnxServerServiceConfig

MODEL_NAME = "churn"


def describe(service: OnnxServerService) -> dict[str, Any]:
    service.update_status()
    return {
        "uuid": str(service.uuid),
        "running": service.is_running,
        "pid": service.status.pid,
        "url": service.prediction_url,
        "version": service.config.model_version,
        "serving": OnnxModelDeployer.get_model_server_info(service)["MODEL_VERSION"],
    }


def main(action: str, *args: str) -> dict[str, Any]:
    deployer = Client().active_stack.model_deployer
    assert isinstance(deployer, OnnxModelDeployer), deployer
    if action == "deploy":
        path = Path(args[0]).resolve()
        config = OnnxServerServiceConfig(
            model_name=MODEL_NAME,
            model_version=args[1],
            model_path=str(path),
            model_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            pipeline_name="test",
            pipeline_step_name="deploy",
        )
        service = deployer.deploy_model(config, service_type=OnnxServerService.SERVICE_TYPE)
        return describe(service)  # type: ignore[arg-type]
    services = deployer.find_model_server(model_name=MODEL_NAME)
    assert len(services) == 1, services
    service = services[0]
    if action in ("promote", "rollout"):
        sha256 = hashlib.sha256(Path(args[0]).read_bytes()).hexdigest()
        path = deployer.store_model_file(Path(args[0]), sha256)
        uri = service.endpoint.status.uri or ""
        admin = AdminClient(uri, deployer.admin_token(service))
        admin.deploy(args[1], str(path), sha256, {})
        if action == "promote":
            admin.promote()
    elif action == "ensure":
        restarted = deployer.ensure_running(service)  # type: ignore[arg-type]
        return {**describe(service), "restarted": restarted}  # type: ignore[arg-type]
    elif action == "stop":
        deployer.stop_model_server(service.uuid)
    elif action == "start":
        deployer.start_model_server(service.uuid)
    elif action == "delete":
        deployer.delete_model_server(service.uuid)
        return {"remaining": len(deployer.find_model_server(model_name=MODEL_NAME))}
    return describe(service)  # type: ignore[arg-type]


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], *sys.argv[2:])))
