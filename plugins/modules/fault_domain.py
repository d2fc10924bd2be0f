#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: fault_domain
version_added: 0.1.0
short_description: Take the nodes of one fault domain (an AZ, an Outpost) out of service and back, checking the workloads
description:
  - A fault domain is the set of nodes that fail together, such as the nodes of one Availability Zone or of one
    AWS Outpost's node group. O(nodes) names them with a label selector.
  - O(state=drained) drills the loss of the domain the way an operator would take it down. It cordons its nodes
    (C(spec.unschedulable=true)), evicts every pod on them through the Eviction API (C(policy/v1)), as
    C(kubectl drain) does, except DaemonSet pods and mirror pods, and retries an eviction a PodDisruptionBudget
    refuses (HTTP 429) until it goes through or O(wait_timeout) runs out. It then waits until every workload of
    O(workloads) has at least its C(min_ready) Ready pods and none of its pods on the domain's nodes.
  - O(state=restored) uncordons the domain's nodes and waits until they lost the
    C(node.kubernetes.io/unschedulable) taint. With O(rebalance), a workload whose pods are not spread as its
    C(topologySpreadConstraints) ask over the schedulable nodes (for example none on the restored domain, or the
    domains more than C(maxSkew) apart) gets a rollout restart, an annotation C(eks-ha.resilience/rebalanced-at) on
    its pod template. It then waits until every workload is fully Ready, its rollout is complete and, with
    O(rebalance), its pods respect its spread constraints.
  - The module refuses, changing nothing, a selector that matches no node, draining a selector that matches every
    schedulable node of the cluster (no capacity would remain), a workload that does not exist, and a C(min_ready)
    above the Deployment's replicas.
  - It talks to Kubernetes only, through the kubernetes Python client; with O(eks_cluster) it finds the cluster's
    endpoint through EKS.
options:
  nodes:
    description:
      - A label selector naming the nodes of the fault domain, such as C(topology.kubernetes.io/zone=us-east-1a) or
        C(eks-ha.resilience/node-group=outpost-1).
    type: str
    required: true
  state:
    description:
      - V(drained) cordons the nodes, evicts their pods and waits for the workloads to run elsewhere.
      - V(restored) uncordons the nodes, rebalances the workloads (O(rebalance)) and waits for them.
    type: str
    choices: [drained, restored]
    required: true
  workloads:
    description:
      - The Deployments whose capacity the drill checks.
    type: list
    elements: dict
    default: []
    suboptions:
      namespace:
        description: The namespace of the Deployment.
        type: str
        required: true
      name:
        description: The name of the Deployment.
        type: str
        required: true
      min_ready:
        description:
          - With O(state=drained), how many Ready pods the Deployment must keep outside the domain, from 0 to its
            C(spec.replicas). Defaults to its C(spec.replicas).
        type: int
  rebalance:
    description:
      - With O(state=restored), give a workload whose pods are not spread as its C(topologySpreadConstraints) ask a
        rollout restart, and wait until its new pods respect them.
      - With V(false), the module only waits for the workloads to be Ready.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds the whole run may take (evictions and waits) before the module fails.
    type: int
    default: 600
notes:
  - Idempotent. O(state=drained) on nodes already cordoned, with nothing left to evict and the workloads satisfied,
    returns C(changed=false); so does O(state=restored) on schedulable nodes with balanced workloads.
  - Check mode reads the cluster and returns the plan (nodes to cordon or uncordon, pods to evict, workloads to
    restart) without writing or waiting.
  - A spread constraint counts, among the schedulable nodes, only those its C(nodeAffinityPolicy) (default Honor)
    and C(nodeTaintsPolicy) (default Ignore) admit. Use C(nodeTaintsPolicy=Honor) on a workload that must fit the
    remaining domains while one is drained; with Ignore the cordoned domain still counts, with no pods, and
    C(whenUnsatisfiable=DoNotSchedule) keeps the replacement pods Pending.
  - A rollout restart counts the old pods while it runs; a constraint with C(matchLabelKeys=[pod-template-hash])
    spreads the new pods among themselves, so they end balanced.
