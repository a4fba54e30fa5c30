"""SIS imports through the client: create, poll to each terminal state, errors, abort."""

from __future__ import annotations

import pytest
import responses

from integration.canvas.client import CanvasClient, CanvasConfig
from integration.canvas.errors import ImportAlreadyRunning, ImportTimedOut
from integration.canvas.types import SisImportParams
from tests.integration.canvas.conftest import ROSTER, csv_text, make_zip

ACCOUNT = "1"


def write_zip(tmp_path, files, name="upload.zip"):
    path = tmp_path / name
    path.write_bytes(make_zip(files))
    return path


def import_and_wait(client: CanvasClient, path, params=None, **wait):
    created = client.sis_import_create(ACCOUNT, zip_path=path, params=params or SisImportParams())
    return created, client.sis_import_wait(ACCOUNT, created.id, **wait)


def test_a_clean_import_ends_imported_with_counts(client, state, roster_zip):
    seen = []
    created, final = import_and_wait(client, roster_zip, on_progress=seen.append)

    assert created.workflow_state == "created"
    assert final.workflow_state == "imported"
    assert final.accepted
    assert final.progress == 100
    assert final.counts["users"] == 4
    assert final.counts["enrollments"] == 5
    assert (final.error_count, final.warning_count) == (0, 0)
    assert final.supplied_batches == ("account", "term", "course", "section", "user", "enrollment")
    assert seen[-1] == final
    assert final.ended_at is not None
    assert "C1" in state.courses_by_sis


def test_row_problems_end_imported_with_messages_and_every_error_pages_through(client, tmp_path):
    bad_rows = [f"C404,,U{i},student,active" for i in range(250)]
    path = write_zip(
        tmp_path,
        {**ROSTER, "extra.csv": csv_text("course_id,section_id,user_id,role,status", *bad_rows)},
    )
    client.per_page = 100
    _, final = import_and_wait(client, path)

    assert final.workflow_state == "imported_with_messages"
    assert final.accepted
    assert final.warning_count == 250
    assert len(final.processing_warnings) == 25
    assert final.processing_warnings[-1] == (
        "and 226 more warnings that were not included",
        "Download the error file to see all warnings.",
    )
    assert final.errors_attachment["filename"].endswith(".csv")
    errors = list(client.sis_import_errors(ACCOUNT, final.id))
    assert len(errors) == 250
    assert errors[0].file == "extra.csv"
    assert errors[0].row == 2
    assert errors[-1].row == 251
    assert errors[0].message == (
        "User not found for enrollment (User ID: U0, Course ID: C404, Section ID: )"
    )
    assert not errors[0].failure


def test_a_malformed_file_ends_failed_with_messages(client, tmp_path):
    path = write_zip(tmp_path, {**ROSTER, "users.csv": 'user_id,login_id,status\nU1,"ann,active\n'})
    _, final = import_and_wait(client, path)

    assert final.workflow_state == "failed_with_messages"
    assert not final.accepted
    assert final.processing_errors == (("users.csv", "Malformed CSV"),)
    assert final.error_count == 1
    # The other files were still applied: their rows now miss the users.
    assert final.warning_count == 5
    errors = list(client.sis_import_errors(ACCOUNT, final.id))
    assert [(e.file, e.failure) for e in errors if e.failure] == [("users.csv", True)]


def test_an_injected_failure_applies_nothing(client, state, roster_zip):
    state.runner.fail_next()
    _, final = import_and_wait(client, roster_zip)

    assert final.workflow_state == "failed_with_messages"
    assert final.processing_errors[0][1].startswith("Error while importing CSV. Please contact")
    assert state.courses == {}


def test_an_aborted_import_is_terminal(client, state, roster_zip):
    state.runner.pause()
    created = client.sis_import_create(ACCOUNT, zip_path=roster_zip, params=SisImportParams())
    aborted = client.sis_import_abort(ACCOUNT, created.id)
    state.runner.resume()

    assert aborted.workflow_state == "aborted"
    assert client.sis_import_wait(ACCOUNT, created.id).workflow_state == "aborted"
    assert client.sis_imports_running(ACCOUNT) == []
    assert state.courses == {}


