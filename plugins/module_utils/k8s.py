# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A small Kubernetes layer for the modules of this collection: client -> service -> wait.

* client: one configured ``kubernetes.client.ApiClient``, from a kubeconfig (path or dict) and context,
  or from an EKS cluster (endpoint and CA from DescribeCluster, a token made as ``aws eks get-token`` does);
* service: get, list (label selector), apply / patch (strategic merge for built-in kinds, merge for custom
  resources), scale through the ``scale`` subresource, evict through the ``eviction`` subresource, delete; objects
  are plain dicts as the API returns them;
* wait: one readiness predicate per kind, a waiter that polls, and one that does not wait (check mode);
* ``diff_objects`` compares two objects ignoring what the server changes on its own.

The connection options are documented in the doc fragment ``eks_ha.resilience.k8s_connection``.
"""

import atexit
import base64
import copy
import json
import os
import re
import tempfile
import time
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.dict_transformations import recursive_diff

from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import cluster_endpoint
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import get_token
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import usable_cluster

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException
    from kubernetes.config.config_exception import ConfigException
    from urllib3.exceptions import HTTPError
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None

# Options that say which Kubernetes API to talk to (doc fragment eks_ha.resilience.k8s_connection).
# validate_certs is taken by the AWS options (it applies to the AWS APIs), hence k8s_validate_certs.
CONNECTION_ARGUMENT_SPEC = dict(
    kubeconfig=dict(type="raw"),
    context=dict(type="str"),
    eks_cluster=dict(type="str"),
    k8s_validate_certs=dict(type="bool"),
)
CONNECTION_MUTUALLY_EXCLUSIVE = [("kubeconfig", "eks_cluster"), ("context", "eks_cluster")]

# Seconds one API request may take before it counts as failed.
REQUEST_TIMEOUT = 30

STRATEGIC_MERGE = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"

# API groups served by Kubernetes itself; only their kinds understand strategic merge patches.
BUILTIN_GROUPS = frozenset([
    "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
    "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "node.k8s.io",
    "apiextensions.k8s.io", "admissionregistration.k8s.io", "certificates.k8s.io",
])

# Metadata the server sets on its own; a change of only these is no change.
SERVER_METADATA = ("resourceVersion", "generation", "managedFields")


class K8sError(Exception):
    """A Kubernetes API call failed; ``status`` is the HTTP status when there was an answer, ``causes`` the
    messages of the causes the Status gave (a PodDisruptionBudget refusing an eviction names itself there)."""

    def __init__(self, message, status=None, causes=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.causes = causes or []


class Resource:
    """One kind of object: where its API lives and whether it sits in a namespace."""

    def __init__(self, api_version, kind, plural, namespaced):
        self.api_version = api_version
        self.kind = kind
        self.plural = plural
        self.namespaced = namespaced

    @property
    def group(self):
        return self.api_version.rpartition("/")[0]

    @property
    def builtin(self):
        return self.group in BUILTIN_GROUPS

    def path(self, namespace=None, name=None, subresource=None):
        """Return the URL path of the collection, or of one object (and its subresource)."""
        base = "/api/" + self.api_version if not self.group else "/apis/" + self.api_version
        if self.namespaced and namespace:
            base += "/namespaces/" + namespace
        base += "/" + self.plural
        if name:
            base += "/" + name
            if subresource:
                base += "/" + subresource
        return base

    def __repr__(self):
        return f"Resource({self.api_version}, {self.kind})"


DEPLOYMENT = Resource("apps/v1", "Deployment", "deployments", True)
DAEMONSET = Resource("apps/v1", "DaemonSet", "daemonsets", True)
POD = Resource("v1", "Pod", "pods", True)
NODE = Resource("v1", "Node", "nodes", False)
NAMESPACE = Resource("v1", "Namespace", "namespaces", False)
CONFIG_MAP = Resource("v1", "ConfigMap", "configmaps", True)
SECRET = Resource("v1", "Secret", "secrets", True)
CRD = Resource("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", False)
NODEPOOL = Resource("karpenter.sh/v1", "NodePool", "nodepools", False)
PROVISIONER = Resource("karpenter.sh/v1alpha5", "Provisioner", "provisioners", False)
KUSTOMIZATION = Resource("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "kustomizations", True)
GIT_REPOSITORY = Resource("source.toolkit.fluxcd.io/v1", "GitRepository", "gitrepositories", True)
HELM_RELEASE = Resource("helm.toolkit.fluxcd.io/v2", "HelmRelease", "helmreleases", True)

KNOWN_RESOURCES = {
    (r.api_version, r.kind): r
    for r in (DEPLOYMENT, DAEMONSET, POD, NODE, NAMESPACE, CONFIG_MAP, SECRET, CRD, NODEPOOL, PROVISIONER, KUSTOMIZATION,
              GIT_REPOSITORY, HELM_RELEASE)
}


def resource_for(obj):
    """Return the Resource of an object (dict with apiVersion and kind) among the known ones, or None."""
    return KNOWN_RESOURCES.get((obj.get("apiVersion"), obj.get("kind")))


def patch_content_type(resource):
    """Return the patch type to use: strategic merge for built-in kinds, JSON merge for custom resources."""
    return STRATEGIC_MERGE if resource.builtin else MERGE


# ---------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------


def _temporary_file(data):
    """Write ``data`` to a file removed when the process ends; return its path."""
    handle, path = tempfile.mkstemp(prefix="eks-ha-", suffix=".crt")
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    atexit.register(lambda: os.path.exists(path) and os.remove(path))
    return path


def client_from_kubeconfig(kubeconfig=None, context=None, validate_certs=None):
    """Return an ApiClient for ``context`` of a kubeconfig (path, dict, or None for the default one)."""
    configuration = k8s_client.Configuration()
    try:
        if isinstance(kubeconfig, dict):
            k8s_config.load_kube_config_from_dict(kubeconfig, context=context, client_configuration=configuration,
                                                  persist_config=False)
        else:
            path = os.path.expanduser(kubeconfig) if kubeconfig else None
            if path and not os.path.exists(path):
                raise K8sError(f"kubeconfig {kubeconfig} does not exist; give the path of a kubeconfig file or a dict.")
            k8s_config.load_kube_config(config_file=path, context=context, client_configuration=configuration,
                                        persist_config=False)
    except (ConfigException, OSError, TypeError, ValueError) as e:
        raise K8sError(f"Could not load the kubeconfig: {e}") from e
    if validate_certs is not None:
        configuration.verify_ssl = validate_certs
    return k8s_client.ApiClient(configuration)


def client_from_endpoint(endpoint, ca_data, token, validate_certs=None):
    """Return an ApiClient for ``endpoint``, trusting the base64 PEM ``ca_data`` and sending ``token``."""
    configuration = k8s_client.Configuration()
    configuration.host = endpoint
    configuration.api_key = {"authorization": token}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    configuration.ssl_ca_cert = _temporary_file(base64.b64decode(ca_data))
    configuration.verify_ssl = validate_certs is not False
    return k8s_client.ApiClient(configuration)


def kubeconfig_secrets(kubeconfig):
    """Return the secret values (tokens, passwords, client keys) held by a kubeconfig dict."""
    secrets = []
    if not isinstance(kubeconfig, dict):
        return secrets
    for entry in kubeconfig.get("users") or []:
        user = (entry or {}).get("user") or {}
        for key in ("token", "password", "client-key-data"):
            if user.get(key):
                secrets.append(str(user[key]))
    return secrets


class Connection:
    """A configured ApiClient and, when it was found through EKS, the described cluster."""

    def __init__(self, api, cluster=None):
        self.api = api
        self.cluster = cluster


def connect(module):
    """Return a Connection built from the module's connection options, or fail the module with one sentence.

    With ``eks_cluster`` the module must be an AnsibleAWSModule: EKS and STS are called with its AWS options.
    EKS errors raise ``AnsibleEKSError`` for the module to report.
    """
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    params = module.params
    for secret in kubeconfig_secrets(params.get("kubeconfig")):
        module.no_log_values.add(secret)
    validate_certs = params.get("k8s_validate_certs")
    name = params.get("eks_cluster")
    try:
        if not name:
            return Connection(client_from_kubeconfig(params.get("kubeconfig"), params.get("context"), validate_certs))
        cluster = usable_cluster(module, name)
        token = get_token(module.client("sts", region=module.region), name)
        module.no_log_values.add(token)
        endpoint, ca_data = cluster_endpoint(cluster)
        return Connection(client_from_endpoint(endpoint, ca_data, token, validate_certs), cluster)
    except K8sError as e:
        module.fail_json(msg=e.message)


# ---------------------------------------------------------------------------
# Service
# ---------------------------------------------------------------------------


def _api_message(error):
    """Return the ``message`` of a Kubernetes Status body, else the HTTP reason."""
    try:
        return json.loads(error.body).get("message") or error.reason
    except (TypeError, ValueError, AttributeError):
        return error.reason


def _api_causes(error):
    """Return the messages of the ``details.causes`` of a Kubernetes Status body (``[]`` when there are none)."""
    try:
        causes = (json.loads(error.body).get("details") or {}).get("causes") or []
    except (TypeError, ValueError, AttributeError):
        return []
    return [c.get("message") for c in causes if isinstance(c, dict) and c.get("message")]


def _request(api, method, path, description, query=None, body=None, content_type=None):
    """Make one API request and return the decoded answer; raise K8sError."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = content_type or "application/json"
    try:
        return api.call_api(
            path, method, query_params=list((query or {}).items()), header_params=headers, body=body,
            response_type="object", auth_settings=["BearerToken"], _return_http_data_only=True,
            _preload_content=True, _request_timeout=REQUEST_TIMEOUT,
        )
    except ApiException as e:
        raise K8sError(f"Failed to {description}: {e.status} {_api_message(e)}", status=e.status,
                       causes=_api_causes(e)) from e
    except (HTTPError, OSError) as e:
        raise K8sError(f"Failed to {description}: cannot reach the Kubernetes API at {api.configuration.host} ({e})") from e


