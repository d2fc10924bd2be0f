# -*- coding: utf-8 -*-

# Copyright: Contributors to the eks_ha.resilience project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""AWS Outposts helpers: what instance types an Outpost has capacity for.

One wrapper per call, retried with ``AWSRetry.jittered_backoff`` and raising ``AnsibleOutpostsError``.
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


class AnsibleOutpostsError(AnsibleAWSError):
    pass


class OutpostsErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleOutpostsError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("NotFoundException")


@OutpostsErrorHandler.list_error_handler("get Outpost instance types")
@AWSRetry.jittered_backoff()
def outpost_instance_types(client, outpost):
    """The instance types Outpost ``outpost`` (id or ARN) offers, sorted; None when there is no such Outpost."""
    pages = client.get_paginator("get_outpost_instance_types").paginate(OutpostId=outpost)
    return sorted({t["InstanceType"] for t in pages.build_full_result()["InstanceTypes"]})
