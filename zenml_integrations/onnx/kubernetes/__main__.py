"""One canary decision for a model served by the active stack's ONNX deployer (for cron jobs).

    python -m zenml_integrations.onnx.kubernetes MODEL_NAME

Prints the decision as one JSON line; exits 0 whatever it decided, 1 when it
could not decide (no deployment, Prometheus or the cluster unreachable).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict

from zenml_integrations.onnx.errors import OnnxError


def main(argv: list[str] | None = None) -> int:
    """Run ``advance()`` once for the model named on the command line."""
    parser = argparse.ArgumentParser(prog="python -m zenml_integrations.onnx.kubernetes")
    parser.add_argument("model_name", help="registered model name, e.g. churn_model")
    arguments = parser.parse_args(argv)

    from zenml_integrations.onnx.model_deployer import OnnxModelDeployer

    deployer = OnnxModelDeployer.get_active_model_deployer()
    if not isinstance(deployer, OnnxModelDeployer):
        print(f"the active stack's model deployer is not the onnx flavor: {deployer}")
        return 1
    try:
        decision = deployer.canary_controller(arguments.model_name).advance()
    except OnnxError as error:
        print(f"no decision for {arguments.model_name!r}: {error}", file=sys.stderr)
        return 1
    report = {
        "model": arguments.model_name,
        "outcome": decision.outcome.value,
        "champion": decision.plan.champion.version,
        "challenger": decision.plan.challenger.version if decision.plan.challenger else None,
        "challenger_percent": decision.plan.challenger_percent,
        "reason": decision.judgement.reason if decision.judgement else decision.reason,
        "measured": {
            role: {
                key: None if isinstance(value, float) and math.isnan(value) else value
                for key, value in asdict(stats).items()
            }
            for role, stats in (
                ("champion", decision.champion),
                ("challenger", decision.challenger),
            )
            if stats is not None
        },
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
