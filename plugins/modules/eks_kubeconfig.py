#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: eks_kubeconfig
version_added: 0.1.0
short_description: Write a kubeconfig entry for an EKS cluster, with a fresh token
description:
  - Reads the API endpoint and certificate authority of an EKS cluster (C(DescribeCluster)) and writes a cluster,
    a user and a context named O(alias) into the kubeconfig O(dest), and makes that context the current one.
    Other entries of O(dest) are kept. The file is written with mode C(0600).
  - The user entry holds a bearer token made as C(aws eks get-token) makes it (a presigned STS
    C(GetCallerIdentity) URL with the cluster name signed in), using the AWS options of the module.
    The token is never returned or logged.
  - The API server accepts a token for 15 minutes, so every run that is not in check mode writes a fresh one.
    The result is C(changed) only when something other than the token differs (endpoint, certificate
    authority, context, user entry, or the file mode), so a repeated run reports no change while refreshing the token.
  - Fails when the cluster does not exist in O(region) or is not C(ACTIVE).
options:
  eks_cluster:
    description:
      - The name of the EKS cluster.
    type: str
    required: true
    aliases: [name]
  dest:
    description:
      - The kubeconfig file to write; created (with its directory) when missing.
    type: path
    required: true
  alias:
    description:
      - The name of the context, and of the cluster and user entries it points to. Defaults to O(eks_cluster).
    type: str
notes:
  - A kubeconfig written by this module stops working 15 minutes after the last run; run the module again before
    using it after that, or use C(aws eks update-kubeconfig) for a kubeconfig that makes its own tokens.
  - Check mode reads the cluster and O(dest) but makes no token and writes nothing.
author:
  - eks_ha.resilience maintainers (@eks-ha)
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Kubeconfig of the Local Zone cluster, valid for the next 15 minutes
  eks_ha.resilience.eks_kubeconfig:
    eks_cluster: eks-ha-localzone
    region: us-east-1
    dest: "{{ playbook_dir }}/.kube/localzone"
    alias: localzone
  register: kube

- name: Use it with kubernetes.core
  kubernetes.core.k8s_info:
    kubeconfig: "{{ kube.dest }}"
    context: "{{ kube.context }}"
    kind: Node
"""

RETURN = r"""
endpoint:
  description: The API endpoint of the cluster.
  returned: always
  type: str
  sample: https://0123456789ABCDEF0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com
ca_data:
  description: The certificate authority of the cluster, base64 encoded PEM as EKS returns it (public data).
  returned: always
  type: str
context:
  description: The name of the context written, the current context of O(dest).
  returned: always
  type: str
  sample: localzone
dest:
  description: The path of the kubeconfig.
  returned: always
  type: str
  sample: /home/ops/.kube/localzone
diff:
  description: The entries of the kubeconfig before and after, with the token left out, when running with C(--diff).
  returned: when diff mode is enabled
  type: dict
