"""Kratos' public and admin APIs: the identity domain over HTTP, wire-compatible with Kratos v25.4."""