author:
  - eks_ha.resilience maintainers (@eks-ha)
extends_documentation_fragment:
  - eks_ha.resilience.k8s_connection
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: AZ-loss drill - take us-east-1a out of service, the shop keeps 4 Ready pods in the other zones
  eks_ha.resilience.fault_domain:
    eks_cluster: shop
    region: us-east-1
    nodes: topology.kubernetes.io/zone=us-east-1a
    state: drained
    workloads:
      - {namespace: shop, name: web}
      - {namespace: shop, name: api, min_ready: 2}
  register: drill

- name: Show what the drill did
  ansible.builtin.debug:
    msg: "{{ drill.actions }}"

- name: Bring the zone back and spread the pods over it again
  eks_ha.resilience.fault_domain:
    eks_cluster: shop
    region: us-east-1
    nodes: topology.kubernetes.io/zone=us-east-1a
    state: restored
    workloads:
      - {namespace: shop, name: web}
      - {namespace: shop, name: api}

- name: Losing an Outpost, through a kubeconfig context
  eks_ha.resilience.fault_domain:
    kubeconfig: ~/.kube/config
    context: outposts
    nodes: eks-ha.resilience/node-group=outpost-1
    state: drained
    workloads:
      - {namespace: game-2048, name: game-2048, min_ready: 2}
    wait_timeout: 900
"""

RETURN = r"""
nodes:
  description: The nodes of the domain after the run (in check mode, as they would be).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The node's name.
      type: str
    zone:
      description: Its C(topology.kubernetes.io/zone) label (null when it has none).
      type: str
    unschedulable:
      description: Whether it is cordoned.
      type: bool
  sample: [{name: ip-10-0-1-17.ec2.internal, zone: us-east-1a, unschedulable: true}]
evicted:
  description: The pods evicted from the domain's nodes, as C(namespace/name); in check mode, the ones that would be.
  returned: always
  type: list
  elements: str
  sample: [shop/web-6d4cf56db6-2xkqz]
workloads:
  description: Each workload at the end of the run (in check mode, as it is now).
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: The Deployment's namespace.
      type: str
    name:
      description: The Deployment's name.
      type: str
    replicas:
      description: Its C(spec.replicas).
      type: int
    ready:
      description: How many of its pods are Ready.
      type: int
    min_ready:
      description: The Ready pods it must keep with O(state=drained).
      type: int
    pods_per_zone:
      description: Zone -> how many of its pods are bound to a node of that zone.
      type: dict
    pods_on_domain:
      description: How many of its pods are bound to the domain's nodes.
      type: int
  sample: [{namespace: shop, name: web, replicas: 4, ready: 4, min_ready: 4, pods_per_zone: {us-east-1b: 4},
            pods_on_domain: 0}]
restarted:
  description: The workloads given a rollout restart to rebalance them, as C(namespace/name); in check mode, the ones
    that would be.
  returned: always
  type: list
  elements: str
  sample: [shop/web]
elapsed:
  description: Seconds the run took.
  returned: always
  type: float
  sample: 41.3
actions:
  description: What the module did (or, in check mode, would do) and why, one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["Cordoned ip-10-0-1-17.ec2.internal (us-east-1a).", "Evicted shop/web-6d4cf56db6-2xkqz."]
diff:
  description: The nodes' C(unschedulable) before and after, when running with C(--diff).
  returned: when diff mode is enabled
  type: dict
  sample: {before: {nodes: {ip-10-0-1-17.ec2.internal: {unschedulable: false}}},
           after: {nodes: {ip-10-0-1-17.ec2.internal: {unschedulable: true}}}}
