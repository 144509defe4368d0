"""Authenticators, one module each."""
