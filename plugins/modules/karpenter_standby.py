#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: karpenter_standby
version_added: 0.1.0
short_description: Keep the Karpenter of a standby cluster at zero replicas, or bring it up and wait for capacity
description:
  - A warm standby cluster keeps only its control node group; its workload is deployed but its pods stay Pending
    because the Karpenter controller runs with zero replicas, so Karpenter creates no nodes.
  - O(state=standby) scales the Karpenter controller Deployment to 0. Pending workload pods stay Pending and no
    node is created for them.
  - O(state=active) scales it to O(replicas) and, with O(wait), waits until the Karpenter Deployment is ready,
    no workload pod still waits for a node, and every node those pods are bound to is Ready. It returns the time
    this took (RV(seconds_to_capacity)) and the node counts before and after.
  - The scaling goes through the C(scale) subresource of the Deployment, so nothing else of it is touched.
  - Works with the current Karpenter API, C(NodePool) (C(karpenter.sh/v1)), and with the C(Provisioner)
    (C(karpenter.sh/v1alpha5)) of Karpenter v0.24 and older; the one in use is returned as RV(api).
  - Karpenter does not run on AWS Outposts, so the module refuses a site with O(site_kind=outpost) and,
    with O(eks_cluster), an EKS local cluster on Outposts (one with C(outpostConfig)).
options:
  state:
    description:
      - V(standby) scales the Karpenter controller to 0.
      - V(active) scales it to O(replicas); the cluster must hold a C(NodePool) or a C(Provisioner).
    type: str
    choices: [standby, active]
    required: true
  replicas:
    description:
      - The replicas of the Karpenter controller with O(state=active), at least 1.
    type: int
    default: 2
  namespace:
    description:
      - The namespace of the Karpenter Deployment.
      - Defaults to the first of C(karpenter) and C(kube-system) that holds the Deployment.
    type: str
  deployment:
    description:
      - The name of the Karpenter controller Deployment.
    type: str
    default: karpenter
  pod_selector:
    description:
      - A label selector (for example C(app.kubernetes.io/part-of=shop)) of the workload pods Karpenter should make
        room for, in every namespace.
      - Without it, the pods of every namespace but C(kube-system), C(karpenter) and C(flux-system) count.
      - A pod waits for Karpenter while it is Pending, bound to no node, and the scheduler either marked it
        C(Unschedulable) or has not looked at it yet.
    type: str
  site_kind:
    description:
      - The kind of site the cluster runs in. V(outpost) is refused, because Karpenter does not run on Outposts.
      - When not given, only an EKS cluster's C(outpostConfig) is checked (with O(eks_cluster)).
    type: str
    choices: [region, local_zone, outpost]
  wait:
    description:
      - Wait until the change took effect. With O(state=active), until the Karpenter Deployment is ready, no workload
        pod waits for a node and the nodes they are bound to are Ready; with O(state=standby), until the Karpenter
        pods are gone.
      - Check mode never waits.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait before failing.
    type: int
    default: 600
notes:
  - Running again with the Deployment already at the target replicas changes nothing (C(changed=false)), but still
    reports the pending pods and nodes and, with O(wait), waits for the capacity.
  - Workload pods keep their own scheduling; Karpenter only creates the nodes their constraints ask for, so a pod
    whose constraints no C(NodePool) allows keeps waiting until O(wait_timeout).
author:
  - eks_ha.resilience maintainers (@eks-ha)
extends_documentation_fragment:
  - eks_ha.resilience.k8s_connection
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Keep the Karpenter of the stand-by Region at zero (workload pods stay Pending)
  eks_ha.resilience.karpenter_standby:
    eks_cluster: shop-standby
    region: us-west-2
    state: standby

- name: Disaster recovery - bring Karpenter up and wait for the nodes of the shop pods
  eks_ha.resilience.karpenter_standby:
    eks_cluster: shop-standby
    region: us-west-2
    state: active
    replicas: 2
    pod_selector: app.kubernetes.io/part-of=shop
    wait_timeout: 900
  register: capacity

- name: Report how long capacity took
  ansible.builtin.debug:
    msg: "{{ capacity.nodes }} nodes after {{ capacity.seconds_to_capacity }} s"

- name: Same through a kubeconfig context, Karpenter installed in kube-system
  eks_ha.resilience.karpenter_standby:
    kubeconfig: ~/.kube/config
    context: standby
    namespace: kube-system
    state: active
    wait: false
