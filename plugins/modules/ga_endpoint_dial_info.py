#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ga_endpoint_dial_info
version_added: 0.1.0
short_description: Read an AWS Global Accelerator's endpoint groups, their health and dials, and which Region serves
description:
  - Reads the accelerator named O(name), one of its listeners and that listener's endpoint groups, with the health
    Global Accelerator reports for every endpoint.
  - C(serving_region) applies the service's routing rules to what it reports. Groups with a healthy endpoint share
    new connections by traffic dial, and failover ignores dials. When no endpoint is healthy, the accelerator fails
    open. See M(eks_ha.resilience.ga_endpoint_dial).
  - Never changes anything. Global Accelerator's API is called in C(us-west-2).
options:
  name:
    description: The accelerator's name.
    type: str
    required: true
  port_ranges:
    description:
      - Ports of the listener to read (a listener with exactly these ranges). By default the accelerator's only listener.
    type: list
    elements: dict
    suboptions:
      from_port:
        description: First port of the range.
        type: int
        required: true
      to_port:
        description: Last port of the range; defaults to O(port_ranges[].from_port).
        type: int
author:
  - eks_ha.resilience maintainers (@eks-ha)
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Which Region serves through the accelerator now
  eks_ha.resilience.ga_endpoint_dial_info:
    name: multi-region
  register: accelerator

- name: Wait until us-west-2 serves
  eks_ha.resilience.ga_endpoint_dial_info:
    name: multi-region
  register: accelerator
  until: accelerator.serving_region == 'us-west-2'
  retries: 60
  delay: 2
"""

RETURN = r"""
exists:
  description: Whether an accelerator has that name.
  returned: always
  type: bool
accelerator:
  description: ARN, name, status, enabled, dns_name, dual_stack_dns_name, ip_addresses and the hosted_zone_id for aliases.
  returned: when it exists
  type: dict
listener:
  description: The listener read (arn, protocol, port_ranges, client_affinity).
  returned: when it exists
  type: dict
endpoint_groups:
  description: One entry per Region with its ARN, dial, health check settings, C(healthy) and endpoints (with health).
  returned: when it exists
  type: list
  elements: dict
dials:
  description: Region -> traffic dial.
  returned: always
  type: dict
serving_region:
  description: The Region taking the largest share of new connections; C(None) when nothing can serve.
  returned: always
  type: str
serving_shares:
  description: Region -> share of new connections (0-1).
  returned: always
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.eks_ha.resilience.plugins.module_utils import globalaccelerator as ga


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        port_ranges=dict(type="list", elements="dict", options=ga.PORT_RANGE_OPTIONS),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("globalaccelerator", region=ga.CONTROL_REGION)
    name = module.params["name"]
    ranges = ga.port_ranges_api(module.params["port_ranges"]) if module.params["port_ranges"] else None
    try:
        named = ga.find_accelerator(client, name)
        if len(named) > 1:
            module.fail_json(msg=f"{len(named)} accelerators are named {name}; the name must find one accelerator.")
        if not named:
            module.exit_json(changed=False, exists=False, dials={}, serving_region=None, serving_shares={})
        try:
            state = ga.describe_state(client, named[0], ranges)
        except ValueError as e:
            module.fail_json(msg=f"Accelerator {name}: {e}")
    except ga.AnsibleGlobalAcceleratorError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, exists=True, dials=ga.dials_of(state["endpoint_groups"]), **ga.describe_result(state))


if __name__ == "__main__":
    main()
