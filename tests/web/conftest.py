"""The identity fixtures serve the UI tests too."""

from tests.identity.conftest import gk, sqlite_dsn, start  # noqa: F401
