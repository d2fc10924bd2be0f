#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ga_endpoint_dial
version_added: 0.1.0
short_description: Own an AWS Global Accelerator in front of sites in several Regions, and turn its traffic dials
description:
  - Ensures one accelerator (found by O(name)), one listener and one endpoint group per Region with its endpoints,
    weights, health check settings and traffic dial. Only what differs is changed.
  - Dial mode moves traffic between Regions by setting the traffic dial of each endpoint group, either with
    O(active_region) (100% there, 0% elsewhere) or with explicit O(traffic_dials). Groups whose dial goes up are
    changed first, so at no moment is less capacity dialled in than before and after. Without O(endpoint_groups)
    only the dials change, so a failover needs nothing from the Regions the sites are in.
  - The module follows the service's rules and states them in its results and warnings.
    Failover ignores traffic dials; a group dialled to 0% still receives traffic when every other group is
    unhealthy, so 0% is not a fence (set the endpoints' weight to 0 for that).
    Dial and weight changes affect new connections only; existing connections stay until they close.
    Endpoints in Local Zones are not supported, and the module refuses them before changing anything.
  - Global Accelerator's API lives in C(us-west-2); the module always calls it there, whatever O(region) says.
    O(region) is used only to look up load balancers and zones, which happens in each endpoint group's own Region.
  - O(state=absent) disables the accelerator, waits until it is deployed, and deletes its endpoint groups,
    listeners and the accelerator itself.
options:
  name:
    description:
      - The accelerator's name. Accelerators are found by name; two accelerators with the same name are an error.
    type: str
    required: true
  state:
    description:
      - V(present) ensures the accelerator and whatever else is given; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  enabled:
    description:
      - Whether the accelerator accepts traffic.
    type: bool
    default: true
  ip_address_type:
    description:
      - The IP address type of a new accelerator.
    type: str
    choices: [IPV4, DUAL_STACK]
    default: IPV4
  listener:
    description:
      - The listener the endpoint groups belong to.
      - When omitted, the accelerator's only listener is used; a new accelerator gets TCP port 80.
    type: dict
    suboptions:
      protocol:
        description: The listener's protocol.
        type: str
        choices: [TCP, UDP]
        default: TCP
      port_ranges:
        description:
          - Ports the listener accepts. A listener with exactly these ranges is the one managed.
        type: list
        elements: dict
        default: [{from_port: 80, to_port: 80}]
        suboptions:
          from_port:
            description: First port of the range (1-65535).
            type: int
            required: true
          to_port:
            description: Last port of the range; defaults to O(listener.port_ranges[].from_port).
            type: int
      client_affinity:
        description: V(SOURCE_IP) keeps a client on the same endpoint.
        type: str
        choices: [NONE, SOURCE_IP]
        default: NONE
  endpoint_groups:
    description:
      - One entry per Region. A Region not listed has its group deleted when O(purge_endpoint_groups=true).
      - When omitted, the listener's groups are left as they are and only their dials change.
    type: list
    elements: dict
    suboptions:
      region:
        description: The endpoint group's Region.
        type: str
        required: true
      endpoints:
        description:
          - The group's endpoints. When omitted, the group keeps its current endpoints.
        type: list
        elements: dict
        suboptions:
          endpoint_id:
            description: A load balancer ARN (in the group's Region), an EC2 instance id or an Elastic IP allocation id.
            type: str
            required: true
          weight:
            description: Share of the group's traffic, from 0 to 255; 0 sends it nothing.
            type: int
            default: 128
          client_ip_preservation:
            description: Whether the endpoint sees the client's IP address (the default for ALB endpoints).
            type: bool
      traffic_dial:
        description:
          - Percentage (0-100) of the traffic bound for this Region that the group takes. A new group starts at 100.
        type: float
      health_check_protocol:
        description: Protocol of the group's health checks (ALB endpoints use the load balancer's own health).
        type: str
        choices: [TCP, HTTP, HTTPS]
      health_check_port:
        description: Port of the group's health checks.
        type: int
      health_check_path:
        description: Path of HTTP(S) health checks.
        type: str
      health_check_interval:
        description: Seconds between health checks, 10 or 30.
        type: int
      threshold_count:
        description: Consecutive checks (1-10) that change an endpoint's health.
        type: int
  purge_endpoint_groups:
    description:
      - Delete the listener's endpoint groups in Regions O(endpoint_groups) does not list.
    type: bool
    default: true
  active_region:
    description:
      - Send the traffic to this Region's group (dial 100) and none to the others (dial 0).
    type: str
  traffic_dials:
    description:
      - Explicit dials, Region -> percentage (0-100), for existing or listed groups.
    type: dict
  tags:
    description:
      - Tags of the accelerator.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description:
      - Remove tags not in O(tags). Only when O(tags) is given.
    type: bool
    default: true
  wait:
    description:
      - Wait until the accelerator reports C(DEPLOYED) after a change.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait for C(DEPLOYED).
    type: int
    default: 600
author:
  - eks_ha.resilience maintainers (@eks-ha)
notes:
  - Supports check mode and diff mode. Check mode plans without calling any write API.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Accelerator with a TCP 80 listener, the primary Region at 100% and the secondary at 0%
  eks_ha.resilience.ga_endpoint_dial:
    name: multi-region
    listener:
      protocol: TCP
      port_ranges: [{from_port: 80, to_port: 80}]
    endpoint_groups:
      - region: us-east-1
        endpoints:
          - endpoint_id: "{{ primary_alb_arn }}"
            weight: 128
            client_ip_preservation: true
        traffic_dial: 100
      - region: us-west-2
        endpoints:
          - endpoint_id: "{{ secondary_alb_arn }}"
            weight: 128
            client_ip_preservation: true
        traffic_dial: 0
    tags:
      application: py-az

- name: Planned failover, dials only
  eks_ha.resilience.ga_endpoint_dial:
    name: multi-region
    active_region: us-west-2

- name: Send a tenth of us-east-1's traffic elsewhere
  eks_ha.resilience.ga_endpoint_dial:
    name: multi-region
    traffic_dials:
      us-east-1: 90
"""

RETURN = r"""
accelerator:
  description: The accelerator.
  returned: when it exists (or would, in check mode)
  type: dict
  contains:
    accelerator_arn: {description: ARN (C(None) in check mode before creation)., type: str}
    name: {description: Name., type: str}
    status: {description: C(IN_PROGRESS) or C(DEPLOYED)., type: str}
    enabled: {description: Whether it accepts traffic., type: bool}
    dns_name: {description: Its DNS name., type: str}
    dual_stack_dns_name: {description: Its dual-stack DNS name (only for DUAL_STACK)., type: str}
    ip_addresses: {description: Its static IP addresses., type: list, elements: str}
    hosted_zone_id: {description: Hosted zone id for a Route 53 alias to the DNS name., type: str}
listener:
  description: The managed listener (arn, protocol, port_ranges, client_affinity).
  returned: when it exists
  type: dict
endpoint_groups:
  description: One entry per Region with its ARN, dial, health check settings, C(healthy) and endpoints (with health).
  returned: when the accelerator exists
  type: list
  elements: dict
dials_before:
  description: Region -> traffic dial before the call.
  returned: success
  type: dict
  sample: {us-east-1: 100.0, us-west-2: 0.0}
dials_after:
  description: Region -> traffic dial after the call.
  returned: success
  type: dict
  sample: {us-east-1: 0.0, us-west-2: 100.0}
serving_region:
  description:
    - The Region taking the largest share of new connections under the service's rules (healthy groups share by
      dial; failover ignores dials; no healthy endpoint anywhere fails open). C(None) when nothing can serve.
  returned: success
  type: str
