"""The bundled demo upstream: shows what gatekeeper passed on."""
