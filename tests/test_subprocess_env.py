"""The environment test subprocesses get reaches this session's database and Redis exactly."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.subprocess_env import subprocess_env
from tests.workers import ROOT

PROBE = """
import json, django, redis
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT current_database(), inet_server_port(), current_setting('data_directory')"
    )
    name, port, data = cursor.fetchone()
print(json.dumps({"name": name, "port": port, "data": data,
                  "marker": redis.Redis.from_url(settings.REDIS_URL).get("probe-marker").decode()}))
"""


@pytest.mark.django_db
def test_a_subprocess_sees_the_test_database_and_redis_of_this_session():
    marker = uuid.uuid4().hex
    redis.Redis.from_url(settings.REDIS_URL).set("probe-marker", marker, ex=60)
    with connection.cursor() as cursor:
        cursor.execute("SELECT inet_server_port(), current_setting('data_directory')")
        port, data = cursor.fetchone()
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen == {
        "name": connection.settings_dict["NAME"],
        "port": port,
        "data": data,
        "marker": marker,
    }


def test_extra_variables_override_and_none_removes():
    env = subprocess_env(DEBUG=None, EXTRA="1")
    assert "DEBUG" not in env
    assert env["EXTRA"] == "1"
    assert env["ENV_FILE"] == ""
