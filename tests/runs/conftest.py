"""The run core's tests use the provisioning sandbox, the console's staff fixtures and the
tenants' district maker."""

from tests.console.conftest import client_for, console, operator
from tests.provisioning.conftest import fast_imports, sandbox, sandbox_district
from tests.tenants.conftest import make_district

__all__ = [
    "client_for",
    "console",
    "fast_imports",
    "make_district",
    "operator",
    "sandbox",
    "sandbox_district",
]
