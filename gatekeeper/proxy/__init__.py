"""The data plane: the streaming reverse proxy (:4455) and the decisions API (:4456/decisions)."""
