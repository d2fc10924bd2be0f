"""The client and service parts of the Kubernetes layer: paths, patch types, selectors, clients and requests."""

import base64

import pytest
from kubernetes.client.rest import ApiException

from ansible_collections.eks_ha.resilience.plugins.module_utils import k8s


@pytest.mark.parametrize("resource, args, path", [
    (k8s.POD, (), "/api/v1/pods"),
    (k8s.POD, ("default",), "/api/v1/namespaces/default/pods"),
    (k8s.NODE, ("ignored", "ip-10-0-0-1.ec2.internal"), "/api/v1/nodes/ip-10-0-0-1.ec2.internal"),
    (k8s.DEPLOYMENT, ("karpenter", "karpenter", "scale"), "/apis/apps/v1/namespaces/karpenter/deployments/karpenter/scale"),
    (k8s.NODEPOOL, (None, "default"), "/apis/karpenter.sh/v1/nodepools/default"),
    (k8s.PROVISIONER, (), "/apis/karpenter.sh/v1alpha5/provisioners"),
    (k8s.KUSTOMIZATION, ("flux-system", "apps"), "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps"),
])
def test_resource_path(resource, args, path):
    assert resource.path(*args) == path


@pytest.mark.parametrize("resource, content_type", [
    (k8s.DEPLOYMENT, k8s.STRATEGIC_MERGE),
    (k8s.POD, k8s.STRATEGIC_MERGE),
    (k8s.CRD, k8s.STRATEGIC_MERGE),
    (k8s.NODEPOOL, k8s.MERGE),
    (k8s.HELM_RELEASE, k8s.MERGE),
])
def test_patch_content_type(resource, content_type):
    assert k8s.patch_content_type(resource) == content_type


def test_resource_for():
    assert k8s.resource_for({"apiVersion": "karpenter.sh/v1", "kind": "NodePool"}) is k8s.NODEPOOL
    assert k8s.resource_for({"apiVersion": "example.com/v1", "kind": "Thing"}) is None


@pytest.mark.parametrize("selector, labels, expected", [
    ("app=web", {"app": "web"}, True),
    ("app=web", {"app": "api"}, False),
    ("app==web,tier=front", {"app": "web", "tier": "front"}, True),
    ("app!=web", {"app": "api"}, True),
    ("app!=web", {}, True),
    ("app!=web", {"app": "web"}, False),
    ("tier in (web, api)", {"tier": "api"}, True),
    ("tier in (web,api),app", {"tier": "api"}, False),
    ("tier notin (web,api)", {"tier": "db"}, True),
    ("tier notin (web,api)", {}, True),
    ("!karpenter.sh/nodepool", {}, True),
    ("!karpenter.sh/nodepool", {"karpenter.sh/nodepool": "default"}, False),
    ("app.kubernetes.io/part-of", {"app.kubernetes.io/part-of": "shop"}, True),
    ("empty=", {"empty": ""}, True),
])
def test_label_selector(selector, labels, expected):
    assert k8s.matches_selector(labels, k8s.parse_label_selector(selector)) is expected


@pytest.mark.parametrize("selector, labels, expected", [
    (None, {"app": "web"}, True),
    ({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "front"}, True),
    ({"matchLabels": {"app": "web"}}, {"app": "api"}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]}, {"tier": "api"}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}, {}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}, {"tier": "web"}, False),
    ({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, {}, False),
    ({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, {}, True),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "zone", "operator": "Exists"}]}, {"app": "web"}, False),
])
def test_label_selector_object(selector, labels, expected):
    assert k8s.label_selector_matches(selector, labels) is expected


@pytest.mark.parametrize("selector", ["", "app=web,", "=web", "app in web", "app=we b", "a=b=c"])
def test_bad_label_selector(selector):
    with pytest.raises(ValueError):
        k8s.parse_label_selector(selector)


KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "lz",
    "clusters": [{"name": "lz", "cluster": {"server": "https://127.0.0.1:6443", "insecure-skip-tls-verify": True}},
                 {"name": "op", "cluster": {"server": "https://127.0.0.2:6443"}}],
    "users": [{"name": "lz", "user": {"token": "secret-lz"}},
              {"name": "op", "user": {"username": "admin", "password": "secret-op"}}],
    "contexts": [{"name": "lz", "context": {"cluster": "lz", "user": "lz"}},
                 {"name": "op", "context": {"cluster": "op", "user": "op"}}],
}


def test_kubeconfig_secrets():
    assert k8s.kubeconfig_secrets(KUBECONFIG) == ["secret-lz", "secret-op"]
    assert k8s.kubeconfig_secrets("/path/to/kubeconfig") == []


def test_client_from_kubeconfig_dict_uses_the_context():
    api = k8s.client_from_kubeconfig(KUBECONFIG)
    assert api.configuration.host == "https://127.0.0.1:6443"
    assert api.configuration.api_key == {"authorization": "Bearer secret-lz"}
    assert api.configuration.verify_ssl is False
    other = k8s.client_from_kubeconfig(KUBECONFIG, context="op", validate_certs=False)
    assert other.configuration.host == "https://127.0.0.2:6443"
    assert other.configuration.verify_ssl is False


def test_client_from_kubeconfig_file(tmp_path):
    import yaml

    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(KUBECONFIG))
    api = k8s.client_from_kubeconfig(str(path), context="lz", validate_certs=True)
    assert api.configuration.host == "https://127.0.0.1:6443"
    assert api.configuration.verify_ssl is True


def test_client_from_missing_kubeconfig_says_so(tmp_path):
    with pytest.raises(k8s.K8sError, match="kubeconfig .*/nope does not exist; give the path of a kubeconfig file or a dict."):
        k8s.client_from_kubeconfig(str(tmp_path / "nope"))


def test_client_from_kubeconfig_unknown_context():
    with pytest.raises(k8s.K8sError, match="Could not load the kubeconfig"):
        k8s.client_from_kubeconfig(KUBECONFIG, context="moon")


def test_client_from_endpoint():
    pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    api = k8s.client_from_endpoint("https://abc.eks.amazonaws.com", base64.b64encode(pem).decode(), "k8s-aws-v1.abc")
    configuration = api.configuration
    assert configuration.host == "https://abc.eks.amazonaws.com"
    assert configuration.get_api_key_with_prefix("authorization") == "Bearer k8s-aws-v1.abc"
    assert configuration.verify_ssl is True
    with open(configuration.ssl_ca_cert, "rb") as stream:
        assert stream.read() == pem


class StubApi:
    """Stands in for ApiClient.call_api: answers from a table and records every request."""

    class configuration:  # noqa: N801 - mirrors the attribute of ApiClient
        host = "https://stub"

    def __init__(self, answers):
        self.answers = answers
        self.requests = []

    def call_api(self, path, method, query_params=None, header_params=None, body=None, **kwargs):
        self.requests.append((method, path, dict(query_params or []), (header_params or {}).get("Content-Type"), body))
        answer = self.answers.get((method, path))
        if isinstance(answer, int):
            raise ApiException(status=answer, reason="Not Found" if answer == 404 else "Error")
        return answer


def test_get_missing_object_is_none():
    api = StubApi({("GET", "/apis/apps/v1/namespaces/karpenter/deployments/karpenter"): 404})
    assert k8s.get(api, k8s.DEPLOYMENT, "karpenter", "karpenter") is None


def test_other_errors_name_what_failed():
    api = StubApi({("GET", "/apis/apps/v1/namespaces/karpenter/deployments/karpenter"): 403})
    with pytest.raises(k8s.K8sError, match="Failed to get Deployment karpenter/karpenter: 403 Error") as error:
        k8s.get(api, k8s.DEPLOYMENT, "karpenter", "karpenter")
    assert error.value.status == 403


def test_list_sets_kind_and_selectors():
    api = StubApi({("GET", "/api/v1/pods"): {"items": [{"metadata": {"name": "a"}}]}})
    items = k8s.list_objects(api, k8s.POD, label_selector="app=web", field_selector="status.phase=Pending")
    assert items == [{"metadata": {"name": "a"}, "apiVersion": "v1", "kind": "Pod"}]
    assert api.requests[0][2] == {"labelSelector": "app=web", "fieldSelector": "status.phase=Pending"}


