"""The run core's tests use the provisioning sandbox and the console's staff fixtures."""

from tests.provisioning.conftest import fast_imports, sandbox, sandbox_district
from tests.tenants.console.conftest import client_for, console, operator

__all__ = ["client_for", "console", "fast_imports", "operator", "sandbox", "sandbox_district"]
