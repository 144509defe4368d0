"""Keto's HTTP APIs: the read API (`read.py`, on the `api` listener) and the write API (`write.py`, on `admin`)."""
