"""What a person reads when a command cannot do what was asked: one wording for an unknown
slug in ``sync`` and ``district``, refusals in a user's terms, and with ``--json`` the error
object on stdout. Most cases run in process; one of each kind runs as an operator runs it,
``manage.py`` in a fresh process, where nothing else may reach stdout."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from django.core.management import call_command

from runs.models import SyncRun
from tests.provisioning.factories import district_make
from tests.subprocess_env import subprocess_env
from tests.workers import ROOT

UNKNOWN = "No district with slug 'nowhere'."


def manage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def command(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as exited:
        return int(exited.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ("sync", "provision", "nowhere"),
        ("sync", "passback", "nowhere"),
        ("sync", "evaluate", "nowhere"),
        ("district", "check", "nowhere"),
        ("district", "set", "nowhere", "--term-mode", "as_is"),
    ],
    ids=" ".join,
)
def test_an_unknown_slug_reads_the_same_in_every_command(args):
    assert command(*args) == (1, "", f"error: {UNKNOWN}\n")
    code, out, err = command(*args, "--json")
    assert (code, err) == (1, "")
    assert json.loads(out)["error"] == UNKNOWN


@pytest.mark.django_db  # the fresh process reads the test database: it must exist already
def test_an_unknown_slug_with_json_is_one_object_on_stdout_of_a_fresh_process():
    for args in (("sync", "provision", "nowhere"), ("district", "check", "nowhere")):
        result = manage(*args, "--json")
        assert result.returncode == 1
        assert json.loads(result.stdout)["error"] == UNKNOWN
        assert result.stderr == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("flag", "status", "error"),
    [
        ("--approve", "succeeded", "already succeeded; only a held run can be approved."),
        ("--approve", "queued", "is still queued; only a held run can be approved."),
        ("--discard", "failed", "already failed; only a held or queued run can be discarded."),
    ],
)
def test_a_decision_on_a_run_that_is_not_held_is_refused_in_plain_words(flag, status, error):
    district = district_make()
    run = SyncRun.objects.create(
        district=district, kind=SyncRun.Kind.DELTA, trigger=SyncRun.Trigger.CLI, status=status
    )
    code, out, _ = command("sync", "provision", district.slug, flag, str(run.pk), "--json")
    assert code == 1
    assert json.loads(out) == {
        "run_id": None,
        "status": "refused",
        "error": f"Run #{run.pk} {error}",
    }
    assert command("sync", "provision", district.slug, flag, str(run.pk))[1] == (
        f"refused: Run #{run.pk} {error}\n"
    )
    run.refresh_from_db()
    assert run.status == status


def test_approving_a_finished_run_in_a_fresh_process(transactional_db):
    district = district_make()
    run = SyncRun.objects.create(
        district=district, kind=SyncRun.Kind.FULL, trigger=SyncRun.Trigger.CLI, status="succeeded"
    )
    result = manage("sync", "provision", district.slug, "--approve", str(run.pk), "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"] == (
        f"Run #{run.pk} already succeeded; only a held run can be approved."
    )


@pytest.mark.django_db
def test_an_unknown_run_id_is_an_error_object_with_json():
    district = district_make()
    code, out, _ = command("sync", "provision", district.slug, "--approve", "999999", "--json")
    assert code == 1
    assert json.loads(out)["error"] == f"District {district.slug} has no run #999999."
