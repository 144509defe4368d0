"""gatekeeper: an authenticating reverse-proxy sidecar.

Kratos-compatible identity flows and Oathkeeper-compatible access rules in one process.
"""

__version__ = "0.1.0"
