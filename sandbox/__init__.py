"""A local AWS cloud on loopback for running the collection's playbooks without an AWS account.

moto (server mode) plus extensions for what moto lacks: Local Zones, Outposts, and Route 53 health
checks that follow the state of the inventory's sites. Modules reach it only through
``endpoint_url`` and dummy credentials (see ``vars.yml`` in the state dir).
"""

from sandbox.client import NotRunning, Sandbox, SandboxError
from sandbox.state import UnknownSite

__all__ = ["NotRunning", "Sandbox", "SandboxError", "UnknownSite"]
