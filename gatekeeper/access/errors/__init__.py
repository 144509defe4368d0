"""Error handlers, one module each."""
