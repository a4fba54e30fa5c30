from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from tenants.models import AuditEvent, District
from tests.tenants.conftest import ALL_SECRETS, CANVAS_TOKEN, CLIENT_SECRET, assert_no_secret
from tests.tenants.fake_upstream import FakeUpstream

pytestmark = pytest.mark.django_db

CREATE_ARGS = [
    "create",
    "north",
    "--name",
    "North Valley",
    "--oneroster-url",
    "https://sis.example.org/campus/api/oneroster/v1p1/nv/ims/oneroster/v1p1",
    "--token-url",
    "https://sis.example.org/campus/oauth2/token?appName=nv",
    "--canvas-url",
    "https://nv.instructure.example",
    "--canvas-account-id",
    "1",
]


def district_cmd(capsys, *args: str) -> tuple[int, str, str]:
    try:
        call_command("district", *args)
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("ONEROSTER_CLIENT_ID", "nv-client")
    monkeypatch.setenv("ONEROSTER_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("CANVAS_TOKEN", CANVAS_TOKEN)
    monkeypatch.delenv("ONEROSTER_VENDOR_KEY", raising=False)
    monkeypatch.delenv("ONEROSTER_VENDOR_SECRET", raising=False)


def test_create_reads_secrets_from_the_environment_and_prints_none(capsys, secret_env):
    code, out, _err = district_cmd(capsys, *CREATE_ARGS, "--term-mode", "as_is", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["ok"] is True
    assert payload["district"]["slug"] == "north"
    assert payload["district"]["secrets_set"]["oneroster_client_secret"] is True
    assert_no_secret(out)
    district = District.objects.get(slug="north")
    assert district.oneroster_client_secret == CLIENT_SECRET
    assert district.oneroster_client_id == "nv-client"
    assert district.term_mode == "as_is"
    event = AuditEvent.objects.get(district=district)
    assert event.actor_label.startswith("cli")


def test_create_prints_a_one_line_summary(capsys, secret_env):
    code, out, _err = district_cmd(capsys, *CREATE_ARGS)
    assert code == 0
    assert out.strip().count("\n") == 0
    assert out.startswith("created district north")
    assert "ONEROSTER_VENDOR_KEY" in out  # says what was not in the environment
    assert_no_secret(out)


def test_create_fails_with_exit_1_and_the_specific_message(capsys, secret_env, settings):
    settings.ALLOW_HTTP_UPSTREAMS = False
    args = list(CREATE_ARGS)
    args[args.index("--canvas-url") + 1] = "http://nv.instructure.example"
    code, _out, err = district_cmd(capsys, *args)
    assert code == 1
    assert "--canvas-url: Use an https:// address" in err
    code, out, _err = district_cmd(capsys, *args, "--json")
    assert code == 1
    assert json.loads(out)["ok"] is False
    assert not District.objects.exists()


def test_set_changes_one_option_per_flag_and_audits_once(capsys, make_district):
    district = make_district()
    code, out, _err = district_cmd(
        capsys,
        "set",
        district.slug,
        "--term-mode",
        "as_is",
        "--full-sync-weekday",
        "sunday",
        "--observers-enabled",
        "--guard-users-drop-pct",
        "20",
        "--json",
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["changed"] == [
        "full_sync_weekday",
        "guard_users_drop_pct",
        "observers_enabled",
        "term_mode",
    ]
    district.refresh_from_db()
    assert (district.term_mode, district.full_sync_weekday, district.observers_enabled) == (
        "as_is",
        District.Weekday.SUNDAY,
        True,
    )
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SETTINGS_CHANGED).count() == 1


def test_set_can_replace_credentials_from_the_environment(capsys, make_district, monkeypatch):
    district = make_district()
    monkeypatch.setenv("CANVAS_TOKEN", "rotated-canvas-token-T4")
    code, out, _err = district_cmd(capsys, "set", district.slug, "--credentials-from-env")
    assert code == 0
    assert out.strip() == f"updated district {district.slug}: canvas_token"
    district.refresh_from_db()
    assert district.canvas_token == "rotated-canvas-token-T4"
    assert "rotated-canvas-token" not in out


def test_set_without_flags_or_for_an_unknown_district_fails(capsys, make_district):
    district = make_district()
    assert district_cmd(capsys, "set", district.slug)[0] == 1
    code, _out, err = district_cmd(capsys, "set", "nowhere", "--term-mode", "as_is")
    assert code == 1
    assert err == "error: No district with slug 'nowhere'.\n"


def test_list_prints_every_district_and_json(capsys, make_district):
    first, second = make_district(), make_district()
    code, out, _err = district_cmd(capsys, "list")
    assert code == 0
    assert first.slug in out
    assert out.strip().splitlines()[-1] == "2 district(s)"
    code, out, _err = district_cmd(capsys, "list", "--json")
    payload = json.loads(out)
    assert [d["slug"] for d in payload["districts"]] == sorted(
        [first.slug, second.slug], key=lambda slug: District.objects.get(slug=slug).name
    )
    assert_no_secret(out)


@pytest.fixture
def upstream():
    server = FakeUpstream()
    yield server
    server.stop()


def test_check_prints_each_step_and_exits_0_when_it_passes(capsys, make_district, upstream):
    district = make_district(**upstream.district_fields())
    code, out, _err = district_cmd(capsys, "check", district.slug)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 8
    assert lines[0].startswith("ok   OneRoster sign-in")
    assert lines[-1] == f"district {district.slug}: connection check passed (6 steps ok)"
    assert_no_secret(out)


def test_check_json_exits_1_on_failure_without_secrets(capsys, make_district, upstream):
    from tests.tenants.fake_upstream import TOKEN_PATH, json_response

    upstream.routes[("POST", TOKEN_PATH)] = json_response(401, {"echo": list(ALL_SECRETS)})
    district = make_district(**upstream.district_fields())
    code, out, _err = district_cmd(capsys, "check", district.slug, "--json")
    assert code == 1
    payload = json.loads(out)
    assert payload["ok"] is False
    assert payload["district"] == district.slug
    assert payload["steps"][0]["name"] == "oneroster_auth"
    assert payload["steps"][0]["ok"] is False
    assert_no_secret(out)
