"""The controllers each sandbox cluster runs, in the order of one reconcile pass."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.kubernetes.disruption import DisruptionBudgets
from sandbox.kubernetes.flux import Flux
from sandbox.kubernetes.ingress import AlbIngress
from sandbox.kubernetes.karpenter import Karpenter
from sandbox.kubernetes.storage import VolumeBinder
from sandbox.kubernetes.workloads import Workloads

if TYPE_CHECKING:
    from sandbox.kubernetes.cluster import Cluster


def build_controllers(cluster: Cluster) -> list[Any]:
    """Workloads first (they create the pods the others look at), the volume binder, the disruption controller
    (PodDisruptionBudget status), then the add-on controllers.

    Each has ``reconcile()``, called every tick by the cluster's controller thread.
    """
    return [Workloads(cluster), VolumeBinder(cluster), DisruptionBudgets(cluster), Karpenter(cluster), AlbIngress(cluster),
            Flux(cluster)]