def _describe(resource, name=None, namespace=None):
    where = f"{namespace}/{name}" if namespace and name else (name or namespace or "")
    return f"{resource.kind} {where}".strip()


def get(api, resource, name, namespace=None):
    """Return the object, or None when it does not exist."""
    try:
        return _request(api, "GET", resource.path(namespace, name), "get " + _describe(resource, name, namespace))
    except K8sError as e:
        if e.status == 404:
            return None
        raise


def list_objects(api, resource, namespace=None, label_selector=None, field_selector=None):
    """Return the objects of a kind (in ``namespace``, else in all), each with its apiVersion and kind set.

    Raises K8sError with status 404 when the API does not serve the kind (for example its CRD is missing).
    """
    query = {}
    if label_selector:
        query["labelSelector"] = label_selector
    if field_selector:
        query["fieldSelector"] = field_selector
    answer = _request(api, "GET", resource.path(namespace), "list " + resource.plural, query=query)
    items = (answer or {}).get("items") or []
    for item in items:
        item.setdefault("apiVersion", resource.api_version)
        item.setdefault("kind", resource.kind)
    return items


def served(api, resource):
    """Return the objects of a cluster-wide kind, or None when the API does not serve it."""
    try:
        return list_objects(api, resource)
    except K8sError as e:
        if e.status == 404:
            return None
        raise


