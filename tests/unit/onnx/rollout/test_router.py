"""The router: which version answers, how a rollout steps, promotes and rolls back."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from zenml_integrations.onnx.rollout.config import RolloutConfig, Strategy
from zenml_integrations.onnx.rollout.router import RouteDecision, Router


def rollout(strategy: str = "canary", steps: list[float] | None = None) -> RolloutConfig:
    return RolloutConfig.model_validate({"strategy": strategy, "steps": steps or [0.25, 1.0]})


def shares(router: Router, requests: int = 4000, key: str | None = None) -> Counter[str]:
    return Counter(router.route(key).variant for _ in range(requests))


def test_given_no_rollout_then_the_champion_answers_every_request() -> None:
    router = Router("1", seed=0)
    assert {router.route(None), router.route("customer-7")} == {RouteDecision("1", "champion")}
    assert router.state.challenger_share == 0.0


def test_given_a_canary_step_then_the_challenger_answers_about_its_share() -> None:
    router = Router("1", seed=0)
    router.start("2", rollout(steps=[0.25, 1.0]))

    counted = shares(router)

    assert router.state.challenger_share == 0.25
    assert 0.22 < counted["challenger"] / 4000 < 0.28
    assert {router.route(None).version for _ in range(200)} == {"1", "2"}


def test_given_ab_with_a_routing_key_then_the_same_key_always_gets_the_same_version() -> None:
    router = Router("1", seed=0)
    router.start("2", rollout("ab", [0.5, 1.0]))

    by_key = {key: {router.route(key).version for _ in range(20)} for key in map(str, range(400))}

    assert all(len(versions) == 1 for versions in by_key.values())
    challenger_keys = sum(versions == {"2"} for versions in by_key.values())
    assert 150 < challenger_keys < 250  # the split by key still follows the share
    assert {router.route(None).version for _ in range(200)} == {"1", "2"}  # no key: random


def test_given_ab_when_two_routers_route_a_key_then_they_agree() -> None:
    """Stickiness comes from the key alone, so replicas and restarts keep a user's version."""
    first, second = Router("1", seed=1), Router("1", seed=2)
    for router in (first, second):
        router.start("2", rollout("ab", [0.5, 1.0]))
    assert [first.route(str(k)).version for k in range(100)] == [
        second.route(str(k)).version for k in range(100)
    ]


def test_given_shadow_then_the_champion_answers_and_the_challenger_gets_a_copy() -> None:
    router = Router("1", seed=0)
    router.start("2", rollout("shadow"))

    assert router.route(None) == RouteDecision("1", "champion", shadow="2")
    assert router.state.challenger_share == 0.0


def test_given_blue_green_then_every_request_switches_and_the_old_champion_stays_warm() -> None:
    router = Router("1", seed=0)
    router.start("2", rollout("blue_green", [1.0]))

    assert shares(router, 100) == {"challenger": 100}
    assert router.state.challenger_share == 1.0
    promoted = router.advance()
    assert (promoted.champion, promoted.previous_champion) == ("2", "1")
    reverted = router.rollback("errors after the switch")
    assert reverted.champion == "1"
    assert reverted.rolled_back_reason == "2: errors after the switch"


def test_given_a_canary_when_advanced_then_it_steps_through_every_share_then_promotes() -> None:
    router = Router("1", seed=0)
    router.start("2", rollout(steps=[0.05, 0.5, 1.0]))

    seen = [router.state.challenger_share]
    for _ in range(2):
        seen.append(router.advance().challenger_share)
    promoted = router.advance()

    assert seen == [0.05, 0.5, 1.0]
    assert (promoted.champion, promoted.challenger, promoted.previous_champion) == ("2", None, "1")
    assert router.advance() is promoted  # nothing left to advance
    assert router.route(None) == RouteDecision("2", "champion")


def test_given_shadow_when_advanced_then_it_promotes_at_once() -> None:
    router = Router("1", seed=0)
    router.start("2", rollout("shadow", [0.5, 1.0]))
    assert router.advance().champion == "2"


def test_given_a_challenger_when_rolled_back_then_the_champion_keeps_serving_with_the_reason() -> (
    None
):
    router = Router("1", seed=0, previous_champion="0")
    router.start("2", rollout())

    state = router.rollback("error rate 0.2 > 0.02")

    assert (state.champion, state.challenger, state.previous_champion) == ("1", None, "0")
    assert state.rolled_back_reason == "2: error rate 0.2 > 0.02"
    assert shares(router, 100) == {"champion": 100}


def test_given_a_finished_promotion_when_rolled_back_then_the_previous_champion_returns() -> None:
    router = Router("1", seed=0)
    router.start("2", rollout())
    router.promote()

    state = router.rollback("operator")

    assert (state.champion, state.previous_champion) == ("1", None)
    assert state.rolled_back_reason == "2: operator"
    assert router.rollback("again") is state  # nothing warm left to return to


@pytest.mark.parametrize("strategy", list(Strategy))
def test_given_no_challenger_then_promote_and_advance_change_nothing(strategy: Strategy) -> None:
    router = Router("1", seed=0)
    before = router.state
    assert router.promote() is before
    assert router.advance() is before
    assert router.route("key").version == "1"


def test_given_a_new_rollout_then_the_previous_champion_is_kept_for_rollback() -> None:
    router = Router("2", seed=0, previous_champion="1")
    state = router.start("3", rollout())
    assert (state.champion, state.challenger, state.previous_champion) == ("2", "3", "1")
    assert state.step_index == 0


def test_given_concurrent_routes_while_promoting_then_each_sees_a_whole_state() -> None:
    """Readers take one snapshot per request: never a challenger without its rollout."""
    router = Router("1", seed=0)
    router.start("2", rollout("blue_green", [1.0]))
    decisions: list[RouteDecision] = []

    def read() -> None:
        decisions.extend(router.route(None) for _ in range(2000))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    router.promote()
    for thread in readers:
        thread.join()

    assert set(decisions) <= {RouteDecision("2", "challenger"), RouteDecision("2", "champion")}
