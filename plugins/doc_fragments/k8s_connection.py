# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The options that say which Kubernetes API a module talks to (argument spec: k8s.CONNECTION_ARGUMENT_SPEC)."""

    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - The kubeconfig to use, as the path of a file or as a dict with the content of one.
      - Without O(kubeconfig) and O(eks_cluster), the default kubeconfig is used (C($KUBECONFIG), else C(~/.kube/config)).
      - Mutually exclusive with O(eks_cluster).
    type: raw
  context:
    description:
      - The context of the kubeconfig to use; defaults to its current context.
      - Mutually exclusive with O(eks_cluster).
    type: str
  eks_cluster:
    description:
      - The name of an EKS cluster to talk to instead of a kubeconfig.
      - Its API endpoint and certificate authority come from EKS C(DescribeCluster), and the bearer token is made
        as C(aws eks get-token) makes it (a presigned STS C(GetCallerIdentity) URL), with the AWS options of the module
        (O(region), O(endpoint_url), credentials). The cluster must be C(ACTIVE).
      - Mutually exclusive with O(kubeconfig) and O(context).
    type: str
  k8s_validate_certs:
    description:
      - Whether to check the certificate of the Kubernetes API server.
      - Defaults to what the kubeconfig says, and to V(true) with O(eks_cluster).
      - O(validate_certs) applies to the AWS APIs only.
    type: bool
requirements:
  - kubernetes >= 24.2.0
"""