"""

RETURN = r"""
state:
  description: The state asked for.
  returned: always
  type: str
  sample: active
api:
  description:
    - The Karpenter API of the cluster, V(karpenter.sh/v1) (C(NodePool)) or V(karpenter.sh/v1alpha5) (C(Provisioner)).
    - Null when the cluster holds neither (only possible with O(state=standby)).
  returned: always
  type: str
  sample: karpenter.sh/v1
namespace:
  description: The namespace of the Karpenter Deployment.
  returned: always
  type: str
  sample: karpenter
deployment:
  description: The name of the Karpenter Deployment.
  returned: always
  type: str
  sample: karpenter
replicas_before:
  description: The replicas of the Karpenter Deployment before the run.
  returned: always
  type: int
  sample: 0
replicas:
  description: The replicas of the Karpenter Deployment after the run (in check mode, the ones it would have).
  returned: always
  type: int
  sample: 2
pending_pods_before:
  description: How many workload pods waited for a node before the run.
  returned: always
  type: int
  sample: 3
pending_pods_after:
  description: How many workload pods wait for a node after the run (after the wait, with O(wait)).
  returned: always
  type: int
  sample: 0
nodes_before:
  description: How many nodes of the cluster were Ready before the run.
  returned: always
  type: int
  sample: 2
nodes:
  description: How many nodes of the cluster are Ready after the run (after the wait, with O(wait)).
  returned: always
  type: int
  sample: 4
capacity_ready:
  description:
    - Whether, at the end of the run, no workload pod waits for a node and the nodes of the workload pods are Ready.
  returned: always
  type: bool
  sample: true
seconds_to_capacity:
  description:
    - With O(state=active) and O(wait), the seconds from the scaling (or from the start of the wait, when the
      replicas were already right) until the capacity was ready. Null otherwise, and in check mode.
  returned: always
  type: float
  sample: 74.2
diff:
  description: The replicas of the Karpenter Deployment before and after, when running with C(--diff).
  returned: when diff mode is enabled
  type: dict
  sample: {before: {deployment: karpenter/karpenter, replicas: 0}, after: {deployment: karpenter/karpenter, replicas: 2}}
