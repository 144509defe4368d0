"""Authorizers, one module each."""
