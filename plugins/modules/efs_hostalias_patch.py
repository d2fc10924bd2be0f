#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: efs_hostalias_patch
version_added: 0.1.0
short_description: Let EKS nodes in a Local Zone resolve an EFS file system through the CSI driver's hostAliases
description:
  - EFS has no mount targets in Local Zones, so nodes there cannot resolve the file system's DNS name
    C(<fs-id>.efs.<region>.amazonaws.com). This module reads the file system's mount targets from the EFS API
    and makes the EFS CSI driver's node pods (DaemonSet C(efs-csi-node)) resolve that name through C(hostAliases).
  - A resolver uses one IP per name, so one mount target is chosen deliberately. By default it is the one in the
    parent AZ of the Local Zone (O(local_zone), or the Local Zone of the cluster's nodes). With
    O(availability_zone) it is the one in that AZ. The result says which was chosen and why.
  - When Flux's helm-controller manages the driver (the DaemonSet carries its labels), a patch of the DaemonSet
    would be undone by the next upgrade. The alias then goes into the chart's C(node.hostAliases) value, through a
    ConfigMap the HelmRelease takes values from (O(values_config_map)). Without a Flux release, the DaemonSet is
    patched and its rollout awaited.
  - A driver installed by plain Helm is refused in O(mode=auto), because only C(helm upgrade) can keep the value.
    O(mode=daemonset) patches it anyway.
  - Detects drift (an alias to an IP that is no longer a mount target, or to another AZ's mount target) and
    reports it, also in check mode.
options:
  file_system_id:
    description: The EFS file system (C(fs-...)).
    type: str
    required: true
  state:
    description: V(present) sets the alias; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  availability_zone:
    description:
      - The AZ whose mount target the name resolves to. Mutually exclusive with O(local_zone).
    type: str
  local_zone:
    description:
      - The Local Zone whose nodes need the alias; its parent AZ's mount target is used.
      - By default the Local Zones of the cluster's nodes are looked up (they must share one parent AZ).
    type: str
  namespace:
    description: Namespace of the EFS CSI driver's DaemonSet.
    type: str
    default: kube-system
  daemonset:
    description: Name of the EFS CSI driver's node DaemonSet.
    type: str
    default: efs-csi-node
  mode:
    description:
      - V(auto) writes the Flux HelmRelease's values when Flux manages the driver and patches the DaemonSet when
        nothing does; it refuses a plain Helm release.
      - V(helm_release) and V(daemonset) force one way.
    type: str
    choices: [auto, helm_release, daemonset]
    default: auto
  values_config_map:
    description:
      - ConfigMap (in the HelmRelease's namespace) holding the chart value C(node.hostAliases) under C(values.yaml).
      - Defaults to C(<helmrelease>-host-aliases). When the HelmRelease does not reference it in C(spec.valuesFrom),
        the reference is added and a warning says to add it to the HelmRelease in Git too.
    type: str
  wait:
    description: Wait until the DaemonSet has rolled out with the alias.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the rollout.
    type: int
    default: 300
author:
  - eks_ha.resilience maintainers (@eks-ha)
notes:
  - Supports check mode and diff mode.
extends_documentation_fragment:
  - eks_ha.resilience.k8s_connection
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Nodes in the Boston Local Zone resolve the WordPress file system through us-east-1a's mount target
  eks_ha.resilience.efs_hostalias_patch:
    file_system_id: fs-08312777c25f61ee9
    region: us-east-1
    eks_cluster: eks-ha-lz-region
    local_zone: us-east-1-bos-1a

- name: Plan only, and report drift
  eks_ha.resilience.efs_hostalias_patch:
    file_system_id: fs-08312777c25f61ee9
    region: us-east-1
    kubeconfig: ~/.kube/lz-region
  check_mode: true
  register: efs_alias
"""

RETURN = r"""
dns_name:
  description: The file system's DNS name, the host alias's name.
  returned: success
  type: str
ip_address:
  description: The IP the name resolves to afterwards (C(None) with O(state=absent)).
  returned: success
  type: str
availability_zone:
  description: The AZ of the chosen mount target.
  returned: with O(state=present)
  type: str
mount_target_id:
  description: The chosen mount target.
  returned: with O(state=present)
  type: str
chosen_because:
  description: Why that mount target was chosen.
  returned: with O(state=present)
  type: str
mode:
  description: C(helm_release) or C(daemonset), what was (or would be) changed.
  returned: success
  type: str
helm_release:
  description: Namespace and name of the Flux HelmRelease that manages the driver, when one does.
  returned: success
  type: dict
drift:
  description: How the current alias differed from the wanted one, one sentence each (empty when it did not).
  returned: success
  type: list
  elements: str
host_aliases:
  description: The DaemonSet pod template's hostAliases after the change (planned in check mode).
  returned: success
  type: list
  elements: dict
diff:
  description: The DaemonSet's hostAliases, or the ConfigMap's values, before and after.
  returned: when diff mode is enabled
  type: dict
"""

import copy

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core depends on PyYAML
    yaml = None

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.eks_ha.resilience.plugins.module_utils import efs
from ansible_collections.eks_ha.resilience.plugins.module_utils import k8s
from ansible_collections.eks_ha.resilience.plugins.module_utils.eks import AnsibleEKSError


def template_aliases(daemonset):
    return (((daemonset.get("spec") or {}).get("template") or {}).get("spec") or {}).get("hostAliases") or []


class Run:
    def __init__(self, module, connection):
        self.module = module
        self.api = connection.api
        self.params = module.params
        self.region = module.region

    def fail(self, msg):
        self.module.fail_json(msg=msg)

    # -- AWS ------------------------------------------------------------------------------------

    def mount_targets(self):
        client = self.module.client("efs")
        file_system_id = self.params["file_system_id"]
        if efs.describe_file_system(client, file_system_id) is None:
            self.fail(f"File system {file_system_id} was not found in {self.region}.")
        targets = efs.available(efs.describe_mount_targets(client, file_system_id))
        if not targets:
            self.fail(f"File system {file_system_id} has no available mount target; create one in the parent AZ of the "
                      "Local Zone (EFS has no mount targets in Local Zones).")
        return targets

    def local_zone_parents(self):
        names = [self.params["local_zone"]] if self.params["local_zone"] else \
            efs.node_zones(k8s.list_objects(self.api, k8s.NODE))
        if not names:
            return {}
        zones = efs.describe_zones(self.module.client("ec2"), names)
        if self.params["local_zone"]:
            kind, parent = zones.get(self.params["local_zone"], (None, None))
            if kind != "local-zone":
                self.fail(f"local_zone {self.params['local_zone']} is not a Local Zone of {self.region}.")
        return {name: parent for name, (kind, parent) in zones.items() if kind == "local-zone"}

    # -- where the alias goes --------------------------------------------------------------------

    def daemonset(self):
        daemonset = k8s.get(self.api, k8s.DAEMONSET, self.params["daemonset"], self.params["namespace"])
        if daemonset is None:
            self.fail(f"DaemonSet {self.params['namespace']}/{self.params['daemonset']} was not found; install the EFS CSI "
                      "driver first, or name its DaemonSet with namespace and daemonset.")
        return daemonset

    def pick_mode(self, daemonset):
        manager, namespace, name = efs.release_of(daemonset)
        wanted = self.params["mode"]
        where = f"{self.params['namespace']}/{self.params['daemonset']}"
        if wanted == "daemonset":
            return "daemonset", None
        if manager == "flux":
            return "helm_release", {"namespace": namespace, "name": name}
        if wanted == "helm_release":
            self.fail(f"mode is helm_release but no Flux HelmRelease manages DaemonSet {where}; use mode auto or daemonset.")
        if manager == "helm":
            self.fail(f"DaemonSet {where} belongs to Helm release {namespace}/{name}; set the chart value node.hostAliases "
                      "with helm upgrade (a patch would be undone by the next upgrade), or use mode daemonset to patch it anyway.")
        return "daemonset", None

    # -- run --------------------------------------------------------------------------------------

    def run(self):
        params = self.params
        present = params["state"] == "present"
        file_system_id = params["file_system_id"]
        hostname = efs.dns_name(file_system_id, self.region)
        targets = self.mount_targets()
        daemonset = self.daemonset()
        result = {"dns_name": hostname, "drift": []}
        wanted_ip = None
        if present:
            parents = {} if params["availability_zone"] else self.local_zone_parents()
            zone, reason, problem = efs.choose_zone(targets, params["availability_zone"], parents)
            if problem:
                self.fail(problem)
            target = efs.mount_target_in(targets, zone)
            wanted_ip = target["IpAddress"]
            result.update(availability_zone=zone, mount_target_id=target["MountTargetId"], chosen_because=reason)
        mode, release = self.pick_mode(daemonset)
        current_ip = efs.alias_of(template_aliases(daemonset), hostname)
        if present:
            result["drift"] = efs.drift(current_ip, wanted_ip, {t["IpAddress"] for t in targets}, hostname)
        result.update(mode=mode, helm_release=release, ip_address=wanted_ip)
        if mode == "helm_release":
            changed, diff = self.write_values(release, wanted_ip)
        else:
            changed, diff = self.patch_daemonset(daemonset, hostname, wanted_ip)
        # The DaemonSet shows the alias only once rolled out; it may also lag a values change made earlier.
        pending = current_ip != wanted_ip
        if (changed or pending) and params["wait"] and not self.module.check_mode:
            daemonset = self.wait_for_rollout(hostname, wanted_ip)
        aliases = template_aliases(daemonset)
        if self.module.check_mode or not params["wait"]:
            aliases = efs.with_alias(aliases, hostname, wanted_ip)
        result.update(changed=changed, host_aliases=aliases)
        if self.module._diff:
            result["diff"] = diff
        return result

    def patch_daemonset(self, daemonset, hostname, ip):
        before = template_aliases(daemonset)
        after = efs.with_alias(before, hostname, ip)
        if after == before:
            return False, {}
        if not self.module.check_mode:
            body = {"spec": {"template": {"spec": {"hostAliases": after or None}}}}
            k8s.patch(self.api, k8s.DAEMONSET, self.params["daemonset"], body, self.params["namespace"],
                      content_type=k8s.MERGE)
        return True, {"before": {"hostAliases": before}, "after": {"hostAliases": after}}

    def write_values(self, release, ip):
        """Put the alias in the ConfigMap the HelmRelease takes values from; reference it if needed."""
        namespace, name = release["namespace"], release["name"]
        helm_release = k8s.get(self.api, k8s.HELM_RELEASE, name, namespace)
        if helm_release is None:
            self.fail(f"HelmRelease {namespace}/{name}, which manages the EFS CSI driver, was not found.")
        config_map = self.params["values_config_map"] or f"{name}-host-aliases"
        current = k8s.get(self.api, k8s.CONFIG_MAP, config_map, namespace)
        values = yaml.safe_load(((current or {}).get("data") or {}).get(efs.VALUES_KEY) or "") or {}
        wanted = copy.deepcopy(values)
        wanted.setdefault("node", {})["hostAliases"] = efs.chart_host_aliases(
            values, self.params["file_system_id"], ip, self.region)
        changed = False
        if wanted != values or current is None:
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": config_map, "namespace": namespace},
                    "data": {efs.VALUES_KEY: yaml.safe_dump(wanted, default_flow_style=False, sort_keys=True)}}
            changed = k8s.apply(self.api, k8s.CONFIG_MAP, body, self.module.check_mode)[0]
        if not efs.references(helm_release, config_map):
            entries = ((helm_release.get("spec") or {}).get("valuesFrom") or []) + [efs.values_from_entry(config_map)]
            if not self.module.check_mode:
                k8s.patch(self.api, k8s.HELM_RELEASE, name, {"spec": {"valuesFrom": entries}}, namespace,
                          content_type=k8s.MERGE)
            self.module.warn(f"HelmRelease {namespace}/{name} now takes values from ConfigMap {config_map}; add "
                             f"valuesFrom [{{kind: ConfigMap, name: {config_map}, valuesKey: {efs.VALUES_KEY}}}] to it in Git, "
                             "or the next reconcile from Git drops the reference.")
            changed = True
        return changed, {"before": {config_map: values}, "after": {config_map: wanted}}

    def wait_for_rollout(self, hostname, ip):
        def done(daemonset):
            return (daemonset is not None and efs.alias_of(template_aliases(daemonset), hostname) == ip
                    and k8s.daemonset_ready(daemonset))

        satisfied, daemonset, waited = k8s.wait_for(self.api, k8s.DAEMONSET, self.params["daemonset"],
                                                    self.params["namespace"], self.params["wait_timeout"],
                                                    predicate=done)
        if not satisfied:
            self.fail(f"DaemonSet {self.params['namespace']}/{self.params['daemonset']} did not roll out with "
                      f"{hostname} -> {ip} within {self.params['wait_timeout']} s.")
        return daemonset


def main():
    argument_spec = dict(
        **k8s.CONNECTION_ARGUMENT_SPEC,
        file_system_id=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        availability_zone=dict(type="str"),
        local_zone=dict(type="str"),
        namespace=dict(type="str", default="kube-system"),
        daemonset=dict(type="str", default="efs-csi-node"),
        mode=dict(type="str", default="auto", choices=["auto", "helm_release", "daemonset"]),
        values_config_map=dict(type="str"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=k8s.CONNECTION_MUTUALLY_EXCLUSIVE + [("availability_zone", "local_zone")],
        supports_check_mode=True,
    )
    if not efs.FILE_SYSTEM_ID.match(module.params["file_system_id"]):
        module.fail_json(msg=f"file_system_id must look like fs-0123456789abcdef0; got {module.params['file_system_id']}.")
    if module.params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout must be 0 or more seconds.")
    if not module.region:
        module.fail_json(msg="region is required: the file system's DNS name contains its Region.")
    try:
        result = Run(module, k8s.connect(module)).run()
    except k8s.K8sError as e:
        module.fail_json(msg=e.message)
    except (efs.AnsibleEFSError, AnsibleEKSError) as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
