"""Route 53: health-check status that follows site state, and a few answers moto gets wrong.

moto answers GetHealthCheckStatus with one fixed success. Here every checker Region observes the
check's target: a site endpoint (see ``sandbox.state``) is up unless its site is failed, and answers
only on its load balancer's listener ports; a checker notices a change (of the site, or of the
check's port or target) only after ``RequestInterval * FailureThreshold * time_scale`` seconds.
The observations are what the checkers' probes see of the endpoint; as on AWS, ``Inverted`` and
``Disabled`` do not change them but the status Route 53 routes on: a disabled check is considered
healthy, and ``Inverted`` then flips whatever was decided (so disabled + inverted is unhealthy, the
documented way to stop routing to it).

Also fixed: UpdateHealthCheck never bumps HealthCheckVersion; a new zone's SOA record holds a
stringified dict; GetChange drops the ``/change/`` prefix of the change id; a DELETE of one routed record
removes every record with the same SetIdentifier in the zone.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.route53.models import HealthCheck, route53_backends
from werkzeug.wrappers import Response

from sandbox.extensions.base import Extension, Handler
from sandbox.protocol import AwsRequest, Forward, XmlDocument, replace_body
from sandbox.state import Site, SiteRegistry, normalize_host

ROUTE53_NAMESPACE = "https://route53.amazonaws.com/doc/2013-04-01/"

# Where Route 53 checks from when a health check names no Regions, with one stand-in
# checker address per Region (taken from the ROUTE53_HEALTHCHECKS range).
CHECKERS = {
    "us-east-1": "15.177.2.11",
    "us-west-1": "15.177.10.11",
    "us-west-2": "15.177.18.11",
    "eu-west-1": "15.177.26.11",
    "ap-southeast-1": "15.177.34.11",
    "ap-southeast-2": "15.177.42.11",
    "ap-northeast-1": "15.177.50.11",
    "sa-east-1": "15.177.58.11",
}
SUCCESS = {"TCP": "Success: TCP connection established."}
HTTP_SUCCESS = "Success: HTTP Status Code 200, OK."
FAILURE = (
    "Failure: Connection timed out. The endpoint or the internet connection is down, or requests "
    "are being blocked by your firewall. See "
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-router-firewall-rules.html"
)

_STATUS = re.compile(r"/2013-04-01/healthcheck/(?P<id>[^/]+)/status")
_HEALTH_CHECK = re.compile(r"/2013-04-01/healthcheck/(?P<id>[^/]+)")
_CHANGE = re.compile(r"/2013-04-01/change/(?P<id>[^/]+)")
_HOSTED_ZONES = re.compile(r"/2013-04-01/hostedzone/?")
_RRSET = re.compile(r"/2013-04-01/hostedzone/(?P<id>[^/]+)/rrset/?")


@dataclass(frozen=True)
class Verdict:
    """What Route 53 concludes about one health check right now."""

    healthy: bool
    site: Site | None

    @property
    def status(self) -> str:
        return "Healthy" if self.healthy else "Unhealthy"


class Route53Extension(Extension):
    service = "route53"

    def __init__(self, sites: SiteRegistry, time_scale: float):
        self.sites = sites
        self.time_scale = time_scale
        # Health check id -> (monotonic time of a probe change, what the checkers saw before it).
        self.probe_changes: dict[str, tuple[float, bool]] = {}

    def route(self, request: AwsRequest) -> Handler | None:
        path, method = request.path, request.method
        if method == "GET" and _STATUS.fullmatch(path):
            return self.get_health_check_status
        if method == "POST" and _HEALTH_CHECK.fullmatch(path):
            return self.update_health_check
        if method == "POST" and _HOSTED_ZONES.fullmatch(path):
            return self.create_hosted_zone
        if method == "GET" and _CHANGE.fullmatch(path):
            return self.get_change
        if method == "POST" and _RRSET.fullmatch(path):
            return self.change_resource_record_sets
        return None

    def change_resource_record_sets(self, request: AwsRequest, forward: Forward) -> Response:
        """moto's change, minus its habit of deleting every record that shares a deleted SetIdentifier.

        AWS deletes exactly the named record (name, type and set identifier); moto drops every record set
        with that identifier in the zone, whatever its name. The bystanders are put back.
        """
        zone = backend().zones.get(_RRSET.fullmatch(request.path)["id"])
        before = list(zone.rrsets) if zone is not None else []
        response = forward(request)
        if response.status_code != 200 or zone is None:
            return response
        document = XmlDocument.parse(request.body)
        deleted = {
            (normalize_host(document.text("ResourceRecordSet/Name", change) or ""),
             document.text("ResourceRecordSet/Type", change), document.text("ResourceRecordSet/SetIdentifier", change))
            for change in document.findall("ChangeBatch/Changes/Change")
            if document.text("Action", change) == "DELETE"
        }
        deleted_ids = {set_identifier for _name, _type, set_identifier in deleted if set_identifier}
        present = {record_key(record_set) for record_set in zone.rrsets}
        for record_set in before:
            key = record_key(record_set)
            if record_set.set_identifier in deleted_ids and key not in deleted and key not in present:
                zone.rrsets.append(record_set)
        return response

    def get_health_check_status(self, request: AwsRequest, forward: Forward) -> Response:
        """One observation per checker Region, all agreeing on what the probes of the endpoint see."""
        check = backend().health_checks.get(_STATUS.fullmatch(request.path)["id"])
        if check is None:
            return forward(request)  # moto answers NoSuchHealthCheck
        message = SUCCESS.get(check.type_, HTTP_SUCCESS) if self.observed_ok(check) else FAILURE
        checked_time = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        document = XmlDocument.new("GetHealthCheckStatusResponse", ROUTE53_NAMESPACE)
        observations = document.add(None, "HealthCheckObservations")
        for region in check.regions or CHECKERS:
            observation = document.add(observations, "HealthCheckObservation")
            document.add_fields(observation, {"Region": region, "IPAddress": CHECKERS.get(region, CHECKERS["us-east-1"])})
            report = document.add(observation, "StatusReport")
            document.add_fields(report, {"Status": message, "CheckedTime": checked_time})
        return document.response()

    def update_health_check(self, request: AwsRequest, forward: Forward) -> Response:
        """moto's update, plus the HealthCheckVersion increment AWS makes on every update."""
        check = backend().health_checks.get(_HEALTH_CHECK.fullmatch(request.path)["id"])
        saw_before = self.target_ok(check) if check is not None and check.type_ != "CALCULATED" else None
        response = forward(request)
        if response.status_code != 200:
            return response
        check.health_check_version += 1
        if saw_before is not None and self.target_ok(check) != saw_before:
            # A new port or target must fail (or pass) FailureThreshold probes before the status turns.
            self.probe_changes[check.id] = (time.monotonic(), saw_before)
        document = XmlDocument.parse(response.get_data())
        document.find("HealthCheck/HealthCheckVersion").text = str(check.health_check_version)
        return replace_body(response, document)

    def create_hosted_zone(self, request: AwsRequest, forward: Forward) -> Response:
        """moto's new zone, with its SOA record value stored as the string it should be."""
        response = forward(request)
        if response.status_code != 201:
            return response
        zone_id = XmlDocument.parse(response.get_data()).text("HostedZone/Id").rsplit("/", 1)[-1]
        for record_set in backend().zones[zone_id].rrsets:
            if record_set.type == "SOA":
                record_set.records = [r["Value"] if isinstance(r, dict) else r for r in record_set.records]
        return response

    def get_change(self, request: AwsRequest, forward: Forward) -> Response:
        """moto's answer, with the change id spelled ``/change/ID`` as AWS does."""
        response = forward(request)
        if response.status_code != 200:
            return response
        document = XmlDocument.parse(response.get_data())
        change_id = document.find("ChangeInfo/Id")
        if not change_id.text.startswith("/change/"):
            change_id.text = f"/change/{change_id.text}"
        return replace_body(response, document)

    def verdict(self, check: HealthCheck) -> Verdict:
        """The status Route 53 routes on, per AWS: disabled counts as healthy, then ``Inverted`` flips it."""
        site = None if check.type_ == "CALCULATED" else self.target_site(check)
        return Verdict((check.disabled or self.observed_ok(check)) != check.inverted, site)

    def observed_ok(self, check: HealthCheck, seen: frozenset[str] = frozenset()) -> bool:
        """What the checkers see now: probe results lag a change by the detection delay."""
        if check.type_ == "CALCULATED":
            return self.children_ok(check, seen | {check.id})
        changed = self.probe_changes.get(check.id)
        if changed and time.monotonic() - changed[0] < self.detection_delay(check):
            return changed[1]
        return self.target_ok(check)

    def detection_delay(self, check: HealthCheck) -> float:
        """A checker needs FailureThreshold probes in a row, RequestInterval seconds apart."""
        return check.request_interval * check.failure_threshold * self.time_scale

    def target_site(self, check: HealthCheck) -> Site | None:
        return self.sites.site_for(check.fqdn) or self.sites.site_for(check.ip_address)

    def target_ok(self, check: HealthCheck) -> bool:
        """Whether the probes of ``check`` succeed: its site is up (as checkers see it) and listens on its port."""
        site = self.target_site(check)
        return site is None or (site.reachable(self.detection_delay(check)) and site.listens_on(check.port))

    def children_ok(self, check: HealthCheck, seen: frozenset[str]) -> bool:
        """A calculated check's target: at least HealthThreshold of its children are healthy."""
        checks = backend().health_checks
        children = [checks[c] for c in check.children or [] if c in checks and c not in seen]
        threshold = len(children) if check.health_threshold is None else check.health_threshold
        return sum((c.disabled or self.observed_ok(c, seen)) != c.inverted for c in children) >= threshold

    def status(self) -> dict[str, Any]:
        """Every health check with its target, its flags and the status computed now."""
        rows = []
        for check in backend().list_health_checks():
            verdict = self.verdict(check)
            rows.append({
                "id": check.id,
                "type": check.type_,
                "target": check.fqdn or check.ip_address,
                "port": check.port,
                "inverted": check.inverted,
                "disabled": check.disabled,
                "site": verdict.site.name if verdict.site else None,
                "status": verdict.status,
            })
        return {"health_checks": rows}


def record_key(record_set: Any) -> tuple[str, str, str | None]:
    """What identifies a record set in a zone: its name, type and set identifier."""
    return normalize_host(record_set.name), record_set.type, record_set.set_identifier


def backend() -> Any:
    """moto's Route 53 backend (global, partition ``aws``)."""
    return route53_backends[DEFAULT_ACCOUNT_ID]["aws"]
