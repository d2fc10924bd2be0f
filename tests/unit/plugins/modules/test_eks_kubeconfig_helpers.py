"""eks_kubeconfig: which entries it writes, what counts as a change (not the token), and what the diff may show."""

import os
import stat

import pytest
import yaml

from ansible_collections.eks_ha.resilience.plugins.modules.eks_kubeconfig import SECRET_PLACEHOLDER
from ansible_collections.eks_ha.resilience.plugins.modules.eks_kubeconfig import desired_kubeconfig
from ansible_collections.eks_ha.resilience.plugins.modules.eks_kubeconfig import kubeconfig_changed
from ansible_collections.eks_ha.resilience.plugins.modules.eks_kubeconfig import parse_kubeconfig
from ansible_collections.eks_ha.resilience.plugins.modules.eks_kubeconfig import read_kubeconfig
from ansible_collections.eks_ha.resilience.plugins.modules.eks_kubeconfig import without_secrets
from ansible_collections.eks_ha.resilience.plugins.modules.eks_kubeconfig import write_kubeconfig

ENDPOINT = "https://abc.gr7.us-east-1.eks.amazonaws.com"
CA = "LS0tLS1CRUdJTg=="


def test_new_kubeconfig_has_one_cluster_user_and_current_context():
    config = desired_kubeconfig(None, "lz", ENDPOINT, CA, "k8s-aws-v1.one")
    assert config == {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "lz", "cluster": {"server": ENDPOINT, "certificate-authority-data": CA}}],
        "users": [{"name": "lz", "user": {"token": "k8s-aws-v1.one"}}],
        "contexts": [{"name": "lz", "context": {"cluster": "lz", "user": "lz"}}],
        "current-context": "lz",
    }


def test_other_entries_are_kept_and_ours_replaced():
    other = desired_kubeconfig(None, "op", "https://op", CA, "k8s-aws-v1.op")
    first = desired_kubeconfig(other, "lz", ENDPOINT, CA, "k8s-aws-v1.one")
    second = desired_kubeconfig(first, "lz", "https://moved", CA, "k8s-aws-v1.two")
    assert [c["name"] for c in second["clusters"]] == ["op", "lz"]
    assert second["clusters"][1]["cluster"]["server"] == "https://moved"
    assert second["users"] == [{"name": "op", "user": {"token": "k8s-aws-v1.op"}}, {"name": "lz", "user": {"token": "k8s-aws-v1.two"}}]
    assert second["current-context"] == "lz"


def test_a_new_token_alone_is_no_change():
    existing = desired_kubeconfig(None, "lz", ENDPOINT, CA, "k8s-aws-v1.one")
    desired = desired_kubeconfig(existing, "lz", ENDPOINT, CA, "k8s-aws-v1.two")
    assert not kubeconfig_changed(existing, desired, stat.S_IFREG | 0o600)


@pytest.mark.parametrize("endpoint, ca, alias, mode", [
    ("https://other", CA, "lz", 0o600),
    (ENDPOINT, "T1RIRVI=", "lz", 0o600),
    (ENDPOINT, CA, "localzone", 0o600),
    (ENDPOINT, CA, "lz", 0o644),
])
def test_endpoint_ca_context_or_mode_is_a_change(endpoint, ca, alias, mode):
    existing = desired_kubeconfig(None, "lz", ENDPOINT, CA, "k8s-aws-v1.one")
    desired = desired_kubeconfig(existing, alias, endpoint, ca, "k8s-aws-v1.two")
    assert kubeconfig_changed(existing, desired, stat.S_IFREG | mode)


def test_missing_file_is_a_change():
    assert kubeconfig_changed(None, desired_kubeconfig(None, "lz", ENDPOINT, CA, "t"), None)


def test_current_context_moved_by_someone_else_is_a_change():
    existing = desired_kubeconfig(desired_kubeconfig(None, "lz", ENDPOINT, CA, "t"), "op", "https://op", CA, "t")
    assert kubeconfig_changed(existing, desired_kubeconfig(existing, "lz", ENDPOINT, CA, "t2"), 0o600)


def test_without_secrets_hides_every_user_secret():
    config = desired_kubeconfig(None, "lz", ENDPOINT, CA, "k8s-aws-v1.one")
    config["users"].append({"name": "admin", "user": {"client-key-data": "S0VZ", "password": "pw", "username": "me"}})
    shown = yaml.safe_dump(without_secrets(config))
    for secret in ("k8s-aws-v1.one", "S0VZ", "pw"):
        assert secret not in shown
    hidden = {"client-key-data": SECRET_PLACEHOLDER, "password": SECRET_PLACEHOLDER, "username": "me"}
    assert without_secrets(config)["users"][1]["user"] == hidden
    assert config["users"][0]["user"]["token"] == "k8s-aws-v1.one"


@pytest.mark.parametrize("text, sentence", [
    ("- a\n- b\n", "dest /k exists but does not hold a YAML mapping, so it is not a kubeconfig."),
    ("a: [\n", "dest /k exists but is not YAML, so it is not a kubeconfig"),
])
def test_parse_kubeconfig_refuses_other_files(text, sentence):
    with pytest.raises(ValueError) as error:
        parse_kubeconfig(text, "/k")
    assert str(error.value).startswith(sentence)


def test_parse_empty_file():
    assert parse_kubeconfig("\n", "/k") == {}


def test_write_then_read_is_owner_only(tmp_path):
    dest = tmp_path / "kube" / "config"
    config = desired_kubeconfig(None, "lz", ENDPOINT, CA, "k8s-aws-v1.one")
    write_kubeconfig(str(dest), config)
    read, mode = read_kubeconfig(str(dest))
    assert read == config
    assert stat.S_IMODE(mode) == 0o600
    assert os.listdir(dest.parent) == ["config"]
    assert read_kubeconfig(str(tmp_path / "missing")) == (None, None)


def test_write_fixes_a_loose_mode(tmp_path):
    dest = tmp_path / "config"
    dest.write_text("{}\n")
    dest.chmod(0o644)
    write_kubeconfig(str(dest), {"apiVersion": "v1"})
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
