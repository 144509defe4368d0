"""The Oathkeeper domain: access rules, their handlers and the pipeline shared by the proxy and decisions API."""
