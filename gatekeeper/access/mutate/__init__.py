"""Mutators, one module each."""