"""

import time
from datetime import datetime, timezone

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.eks_ha.resilience.plugins.module_utils import k8s
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import AnsibleEKSError

ZONE_LABEL = "topology.kubernetes.io/zone"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
REBALANCED_ANNOTATION = "eks-ha.resilience/rebalanced-at"
TERMINAL_PHASES = ("Succeeded", "Failed")
# Seconds between two tries of an eviction a PodDisruptionBudget refused, and between two looks at the workloads.
POLL_INTERVAL = 1.0


# ---------------------------------------------------------------------------
# Pure decisions
# ---------------------------------------------------------------------------


def validate_request(nodes, wait_timeout, workloads):
    """Return one sentence naming the bad option and what is allowed, or None when the request is fine."""
    try:
        k8s.parse_label_selector(nodes)
    except ValueError as e:
        return (f"nodes must be a label selector of the fault domain's nodes, such as "
                f"topology.kubernetes.io/zone=us-east-1a, got '{nodes}': {e}.")
    if wait_timeout < 1:
        return f"wait_timeout must be at least 1 second, got {wait_timeout}."
    seen = set()
    for index, workload in enumerate(workloads):
        key = (workload["namespace"], workload["name"])
        if key in seen:
            return f"workloads[{index}] names Deployment {key[0]}/{key[1]} a second time; name each workload once."
        seen.add(key)
        if workload.get("min_ready") is not None and workload["min_ready"] < 0:
            return f"workloads[{index}].min_ready must be 0 or more, got {workload['min_ready']}."
    return None


def name_of(obj):
    return (obj.get("metadata") or {}).get("name")


def full_name(obj):
    metadata = obj.get("metadata") or {}
    return f"{metadata.get('namespace')}/{metadata.get('name')}"


def zone_of(node):
    return ((node.get("metadata") or {}).get("labels") or {}).get(ZONE_LABEL)


def cordoned(node):
    return bool((node.get("spec") or {}).get("unschedulable"))


def domain_refusal(selector, state, domain_nodes, all_nodes):
    """Return the sentence refusing the domain, or None: it must name a node, and draining it must leave some
    schedulable node outside it."""
    if not domain_nodes:
        return (f"nodes '{selector}' matches no node of the cluster; give a label selector of the fault domain's "
                "nodes, such as topology.kubernetes.io/zone=us-east-1a.")
    if state == "drained":
        inside = {name_of(n) for n in domain_nodes}
        remaining = [n for n in all_nodes if name_of(n) not in inside and not cordoned(n) and k8s.node_ready(n)]
        if not remaining:
            return (f"nodes '{selector}' matches every schedulable node of the cluster ({len(inside)}), so no capacity "
                    "would remain after the drain; narrow nodes to one fault domain.")
    return None


def workload_refusal(index, workload, deployment):
    """Return the sentence refusing ``workloads[index]`` given its Deployment (None when it does not exist)."""
    reference = f"{workload['namespace']}/{workload['name']}"
    if deployment is None:
        return (f"workloads[{index}] names Deployment {reference}, which does not exist; list Deployments by their "
                "namespace and name.")
    replicas = replicas_of(deployment)
    if workload.get("min_ready") is not None and workload["min_ready"] > replicas:
        return (f"workloads[{index}].min_ready is {workload['min_ready']} but Deployment {reference} has {replicas} "
                f"replicas; min_ready must be between 0 and {replicas}.")
    return None


def replicas_of(deployment):
    """The replicas a Deployment asks for (Kubernetes defaults a missing value to 1)."""
    return (deployment.get("spec") or {}).get("replicas", 1)


def min_ready_of(workload, deployment):
    return replicas_of(deployment) if workload.get("min_ready") is None else workload["min_ready"]


def live(pod):
    """A pod that runs or will: not finished and not being deleted."""
    return ((pod.get("status") or {}).get("phase") not in TERMINAL_PHASES
            and not (pod.get("metadata") or {}).get("deletionTimestamp"))


def evictable(pod):
    """Whether a drain evicts the pod: everything but DaemonSet pods, mirror (static) pods and pods already going."""
    metadata = pod.get("metadata") or {}
    if metadata.get("deletionTimestamp") or MIRROR_ANNOTATION in (metadata.get("annotations") or {}):
        return False
    return not any(owner.get("kind") == "DaemonSet" for owner in metadata.get("ownerReferences") or [])


def plan_drain(domain_nodes, pods_on_domain):
    """Return ``(nodes to cordon, pods to evict)`` for draining the domain."""
    return ([name_of(n) for n in domain_nodes if not cordoned(n)],
            sorted(full_name(p) for p in pods_on_domain if evictable(p)))


def plan_uncordon(domain_nodes):
    return [name_of(n) for n in domain_nodes if cordoned(n)]


def workload_pods(deployment, pods):
    """The pods of the Deployment's namespace its selector matches."""
    namespace = (deployment.get("metadata") or {}).get("namespace")
    selector = (deployment.get("spec") or {}).get("selector")
    return [p for p in pods if (p.get("metadata") or {}).get("namespace") == namespace
            and k8s.label_selector_matches(selector, (p.get("metadata") or {}).get("labels"))]


