"""Site state: the sites the sandbox knows, their endpoints and whether they are failed.

A site is one inventory host of group ``sites`` (a Region, a Local Zone or an Outpost). Seeding
registers it with the endpoints that reach it (its ALB DNS names plus any extra hostnames); the
``fail``/``recover`` commands flip its state. Health checkers do not see a flip at once: they see
the site as it was ``delay`` seconds ago, which is how Route 53 needs several failed probes in a
row before it declares an endpoint unhealthy.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any


class UnknownSite(LookupError):
    """Raised for a site name no inventory declared; the message lists the known sites."""

    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = known
        listing = ", ".join(known) if known else "none (run `up -i INVENTORY` first)"
        super().__init__(f"Unknown site '{name}'; known sites: {listing}.")


@dataclass
class Site:
    """One site: what seeding told the server about it, plus its failure history.

    ``attributes`` carries whatever else a registration describes (load balancers, Outposts, and
    later clusters or databases) so new kinds of resources need no change here.
    """

    name: str
    kind: str
    region: str
    endpoints: set[str] = field(default_factory=set)
    attributes: dict[str, Any] = field(default_factory=dict)
    # (monotonic time, failed) for every state change, oldest first; a site starts healthy.
    transitions: list[tuple[float, bool]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Whether the site is failed now (as set by the last fail/recover)."""
        return self.transitions[-1][1] if self.transitions else False

    def failed_at(self, moment: float) -> bool:
        """Whether the site was failed at monotonic time ``moment``."""
        failed = False
        for changed_at, state in self.transitions:
            if changed_at > moment:
                break
            failed = state
        return failed

    def reachable(self, delay: float) -> bool:
        """Whether a checker that needs ``delay`` seconds to notice a change sees the site up."""
        return not self.failed_at(time.monotonic() - delay)

    def listens_on(self, port: int | None) -> bool:
        """Whether the site's load balancer has a listener on ``port`` (a site with none declared takes any)."""
        ports = self.attributes.get("ports")
        return port is None or not ports or port in ports

    def answers_for(self, target: str) -> bool:
        """Whether ``target`` (a hostname or IP address) is one of this site's endpoints."""
        return normalize_host(target) in self.endpoints

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the site and its current state."""
        return {
            "name": self.name,
            "kind": self.kind,
            "region": self.region,
            "state": "failed" if self.failed else "healthy",
            "endpoints": sorted(self.endpoints),
            **self.attributes,
        }


def normalize_host(name: str) -> str:
    """A hostname in the form endpoints are compared in: lower case, no trailing dot."""
    return name.strip().rstrip(".").lower()


class SiteRegistry:
    """Thread-safe registry of sites, shared by the control API and the AWS extensions."""

    def __init__(self) -> None:
        self._sites: dict[str, Site] = {}
        self._lock = threading.Lock()

    def register(self, description: dict[str, Any]) -> Site:
        """Add or refresh a site from a registration; a known site keeps its failure history."""
        description = dict(description)
        name = description.pop("name")
        kind = description.pop("kind")
        region = description.pop("region")
        endpoints = {normalize_host(e) for e in description.pop("endpoints", [])}
        with self._lock:
            site = self._sites.get(name)
            if site is None:
                site = self._sites[name] = Site(name, kind, region)
            site.kind, site.region = kind, region
            site.endpoints = endpoints
            site.attributes = description
            return site

    def set_failed(self, name: str, failed: bool) -> Site:
        """Fail or recover a site; repeating the current state changes nothing."""
        with self._lock:
            site = self._sites.get(name)
            if site is None:
                raise UnknownSite(name, list(self._sites))
            if site.failed != failed:
                site.transitions.append((time.monotonic(), failed))
            return site

    def site_for(self, target: str | None) -> Site | None:
        """The site one of whose endpoints is ``target``, if any."""
        if not target:
            return None
        with self._lock:
            return next((s for s in self._sites.values() if s.answers_for(target)), None)

    def all(self) -> list[Site]:
        """Every registered site, in registration order."""
        with self._lock:
            return list(self._sites.values())

