"""The run config's extra.health: defaults, and one line naming what was refused."""

from __future__ import annotations

import pytest
from zenml_integrations.monitoring.errors import MonitoringConfigError
from zenml_integrations.monitoring.health_hooks import health_config


def test_given_no_health_section_then_series_go_to_the_default_places_without_limits() -> None:
    config = health_config({})
    assert config.textfile_dir == "monitoring/metrics"
    assert config.pushgateway_url_env == "PROMETHEUS_PUSHGATEWAY_URL"
    assert config.max_interval_hours is None
    assert config.rows_in is None


@pytest.mark.parametrize(
    ("health", "message"),
    [
        ({"max_interval_hours": 0}, "extra.health.max_interval_hours: Input should be greater "
                                    "than 0 (got 0)"),
        ({"max_champion_days": 30}, "extra.health.max_champion_days: Extra inputs are not "
                                    "permitted (got 30)"),
    ],
)  # fmt: skip
def test_given_a_bad_health_section_then_the_error_names_the_key_and_value(
    health: dict[str, object], message: str
) -> None:
    with pytest.raises(MonitoringConfigError) as refused:
        health_config({"health": health})
    assert str(refused.value) == f"{message}; fix it in configs/<pipeline>.yaml"
