"""HTTP surface only: routes translate HTTP to service calls and back."""
