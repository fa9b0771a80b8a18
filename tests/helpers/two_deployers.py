"""Two ``onnx`` model deployers in one ZenML store, each on its own stack, each deploying.

    python tests/helpers/two_deployers.py MODEL.onnx PORT

Needs the ``local`` stack applied (``mlops-kit stack apply stacks/local.yaml``).
Registers a second deployer (``onnx_second``, fixed PORT) and a stack ``second``
holding it, deploys the model with each deployer in turn, records what each
deployer finds, deletes every server and prints the record as JSON.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any, cast

import httpx
from zenml.client import Client
from zenml.enums import StackComponentType
from zenml_integrations.onnx.model_deployer import OnnxModelDeployer
from zenml_integrations.onnx.service import OnnxServerService, OnnxServerServiceConfig

MODEL_NAME = "churn"
REQUEST = {"inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP32", "data": [0.5] * 8}]}


def active_deployer() -> OnnxModelDeployer:
    return cast(OnnxModelDeployer, Client().active_stack.model_deployer)


def found(deployer: OnnxModelDeployer) -> list[str]:
    return [str(service.uuid) for service in deployer.find_model_server(model_name=MODEL_NAME)]


def deploy(deployer: OnnxModelDeployer, model: Path) -> dict[str, Any]:
    config = OnnxServerServiceConfig(
        model_name=MODEL_NAME,
        model_version="1",
        model_path=str(model),
        model_sha256=hashlib.sha256(model.read_bytes()).hexdigest(),
        pipeline_name="test",
        pipeline_step_name="deploy",
    )
    service = cast(
        OnnxServerService,
        deployer.deploy_model(config, service_type=OnnxServerService.SERVICE_TYPE),
    )
    url = service.prediction_url or ""
    return {
        "uuid": str(service.uuid),
        "url": url,
        "status_code": httpx.post(url, json=REQUEST, timeout=10).status_code,
    }


def main(model: Path, port: int) -> dict[str, Any]:
    client = Client()
    client.create_stack_component(
        name="onnx_second",
        flavor="onnx",
        component_type=StackComponentType.MODEL_DEPLOYER,
        configuration={"port": port},
    )
    local = client.get_stack("local")
    components = {kind: [c.id for c in listed] for kind, listed in local.components.items()}
    components[StackComponentType.MODEL_DEPLOYER] = [
        client.get_stack_component(StackComponentType.MODEL_DEPLOYER, "onnx_second").id
    ]
    client.create_stack(name="second", components=components)
    record: dict[str, Any] = {}
    try:
        client.activate_stack("local")
        first = active_deployer()
        record["first"] = deploy(first, model)
        client.activate_stack("second")
        second = active_deployer()
        record["second_finds_before_deploying"] = found(second)
        record["second"] = deploy(second, model)
        record["second_finds"] = found(second)
        client.activate_stack("local")
        record["first_finds"] = found(active_deployer())
    finally:
        for stack in ("local", "second"):
            client.activate_stack(stack)
            deployer = active_deployer()
            for service in deployer.find_model_server():
                deployer.delete_model_server(service.uuid)
        record["left"] = client.list_services().total
    return record


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]).resolve(), int(sys.argv[2]))))
