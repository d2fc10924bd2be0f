"""A stand-in for the AWS Load Balancer Controller: ALB Ingresses get real load balancers in the sandbox.

Active while Deployment ``kube-system/aws-load-balancer-controller`` has ready replicas. An Ingress of class
``alb`` (``spec.ingressClassName`` or the ``kubernetes.io/ingress.class`` annotation) gets, after
PROVISION_DELAY, an application load balancer in the cluster's Region (scheme from
``alb.ingress.kubernetes.io/scheme``, internet-facing by default here; subnets from
``alb.ingress.kubernetes.io/subnets`` as ids or Name tags, else the cluster's subnets) with the listeners of
``alb.ingress.kubernetes.io/listen-ports`` (HTTP:80 by default; an HTTPS listener takes the certificate of
``alb.ingress.kubernetes.io/certificate-arn``). Its DNS name goes to ``status.loadBalancer.ingress[0].hostname``
and becomes an endpoint of the site whose subnets it is in (else the cluster's site), so Route 53 health checks
of it follow that site's state: one cluster can serve several sites, an ALB per site. Deleting the Ingress
deletes the ALB.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sandbox.kubernetes.store import Obj
from sandbox.state import Site, normalize_host

if TYPE_CHECKING:
    from sandbox.kubernetes.cluster import Cluster

PROVISION_DELAY = 20.0  # seconds from the Ingress until its load balancer has a DNS name
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
SUBNETS_ANNOTATION = "alb.ingress.kubernetes.io/subnets"
SCHEME_ANNOTATION = "alb.ingress.kubernetes.io/scheme"
LISTEN_PORTS_ANNOTATION = "alb.ingress.kubernetes.io/listen-ports"
CERTIFICATE_ANNOTATION = "alb.ingress.kubernetes.io/certificate-arn"

# The controller's listener when the Ingress names none.
DEFAULT_LISTENERS = [("HTTP", 80)]


def listeners(ingress: Obj) -> list[tuple[str, int]]:
    """(protocol, port) of every listener the Ingress asks for, as the controller reads ``listen-ports``."""
    value = (ingress["metadata"].get("annotations") or {}).get(LISTEN_PORTS_ANNOTATION)
    if not value:
        return list(DEFAULT_LISTENERS)
    try:
        entries = json.loads(value)
        return [(protocol.upper(), int(port)) for entry in entries for protocol, port in entry.items()]
    except (ValueError, TypeError, AttributeError):
        return list(DEFAULT_LISTENERS)  # the real controller reports the bad annotation and keeps its default


def is_alb(ingress: Obj) -> bool:
    annotations = ingress["metadata"].get("annotations") or {}
    return (ingress.get("spec") or {}).get("ingressClassName") == "alb" or annotations.get(CLASS_ANNOTATION) == "alb"


def balancer_name(ingress: Obj) -> str:
    """``k8s-<namespace>-<name>-<hash>`` within the 32-character limit, hash kept whole."""
    meta = ingress["metadata"]
    digest = hashlib.sha256(meta["uid"].encode()).hexdigest()[:10]
    prefix = re.sub(r"[^a-zA-Z0-9-]", "", f"k8s-{meta['namespace']}-{meta['name']}")[:21].rstrip("-")
    return f"{prefix}-{digest}"


class AlbIngress:
    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.store = cluster.store
        self.balancers: dict[str, dict[str, str]] = {}  # Ingress uid -> {arn, dns}
        self.seen_at: dict[str, float] = {}

    def running(self) -> bool:
        controller = self.store.get(self.store.type("apps", "deployments"), "kube-system", "aws-load-balancer-controller")
        return bool(controller and (controller.get("status") or {}).get("readyReplicas", 0) > 0)

    def reconcile(self) -> None:
        if not self.running():
            return
        ingresses = {i["metadata"]["uid"]: i for i in self.store.list_kind("networking.k8s.io", "ingresses") if is_alb(i)}
        for uid in [u for u in self.balancers if u not in ingresses]:
            self.delete_balancer(self.balancers.pop(uid))
        for uid, ingress in ingresses.items():
            balancer = self.balancers.get(uid)
            if balancer is None:
                if time.monotonic() - self.seen_at.setdefault(uid, time.monotonic()) < self.cluster.delay(PROVISION_DELAY):
                    continue
                balancer = self.balancers[uid] = self.create_balancer(ingress)
            self.publish(ingress, balancer)

    def site_of(self, balancer: dict[str, Any]) -> Site | None:
        """The site whose subnets the ALB is in, else the cluster's."""
        subnets = set(balancer.get("subnets") or [])
        return next((s for s in self.cluster.sites.all() if subnets & set(s.attributes.get("subnet_ids") or [])),
                    None) or self.cluster.site()

    def publish(self, ingress: Obj, balancer: dict[str, Any]) -> None:
        """Put the ALB's name in the Ingress status and among the site's endpoints (again, if re-seeding reset them)."""
        dns_name = balancer["dns"]
        site = self.site_of(balancer)
        if site is not None:
            site.endpoints.add(normalize_host(dns_name))
            # Health checks of the site probe only ports some load balancer of it listens on.
            ports = site.attributes.setdefault("ports", [])
            for port in balancer.get("ports") or [80]:
                if port not in ports:
                    ports.append(port)

        def change(current: Obj) -> None:
            current["status"] = {"loadBalancer": {"ingress": [{"hostname": dns_name}]}}

        meta = ingress["metadata"]
        if ingress.get("status") != {"loadBalancer": {"ingress": [{"hostname": dns_name}]}}:
            self.store.mutate(self.store.type("networking.k8s.io", "ingresses"), meta["namespace"], meta["name"], change)

    def subnets(self, ingress: Obj) -> list[str]:
        wanted = [s.strip() for s in ((ingress["metadata"].get("annotations") or {}).get(SUBNETS_ANNOTATION) or "").split(",")
                  if s.strip()]
        if not wanted:
            return self.cluster.spec.subnet_ids
        names = [s for s in wanted if not s.startswith("subnet-")]
        ids = [s for s in wanted if s.startswith("subnet-")]
        if names:
            ec2 = self.cluster.aws("ec2", self.cluster.spec.region)
            found = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": names}])["Subnets"]
            ids += [s["SubnetId"] for s in found]
        return ids

    def create_balancer(self, ingress: Obj) -> dict[str, str]:
        elbv2 = self.cluster.aws("elbv2", self.cluster.spec.region)
        name = balancer_name(ingress)
        meta = ingress["metadata"]
        annotations = meta.get("annotations") or {}
        scheme = annotations.get(SCHEME_ANNOTATION, "internet-facing")
        subnets = self.subnets(ingress)
        wanted = listeners(ingress)
        try:
            balancer = elbv2.create_load_balancer(
                Name=name, Subnets=subnets, Scheme=scheme, Type="application",
                Tags=[{"Key": "elbv2.k8s.aws/cluster", "Value": self.cluster.name},
                      {"Key": "ingress.k8s.aws/stack", "Value": f"{meta['namespace']}/{meta['name']}"}])["LoadBalancers"][0]
        except ClientError as error:
            if error.response["Error"]["Code"] != "DuplicateLoadBalancerName":
                raise
            balancer = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"][0]
        # Listeners an earlier attempt made are kept; a failed one (say, an unknown certificate) is tried again.
        existing = {listener["Port"] for listener in
                    elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]}
        for protocol, port in wanted:
            if port in existing:
                continue
            extra = {"Certificates": [{"CertificateArn": annotations[CERTIFICATE_ANNOTATION]}]} \
                if protocol == "HTTPS" and annotations.get(CERTIFICATE_ANNOTATION) else {}
            elbv2.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol=protocol, Port=port,
                                  DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {
                                      "StatusCode": "404", "ContentType": "text/plain"}}], **extra)
        return {"arn": balancer["LoadBalancerArn"], "dns": balancer["DNSName"], "subnets": subnets,
                "ports": [port for _protocol, port in wanted]}

    def delete_balancer(self, balancer: dict[str, str]) -> None:
        self.cluster.aws("elbv2", self.cluster.spec.region).delete_load_balancer(LoadBalancerArn=balancer["arn"])
        site = self.site_of(balancer)
        if site is not None:
            site.endpoints.discard(normalize_host(balancer["dns"]))