"""

import time

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.eks_ha.resilience.plugins.module_utils import k8s
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import AnsibleEKSError
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import is_outpost_cluster

# Where Karpenter is usually installed, in the order the module looks.
DEFAULT_NAMESPACES = ("karpenter", "kube-system")
# Namespaces of the platform, not of the workload: their Pending pods are not what Karpenter is woken for.
SYSTEM_NAMESPACES = ("kube-system", "karpenter", "flux-system")
KARPENTER_APIS = {k8s.NODEPOOL.api_version: k8s.NODEPOOL, k8s.PROVISIONER.api_version: k8s.PROVISIONER}


# ---------------------------------------------------------------------------
# Pure decisions
# ---------------------------------------------------------------------------


def validate_request(state, replicas, site_kind, wait_timeout, pod_selector=None):
    """Return one sentence naming the bad option and what is allowed, or None when the request is fine."""
    if site_kind == "outpost":
        return ("site_kind=outpost is refused: Karpenter does not run on AWS Outposts, so an Outposts site has no "
                "Karpenter standby; use site_kind region or local_zone, or keep the Outpost's capacity in its node groups.")
    if state == "active" and replicas < 1:
        return f"replicas must be at least 1 with state=active, got {replicas}; use state=standby to scale Karpenter to 0."
    if wait_timeout < 1:
        return f"wait_timeout must be at least 1 second, got {wait_timeout}."
    if pod_selector is not None:
        try:
            k8s.parse_label_selector(pod_selector)
        except ValueError as e:
            return f"pod_selector must be a label selector such as app=web or tier in (web,api), got '{pod_selector}': {e}."
    return None


def outpost_cluster_problem(cluster, name):
    """Return the refusal sentence when the described EKS cluster is a local cluster on Outposts, else None."""
    if is_outpost_cluster(cluster):
        return (f"EKS cluster '{name}' runs on AWS Outposts (it has outpostConfig), where Karpenter does not run; "
                "this module only manages Karpenter in Regions and Local Zones.")
    return None


def target_replicas(state, replicas):
    """Return the replicas the Karpenter Deployment must have for ``state``."""
    return 0 if state == "standby" else replicas


def current_replicas(deployment):
    """Return the replicas a Deployment asks for (Kubernetes defaults a missing value to 1)."""
    return (deployment.get("spec") or {}).get("replicas", 1)


def pick_karpenter_api(nodepools, provisioners):
    """Return the Karpenter API in use: the one with objects, NodePool first; None when neither has any.

    Each argument is the list of objects of that kind, or None when the API does not serve the kind.
    """
    if nodepools:
        return k8s.NODEPOOL.api_version
    if provisioners:
        return k8s.PROVISIONER.api_version
    return None


def deployment_not_found(deployment, namespaces):
    """Return the sentence for a Karpenter Deployment found in none of ``namespaces``."""
    tried = " or ".join(namespaces)
    return (f"Deployment '{deployment}' was not found in namespace {tried}; set namespace (and deployment) "
            "to where the Karpenter controller runs.")


def no_karpenter_api():
    return ("the cluster holds no NodePool (karpenter.sh/v1) and no Provisioner (karpenter.sh/v1alpha5), so Karpenter "
            "would create no nodes; apply one before state=active.")


def pod_in_scope(pod, requirements=None):
    """Tell whether a pod is workload Karpenter should serve: it matches the selector, or without one it lives
    outside the platform namespaces."""
    metadata = pod.get("metadata") or {}
    if requirements is not None:
        return k8s.matches_selector(metadata.get("labels"), requirements)
    return metadata.get("namespace") not in SYSTEM_NAMESPACES


def waits_for_node(pod):
    """Tell whether a pod waits for a node: Pending, bound to none, and Unschedulable or not looked at yet."""
    if (pod.get("status") or {}).get("phase") != "Pending" or (pod.get("spec") or {}).get("nodeName"):
        return False
    scheduled = k8s.conditions(pod).get("PodScheduled")
    if scheduled is None:
        return True
    return scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable"


def pods_waiting_for_capacity(pods, requirements=None):
    """Return the workload pods (see ``pod_in_scope``) that wait for a node."""
    return [pod for pod in pods if pod_in_scope(pod, requirements) and waits_for_node(pod)]


def ready_node_count(nodes):
    """Return how many nodes report Ready."""
    return sum(1 for node in nodes if k8s.node_ready(node))


def pod_name(pod):
    metadata = pod.get("metadata") or {}
    return f"{metadata.get('namespace')}/{metadata.get('name')}"


def capacity_problems(pods, nodes, requirements=None):
    """Return what keeps the capacity from being ready: pods still waiting for a node, and nodes of workload pods
    that are not Ready (``[]`` when the capacity is ready)."""
    problems = []
    waiting = pods_waiting_for_capacity(pods, requirements)
    if waiting:
        names = ", ".join(sorted(pod_name(p) for p in waiting)[:5])
        more = f" and {len(waiting) - 5} more" if len(waiting) > 5 else ""
        problems.append(f"{len(waiting)} pods still wait for a node ({names}{more})")
    ready_nodes = {(n.get("metadata") or {}).get("name") for n in nodes if k8s.node_ready(n)}
    used = {(p.get("spec") or {}).get("nodeName") for p in pods if pod_in_scope(p, requirements)}
    not_ready = sorted(name for name in used if name and name not in ready_nodes)
    if not_ready:
        problems.append(f"nodes not Ready: {', '.join(not_ready)}")
    return problems


def capacity_ready(pods, nodes, requirements=None):
    """Tell whether no workload pod waits for a node and every node a workload pod is bound to is Ready."""
    return not capacity_problems(pods, nodes, requirements)


def karpenter_problem(deployment, wanted):
    """Return the sentence describing a Karpenter Deployment that is not ready yet, or None."""
    if k8s.deployment_ready(deployment):
        return None
    status = (deployment or {}).get("status") or {}
    return f"the Karpenter Deployment has {status.get('readyReplicas') or 0} of {wanted} replicas ready"


# ---------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------


def find_deployment(api, name, namespace):
    """Return ``(namespace, deployment)`` of the Karpenter Deployment; ``(None, tried)`` when not found."""
    namespaces = (namespace,) if namespace else DEFAULT_NAMESPACES
    for candidate in namespaces:
        deployment = k8s.get(api, k8s.DEPLOYMENT, name, candidate)
        if deployment is not None:
            return candidate, deployment
    return None, namespaces


def read_capacity(api, pod_selector):
    """Return ``(pods, nodes)``: the pods matching ``pod_selector`` (all without one) and every node."""
    return k8s.list_objects(api, k8s.POD, label_selector=pod_selector), k8s.list_objects(api, k8s.NODE)


# ---------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------


def ensure_state(module, connection):
    """Scale the Karpenter Deployment for ``state``, wait when asked, and return the module result."""
    params = module.params
    api = connection.api
    state = params["state"]
    problem = outpost_cluster_problem(connection.cluster, params["eks_cluster"])
    if problem:
        module.fail_json(msg=problem)
    requirements = k8s.parse_label_selector(params["pod_selector"]) if params["pod_selector"] else None

    namespace, deployment = find_deployment(api, params["deployment"], params["namespace"])
    if namespace is None:
        module.fail_json(msg=deployment_not_found(params["deployment"], deployment))
    karpenter_api = pick_karpenter_api(k8s.served(api, k8s.NODEPOOL), k8s.served(api, k8s.PROVISIONER))
    if karpenter_api is None and state == "active":
        module.fail_json(msg=no_karpenter_api())

    before = current_replicas(deployment)
    wanted = target_replicas(state, params["replicas"])
    pods, nodes = read_capacity(api, params["pod_selector"])
    result = {
        "changed": before != wanted,
        "state": state,
        "api": karpenter_api,
        "namespace": namespace,
        "deployment": params["deployment"],
        "replicas_before": before,
        "replicas": wanted,
        "pending_pods_before": len(pods_waiting_for_capacity(pods, requirements)),
        "nodes_before": ready_node_count(nodes),
        "seconds_to_capacity": None,
    }
    if module._diff:
        reference = f"{namespace}/{params['deployment']}"
        result["diff"] = {"before": {"deployment": reference, "replicas": before},
                          "after": {"deployment": reference, "replicas": wanted}}

    started = time.monotonic()
    if result["changed"] and not module.check_mode:
        k8s.scale(api, k8s.DEPLOYMENT, params["deployment"], wanted, namespace)

    if params["wait"] and not module.check_mode:
        def poll():
            current_pods, current_nodes = read_capacity(api, params["pod_selector"])
            return k8s.get(api, k8s.DEPLOYMENT, params["deployment"], namespace), current_pods, current_nodes

        def done(snapshot):
            if not k8s.deployment_ready(snapshot[0]):
                return False
            return state == "standby" or capacity_ready(snapshot[1], snapshot[2], requirements)

        remaining = params["wait_timeout"] - (time.monotonic() - started)
        satisfied, (deployment, pods, nodes), _waited = k8s.get_waiter(False).wait(poll, done, max(remaining, 0))
        if satisfied and state == "active":
            result["seconds_to_capacity"] = round(time.monotonic() - started, 3)
        result.update(_capacity(pods, nodes, requirements))
        if not satisfied:
            reasons = [r for r in [karpenter_problem(deployment, wanted)] if r]
            if state == "active":
                reasons.extend(capacity_problems(pods, nodes, requirements))
            goal = "capacity" if state == "active" else "the Karpenter pods gone"
            module.fail_json(msg=f"No {goal} within wait_timeout={params['wait_timeout']} seconds: {'; '.join(reasons)}.",
                             **result)
    elif not module.check_mode:
        result.update(_capacity(*read_capacity(api, params["pod_selector"]), requirements=requirements))
    else:
        result.update(_capacity(pods, nodes, requirements))
    return result


def _capacity(pods, nodes, requirements=None):
    return {
        "pending_pods_after": len(pods_waiting_for_capacity(pods, requirements)),
        "nodes": ready_node_count(nodes),
        "capacity_ready": capacity_ready(pods, nodes, requirements),
    }


def main():
    argument_spec = dict(
        **k8s.CONNECTION_ARGUMENT_SPEC,
        state=dict(type="str", required=True, choices=["standby", "active"]),
        replicas=dict(type="int", default=2),
        namespace=dict(type="str"),
        deployment=dict(type="str", default="karpenter"),
        pod_selector=dict(type="str"),
        site_kind=dict(type="str", choices=["region", "local_zone", "outpost"]),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=k8s.CONNECTION_MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    params = module.params
    problem = validate_request(params["state"], params["replicas"], params["site_kind"], params["wait_timeout"],
                               params["pod_selector"])
    if problem:
        module.fail_json(msg=problem)
    try:
        result = ensure_state(module, k8s.connect(module))
    except k8s.K8sError as e:
        module.fail_json(msg=e.message)
    except AnsibleEKSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
