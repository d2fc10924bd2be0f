"""A Kubernetes API per sandbox EKS cluster: REST over HTTPS, discovery, patches, simulated controllers.

``ClusterRegistry`` (in ``cluster``) starts a cluster the first time EKS creates or describes it; the
``eks`` extension points DescribeCluster's endpoint and CA at it.
"""

from sandbox.kubernetes.cluster import Cluster, ClusterRegistry, ClusterSpec

__all__ = ["Cluster", "ClusterRegistry", "ClusterSpec"]
