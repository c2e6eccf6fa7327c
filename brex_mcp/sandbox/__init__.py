"""A loopback HTTP server that emulates Truto in front of a seeded Brex company.

Stdlib only, and independent of the rest of ``brex_mcp``: the server imports this package only to
start a sandbox, and tests use it as a real network peer.
"""

from .faults import Fault, FaultInjector
from .seed import CompanyData
from .server import RequestRecord, Sandbox

__all__ = ["CompanyData", "Fault", "FaultInjector", "RequestRecord", "Sandbox"]