def create(api, resource, body, namespace=None):
    """Create the object and return it as stored."""
    name = body["metadata"]["name"]
    return _request(api, "POST", resource.path(namespace), "create " + _describe(resource, name, namespace), body=body)


def patch(api, resource, name, body, namespace=None, content_type=None, subresource=None):
    """Patch the object (strategic merge for built-in kinds, JSON merge for custom resources) and return it."""
    return _request(api, "PATCH", resource.path(namespace, name, subresource),
                    "patch " + _describe(resource, name, namespace), body=body,
                    content_type=content_type or patch_content_type(resource))


def delete(api, resource, name, namespace=None):
    """Delete the object; return False when it was already gone."""
    try:
        _request(api, "DELETE", resource.path(namespace, name), "delete " + _describe(resource, name, namespace))
    except K8sError as e:
        if e.status == 404:
            return False
        raise
    return True


def scale(api, resource, name, replicas, namespace=None):
    """Set the replicas through the ``scale`` subresource and return the Scale object."""
    body = {"spec": {"replicas": replicas}}
    try:
        return patch(api, resource, name, body, namespace, content_type=MERGE, subresource="scale")
    except K8sError as e:
        # An API without the scale subresource still takes the same change on the object itself.
        if e.status not in (404, 405):
            raise
        if get(api, resource, name, namespace) is None:
            raise
        return patch(api, resource, name, body, namespace, content_type=MERGE)


def evict(api, name, namespace):
    """Evict a pod through the Eviction API (policy/v1), as ``kubectl drain`` does; return False when it was gone.

    Raises K8sError with status 429 when a PodDisruptionBudget does not allow it now (its reason in ``causes``).
    """
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
    try:
        _request(api, "POST", POD.path(namespace, name, "eviction"), f"evict Pod {namespace}/{name}", body=body)
    except K8sError as e:
        if e.status == 404:
            return False
        raise
    return True