def test_a_second_import_is_refused_while_one_is_running(client, state, roster_zip):
    state.runner.pause()
    first = client.sis_import_create(ACCOUNT, zip_path=roster_zip, params=SisImportParams())

    with pytest.raises(ImportAlreadyRunning) as refused:
        client.sis_import_create(ACCOUNT, zip_path=roster_zip, params=SisImportParams())

    assert [item.id for item in refused.value.running] == [first.id]
    assert len(state.runner.records) == 1
    state.runner.resume()
    assert client.sis_import_wait(ACCOUNT, first.id).accepted
    assert client.sis_imports_running(ACCOUNT) == []


def test_waiting_backs_off_and_times_out(client, state, roster_zip, sleeps):
    state.runner.pause()
    created = client.sis_import_create(ACCOUNT, zip_path=roster_zip, params=SisImportParams())

    with pytest.raises(ImportTimedOut) as timed_out:
        client.sis_import_wait(ACCOUNT, created.id, timeout=10, poll_initial=1, poll_max=4)

    assert sleeps == [1, 2, 4, 3]
    assert timed_out.value.last.workflow_state == "created"
    state.runner.resume()


def test_parameters_reach_canvas_and_diffing_guards_against_a_shrunken_file(
    client, state, tmp_path
):
    params = SisImportParams(
        diffing_data_set_identifier="oneroster:demo:2025",
        change_threshold=10,
        diffing_drop_status="inactive",
        diffing_user_remove_status="suspended",
    )
    _, first = import_and_wait(client, write_zip(tmp_path, ROSTER, "a.zip"), params)
    shrunk = {**ROSTER, "enrollments.csv": csv_text("course_id,section_id,user_id,role,status")}
    _, second = import_and_wait(client, write_zip(tmp_path, shrunk, "b.zip"), params)

    assert first.diffing_data_set_identifier == "oneroster:demo:2025"
    assert first.change_threshold == 10
    assert second.diffing_threshold_exceeded
    assert second.workflow_state == "imported_with_messages"
    assert second.processing_warnings == (
        ("", "Diffing not performed because file size difference exceeded threshold"),
    )
    # Nothing was implicitly dropped.
    assert state.enrollment_counts()["active"] == 5


def test_diffing_applies_only_the_difference_with_the_drop_status(client, state, tmp_path):
    params = SisImportParams(
        diffing_data_set_identifier="oneroster:demo:2025", diffing_drop_status="inactive"
    )
    import_and_wait(client, write_zip(tmp_path, ROSTER, "a.zip"), params)
    rows = ROSTER["enrollments.csv"].replace("C2,S3,U3,student,active\n", "")
    _, second = import_and_wait(
        client, write_zip(tmp_path, {**ROSTER, "enrollments.csv": rows}, "b.zip"), params
    )

    assert second.diffed_against_import_id == 1
    assert second.counts["enrollments"] == 1
    assert second.counts["users"] == 0
    assert state.enrollment_counts() == {"active": 4, "inactive": 1, "completed": 0, "deleted": 0}


def test_invalid_parameter_combinations_fail_before_sending():
    with pytest.raises(ValueError, match="change_threshold"):
        SisImportParams(change_threshold=0)
    with pytest.raises(ValueError, match="add/clear_sis_stickiness"):
        SisImportParams(add_sis_stickiness=True)
    with pytest.raises(ValueError, match="diffing_drop_status"):
        SisImportParams(diffing_drop_status="gone")
    with pytest.raises(ValueError, match="batch_mode cannot be combined"):
        SisImportParams(batch_mode=True, batch_mode_term_id="T1", diffing_data_set_identifier="x")


def test_params_serialise_only_what_is_set():
    params = SisImportParams(skip_deletes=True, change_threshold=5)

    assert params.to_form() == {
        "import_type": "instructure_csv",
        "extension": "zip",
        "skip_deletes": "true",
        "change_threshold": "5",
    }


@responses.activate
def test_running_imports_are_filtered_on_our_side_when_the_server_ignores_the_filter():
    """A Canvas (or proxy) that ignores ``workflow_state[]`` lists finished imports too;
    only the ones in a running state count."""
    url = "https://canvas.test/api/v1/accounts/1/sis_imports"
    responses.get(
        url,
        json={
            "sis_imports": [
                {"id": 1, "workflow_state": "imported"},
                {"id": 2, "workflow_state": "failed_with_messages"},
                {"id": 3, "workflow_state": "importing"},
                {"id": 4, "workflow_state": "aborted"},
            ]
        },
    )
    with CanvasClient(
        CanvasConfig(base_url="https://canvas.test", token="t"), sleep=lambda _s: None
    ) as client:
        running = client.sis_imports_running(ACCOUNT)

    assert [item.id for item in running] == [3]
