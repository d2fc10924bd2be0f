"""Planned moves: which health checks are inverted (drained) and which weights are set, and why."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import ALREADY_DRAINED
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import DRAIN
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import NO_CHECK
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import SERVE
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import UNKNOWN
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import inversion_sentence
from ansible_collections.eks_ha.resilience.plugins.module_utils.route53 import plan_traffic

FAILOVER = [{"name": "outposts", "role": "primary"}, {"name": "region", "role": "secondary"}]
WEIGHTED = [{"name": "outposts", "weight": 200}, {"name": "lz", "weight": 55}, {"name": "region", "weight": 0}]
BOTH = {"outposts": True, "region": True}


def failover_plan(active, health, has_check=None, force=False):
    return plan_traffic("failover", FAILOVER, active, health, BOTH if has_check is None else has_check, force)


def test_no_active_site_nothing_inverted():
    plan = failover_plan(None, {"outposts": True, "region": True})
    assert plan["inverted"] == {"outposts": False, "region": False}
    assert plan["reasons"] == {"outposts": SERVE, "region": SERVE}
    assert plan["error"] is None and plan["notes"] == []


@pytest.mark.parametrize("health", [{"outposts": False, "region": True}, {"outposts": True, "region": False}])
def test_no_active_site_never_inverts_even_when_failing(health):
    assert not any(failover_plan(None, health)["inverted"].values())


@pytest.mark.parametrize(
    "active, health, inverted, reasons",
    [
        # move to the secondary: drain the healthy primary by inverting it
        ("region", {"outposts": True, "region": True}, {"outposts": True, "region": False},
         {"outposts": DRAIN, "region": SERVE}),
        # the primary is already failing: its failure drains it, never invert it
        ("region", {"outposts": False, "region": True}, {"outposts": False, "region": False},
         {"outposts": ALREADY_DRAINED, "region": SERVE}),
        # move to the primary while it is healthy: nothing to drain
        ("outposts", {"outposts": True, "region": True}, {"outposts": False, "region": False},
         {"outposts": SERVE, "region": SERVE}),
        # the secondary is failing while the primary is active: already drained
        ("outposts", {"outposts": True, "region": False}, {"outposts": False, "region": False},
         {"outposts": SERVE, "region": ALREADY_DRAINED}),
    ],
)
def test_failover_moves(active, health, inverted, reasons):
    plan = failover_plan(active, health)
    assert plan["error"] is None
    assert plan["inverted"] == inverted
    assert plan["reasons"] == reasons


def test_forced_move_to_failing_primary_drains_secondary():
    plan = failover_plan("outposts", {"outposts": False, "region": True}, force=True)
    assert plan["error"] is None
    assert plan["inverted"] == {"outposts": False, "region": True}
    assert plan["reasons"]["region"] == DRAIN
    assert plan["notes"] == ["moving to outposts although its endpoint is unhealthy, because force=true"]


def test_forced_move_to_failing_secondary_still_answers_primary():
    plan = failover_plan("region", {"outposts": True, "region": False}, force=True)
    assert plan["inverted"] == {"outposts": True, "region": False}
    assert plan["notes"][-1].startswith("Route 53 will still answer with outposts")


@pytest.mark.parametrize(
    "active, health, sentence",
    [
        ("region", {"outposts": True, "region": False},
         "active_site 'region' is unhealthy (its endpoint fails its health check); "
         "repair it first or set force=true to move traffic to it anyway."),
        ("region", {"outposts": True, "region": None},
         "active_site 'region' has no current health check result, so it cannot be confirmed healthy; "
         "run without active_site until its check has reported, or set force=true."),
    ],
)
def test_refuses_move_to_unhealthy_site(active, health, sentence):
    plan = failover_plan(active, health)
    assert plan["error"] == sentence
    # nothing decided when refused
    assert not any(plan["inverted"].values())


def test_site_without_health_check_counts_as_healthy_target():
    plan = failover_plan("region", {"outposts": True, "region": None}, has_check={"outposts": True, "region": False})
    assert plan["error"] is None
    assert plan["inverted"] == {"outposts": True, "region": False}


def test_cannot_drain_site_without_health_check():
    plan = failover_plan("outposts", {"outposts": False, "region": None},
                         has_check={"outposts": True, "region": False}, force=True)
    assert plan["reasons"]["region"] == NO_CHECK
    assert plan["inverted"] == {"outposts": False, "region": False}


def test_unknown_endpoint_is_not_inverted():
    plan = failover_plan("region", {"outposts": None, "region": True})
    assert plan["reasons"]["outposts"] == UNKNOWN
    assert plan["inverted"]["outposts"] is False


def test_weighted_without_active_site_keeps_configured_weights():
    plan = plan_traffic("weighted", WEIGHTED, None, {}, {}, False)
    assert plan["weights"] == {"outposts": 200, "lz": 55, "region": 0}
    assert not any(plan["inverted"].values())


@pytest.mark.parametrize("active", ["outposts", "lz", "region"])
def test_weighted_move_gives_active_the_highest_weight(active):
    health = {"outposts": True, "lz": True, "region": True}
    has_check = {"outposts": True, "lz": True, "region": True}
    plan = plan_traffic("weighted", WEIGHTED, active, health, has_check, False)
    assert plan["weights"] == {name: (200 if name == active else 0) for name in health}
    assert not any(plan["inverted"].values())


def test_weighted_refuses_unhealthy_active_site():
    plan = plan_traffic("weighted", WEIGHTED, "lz", {"lz": False}, {"lz": True}, False)
    assert plan["error"].startswith("active_site 'lz' is unhealthy")


@pytest.mark.parametrize(
    "reason, was_inverted, endpoint, sentence",
    [
        (DRAIN, False, True, "inverted health check of outposts to drain it (endpoint healthy)"),
        (DRAIN, True, True, "kept health check of outposts inverted to drain it (endpoint healthy)"),
        (ALREADY_DRAINED, False, False,
         "left outposts un-inverted: its endpoint is failing, so it is already drained"),
        (ALREADY_DRAINED, True, False,
         "un-inverted health check of outposts: its endpoint is failing, so it is already drained "
         "and inverting would send traffic back to it"),
        (UNKNOWN, False, None,
         "left outposts un-inverted: its endpoint health is unknown, and inverting a failing endpoint "
         "would make it look healthy"),
        (UNKNOWN, True, None,
         "un-inverted health check of outposts: its endpoint health is unknown, and inverting a failing endpoint "
         "would make it look healthy"),
        (NO_CHECK, False, None, "could not drain outposts: it has no health check to invert"),
        (SERVE, True, True, "un-inverted health check of outposts so it serves again"),
        (SERVE, True, False,
         "un-inverted health check of outposts: its endpoint is failing, so inverting would make it look healthy"),
        (SERVE, False, True, None),
    ],
)
def test_inversion_sentence(reason, was_inverted, endpoint, sentence):
    assert inversion_sentence("outposts", reason, was_inverted, endpoint) == sentence
