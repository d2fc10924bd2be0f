# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The options that name one application name in one hosted zone, shared by the route53_failover modules."""

    DOCUMENTATION = r"""
options:
  hosted_zone:
    description:
      - The hosted zone holding the record, as a zone id (C(Z...) or C(/hostedzone/Z...)) or a zone name
        (C(example.com) or C(example.com.)).
    type: str
    required: true
  private_zone:
    description:
      - Pick the private zone rather than the public one when O(hosted_zone) is a name.
    type: bool
    default: false
  record_name:
    description:
      - The fully qualified name the sites answer for, for example C(app.example.com).
    type: str
    required: true
"""
