"""The run core's tests use the provisioning sandbox and the console's staff fixtures."""

from tests.console.conftest import client_for, console, operator
from tests.provisioning.conftest import fast_imports, sandbox, sandbox_district

__all__ = ["client_for", "console", "fast_imports", "operator", "sandbox", "sandbox_district"]
