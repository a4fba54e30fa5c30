"""The SIS zip of a plan: fixed file names, Canvas headers, explicit drop statuses."""

from __future__ import annotations

import csv
import io
import zipfile

import msgspec
import pytest

from provisioning.services.sis_zip import MAIN, RETIRE, sis_zip_build, sis_zip_rows_locate
from tests.provisioning.factories import district_make
from tests.provisioning.planning import commit, plan_records
from tests.provisioning.roster import roster_build

pytestmark = pytest.mark.django_db


def _read(path) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(path) as archive:
        return {
            name: list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
            for name in archive.namelist()
        }


def _zip(tmp_path, ws, district, phase=MAIN):
    path = tmp_path / f"{phase}.zip"
    manifest = sis_zip_build(ws=ws, district=district, phase=phase, path=path)
    return manifest, _read(path)


def test_a_first_zip_has_every_file_with_canvas_headers(tmp_path):
    district = district_make(publish_courses_on_create=True)
    _, ws, _ = plan_records(district, roster_build().records())
    manifest, files = _zip(tmp_path, ws, district)
    assert list(files) == [
        "accounts.csv",
        "terms.csv",
        "users.csv",
        "courses.csv",
        "sections.csv",
        "enrollments.csv",
    ]
    assert manifest.rows["enrollments.csv"] == 30
    assert files["accounts.csv"][0] == {
        "account_id": "sch1",
        "parent_account_id": "",
        "name": "School 1",
        "status": "active",
    }
    assert {row["status"] for row in files["courses.csv"]} == {"published"}
    assert files["users.csv"][0]["user_id"] == "s1-1-1"


def test_drops_carry_the_district_drop_statuses(tmp_path):
    district = district_make(user_drop_status="deleted", enrollment_drop_status="completed")
    roster = roster_build()
    run, ws, _ = plan_records(district, roster.records())
    commit(run, ws)
    roster.users = [u for u in roster.users if u.sourced_id != "s1-1-1"]
    roster.enrollments = [e for e in roster.enrollments if e.user != "s1-1-1"]
    roster.classes = [c for c in roster.classes if c.sourced_id != "sch2-c3"]
    roster.enrollments = [e for e in roster.enrollments if e.class_ != "sch2-c3"]
    _, ws, plan = plan_records(district, roster.records())
    _, files = _zip(tmp_path, ws, district)
    assert files["users.csv"] == [
        {
            "user_id": "s1-1-1",
            "login_id": "student111",
            "first_name": "Stu",
            "last_name": "Dent1",
            "email": "student111@example.org",
            "status": "deleted",
        }
    ]
    assert {r["status"] for r in files["enrollments.csv"]} == {"completed"}
    assert len(files["enrollments.csv"]) == 1 + 5
    assert files["courses.csv"][0]["status"] == "completed"
    # Deleting a section would delete its enrollments in Canvas: planned, never sent.
    assert plan.by_file["sections"]["drop"] == 1
    assert "sections.csv" not in files


def test_a_changed_user_id_renames_the_canvas_user_and_a_role_change_ends_the_old_enrollment(
    tmp_path,
):
    district = district_make()
    roster = roster_build(schools=1, classes_per_school=1, students_per_class=1)
    run, ws, _ = plan_records(district, roster.records())
    commit(run, ws)
    district.user_id_source = "identifier"
    district.save(update_fields=["user_id_source"])
    roster.enrollments = [
        msgspec.structs.replace(e, role="aide") if e.sourced_id == "t-sch1-c1" else e
        for e in roster.enrollments
    ]
    _, ws, _ = plan_records(district, roster.records())
    _, files = _zip(tmp_path, ws, district)
    assert files["change_sis_id.csv"] == [
        {"old_id": "s1-1-1", "new_id": "S111", "type": "user"},
        {"old_id": "t1", "new_id": "T0001", "type": "user"},
    ]
    assert files["enrollments.csv"] == [
        {
            "course_id": "sch1-c1",
            "section_id": "sch1-c1",
            "user_id": "S111",
            "role": "student",
            "status": "active",
        },
        {
            "course_id": "sch1-c1",
            "section_id": "sch1-c1",
            "user_id": "T0001",
            "role": "teacher",
            "status": "inactive",
        },
        {
            "course_id": "sch1-c1",
            "section_id": "sch1-c1",
            "user_id": "T0001",
            "role": "ta",
            "status": "active",
        },
    ]


def test_old_terms_are_retired_in_a_second_zip_after_courses_moved(tmp_path):
    district = district_make(term_mode="as_is")
    roster = roster_build(schools=1, classes_per_school=1, students_per_class=1)
    run, ws, _ = plan_records(district, roster.records())
    commit(run, ws)
    district.term_mode = "consolidated"
    _, ws, _ = plan_records(district, roster.records())
    _, main = _zip(tmp_path, ws, district)
    assert [r["term_id"] for r in main["terms.csv"]] == [f"{district.slug}-sy2026"]
    assert main["courses.csv"][0]["term_id"] == f"{district.slug}-sy2026"
    _, retire = _zip(tmp_path, ws, district, phase=RETIRE)
    assert list(retire) == ["terms.csv"]
    assert sorted((r["term_id"], r["status"]) for r in retire["terms.csv"]) == [
        ("sch1-fall", "deleted"),
        ("sch1-spring", "deleted"),
        ("sy2026", "deleted"),
    ]


def test_canvas_row_numbers_map_back_to_plan_objects():
    district = district_make()
    _, ws, _ = plan_records(district, roster_build().records())
    located = sis_zip_rows_locate(
        ws=ws, district=district, phase=MAIN, filename="users.csv", rows=[2, 3, 27]
    )
    assert located == {2: "s1-1-1", 3: "s1-1-2", 27: "t2"}