def tolerates(tolerations, taint):
    """Whether a toleration matches the taint (key, operator Equal or Exists, value, effect)."""
    for toleration in tolerations or []:
        operator = toleration.get("operator", "Equal")
        if toleration.get("key") and toleration.get("key") != taint.get("key"):
            continue
        if not toleration.get("key") and operator != "Exists":
            continue
        if operator == "Equal" and toleration.get("value", "") != taint.get("value", ""):
            continue
        if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
            continue
        return True
    return False


def node_affinity_matches(pod_spec, node):
    """The pod's ``nodeSelector`` and required node affinity (terms ORed, expressions ANDed) against the node."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    if any(labels.get(key) != value for key, value in (pod_spec.get("nodeSelector") or {}).items()):
        return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    return any(k8s.label_selector_matches({"matchExpressions": term.get("matchExpressions") or []}, labels)
               for term in terms)


def untolerated_taints(pod_spec, node):
    """The NoSchedule/NoExecute taints of the node the pod does not tolerate, but the cordon taint (a schedulable
    node may still carry it for a moment after it was uncordoned)."""
    return [t for t in (node.get("spec") or {}).get("taints") or []
            if t.get("effect") in ("NoSchedule", "NoExecute") and t.get("key") != UNSCHEDULABLE_TAINT
            and not tolerates(pod_spec.get("tolerations"), t)]


def spread_domains(constraint, pod_spec, nodes):
    """Domain value -> names of the schedulable nodes a spread constraint counts there (its policies applied)."""
    key = constraint.get("topologyKey")
    domains = {}
    for node in nodes:
        value = ((node.get("metadata") or {}).get("labels") or {}).get(key)
        if value is None or cordoned(node) or not k8s.node_ready(node):
            continue
        if constraint.get("nodeAffinityPolicy", "Honor") == "Honor" and not node_affinity_matches(pod_spec, node):
            continue
        if constraint.get("nodeTaintsPolicy", "Ignore") == "Honor" and untolerated_taints(pod_spec, node):
            continue
        domains.setdefault(value, set()).add(name_of(node))
    return domains


def spread_counts(constraint, pod_spec, nodes, pods):
    """Domain -> how many of ``pods`` (live, bound, matching the constraint's selector) run there."""
    domains = spread_domains(constraint, pod_spec, nodes)
    counts = {domain: 0 for domain in domains}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or not live(pod):
            continue
        if not k8s.label_selector_matches(constraint.get("labelSelector"), (pod.get("metadata") or {}).get("labels")):
            continue
        for domain, members in domains.items():
            if node in members:
                counts[domain] += 1
    return counts


def spread_violations(deployment, nodes, pods):
    """Return one phrase per spread constraint of the Deployment's pod template its pods violate over the
    schedulable ``nodes`` (the most and least loaded domains more than maxSkew apart); ``[]`` when balanced."""
    pod_spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    problems = []
    for constraint in pod_spec.get("topologySpreadConstraints") or []:
        counts = spread_counts(constraint, pod_spec, nodes, pods)
        if len(counts) < 2:
            continue
        max_skew = constraint.get("maxSkew", 1)
        if max(counts.values()) - min(counts.values()) > max_skew:
            spread = ", ".join(f"{count} in {domain}" for domain, count in sorted(counts.items()))
            problems.append(f"its pods are {spread}, more than maxSkew {max_skew} apart over "
                            f"{constraint.get('topologyKey')}")
    return problems


def with_schedulable(nodes, names):
    """The nodes, those named uncordoned (the state after a restore, for a plan made before it)."""
    result = []
    for node in nodes:
        if name_of(node) in names:
            node = dict(node, spec=dict(node.get("spec") or {}, unschedulable=False))
        result.append(node)
    return result


def workload_report(workload, deployment, pods, nodes, domain_names):
    """The workload as the module returns it."""
    zones = {name_of(n): zone_of(n) for n in nodes}
    mine = [p for p in workload_pods(deployment, pods) if live(p)]
    per_zone = {}
    for pod in mine:
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            zone = zones.get(node) or "unknown"
            per_zone[zone] = per_zone.get(zone, 0) + 1
    return {
        "namespace": workload["namespace"],
        "name": workload["name"],
        "replicas": replicas_of(deployment),
        "ready": sum(1 for p in mine if k8s.pod_ready(p)),
        "min_ready": min_ready_of(workload, deployment),
        "pods_per_zone": per_zone,
        "pods_on_domain": sum(1 for p in mine if (p.get("spec") or {}).get("nodeName") in domain_names),
    }


def pending_reasons(pods):
    """``[(pod, why)]`` of the pods not Ready: the PodScheduled message of those waiting for a node."""
    reasons = []
    for pod in pods:
        if not live(pod) or k8s.pod_ready(pod):
            continue
        scheduled = k8s.conditions(pod).get("PodScheduled") or {}
        if scheduled.get("status") == "False":
            reasons.append((full_name(pod), scheduled.get("message") or scheduled.get("reason") or "not scheduled"))
        elif (pod.get("spec") or {}).get("nodeName"):
            reasons.append((full_name(pod), f"starting on {pod['spec']['nodeName']}"))
        else:
            reasons.append((full_name(pod), "not scheduled yet"))
    return reasons


def drained_problem(report, pods):
    """Why a workload does not meet the drain yet (one phrase), or None."""
    problems = []
    if report["ready"] < report["min_ready"]:
        problems.append(f"{report['ready']} Ready pods of min_ready {report['min_ready']}")
    if report["pods_on_domain"]:
        problems.append(f"{report['pods_on_domain']} pods still on the domain's nodes")
    if not problems:
        return None
    return _with_pending(f"{report['namespace']}/{report['name']} has {' and '.join(problems)}", pods)


def rollout_complete(deployment, pods):
    """Whether the Deployment's latest template is rolled out: observed, every replica updated and Ready, and no
    other pod of it left."""
    status = deployment.get("status") or {}
    replicas = replicas_of(deployment)
    return (k8s.deployment_ready(deployment) and (status.get("updatedReplicas") or 0) == replicas
            and (status.get("replicas") or 0) == replicas and len([p for p in pods if live(p)]) == replicas)


def restored_problem(report, deployment, pods, violations):
    """Why a workload is not restored yet (one phrase), or None."""
    problems = []
    if report["ready"] < report["replicas"]:
        problems.append(f"{report['ready']} Ready pods of {report['replicas']} replicas")
    elif not rollout_complete(deployment, pods):
        problems.append(f"a rollout in progress ({len([p for p in pods if live(p)])} pods for {report['replicas']} "
                        "replicas)")
    problems.extend(violations)
    if not problems:
        return None
    return _with_pending(f"{report['namespace']}/{report['name']} has {'; '.join(problems)}", pods)


def _with_pending(phrase, pods):
    reasons = pending_reasons(pods)
    if not reasons:
        return phrase
    by_message = {}
    for name, why in reasons:
        by_message.setdefault(why, []).append(name)
    detail = "; ".join(f"{', '.join(sorted(names))}: {why}" for why, names in by_message.items())
    return f"{phrase} ({len(reasons)} not Ready: {detail})"


def nodes_result(domain_nodes, after_unschedulable):
    return [{"name": name_of(n), "zone": zone_of(n), "unschedulable": after_unschedulable(n)} for n in domain_nodes]


def nodes_diff(domain_nodes, before, after):
    return {"before": {"nodes": {name_of(n): {"unschedulable": before(n)} for n in domain_nodes}},
            "after": {"nodes": {name_of(n): {"unschedulable": after(n)} for n in domain_nodes}}}


# ---------------------------------------------------------------------------
# Reads and writes
# ---------------------------------------------------------------------------


class Drill:
    """One run against a cluster: what it read, and what it did and why."""

    def __init__(self, module, api):
        self.module = module
        self.api = api
        self.params = module.params
        self.started = time.monotonic()
        self.actions = []

    def remaining(self):
        return max(self.params["wait_timeout"] - (time.monotonic() - self.started), 0)

    def elapsed(self):
        return round(time.monotonic() - self.started, 3)

    def read_domain(self):
        """Return ``(domain nodes, every node)``."""
        return (k8s.list_objects(self.api, k8s.NODE, label_selector=self.params["nodes"]),
                k8s.list_objects(self.api, k8s.NODE))

    def read_workloads(self):
        """Return the Deployment of each workload, refusing a missing one or a min_ready above its replicas."""
        deployments = []
        for index, workload in enumerate(self.params["workloads"]):
            deployment = k8s.get(self.api, k8s.DEPLOYMENT, workload["name"], workload["namespace"])
            refusal = workload_refusal(index, workload, deployment)
            if refusal:
                self.module.fail_json(msg=refusal, changed=False)
            deployments.append(deployment)
        return deployments

    def workload_pods(self):
        """Every pod of the workloads' namespaces."""
        pods = []
        for namespace in sorted({w["namespace"] for w in self.params["workloads"]}):
            pods.extend(k8s.list_objects(self.api, k8s.POD, namespace=namespace))
        return pods

    def pods_on(self, node_names):
        pods = []
        for name in node_names:
            pods.extend(k8s.list_objects(self.api, k8s.POD, field_selector=f"spec.nodeName={name}"))
        return pods

    def set_unschedulable(self, names, value):
        for name in names:
            k8s.patch(self.api, k8s.NODE, name, {"spec": {"unschedulable": True if value else None}})

    def snapshot(self):
        """``(deployments, pods, nodes)`` of the workloads as they are now."""
        deployments = [k8s.get(self.api, k8s.DEPLOYMENT, w["name"], w["namespace"]) or {}
                       for w in self.params["workloads"]]
        return deployments, self.workload_pods(), k8s.list_objects(self.api, k8s.NODE)

    def reports(self, snapshot, domain_names):
        deployments, pods, nodes = snapshot
        return [workload_report(w, d, pods, nodes, domain_names) for w, d in zip(self.params["workloads"], deployments)]

    def settle(self, result, domain_names, problem_of, failure, success):
        """Poll the workloads until none has a problem (``problem_of(workload, deployment, pods, nodes)``: a phrase, or
        None) or the time is up; return ``result`` with their reports, or fail saying ``failure`` and the problems."""
        def problems(snapshot):
            deployments, pods, nodes = snapshot
            found = (problem_of(w, d, pods, nodes) for w, d in zip(self.params["workloads"], deployments))
            return [problem for problem in found if problem]

        _ok, snapshot, _waited = k8s.Waiter(POLL_INTERVAL).wait(self.snapshot, lambda s: not problems(s), self.remaining())
        remaining = problems(snapshot)
        result["workloads"] = self.reports(snapshot, domain_names)
        if remaining:
            result.update(elapsed=self.elapsed(), actions=self.actions)
            self.module.fail_json(msg=f"{failure} within wait_timeout={self.params['wait_timeout']} seconds: "
                                      f"{'; '.join(remaining)}.", **result)
        if self.params["workloads"]:
            self.actions.append(f"{success} ({self.elapsed()} s).")
        return result

    def evict(self, pods):
        """Evict the pods, retrying those a PodDisruptionBudget refuses until they go or the time is up; return
        ``(evicted, refused)``, refused being ``{pod: the budget's reason}`` of those that never went."""
        waiting = list(pods)
        evicted, refused, tries = [], {}, {}
        while waiting:
            for pod in list(waiting):
                namespace, name = pod.split("/", 1)
                try:
                    gone = k8s.evict(self.api, name, namespace)
                except k8s.K8sError as e:
                    if e.status != 429:
                        raise
                    tries[pod] = tries.get(pod, 0) + 1
                    refused[pod] = " ".join([e.message.split(": 429 ", 1)[-1]] + [f"({c})" for c in e.causes])
                    continue
                waiting.remove(pod)
                refused.pop(pod, None)
                if gone:
                    evicted.append(pod)
                    retried = tries.get(pod)
                    self.actions.append(f"Evicted {pod}" + (
                        f" after {retried} refusals of its PodDisruptionBudget, which allowed it once enough "
                        "replacements were Ready." if retried else "."))
            if waiting:
                if not self.remaining():
                    break
                time.sleep(min(POLL_INTERVAL, self.remaining()))
        return evicted, refused


# ---------------------------------------------------------------------------
# States
# ---------------------------------------------------------------------------


def ensure_drained(drill):
    module, params = drill.module, drill.params
    domain_nodes, all_nodes = drill.read_domain()
    refusal = domain_refusal(params["nodes"], "drained", domain_nodes, all_nodes)
    if refusal:
        module.fail_json(msg=refusal, changed=False)
    deployments = drill.read_workloads()
    domain_names = {name_of(n) for n in domain_nodes}
    to_cordon, to_evict = plan_drain(domain_nodes, drill.pods_on(sorted(domain_names)))
    zones = {name_of(n): zone_of(n) for n in domain_nodes}

    result = {"changed": bool(to_cordon or to_evict), "evicted": to_evict, "restarted": []}
    if module._diff:
        result["diff"] = nodes_diff(domain_nodes, cordoned, lambda n: True)
    if module.check_mode:
        drill.actions.extend(f"Would cordon {n} ({zones[n]}): it matches nodes." for n in to_cordon)
        drill.actions.extend(f"Would evict {p}." for p in to_evict)
        result.update(nodes=nodes_result(domain_nodes, lambda n: True),
                      workloads=drill.reports((deployments, drill.workload_pods(), all_nodes), domain_names))
        return result

    drill.set_unschedulable(to_cordon, True)
    drill.actions.extend(f"Cordoned {n} ({zones[n]}): it matches nodes." for n in to_cordon)
    evicted, refused = drill.evict(to_evict)
    result["evicted"] = evicted
    result["changed"] = bool(to_cordon or evicted)
    result["nodes"] = nodes_result(domain_nodes, lambda n: True)
    if refused:
        result.update(workloads=drill.reports(drill.snapshot(), domain_names), elapsed=drill.elapsed(),
                      actions=drill.actions)
        detail = "; ".join(f"{pod}: {why}" for pod, why in sorted(refused.items()))
        module.fail_json(msg=f"Could not evict {len(refused)} pods within wait_timeout={params['wait_timeout']} "
                             f"seconds: {detail}.", **result)

    def problem(workload, deployment, pods, nodes):
        report = workload_report(workload, deployment, pods, nodes, domain_names)
        return drained_problem(report, workload_pods(deployment, pods))

    return drill.settle(result, domain_names, problem, "The workloads did not run outside the domain",
                        "Every workload has its min_ready Ready pods outside the domain")


def ensure_restored(drill):
    module, params = drill.module, drill.params
    domain_nodes, all_nodes = drill.read_domain()
    refusal = domain_refusal(params["nodes"], "restored", domain_nodes, all_nodes)
    if refusal:
        module.fail_json(msg=refusal, changed=False)
    deployments = drill.read_workloads()
    domain_names = {name_of(n) for n in domain_nodes}
    zones = {name_of(n): zone_of(n) for n in domain_nodes}
    to_uncordon = plan_uncordon(domain_nodes)
    pods = drill.workload_pods()
    restored_nodes = with_schedulable(all_nodes, set(to_uncordon))
    to_restart, reasons = [], {}
    if params["rebalance"]:
        for workload, deployment in zip(params["workloads"], deployments):
            violations = spread_violations(deployment, restored_nodes, workload_pods(deployment, pods))
            if violations:
                reference = f"{workload['namespace']}/{workload['name']}"
                to_restart.append(reference)
                reasons[reference] = "; ".join(violations)

    result = {"changed": bool(to_uncordon or to_restart), "evicted": [], "restarted": to_restart,
              "nodes": nodes_result(domain_nodes, lambda n: False)}
    if module._diff:
        result["diff"] = nodes_diff(domain_nodes, cordoned, lambda n: False)
    verb = "Would " if module.check_mode else ""
    drill.actions.extend(f"{verb}{'uncordon' if verb else 'Uncordoned'} {n} ({zones[n]}): it matches nodes."
                         for n in to_uncordon)
    drill.actions.extend(f"{verb}{'restart' if verb else 'Restarted'} {r} to rebalance it: {reasons[r]}."
                         for r in to_restart)
    if module.check_mode:
        result["workloads"] = drill.reports((deployments, pods, all_nodes), domain_names)
        return result

    drill.set_unschedulable(to_uncordon, False)
    if to_uncordon and to_restart:
        # The scheduler leaves a node still carrying the cordon taint out of Honor-policy spread domains.
        def still_tainted(nodes):
            return [n for n in nodes if name_of(n) in domain_names and any(
                t.get("key") == UNSCHEDULABLE_TAINT for t in (n.get("spec") or {}).get("taints") or [])]

        k8s.Waiter(POLL_INTERVAL / 4).wait(lambda: k8s.list_objects(drill.api, k8s.NODE),
                                           lambda nodes: not still_tainted(nodes), drill.remaining())
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for reference in to_restart:
        namespace, name = reference.split("/", 1)
        k8s.patch(drill.api, k8s.DEPLOYMENT, name,
                  {"spec": {"template": {"metadata": {"annotations": {REBALANCED_ANNOTATION: stamp}}}}}, namespace)

    def problem(workload, deployment, pods_now, nodes):
        mine = workload_pods(deployment, pods_now)
        report = workload_report(workload, deployment, pods_now, nodes, domain_names)
        violations = spread_violations(deployment, nodes, mine) if params["rebalance"] else []
        return restored_problem(report, deployment, mine, violations)

    return drill.settle(result, domain_names, problem, "The workloads were not restored",
                        "Every workload is Ready and spread as its constraints ask")


def main():
    argument_spec = dict(
        **k8s.CONNECTION_ARGUMENT_SPEC,
        nodes=dict(type="str", required=True),
        state=dict(type="str", required=True, choices=["drained", "restored"]),
        workloads=dict(type="list", elements="dict", default=[], options=dict(
            namespace=dict(type="str", required=True),
            name=dict(type="str", required=True),
            min_ready=dict(type="int"),
        )),
        rebalance=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=k8s.CONNECTION_MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    params = module.params
    problem = validate_request(params["nodes"], params["wait_timeout"], params["workloads"])
    if problem:
        module.fail_json(msg=problem)
    try:
        drill = Drill(module, k8s.connect(module).api)
        ensure = ensure_drained if params["state"] == "drained" else ensure_restored
        result = ensure(drill)
    except k8s.K8sError as e:
        module.fail_json(msg=e.message)
    except AnsibleEKSError as e:
        module.fail_json_aws_error(e)
    result.update(elapsed=drill.elapsed(), actions=drill.actions)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