"""

import os
import tempfile

try:
    import yaml
except ImportError:
    pass  # PyYAML comes with ansible-core.

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import AnsibleEKSError
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import cluster_endpoint
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import get_token
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import usable_cluster

FILE_MODE = 0o600
# Shown in the diff instead of a token, password or key.
SECRET_PLACEHOLDER = "(secret)"
SECRET_USER_KEYS = ("token", "password", "client-key-data")


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------


def _upsert(entries, name, key, value):
    """Return ``entries`` (a kubeconfig list) with the entry ``name`` set to ``{key: value}``, in place or appended."""
    entries = [e for e in (entries or []) if isinstance(e, dict)]
    for index, entry in enumerate(entries):
        if entry.get("name") == name:
            entries[index] = {"name": name, key: value}
            return entries
    return entries + [{"name": name, key: value}]


def desired_kubeconfig(existing, alias, endpoint, ca_data, token):
    """Return ``existing`` (a kubeconfig dict, possibly empty) with the cluster, user and context ``alias`` set
    to reach ``endpoint`` with ``token``, and ``alias`` as the current context."""
    config = dict(existing or {})
    config.setdefault("apiVersion", "v1")
    config.setdefault("kind", "Config")
    config.setdefault("preferences", {})
    config["clusters"] = _upsert(config.get("clusters"), alias, "cluster",
                                 {"server": endpoint, "certificate-authority-data": ca_data})
    config["users"] = _upsert(config.get("users"), alias, "user", {"token": token})
    config["contexts"] = _upsert(config.get("contexts"), alias, "context", {"cluster": alias, "user": alias})
    config["current-context"] = alias
    return config


def without_secrets(config):
    """Return ``config`` with every user's token, password and client key replaced by a placeholder
    (for comparing and showing: the diff must not carry them)."""
    config = dict(config or {})
    users = []
    for entry in config.get("users") or []:
        if isinstance(entry, dict) and isinstance(entry.get("user"), dict):
            user = {key: (SECRET_PLACEHOLDER if key in SECRET_USER_KEYS else value) for key, value in entry["user"].items()}
            entry = dict(entry, user=user)
        users.append(entry)
    if "users" in config:
        config["users"] = users
    return config


def kubeconfig_changed(existing, desired, mode):
    """Tell whether writing ``desired`` changes anything but the token: the entries, or a file mode other than 0600."""
    if existing is None or mode is None or (mode & 0o777) != FILE_MODE:
        return True
    return without_secrets(existing) != without_secrets(desired)


def parse_kubeconfig(text, dest):
    """Return the kubeconfig dict held by ``text`` ({} when empty); raise ValueError with one sentence otherwise."""
    try:
        loaded = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as e:
        raise ValueError(f"dest {dest} exists but is not YAML, so it is not a kubeconfig: {e}") from e
    if not isinstance(loaded, dict):
        raise ValueError(f"dest {dest} exists but does not hold a YAML mapping, so it is not a kubeconfig.")
    return loaded


def dump_kubeconfig(config):
    return yaml.safe_dump(config, default_flow_style=False, sort_keys=False)


# ---------------------------------------------------------------------------
# File
# ---------------------------------------------------------------------------


def read_kubeconfig(dest):
    """Return ``(config, mode)`` of ``dest``, ``(None, None)`` when it does not exist."""
    if not os.path.exists(dest):
        return None, None
    with open(dest, encoding="utf-8") as stream:
        text = stream.read()
    return parse_kubeconfig(text, dest), os.stat(dest).st_mode


def write_kubeconfig(dest, config):
    """Replace ``dest`` atomically with ``config``, readable by its owner only."""
    directory = os.path.dirname(dest) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".kubeconfig-", dir=directory)
    try:
        os.fchmod(handle, FILE_MODE)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(dump_kubeconfig(config))
        os.replace(temporary, dest)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    os.chmod(dest, FILE_MODE)


# ---------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------


def ensure_kubeconfig(module):
    """Write the kubeconfig entries of the cluster with a fresh token and return the module result."""
    params = module.params
    name = params["eks_cluster"]
    alias = params["alias"] or name
    dest = params["dest"]
    cluster = usable_cluster(module, name)
    endpoint, ca_data = cluster_endpoint(cluster)
    try:
        existing, mode = read_kubeconfig(dest)
    except (OSError, ValueError) as e:
        module.fail_json(msg=str(e))

    token = SECRET_PLACEHOLDER
    if not module.check_mode:
        token = get_token(module.client("sts", region=module.region), name)
        module.no_log_values.add(token)
    desired = desired_kubeconfig(existing, alias, endpoint, ca_data, token)
    changed = kubeconfig_changed(existing, desired, mode)
    if not module.check_mode:
        try:
            write_kubeconfig(dest, desired)
        except OSError as e:
            module.fail_json(msg=f"Could not write dest {dest}: {e}")

    result = {"changed": changed, "endpoint": endpoint, "ca_data": ca_data, "context": alias, "dest": dest}
    if module._diff:
        result["diff"] = {
            "before_header": dest,
            "after_header": dest,
            "before": dump_kubeconfig(without_secrets(existing)) if existing is not None else "",
            "after": dump_kubeconfig(without_secrets(desired)),
        }
    return result


def main():
    argument_spec = dict(
        eks_cluster=dict(type="str", required=True, aliases=["name"]),
        dest=dict(type="path", required=True),
        alias=dict(type="str"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        result = ensure_kubeconfig(module)
    except AnsibleEKSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