serving_shares:
  description: Region -> share of new connections (0-1), for the listener as a whole.
  returned: success
  type: dict
actions:
  description: What was (or would be) done and why, one sentence each.
  returned: success
  type: list
  elements: str
diff:
  description: Accelerator, listener and endpoint groups before and after, when running with C(--diff).
  returned: when diff mode is enabled
  type: dict
"""

import copy
import time

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.eks_ha.resilience.plugins.module_utils import globalaccelerator as ga


def resolve_accelerator(module, client):
    named = ga.find_accelerator(client, module.params["name"])
    if len(named) > 1:
        module.fail_json(msg=f"{len(named)} accelerators are named {module.params['name']}; rename or delete the extra ones "
                             "so the name finds one accelerator.")
    return named[0] if named else None


def check_endpoint_locations(module):
    """Refuse endpoints in Local Zones (looked up in each group's Region) before changing anything."""
    zones_of = {}
    zone_names = {}
    for group in module.params["endpoint_groups"] or []:
        endpoints = group.get("endpoints") or []
        balancers = [e["endpoint_id"] for e in endpoints if ga.endpoint_kind(e["endpoint_id"]) == "elb"]
        if not balancers:
            continue
        region = group["region"]
        for balancer in ga.describe_load_balancers(module.client("elbv2", region=region), balancers):
            zones_of[balancer["LoadBalancerArn"]] = [z["ZoneName"] for z in balancer.get("AvailabilityZones", [])]
        zone_names[region] = {z for arn in balancers for z in zones_of.get(arn, [])}
    kinds = {}
    for region, names in zone_names.items():
        if names:
            kinds.update(ga.zone_types(module.client("ec2", region=region), names))
    problem = ga.local_zone_problem(zones_of, kinds)
    if problem:
        module.fail_json(msg=problem)


def planned_group(region, fields, dial):
    """What a group about to be created looks like (check mode cannot read it back)."""
    group = {"EndpointGroupArn": None, "EndpointGroupRegion": region, "TrafficDialPercentage": dial,
             "EndpointDescriptions": []}
    group.update({k: v for k, v in fields.items() if k != "EndpointConfigurations"})
    for configuration in fields.get("EndpointConfigurations", []):
        group["EndpointDescriptions"].append(dict(configuration, HealthState="INITIAL"))
    return group


def planned_update(group, changes):
    """``group`` as it will be after UpdateEndpointGroup with ``changes``."""
    updated = copy.deepcopy(group)
    updated.update({k: v for k, v in changes.items() if k != "EndpointConfigurations"})
    if "EndpointConfigurations" in changes:
        health = {e["EndpointId"]: e.get("HealthState") for e in group.get("EndpointDescriptions", [])}
        updated["EndpointDescriptions"] = [dict(c, HealthState=health.get(c["EndpointId"], "INITIAL"))
                                           for c in changes["EndpointConfigurations"]]
    return updated


def diff_view(accelerator, tags, listener, groups):
    return {
        "accelerator": None if accelerator is None else {
            "name": accelerator["Name"], "enabled": accelerator.get("Enabled"),
            "ip_address_type": accelerator.get("IpAddressType"), "tags": tags},
        "listener": None if listener is None else {
            "protocol": listener["Protocol"], "port_ranges": ga.snake_ranges(listener["PortRanges"]),
            "client_affinity": listener.get("ClientAffinity")},
        "endpoint_groups": {g["EndpointGroupRegion"]: ga.describe_group(g) for g in groups},
    }


class Run:
    """One module run: the client, what was found, what was (or would be) done."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.actions = []
        self.changed = False

    def act(self, sentence, call=None):
        self.actions.append(sentence)
        self.changed = True
        if call is not None and not self.module.check_mode:
            return call()
        return None

    # -- accelerator ------------------------------------------------------------------------

    def accelerator(self, found):
        params = self.params
        wanted_tags = params["tags"]
        if found is None:
            created = self.act(f"Create accelerator {params['name']}.", lambda: ga.create_accelerator(
                self.client, params["name"], params["ip_address_type"], params["enabled"], wanted_tags or {}))
            planned = {"AcceleratorArn": None, "Name": params["name"], "Enabled": params["enabled"],
                       "IpAddressType": params["ip_address_type"], "Status": "IN_PROGRESS", "IpSets": []}
            return created or planned, {}, dict(wanted_tags or {})
        tags = ga.list_tags(self.client, found["AcceleratorArn"])
        accelerator = found
        changes = {}
        if found.get("Enabled") != params["enabled"]:
            changes["Enabled"] = params["enabled"]
        if changes:
            verb = "Enable" if params["enabled"] else "Disable"
            updated = self.act(f"{verb} accelerator {params['name']}.",
                               lambda: ga.update_accelerator(self.client, found["AcceleratorArn"], changes))
            accelerator = updated or dict(found, **changes)
        after_tags = self.tags(found["AcceleratorArn"], tags, wanted_tags)
        return accelerator, tags, after_tags

    def tags(self, arn, current, wanted):
        if wanted is None:
            return current
        missing = {k: v for k, v in wanted.items() if current.get(k) != v}
        extra = set(current) - set(wanted) if self.params["purge_tags"] else set()
        if missing:
            self.act(f"Tag the accelerator with {', '.join(sorted(missing))}.",
                     lambda: ga.tag_resource(self.client, arn, missing))
        if extra:
            self.act(f"Remove tags {', '.join(sorted(extra))} from the accelerator.",
                     lambda: ga.untag_resource(self.client, arn, extra))
        after = {k: v for k, v in current.items() if k not in extra}
        after.update(wanted)
        return after

    # -- listener ---------------------------------------------------------------------------

    def listener(self, accelerator, current):
        wanted = self.params["listener"]
        if current is None:
            fields = ga.listener_fields(wanted or {})
            ports = ", ".join(f"{r['FromPort']}-{r['ToPort']}" for r in fields["PortRanges"])
            created = self.act(f"Create a {fields['Protocol']} listener on ports {ports}.",
                               lambda: ga.create_listener(self.client, accelerator["AcceleratorArn"], fields))
            return created or dict(fields, ListenerArn=None)
        if wanted is None:
            return current
        changes = ga.plan_listener_update(current, wanted)
        if not changes:
            return current
        updated = self.act(f"Update the listener's {', '.join(sorted(changes))}.",
                           lambda: ga.update_listener(self.client, current["ListenerArn"], changes))
        return updated or dict(current, **changes)

    # -- endpoint groups --------------------------------------------------------------------

    def endpoint_groups(self, listener, current):
        params = self.params
        requested = {g["region"]: g for g in params["endpoint_groups"] or []}
        dials = ga.desired_dials(current, params["endpoint_groups"], params["active_region"], params["traffic_dials"])
        after = {}
        for region, group in requested.items():
            if any(g["EndpointGroupRegion"] == region for g in current):
                continue
            fields = ga.group_fields(group)
            fields["TrafficDialPercentage"] = dials[region]
            fields["EndpointConfigurations"] = ga.endpoint_configurations(group.get("endpoints") or [])
            created = self.act(
                f"Create the endpoint group in {region} with {len(fields['EndpointConfigurations'])} endpoint(s) "
                f"at dial {dials[region]:g}%.",
                lambda: ga.create_endpoint_group(self.client, listener["ListenerArn"], region, fields))
            after[region] = created or planned_group(region, fields, dials[region])
        by_region = {g["EndpointGroupRegion"]: g for g in current}
        plans = {r: ga.plan_group_update(g, requested.get(r), dials[r]) for r, g in by_region.items()}
        raised_first = [r for r in ga.dial_order(ga.dials_of(current), dials) if r in by_region]
        for region in raised_first + sorted(r for r in plans if r not in raised_first):
            after[region] = self.update_group(by_region[region], plans[region])
        if params["endpoint_groups"] is not None and params["purge_endpoint_groups"]:
            for region in sorted(set(by_region) - set(requested)):
                self.act(f"Delete the endpoint group in {region}, which endpoint_groups does not list.",
                         lambda: ga.delete_endpoint_group(self.client, by_region[region]["EndpointGroupArn"]))
                after.pop(region, None)
        order = [g["EndpointGroupRegion"] for g in current] + [r for r in requested if r not in by_region]
        return [after[r] for r in order if r in after]

    def require_dialled_groups(self, current):
        """Refuse, before any change, dials for Regions that have no endpoint group and will not get one."""
        params = self.params
        regions = {g["EndpointGroupRegion"] for g in current} | {g["region"] for g in params["endpoint_groups"] or []}
        named = ([params["active_region"]] if params["active_region"] else []) + sorted(params["traffic_dials"] or {})
        missing = [r for r in named if r not in regions]
        if missing:
            have = ", ".join(sorted(regions)) or "none"
            self.module.fail_json(msg=f"No endpoint group of accelerator {params['name']} is in {', '.join(missing)} "
                                      f"(its groups: {have}); add it with endpoint_groups first.")

    def update_group(self, group, changes):
        region = group["EndpointGroupRegion"]
        if not changes:
            return group
        parts = []
        if "TrafficDialPercentage" in changes:
            parts.append(f"dial {float(group['TrafficDialPercentage']):g}% -> {changes['TrafficDialPercentage']:g}%")
        if "EndpointConfigurations" in changes:
            parts.append("endpoints " + ", ".join(f"{c['EndpointId']} (weight {c['Weight']})"
                                                  for c in changes["EndpointConfigurations"]))
        parts += [field for field in sorted(changes) if field not in ("TrafficDialPercentage", "EndpointConfigurations")]
        updated = self.act(f"Update the endpoint group in {region}: {'; '.join(parts)}.",
                           lambda: ga.update_endpoint_group(self.client, group["EndpointGroupArn"], changes))
        return updated or planned_update(group, changes)

    # -- whole runs -------------------------------------------------------------------------

    def present(self):
        params = self.params
        check_endpoint_locations(self.module)
        found = resolve_accelerator(self.module, self.client)
        ranges = ga.port_ranges_api(params["listener"]["port_ranges"]) if params["listener"] else None
        try:
            before = ga.describe_state(self.client, found, ranges) if found else {"listener": None, "endpoint_groups": []}
        except ValueError as e:
            self.module.fail_json(msg=f"Accelerator {params['name']}: {e}")
        self.require_dialled_groups(before["endpoint_groups"])
        accelerator, tags_before, tags_after = self.accelerator(found)
        listener = self.listener(accelerator, before["listener"])
        groups = self.endpoint_groups(listener, before["endpoint_groups"])
        dials_before, dials_after = ga.dials_of(before["endpoint_groups"]), ga.dials_of(groups)
        if dials_before != dials_after and before["endpoint_groups"]:
            self.actions.append("Dial changes apply to new connections; existing connections stay on their endpoints "
                                "until they close.")
        state = {"accelerator": accelerator, "listener": listener, "endpoint_groups": groups}
        if self.changed and not self.module.check_mode:
            if params["wait"]:
                ga.wait_deployed(self.client, accelerator["AcceleratorArn"], params["wait_timeout"], time.sleep)
            state = ga.describe_state(self.client, ga.describe_accelerator(self.client, accelerator["AcceleratorArn"]),
                                      ga.port_ranges_api(ga.snake_ranges(listener["PortRanges"])))
        for warning in ga.fencing_warnings(state["endpoint_groups"]):
            self.module.warn(warning)
        result = dict(ga.describe_result(state), changed=self.changed, actions=self.actions,
                      dials_before=dials_before, dials_after=ga.dials_of(state["endpoint_groups"]))
        if self.module._diff:
            result["diff"] = {"before": diff_view(found, tags_before, before["listener"], before["endpoint_groups"]),
                              "after": diff_view(accelerator, tags_after, listener, groups)}
        return result

    def absent(self):
        params = self.params
        found = resolve_accelerator(self.module, self.client)
        result = {"changed": False, "actions": [], "dials_before": {}, "dials_after": {}, "serving_region": None,
                  "serving_shares": {}}
        if found is None:
            return result
        arn = found["AcceleratorArn"]
        listeners = ga.list_listeners(self.client, arn)
        groups = {l["ListenerArn"]: ga.list_endpoint_groups(self.client, l["ListenerArn"]) for l in listeners}
        # Read for --diff before the accelerator is gone.
        tags = ga.list_tags(self.client, arn) if self.module._diff else {}
        result["dials_before"] = {r: d for gs in groups.values() for r, d in ga.dials_of(gs).items()}
        if found.get("Enabled"):
            self.act(f"Disable accelerator {params['name']} (it must be disabled before deletion).",
                     lambda: ga.update_accelerator(self.client, arn, {"Enabled": False}))
        for listener in listeners:
            for group in groups[listener["ListenerArn"]]:
                self.act(f"Delete the endpoint group in {group['EndpointGroupRegion']}.",
                         lambda: ga.delete_endpoint_group(self.client, group["EndpointGroupArn"]))
            self.act("Delete the listener.", lambda: ga.delete_listener(self.client, listener["ListenerArn"]))
        if not self.module.check_mode:
            ga.wait_deployed(self.client, arn, params["wait_timeout"], time.sleep)
        self.act(f"Delete accelerator {params['name']}.", lambda: ga.delete_accelerator(self.client, arn))
        result.update(changed=True, actions=self.actions)
        if self.module._diff:
            before = diff_view(found, tags, listeners[0] if len(listeners) == 1 else None,
                               [g for gs in groups.values() for g in gs])
            result["diff"] = {"before": before, "after": diff_view(None, {}, None, [])}
        return result


def main():
    endpoint_options = dict(
        endpoint_id=dict(type="str", required=True),
        weight=dict(type="int", default=ga.DEFAULT_WEIGHT),
        client_ip_preservation=dict(type="bool"),
    )
    group_options = dict(
        region=dict(type="str", required=True),
        endpoints=dict(type="list", elements="dict", options=endpoint_options),
        traffic_dial=dict(type="float"),
        health_check_protocol=dict(type="str", choices=["TCP", "HTTP", "HTTPS"]),
        health_check_port=dict(type="int"),
        health_check_path=dict(type="str"),
        health_check_interval=dict(type="int"),
        threshold_count=dict(type="int"),
    )
    listener_options = dict(
        protocol=dict(type="str", default="TCP", choices=["TCP", "UDP"]),
        port_ranges=dict(type="list", elements="dict", options=ga.PORT_RANGE_OPTIONS,
                         default=[{"from_port": 80, "to_port": 80}]),
        client_affinity=dict(type="str", default="NONE", choices=["NONE", "SOURCE_IP"]),
    )
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        enabled=dict(type="bool", default=True),
        ip_address_type=dict(type="str", default="IPV4", choices=["IPV4", "DUAL_STACK"]),
        listener=dict(type="dict", options=listener_options),
        endpoint_groups=dict(type="list", elements="dict", options=group_options),
        purge_endpoint_groups=dict(type="bool", default=True),
        active_region=dict(type="str"),
        traffic_dials=dict(type="dict"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("active_region", "traffic_dials")],
        supports_check_mode=True,
    )
    params = module.params
    dials = params["traffic_dials"]
    if dials is not None:
        try:
            params["traffic_dials"] = dials = {str(r): float(d) for r, d in dials.items()}
        except (TypeError, ValueError):
            module.fail_json(msg="traffic_dials must map Regions to numbers from 0 to 100, e.g. {us-east-1: 100, us-west-2: 0}.")
    problem = ga.validate_request(params["endpoint_groups"], params["active_region"], dials, params["listener"])
    if problem:
        module.fail_json(msg=problem)
    client = module.client("globalaccelerator", region=ga.CONTROL_REGION)
    run = Run(module, client)
    try:
        result = run.present() if params["state"] == "present" else run.absent()
    except ga.AnsibleGlobalAcceleratorError as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
