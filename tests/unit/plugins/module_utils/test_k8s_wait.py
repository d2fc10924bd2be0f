"""Readiness predicates per kind, and the waiters (one polls, the check-mode one does not wait)."""

import pytest

from ansible_collections.eks_ha.resilience.plugins.module_utils.k8s import NoWaitWaiter
from ansible_collections.eks_ha.resilience.plugins.module_utils.k8s import Waiter
from ansible_collections.eks_ha.resilience.plugins.module_utils.k8s import condition_ready
from ansible_collections.eks_ha.resilience.plugins.module_utils.k8s import daemonset_ready
from ansible_collections.eks_ha.resilience.plugins.module_utils.k8s import deployment_ready
from ansible_collections.eks_ha.resilience.plugins.module_utils.k8s import get_waiter
from ansible_collections.eks_ha.resilience.plugins.module_utils.k8s import node_ready
from ansible_collections.eks_ha.resilience.plugins.module_utils.k8s import pod_ready
from ansible_collections.eks_ha.resilience.plugins.module_utils.k8s import ready


def deployment(replicas=2, generation=2, observed=2, ready_replicas=2, available=2, unavailable=None, spec=True):
    status = {"observedGeneration": observed, "replicas": ready_replicas, "readyReplicas": ready_replicas,
              "availableReplicas": available}
    if unavailable:
        status["unavailableReplicas"] = unavailable
    return {"kind": "Deployment", "metadata": {"name": "karpenter", "generation": generation},
            "spec": {"replicas": replicas} if spec else {}, "status": status}


@pytest.mark.parametrize("obj, expected", [
    (deployment(), True),
    (deployment(ready_replicas=1, available=1, unavailable=1), False),
    (deployment(available=1), False),
    (deployment(observed=1), False),
    (deployment(replicas=0, ready_replicas=None, available=None), True),
    (deployment(replicas=0, ready_replicas=1, available=1), False),
    (deployment(spec=False, ready_replicas=1, available=1), True),
    (None, False),
    ({"kind": "Deployment", "metadata": {"generation": 1}, "spec": {"replicas": 1}}, False),
])
def test_deployment_ready(obj, expected):
    assert deployment_ready(obj) is expected


def daemonset(desired=3, ready_count=3, generation=1, observed=1):
    return {"kind": "DaemonSet", "metadata": {"generation": generation},
            "status": {"desiredNumberScheduled": desired, "numberReady": ready_count, "observedGeneration": observed}}


@pytest.mark.parametrize("obj, expected", [
    (daemonset(), True),
    (daemonset(ready_count=2), False),
    (daemonset(observed=0, generation=1), False),
    (daemonset(desired=0, ready_count=0), True),
    ({"kind": "DaemonSet", "status": {}}, False),
])
def test_daemonset_ready(obj, expected):
    assert daemonset_ready(obj) is expected


def with_conditions(kind, phase=None, **conditions):
    status = {"conditions": [{"type": t, "status": s} for t, s in conditions.items()]}
    if phase:
        status["phase"] = phase
    return {"kind": kind, "metadata": {"name": "x"}, "status": status}


@pytest.mark.parametrize("obj, expected", [
    (with_conditions("Node", Ready="True", MemoryPressure="False"), True),
    (with_conditions("Node", Ready="False"), False),
    (with_conditions("Node", Ready="Unknown"), False),
    (with_conditions("Node"), False),
])
def test_node_ready(obj, expected):
    assert node_ready(obj) is expected


@pytest.mark.parametrize("obj, expected", [
    (with_conditions("Pod", "Running", Ready="True", PodScheduled="True"), True),
    (with_conditions("Pod", "Running", Ready="False"), False),
    (with_conditions("Pod", "Pending", PodScheduled="False"), False),
    (with_conditions("Pod", "Succeeded", Ready="True"), False),
])
def test_pod_ready(obj, expected):
    assert pod_ready(obj) is expected


def kustomization(status="True", generation=3, observed=3):
    return {"kind": "Kustomization", "metadata": {"generation": generation},
            "status": {"observedGeneration": observed,
                       "conditions": [{"type": "Ready", "status": status, "reason": "ReconciliationSucceeded"}]}}


@pytest.mark.parametrize("obj, expected", [
    (kustomization(), True),
    (kustomization(status="False"), False),
    (kustomization(observed=2), False),
    ({"kind": "HelmRelease", "metadata": {}, "status": {}}, False),
    ({"kind": "NodePool", "metadata": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}, True),
])
def test_condition_ready(obj, expected):
    assert condition_ready(obj) is expected


def test_ready_dispatches_by_kind():
    assert ready(deployment())
    assert ready(with_conditions("Node", Ready="True"))
    assert not ready(with_conditions("Pod", "Pending", Ready="True"))
    assert ready(kustomization())
    assert not ready(None)


class FakeClock:
    """A clock that only moves when the waiter sleeps."""

    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_waiter_polls_until_the_predicate_holds():
    clock = FakeClock()
    states = iter([1, 2, 3, 4])
    satisfied, state, waited = Waiter(2.0, clock, clock.sleep).wait(lambda: next(states), lambda s: s == 3, 60)
    assert (satisfied, state, waited) == (True, 3, 4.0)
    assert clock.sleeps == [2.0, 2.0]


def test_waiter_gives_up_after_the_timeout_with_the_last_state():
    clock = FakeClock()
    satisfied, state, waited = Waiter(2.0, clock, clock.sleep).wait(lambda: "pending", lambda s: False, 5)
    assert (satisfied, state) == (False, "pending")
    assert waited == 5.0
    assert clock.sleeps == [2.0, 2.0, 1.0]


def test_no_wait_waiter_reads_once_and_does_not_sleep():
    reads = []
    satisfied, state, waited = NoWaitWaiter().wait(lambda: reads.append(1) or "now", lambda s: False, 600)
    assert (satisfied, state, waited) == (True, "now", 0.0)
    assert reads == [1]


def test_get_waiter_does_not_wait_in_check_mode():
    assert isinstance(get_waiter(True), NoWaitWaiter)
    waiter = get_waiter(False)
    assert isinstance(waiter, Waiter) and not isinstance(waiter, NoWaitWaiter)