def test_served_is_none_when_the_crd_is_missing():
    api = StubApi({("GET", "/apis/karpenter.sh/v1/nodepools"): 404, ("GET", "/apis/karpenter.sh/v1alpha5/provisioners"): {}})
    assert k8s.served(api, k8s.NODEPOOL) is None
    assert k8s.served(api, k8s.PROVISIONER) == []


def test_scale_uses_the_scale_subresource():
    path = "/apis/apps/v1/namespaces/karpenter/deployments/karpenter/scale"
    api = StubApi({("PATCH", path): {"spec": {"replicas": 2}}})
    assert k8s.scale(api, k8s.DEPLOYMENT, "karpenter", 2, "karpenter") == {"spec": {"replicas": 2}}
    assert api.requests == [("PATCH", path, {}, k8s.MERGE, {"spec": {"replicas": 2}})]


def test_scale_falls_back_to_the_object_without_a_scale_subresource():
    path = "/apis/apps/v1/namespaces/karpenter/deployments/karpenter"
    api = StubApi({("PATCH", path + "/scale"): 404, ("GET", path): {"metadata": {}}, ("PATCH", path): {"spec": {"replicas": 0}}})
    k8s.scale(api, k8s.DEPLOYMENT, "karpenter", 0, "karpenter")
    assert [(m, p) for m, p, _q, _c, _b in api.requests] == [("PATCH", path + "/scale"), ("GET", path), ("PATCH", path)]


def test_scale_of_a_missing_deployment_fails():
    path = "/apis/apps/v1/namespaces/karpenter/deployments/karpenter"
    api = StubApi({("PATCH", path + "/scale"): 404, ("GET", path): 404})
    with pytest.raises(k8s.K8sError):
        k8s.scale(api, k8s.DEPLOYMENT, "karpenter", 0, "karpenter")


NODEPOOL = {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "default", "resourceVersion": "7"},
            "spec": {"limits": {"cpu": "100"}}}


def test_apply_creates_a_missing_object():
    api = StubApi({("GET", "/apis/karpenter.sh/v1/nodepools/default"): 404,
                   ("POST", "/apis/karpenter.sh/v1/nodepools"): NODEPOOL})
    assert k8s.apply(api, k8s.NODEPOOL, NODEPOOL) == (True, None, NODEPOOL)


def test_apply_in_check_mode_sends_nothing():
    api = StubApi({("GET", "/apis/karpenter.sh/v1/nodepools/default"): NODEPOOL})
    body = {"metadata": {"name": "default"}, "spec": {"limits": {"cpu": "200"}}}
    changed, before, after = k8s.apply(api, k8s.NODEPOOL, body, check_mode=True)
    assert changed and before == NODEPOOL and after["spec"]["limits"]["cpu"] == "200"
    assert [m for m, *_rest in api.requests] == ["GET"]


def test_apply_same_values_is_no_change():
    api = StubApi({("GET", "/apis/karpenter.sh/v1/nodepools/default"): NODEPOOL})
    assert k8s.apply(api, k8s.NODEPOOL, {"metadata": {"name": "default"}, "spec": {"limits": {"cpu": "100"}}})[0] is False
    assert len(api.requests) == 1


def test_apply_patches_custom_resources_with_merge_patch():
    patched = dict(NODEPOOL, spec={"limits": {"cpu": "200"}})
    api = StubApi({("GET", "/apis/karpenter.sh/v1/nodepools/default"): NODEPOOL,
                   ("PATCH", "/apis/karpenter.sh/v1/nodepools/default"): patched})
    assert k8s.apply(api, k8s.NODEPOOL, {"metadata": {"name": "default"}, "spec": {"limits": {"cpu": "200"}}}) == \
        (True, NODEPOOL, patched)
    assert api.requests[-1][3] == k8s.MERGE


def test_delete_of_a_missing_object_is_false():
    api = StubApi({("DELETE", "/api/v1/namespaces/default/pods/web"): 404})
    assert k8s.delete(api, k8s.POD, "web", "default") is False
