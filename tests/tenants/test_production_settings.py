"""Production settings (DEBUG off) in a fresh process, as an operator would start them."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.subprocess_env import subprocess_env

ROOT = Path(__file__).resolve().parents[2]


#: What a fresh operator's shell does not have: the test settings' development switches.
_DEVELOPMENT_ONLY = (
    "DEBUG",
    "SECRET_KEY",
    "FERNET_KEYS",
    "ALLOWED_HOSTS",
    "ALLOW_PRIVATE_UPSTREAMS",
    "ALLOW_HTTP_UPSTREAMS",
    "OTP_REQUIRED",
)


def manage(
    *args: str, settings_module: str | None = "integration.settings.base", **env: str
) -> subprocess.CompletedProcess:
    """``manage.py`` as an operator runs it; ``settings_module=None``: none in the
    environment, as on a fresh shell. It reaches the test services (``subprocess_env``), so
    the embedded default never starts."""
    environment = subprocess_env(
        **{**dict.fromkeys(_DEVELOPMENT_ONLY), "DJANGO_SETTINGS_MODULE": settings_module, **env}
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "present",
    [
        {},
        {"SECRET_KEY": secrets.token_urlsafe(50)},
        {"FERNET_KEYS": Fernet.generate_key().decode()},
    ],
    ids=["neither", "no FERNET_KEYS", "no SECRET_KEY"],
)
def test_production_settings_refuse_to_start_without_their_secrets(present):
    result = manage("check", **present)
    assert result.returncode == 1
    # One plain line for the operator, not a traceback.
    assert result.stderr == (
        "error: Production settings (DEBUG off) need SECRET_KEY and FERNET_KEYS in the "
        "environment.\n"
    )


def test_a_project_command_is_refused_in_one_line_too():
    result = manage("district", "list", "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: Production settings")
    assert result.stderr.count("\n") == 1


#: ``manage.py`` in a process where the embedded extra is not installed.
WITHOUT_EMBEDDED = (
    "import runpy, sys; sys.modules['pgserver'] = None; sys.argv = ['manage.py', 'check'];"
    "runpy.run_path('manage.py', run_name='__main__')"
)


def test_without_database_variables_or_the_embedded_extra_the_settings_say_what_to_do():
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_EMBEDDED],
        cwd=ROOT,
        env=subprocess_env(DATABASE_URL=None, REDIS_URL=None),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "error: Set DATABASE_URL and REDIS_URL, or install the embedded PostgreSQL and Redis "
        "with pip install -e '.[embedded]' (missing: pgserver).\n"
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(50),
        FERNET_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="rosterbridge.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


GOOD_SECRET_KEY = secrets.token_urlsafe(50)
GOOD_FERNET_KEY = Fernet.generate_key().decode()


@pytest.mark.parametrize(
    ("secret_key", "fernet_keys", "expected"),
    [
        ("", GOOD_FERNET_KEY, "SECRET_KEY must be at least 50 characters"),
        ("short-key", GOOD_FERNET_KEY, "SECRET_KEY must be at least 50 characters"),
        ("ab" * 40, GOOD_FERNET_KEY, "SECRET_KEY must be at least 50 characters"),
        ("django-insecure-" + GOOD_SECRET_KEY, GOOD_FERNET_KEY, "SECRET_KEY must be"),
        (GOOD_SECRET_KEY, "x", "FERNET_KEYS entry 1 is not a Fernet key"),
        (GOOD_SECRET_KEY, f"{GOOD_FERNET_KEY},x", "FERNET_KEYS entry 2 is not a Fernet key"),
        (GOOD_SECRET_KEY, GOOD_FERNET_KEY.rstrip("="), "FERNET_KEYS entry 1 is not"),
        (GOOD_SECRET_KEY, secrets.token_urlsafe(32), "FERNET_KEYS entry 1 is not"),
    ],
    ids=[
        "empty SECRET_KEY",
        "short SECRET_KEY",
        "4 distinct characters",
        "django-insecure",
        "FERNET_KEYS=x",
        "second key bad",
        "unpadded",
        "not 32 bytes",
    ],
)
def test_production_settings_refuse_weak_secrets_in_one_line(secret_key, fernet_keys, expected):
    result = manage(
        "check", SECRET_KEY=secret_key, FERNET_KEYS=fernet_keys, ALLOWED_HOSTS="x.example.org"
    )
    assert result.returncode != 0
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not secret_key or secret_key not in result.stderr  # never echoes a secret


def test_production_settings_require_otp_and_secure_cookies():
    code = (
        "from django.conf import settings as s;"
        "print(s.OTP_REQUIRED, s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.DEBUG)"
    )
    result = manage(
        "shell",
        "-c",
        code,
        SECRET_KEY=secrets.token_urlsafe(50),
        FERNET_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="rosterbridge.example.org",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "True",
        "__Host-sessionid",
        "True",
        "False",
    ]


def test_makemigrations_needs_no_secrets_but_other_commands_still_do():
    # makemigrations only reads the models: a plain shell can check for missing migrations.
    result = manage("makemigrations", "--check", "--dry-run", settings_module=None)
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout
    refused = manage("check", settings_module=None)
    assert refused.returncode != 0
    assert "need SECRET_KEY and FERNET_KEYS" in refused.stderr
