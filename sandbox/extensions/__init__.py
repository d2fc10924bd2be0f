"""AWS behaviour moto lacks, one module per service.

An extension looks at the calls of one service (its SigV4 signing name). For a call it knows it
answers itself, or forwards the call to moto and adjusts the answer; every other call goes to moto
untouched. ``install`` runs once at server start to adjust moto's in-memory tables.
"""

from __future__ import annotations

from sandbox.databases import DatabaseRegistry
from sandbox.extensions.autoscaling import AutoScalingExtension
from sandbox.extensions.base import Extension
from sandbox.extensions.dms import DmsExtension
from sandbox.extensions.ec2 import Ec2Extension
from sandbox.extensions.efs import EfsExtension
from sandbox.extensions.eks import EksExtension
from sandbox.extensions.globalaccelerator import GlobalAcceleratorExtension
from sandbox.extensions.outposts import OutpostsExtension
from sandbox.extensions.route53 import Route53Extension
from sandbox.kubernetes import ClusterRegistry
from sandbox.state import SiteRegistry


def build_extensions(sites: SiteRegistry, time_scale: float, clusters: ClusterRegistry | None = None,
                     ga_deploy_seconds: float | None = None,
                     databases: DatabaseRegistry | None = None) -> list[Extension]:
    """One instance of every extension, sharing the server's site registry (and its EKS clusters and databases).

    ``ga_deploy_seconds``: how long a Global Accelerator change takes to deploy, in model seconds
    (scaled by ``time_scale``; None: 30).
    """
    extensions: list[Extension] = [Ec2Extension(), OutpostsExtension(sites), Route53Extension(sites, time_scale),
                                   EfsExtension(time_scale)]
    clusters = clusters or ClusterRegistry(None, time_scale, sites)
    return extensions + [EksExtension(clusters), AutoScalingExtension(clusters),
                         GlobalAcceleratorExtension(sites, time_scale, ga_deploy_seconds),
                         DmsExtension(databases or DatabaseRegistry(None, sites), time_scale)]