def merge_preview(before, body):
    """Return ``before`` with ``body`` merged in as a JSON merge patch would (lists replaced, None removes)."""
    merged = copy.deepcopy(before)
    for key, value in body.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_preview(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def apply(api, resource, body, check_mode=False):
    """Create the object or patch it to ``body``; return ``(changed, before, after)``.

    In check mode nothing is sent and ``after`` is the local preview of the patch.
    """
    name = body["metadata"]["name"]
    namespace = body["metadata"].get("namespace") if resource.namespaced else None
    before = get(api, resource, name, namespace)
    if before is None:
        return True, None, (body if check_mode else create(api, resource, body, namespace))
    preview = merge_preview(before, body)
    if not diff_objects(before, preview)[0]:
        return False, before, before
    if check_mode:
        return True, before, preview
    after = patch(api, resource, name, body, namespace)
    return diff_objects(before, after)[0], before, after


# ---------------------------------------------------------------------------
# Diff
# ---------------------------------------------------------------------------


def comparable(obj):
    """Return a copy of ``obj`` without status and without the metadata the server maintains."""
    if not obj:
        return {}
    obj = copy.deepcopy(obj)
    obj.pop("status", None)
    metadata = obj.get("metadata") or {}
    for key in SERVER_METADATA:
        metadata.pop(key, None)
    return obj


def diff_objects(before, after):
    """Return ``(changed, diff)``: whether the objects differ apart from status and server-set metadata,
    and ``{"before": ..., "after": ...}`` holding only the differing parts (empty when unchanged)."""
    difference = recursive_diff(comparable(before), comparable(after))
    if not difference:
        return False, {}
    return True, {"before": difference[0], "after": difference[1]}


# ---------------------------------------------------------------------------
# Readiness predicates
# ---------------------------------------------------------------------------


def conditions(obj):
    """Return ``{type: condition}`` of the object's status conditions."""
    return {c.get("type"): c for c in ((obj or {}).get("status") or {}).get("conditions") or []}


def _generation_observed(obj):
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    return generation is None or (observed is not None and observed >= generation)


def deployment_ready(deployment):
    """True when the Deployment's latest spec is observed and all its replicas are ready and available."""
    if not deployment:
        return False
    wanted = (deployment.get("spec") or {}).get("replicas", 1)
    status = deployment.get("status") or {}
    return bool(
        _generation_observed(deployment)
        and (status.get("readyReplicas") or 0) == wanted
        and (status.get("availableReplicas") or 0) == wanted
        and not status.get("unavailableReplicas")
    )


def daemonset_ready(daemonset):
    """True when every node that should run the DaemonSet runs a ready pod of its latest spec."""
    if not daemonset:
        return False
    status = daemonset.get("status") or {}
    desired = status.get("desiredNumberScheduled")
    return bool(
        desired is not None
        and _generation_observed(daemonset)
        and (status.get("numberReady") or 0) == desired
        and not status.get("numberUnavailable")
    )


def condition_true(obj, condition_type="Ready"):
    """True when the object has condition ``condition_type`` with status True."""
    return (conditions(obj).get(condition_type) or {}).get("status") == "True"


def node_ready(node):
    """True when the Node reports condition Ready=True."""
    return bool(node) and condition_true(node)


def pod_ready(pod):
    """True when the Pod is Running and reports condition Ready=True."""
    return bool(pod) and (pod.get("status") or {}).get("phase") == "Running" and condition_true(pod)


def condition_ready(obj):
    """True when a custom resource (a Flux object, a NodePool) reports Ready=True for its latest spec."""
    if not obj or not condition_true(obj):
        return False
    ready = conditions(obj)["Ready"]
    generation = (obj.get("metadata") or {}).get("generation")
    observed = ready.get("observedGeneration", (obj.get("status") or {}).get("observedGeneration"))
    return generation is None or observed is None or observed >= generation


PREDICATES = {
    "Deployment": deployment_ready,
    "DaemonSet": daemonset_ready,
    "Node": node_ready,
    "Pod": pod_ready,
}


def ready(obj):
    """True when the object is ready by the predicate of its kind (a Ready condition for other kinds)."""
    return PREDICATES.get((obj or {}).get("kind"), condition_ready)(obj)


# ---------------------------------------------------------------------------
# Waiting
# ---------------------------------------------------------------------------


class Waiter:
    """Poll a state until a predicate holds or the time is up."""

    def __init__(self, interval=1.0, clock=time.monotonic, sleep=time.sleep):
        self.interval = interval
        self.clock = clock
        self.sleep = sleep

    def wait(self, poll, predicate, timeout):
        """Return ``(satisfied, last_state, seconds_waited)``; ``poll()`` reads the state."""
        start = self.clock()
        while True:
            state = poll()
            elapsed = self.clock() - start
            if predicate(state):
                return True, state, elapsed
            if elapsed >= timeout:
                return False, state, elapsed
            self.sleep(min(self.interval, max(timeout - elapsed, 0)))


class NoWaitWaiter(Waiter):
    """The waiter of check mode: nothing was changed, so it reads the state once and does not wait."""

    def wait(self, poll, predicate, timeout):
        return True, poll(), 0.0


def get_waiter(check_mode, interval=1.0):
    """Return the waiter to use: one that does not wait in check mode."""
    return NoWaitWaiter() if check_mode else Waiter(interval)


def wait_for(api, resource, name, namespace=None, timeout=300, waiter=None, predicate=None):
    """Wait until the object is ready (by ``predicate``, else the predicate of its kind); return the waiter's answer."""
    waiter = waiter or Waiter()
    return waiter.wait(lambda: get(api, resource, name, namespace), predicate or ready, timeout)


# ---------------------------------------------------------------------------
# Label selectors
# ---------------------------------------------------------------------------

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET_TERM = re.compile(rf"^(?P<key>{_KEY})\s+(?P<op>in|notin)\s+\((?P<values>[^()]*)\)$")
_EQUALITY_TERM = re.compile(rf"^(?P<key>{_KEY})\s*(?P<op>==|!=|=)\s*(?P<value>{_VALUE})$")
_EXISTS_TERM = re.compile(rf"^(?P<not>!?)\s*(?P<key>{_KEY})$")


def parse_label_selector(text):
    """Return the requirements ``(key, operator, values)`` of a label selector; raise ValueError when malformed.

    Operators: ``in``, ``notin``, ``exists``, ``!exists`` (``=``/``==`` are ``in``, ``!=`` is ``notin``).
    """
    requirements = []
    for term in re.split(r",(?![^()]*\))", text or ""):
        term = term.strip()
        if not term:
            raise ValueError(f"empty requirement in '{text}'")
        for pattern in (_SET_TERM, _EQUALITY_TERM, _EXISTS_TERM):
            match = pattern.match(term)
            if match:
                break
        else:
            raise ValueError(f"'{term}' is not a requirement (key=value, key!=value, key in (a,b), key notin (a,b), key, !key)")
        groups = match.groupdict()
        if pattern is _SET_TERM:
            values = [v.strip() for v in groups["values"].split(",") if v.strip()]
            requirements.append((groups["key"], groups["op"], values))
        elif pattern is _EQUALITY_TERM:
            requirements.append((groups["key"], "notin" if groups["op"] == "!=" else "in", [groups["value"]]))
        else:
            requirements.append((groups["key"], "!exists" if groups["not"] else "exists", []))
    return requirements


def label_selector_matches(selector, labels):
    """Tell whether ``labels`` match a LabelSelector object (``matchLabels`` and ``matchExpressions``, ANDed).

    An empty or missing selector matches everything, as the API server reads one.
    """
    selector = selector or {}
    requirements = [(key, "in", [value]) for key, value in (selector.get("matchLabels") or {}).items()]
    requirements += [(e.get("key"), SELECTOR_OPERATORS[e.get("operator")], e.get("values") or [])
                     for e in selector.get("matchExpressions") or [] if e.get("operator") in SELECTOR_OPERATORS]
    return matches_selector(labels, requirements)


# The operators of a LabelSelector's matchExpressions, as parse_label_selector spells them.
SELECTOR_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}


def matches_selector(labels, requirements):
    """Tell whether ``labels`` satisfy every requirement returned by ``parse_label_selector``."""
    labels = labels or {}
    for key, operator, values in requirements:
        if operator == "in" and labels.get(key) not in values:
            return False
        if operator == "notin" and key in labels and labels[key] in values:
            return False
        if operator == "exists" and key not in labels:
            return False
        if operator == "!exists" and key in labels:
            return False
    return True
