"""HTTP adapters (Starlette): routes translate requests to domain calls and domain results back to HTTP."""
