"""The simulated Canvas reads and applies SIS zips by Canvas's rules, with Canvas's words."""

from __future__ import annotations

import pytest

from sandbox.canvas.records import E_ACTIVE, E_COMPLETED, E_DELETED, E_INACTIVE, STUDENT
from sandbox.canvas.sis.context import ImportOptions
from sandbox.canvas.sis.diffing import diff_sources
from sandbox.canvas.sis.run import apply_sources, messages_by_row, sis_zip_apply
from sandbox.canvas.sis.upload import importer_for, read_sis_upload
from tests.sandbox.canvas.conftest import ROSTER, csv_text, make_zip


def run(state, files, **options):
    """Apply a zip of ``files``; returns every message as (file, message, row)."""
    read_messages, result = sis_zip_apply(state, make_zip(files), options=ImportOptions(**options))
    return messages_by_row([*read_messages, *result.messages]), result


def warnings_of(state, files, **options):
    messages, _ = run(state, files, **options)
    return messages


def enrollment_state(state, section_sis, user_sis, type_code=STUDENT):
    section = state.sections_by_sis[section_sis]
    user = state.users_by_sis[user_sis]
    return section.enrollments.get(type_code, {}).get(user.id)


# --- header detection ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        (["user_id", "login_id", "status"], "user"),
        (["user_id", "login_id", "existing_user_id"], "login"),
        (["account_id", "parent_account_id", "name", "status"], "account"),
        (["term_id", "name", "status"], "term"),
        (["course_id", "short_name", "long_name", "status"], "course"),
        (["section_id", "course_id", "name", "status"], "section"),
        (["course_id", "user_id", "role", "status"], "enrollment"),
        (["section_id", "user_integration_id", "role", "status"], "enrollment"),
        (["observer_id", "student_id", "status"], "user_observer"),
        (["xlist_course_id", "section_id", "status"], "xlist"),
        (["old_id", "new_id", "type"], "change_sis_id"),
        # A "name" column turns an enrollments file into a sections file: first match wins.
        (["section_id", "user_id", "role", "status", "name"], "section"),
        # "short_name" in a sections file makes it a courses file.
        (["course_id", "section_id", "name", "short_name"], "course"),
        (["foo", "bar"], None),
    ],
)
def test_file_type_comes_from_the_header_first_match_in_canvas_order(header, kind):
    assert importer_for(header) == kind


def test_header_names_are_case_insensitive_and_a_bom_is_allowed(state):
    users = "\ufeffUSER_ID,Login_ID,First_Name,Last_Name,STATUS\nU9,nine,Nia,Nine,active\n"
    messages, result = run(state, {"people.csv": users})

    assert messages == []
    assert result.counts["users"] == 1
    assert state.users_by_sis["U9"].name == "Nia Nine"


def test_unknown_headers_fail_the_file(state):
    messages = warnings_of(state, {"mystery.csv": csv_text("foo,bar", "1,2")})

    assert messages == [("mystery.csv", "Couldn't find Canvas CSV import headers", None)]
    read = read_sis_upload(make_zip({"mystery.csv": "foo,bar\n"}))
    assert read.messages[0].failure


def test_invalid_utf8_fails_the_file_and_nothing_of_it_is_applied(state):
    bad = b"user_id,login_id,status,first_name\nU1,ann,active,Ren\xe9e\n"
    read = read_sis_upload(make_zip({"users.csv": bad}))

    assert [(m.file, m.message, m.failure) for m in read.messages] == [
        ("users.csv", "Invalid UTF-8", True)
    ]
    assert read.sources == []


def test_malformed_csv_fails_the_file(state):
    broken = 'user_id,login_id,status\nU1,"ann,active\n'
    read = read_sis_upload(make_zip({"users.csv": broken, "terms.csv": ROSTER["terms.csv"]}))

    assert [(m.file, m.message, m.failure) for m in read.messages] == [
        ("users.csv", "Malformed CSV", True)
    ]
    assert [s.kind for s in read.sources] == ["term"]


def test_text_after_a_closing_quote_is_malformed(state):
    broken = 'user_id,login_id,status\n"U1"x,ann,active\n'
    read = read_sis_upload(make_zip({"users.csv": broken}))

    assert [m.message for m in read.messages] == ["Malformed CSV"]


def test_non_csv_files_are_skipped_with_a_warning_and_system_files_ignored(state):
    files = {
        "readme.txt": "hello",
        "__MACOSX/._users.csv": "junk",
        ".hidden.csv": "junk",
        "empty.csv": "",
        "nested/users.csv": ROSTER["users.csv"],
    }
    read = read_sis_upload(make_zip(files))

    assert [(m.file, m.message, m.failure) for m in read.messages] == [
        ("readme.txt", "Skipping unknown file type", False)
    ]
    assert [(s.name, s.kind, s.row_count) for s in read.sources] == [
        ("nested/users.csv", "user", 4)
    ]


def test_a_single_csv_upload_is_read_as_a_csv(state):
    read = read_sis_upload(ROSTER["users.csv"].encode(), extension="csv", file_name="users.csv")

    assert [(s.name, s.kind) for s in read.sources] == [("users.csv", "user")]


# --- processing order and rows ----------------------------------------------------------------


def test_files_apply_in_canvas_order_whatever_their_order_in_the_zip(state):
    reversed_zip = dict(reversed(list(ROSTER.items())))
    messages, result = run(state, reversed_zip)

    assert messages == []
    assert result.supplied_batches == ["account", "term", "course", "section", "user", "enrollment"]
    assert result.counts["enrollments"] == 5
    assert enrollment_state(state, "S1", "U1") == E_ACTIVE


def test_row_numbers_count_the_header_and_skip_blank_lines(state):
    users = "user_id,login_id,status\n\nU1,ann,active\n,,\n   \nU2,,active\n"
    messages = warnings_of(state, {"users.csv": users})

    # Blank lines are not rows; rows whose fields are all blank are rows, but skipped.
    assert messages == [("users.csv", "No login_id given for user U2", 5)]


def test_fields_are_stripped_and_empty_means_nil(state):
    users = "user_id,login_id,status,full_name\n  U1  , ann ,  active ,  \n"
    run(state, {"users.csv": users})

    user = state.users_by_sis["U1"]
    assert (user.login_id, user.name) == ("ann", "ann")


def test_warnings_carry_the_row_as_row_info(state):
    _, result = run(state, {"users.csv": "user_id,login_id,status\nU1,ann,maybe\n"})

    assert result.messages[0].row_info == "U1,ann,maybe\n"


# --- each importer's row checks ----------------------------------------------------------------


def test_missing_required_columns_show_up_as_row_errors(state):
    messages = warnings_of(
        state,
        {
            "users.csv": csv_text("user_id,login_id", "U1,ann"),
            "courses.csv": csv_text("course_id,short_name", "C1,ALG"),
        },
    )

    assert messages == [
        ("courses.csv", "No long_name given for course C1", 2),
        ("users.csv", "No status given for user U1", 2),
    ]


def test_bad_status_values_are_reported_per_type(state):
    run(state, ROSTER)
    messages = warnings_of(
        state,
        {
            "accounts.csv": csv_text(
                "account_id,parent_account_id,name,status", "NEW,,New School,open"
            ),
            "terms.csv": csv_text("term_id,name,status", "T9,Term 9,current"),
            "courses.csv": csv_text(
                "course_id,short_name,long_name,status", "C9,X,Course 9,inactive"
            ),
            "sections.csv": csv_text("section_id,course_id,name,status", "S9,C1,Sec 9,hidden"),
            "users.csv": csv_text("user_id,login_id,status", "U9,nine,gone"),
            "enrollments.csv": csv_text("course_id,user_id,role,status", "C1,U1,student,dropped"),
            "observers.csv": csv_text("observer_id,student_id,status", "U2,U1,pending"),
        },
    )

    assert messages == [
        ("accounts.csv", 'Improper status "open" for account NEW, skipping', 2),
        ("terms.csv", 'Improper status "current" for term T9', 2),
        ("courses.csv", 'Improper status "inactive" for course C9', 2),
        ("sections.csv", 'Improper status "hidden" for section S9 in course C1', 2),
        ("users.csv", "Improper status for user U9", 2),
        ("enrollments.csv", 'Improper status "dropped" for an enrollment', 2),
        ("observers.csv", 'Improper status "pending" for a user_observer', 2),
    ]


def test_missing_ids_are_reported(state):
    messages = warnings_of(
        state,
        {
            "accounts.csv": csv_text("account_id,parent_account_id,name,status", ",,X,active"),
            "courses.csv": csv_text(
                "course_id,short_name,long_name,status",
                ",X,Course,active",
                "C2,,Course,active",
            ),
            "sections.csv": csv_text("section_id,course_id,name,status", "S1,,Name,active"),
            "users.csv": csv_text("user_id,login_id,status", ",ann,active"),
            "enrollments.csv": csv_text(
                "course_id,section_id,user_id,role,status",
                ",,U1,student,active",
                "C1,,,student,active",
            ),
        },
    )

    assert messages == [
        ("accounts.csv", "No account_id given for an account", 2),
        ("courses.csv", "No course_id given for a course", 2),
        ("courses.csv", "No short_name given for course C2", 3),
        ("sections.csv", "No course_id given for a section S1", 2),
        ("users.csv", "No user_id given for a user", 2),
        ("enrollments.csv", "No course_id or section_id given for an enrollment", 2),
        ("enrollments.csv", "No user_id given for an enrollment", 3),
    ]


def test_unknown_references_are_reported_and_the_rest_is_applied(state):
    messages = warnings_of(
        state,
        {
            **ROSTER,
            "accounts.csv": csv_text(
                "account_id,parent_account_id,name,status",
                "SCH1,,North High,active",
                "SCH2,,South Middle,active",
                "KID,NOPE,Orphan School,active",
            ),
            "courses.csv": csv_text(
                "course_id,short_name,long_name,account_id,term_id,status",
                "C1,ALG1,Algebra 1,SCH1,T2025,active",
                "C2,BIO,Biology,SCH2,T2025,published",
                "C3,CHEM,Chemistry,GHOST,T2025,active",
                "C4,PHYS,Physics,SCH1,NO_TERM,active",
            ),
            "sections.csv": csv_text(
                "section_id,course_id,name,status",
                "S1,C1,Algebra 1 - P1,active",
                "S2,C1,Algebra 1 - P2,active",
                "S3,C2,Biology - P3,active",
                "S4,C404,Nowhere,active",
            ),
            "enrollments.csv": csv_text(
                "course_id,section_id,user_id,role,status",
                "C1,S1,U1,student,active",
                "C1,S1,NOBODY,student,active",
                "C404,S404,U1,student,active",
                "C1,S404,U1,student,active",
                "C404,,U1,student,active",
                "C1,S3,U2,student,active",
                "C1,S1,U2,principal,active",
                "C1,S1,U3,observer,active",
            ),
            "observers.csv": csv_text(
                "observer_id,student_id,status", "GHOST,U1,active", "U3,GHOST,active"
            ),
        },
    )

    assert messages == [
        ("accounts.csv", "Parent account didn't exist for KID", 4),
        ("courses.csv", 'Account not found "GHOST" for course C3', 4),
        ("sections.csv", "Section S4 references course C404 which doesn't exist", 5),
        (
            "enrollments.csv",
            "User not found for enrollment (User ID: NOBODY, Course ID: C1, Section ID: S1)",
            3,
        ),
        (
            "enrollments.csv",
            "Neither course nor section existed for user enrollment "
            "(Course ID: C404, Section ID: S404, User ID: U1)",
            4,
        ),
        ("enrollments.csv", "An enrollment referenced a non-existent section S404", 5),
        (
            "enrollments.csv",
            "Neither course nor section existed for user enrollment "
            "(Course ID: C404, Section ID: , User ID: U1)",
            6,
        ),
        (
            "enrollments.csv",
            "An enrollment listed a section (S3) and a course (C1) that are unrelated "
            "for user (U2)",
            7,
        ),
        ("enrollments.csv", 'Improper role "principal" for an enrollment', 8),
        ("observers.csv", "An observer referenced a non-existent user GHOST", 2),
        ("observers.csv", "A student referenced a non-existent user GHOST", 3),
    ]
    # Canvas puts a course with an unknown term in the default term, silently.
    physics = state.courses_by_sis["C4"]
    assert physics.term_id == state.default_term.id
    assert enrollment_state(state, "S1", "U1") == E_ACTIVE
    assert "C3" not in state.courses_by_sis


def test_an_enrollment_with_only_a_course_goes_to_the_default_section(state):
    run(
        state,
        {**ROSTER, "enrollments.csv": csv_text("course_id,user_id,role,status", "C1,U3,ta,active")},
    )

    course = state.courses_by_sis["C1"]
    default = state.sections[course.default_section_id]
    assert default.default
    assert default.enrollments[2] == {state.users_by_sis["U3"].id: E_ACTIVE}


def test_parents_must_come_before_children_in_accounts(state):
    messages = warnings_of(
        state,
        {
            "accounts.csv": csv_text(
                "account_id,parent_account_id,name,status",
                "CHILD,PARENT,Child,active",
                "PARENT,,Parent,active",
            )
        },
    )

    assert messages == [("accounts.csv", "Parent account didn't exist for CHILD", 2)]


def test_bad_dates_are_reported(state):
    messages = warnings_of(
        state,
        {
            "terms.csv": csv_text("term_id,name,status,start_date", "T1,Term,active,someday"),
            "courses.csv": csv_text(
                "course_id,short_name,long_name,status,start_date", "C1,A,Alpha,active,13/45/2020"
            ),
        },
    )

    assert messages == [
        ("terms.csv", "Bad date format for term T1", 2),
        ("courses.csv", "Bad date format for course C1", 2),
    ]
    assert "C1" in state.courses_by_sis


def test_dates_are_parsed_leniently_as_utc(state):
    run(
        state,
        {
            "courses.csv": csv_text(
                "course_id,short_name,long_name,status,start_date,end_date",
                "C1,A,Alpha,active,2013-05-03 00:00:00-06:00,2013-06-01",
            )
        },
    )

    course = state.courses_by_sis["C1"]
    assert (course.start_at, course.end_at) == ("2013-05-03T06:00:00Z", "2013-06-01T00:00:00Z")
    assert course.restrict_dates


# --- behaviour of statuses ---------------------------------------------------------------------


def test_course_status_sets_the_workflow_state(state):
    run(state, ROSTER)

    assert state.courses_by_sis["C1"].workflow_state == "claimed"  # active = unpublished
    assert state.courses_by_sis["C2"].workflow_state == "available"  # published
    run(
        state,
        {
            "courses.csv": csv_text(
                "course_id,short_name,long_name,status", "C1,A,A,completed", "C2,B,B,deleted"
            )
        },
    )
    assert state.courses_by_sis["C1"].workflow_state == "completed"
    assert state.courses_by_sis["C2"].workflow_state == "deleted"
    run(state, {"courses.csv": csv_text("course_id,short_name,long_name,status", "C1,A,A,active")})
    assert state.courses_by_sis["C1"].workflow_state == "available"


def test_enrollment_statuses(state):
    run(state, ROSTER)
    run(
        state,
        {
            "enrollments.csv": csv_text(
                "course_id,section_id,user_id,role,status",
                "C1,S1,U1,student,inactive",
                "C1,S2,U2,student,completed",
                "C2,S3,U3,student,deleted",
            )
        },
    )

    assert enrollment_state(state, "S1", "U1") == E_INACTIVE
    assert enrollment_state(state, "S2", "U2") == E_COMPLETED
    assert enrollment_state(state, "S3", "U3") == E_DELETED


def test_deleted_last_completed_deletes_only_when_another_enrollment_remains(state):
    run(state, ROSTER)
    run(
        state,
        {
            "enrollments.csv": csv_text(
                "course_id,section_id,user_id,role,status",
                "C1,S2,U1,student,active",
                "C1,S1,U1,student,deleted_last_completed",
                "C1,S2,U2,student,deleted_last_completed",
            )
        },
    )

    assert enrollment_state(state, "S1", "U1") == E_DELETED  # moved to S2
    assert enrollment_state(state, "S2", "U2") == E_COMPLETED  # last one: completed


def test_skip_deletes_ignores_deleted_rows(state):
    run(state, ROSTER)
    _, result = run(
        state,
        {
            "enrollments.csv": csv_text(
                "course_id,section_id,user_id,role,status", "C1,S1,U1,student,deleted"
            )
        },
        skip_deletes=True,
    )

    assert result.counts["enrollments"] == 0
    assert enrollment_state(state, "S1", "U1") == E_ACTIVE


def test_suspended_users_keep_their_enrollments_deleted_ones_lose_them(state):
    run(state, ROSTER)
    run(
        state,
        {"users.csv": csv_text("user_id,login_id,status", "U1,ann,suspended", "U2,bob,deleted")},
    )

    assert state.users_by_sis["U1"].login_state == "suspended"
    assert enrollment_state(state, "S1", "U1") == E_ACTIVE
    assert enrollment_state(state, "S2", "U2") == E_DELETED
    messages = warnings_of(
        state,
        {
            "enrollments.csv": csv_text(
                "course_id,section_id,user_id,role,status", "C1,S2,U2,student,active"
            )
        },
    )
    assert messages == [
        ("enrollments.csv", "Attempted enrolling of deleted user U2 in course C1", 2)
    ]


def test_a_login_claimed_by_another_sis_id_is_refused(state):
    run(state, ROSTER)
    messages = warnings_of(
        state,
        {
            "users.csv": csv_text(
                "user_id,login_id,status",
                "NEWID,ann,active",  # ann belongs to U1
                "U2,ann,active",  # U2 wants U1's login
            )
        },
    )

    assert messages == [
        (
            "users.csv",
            "An existing Canvas user with the SIS ID U1 has already claimed NEWID's user_id "
            "requested login information, skipping",
            2,
        ),
        (
            "users.csv",
            "An existing Canvas user with the SIS ID U1 has already claimed U2's user_id "
            "requested login information, skipping",
            3,
        ),
    ]
    assert state.users_by_sis["U2"].login_id == "bob"


def test_a_login_without_sis_id_is_adopted(state):
    manual = state.add_user(None, "Ann", "Ann Manual")
    run(state, {"users.csv": csv_text("user_id,login_id,status", "U1,ann,active")})

    assert state.users_by_sis["U1"] is manual


def test_update_sis_id_if_login_claimed_moves_the_login(state):
    run(state, ROSTER)
    messages = warnings_of(
        state,
        {"users.csv": csv_text("user_id,login_id,status", "NEWID,ann,active")},
        update_sis_id_if_login_claimed=True,
    )

    assert messages == []
    assert state.users_by_sis["NEWID"].login_id == "ann"
    assert "U1" not in state.users_by_sis


def test_user_names_are_inferred_like_canvas(state):
    run(
        state,
        {
            "users.csv": csv_text(
                "user_id,login_id,status,first_name,last_name,full_name,sortable_name",
                "U1,a,active,Ann,Lee,,",
                "U2,b,active,,,Bob Ray,",
                'U3,c,active,,,,"Kim, Cat"',
            )
        },
    )

    names = {sis: (u.name, u.sortable_name) for sis, u in state.users_by_sis.items()}
    assert names == {
        "U1": ("Ann Lee", "Lee, Ann"),
        "U2": ("Bob Ray", "Ray, Bob"),
        "U3": ("Kim, Cat", "Kim, Cat"),
    }


def test_user_observers_enroll_the_observer_where_the_student_is(state):
    run(state, ROSTER)
    messages = warnings_of(
        state,
        {
            "observers.csv": csv_text(
                "observer_id,student_id,status", "TCH1,U1,active", "U2,U2,active", "U3,U1,deleted"
            )
        },
    )

    assert messages == [
        ("observers.csv", "Can't observe yourself user U2", 3),
        ("observers.csv", "Can't delete a non-existent observer for observer: U3, student: U1", 4),
    ]
    section = state.sections_by_sis["S1"]
    observer, student = state.users_by_sis["TCH1"], state.users_by_sis["U1"]
    assert section.enrollments[3] == {(observer.id, student.id): E_ACTIVE}


def test_observer_enrollments_need_an_existing_associated_user(state):
    run(state, ROSTER)
    messages = warnings_of(
        state,
        {
            "enrollments.csv": csv_text(
                "course_id,section_id,user_id,role,status,associated_user_id",
                "C1,S1,U3,observer,active,GHOST",
                "C1,S1,U3,observer,active,U1",
            )
        },
    )

    assert messages == [
        ("enrollments.csv", "An enrollment referenced a non-existent associated user GHOST", 2)
    ]


def test_deleting_a_section_deletes_its_enrollments(state):
    run(state, ROSTER)
    run(state, {"sections.csv": csv_text("section_id,course_id,name,status", "S1,C1,P1,deleted")})

    assert enrollment_state(state, "S1", "U1") == E_DELETED


def test_a_section_moves_to_the_course_the_file_names(state):
    run(state, ROSTER)
    run(state, {"sections.csv": csv_text("section_id,course_id,name,status", "S2,C2,Moved,active")})

    section = state.sections_by_sis["S2"]
    assert state.courses[section.course_id].sis_id == "C2"
    assert section.id not in state.courses_by_sis["C1"].section_ids


def test_cross_listing_moves_a_section_and_back(state):
    run(state, ROSTER)
    run(state, {"xlists.csv": csv_text("xlist_course_id,section_id,status", "XL1,S3,active")})

    section = state.sections_by_sis["S3"]
    assert state.courses[section.course_id].sis_id == "XL1"
    assert state.courses[section.nonxlist_course_id].sis_id == "C2"
    run(state, {"xlists.csv": csv_text("xlist_course_id,section_id,status", "XL1,S3,deleted")})
    assert state.courses[section.course_id].sis_id == "C2"
    assert section.nonxlist_course_id is None


def test_change_sis_id_runs_first_so_other_files_use_the_new_id(state):
    run(state, ROSTER)
    messages = warnings_of(
        state,
        {
            "users.csv": csv_text("user_id,login_id,status,full_name", "U1-NEW,ann,active,Ann New"),
            "changes.csv": csv_text(
                "old_id,new_id,type", "U1,U1-NEW,user", "GHOST,G2,course", "C1,C2,course"
            ),
        },
    )

    assert messages == [
        (
            "changes.csv",
            "An old_id, 'GHOST', referenced a non-existent course and was not changed.",
            3,
        ),
        (
            "changes.csv",
            "A new_id, 'C2', referenced an existing course and the course with sis_source_id "
            "'C1' was not updated",
            4,
        ),
    ]
    assert state.users_by_sis["U1-NEW"].name == "Ann New"


def test_unsimulated_importers_say_so(state):
    messages = warnings_of(
        state, {"groups.csv": csv_text("group_id,name,status", "G1,Team,available")}
    )

    assert messages == [
        ("groups.csv", "The sandbox does not simulate group imports; 1 rows were not applied", None)
    ]


# --- stickiness ---------------------------------------------------------------------------------


def test_a_name_edited_in_canvas_sticks_unless_the_import_overrides(state):
    run(state, ROSTER)
    course = state.courses_by_sis["C1"]
    course.name, course.stuck = "Mrs. Smith's Algebra", {"name"}
    renamed = {
        "courses.csv": csv_text("course_id,short_name,long_name,status", "C1,ALG1,Algebra I,active")
    }

    run(state, renamed)
    assert course.name == "Mrs. Smith's Algebra"
    run(state, renamed, override_sis_stickiness=True, clear_sis_stickiness=True)
    assert (course.name, course.stuck) == ("Algebra I", None)


# --- diffing ------------------------------------------------------------------------------------


def sources(files):
    return read_sis_upload(make_zip(files)).sources


def test_diffing_keeps_changed_rows_and_drops_missing_ones_with_the_drop_status(state):
    before = sources(ROSTER)
    after_files = {
        **ROSTER,
        "enrollments.csv": csv_text(
            "course_id,section_id,user_id,role,status",
            "C1,S1,U1,student,active",
            "C1,S2,U2,student,completed",
            "C1,S1,TCH1,teacher,active",
            "C2,S3,TCH1,teacher,active",
        ),
    }
    diff = diff_sources(
        before, sources(after_files), drop_status="inactive", user_remove_status=None
    )

    assert diff.row_count == 2
    [enrollments] = diff.sources
    assert [row for _, row in enrollments.rows()] == [
        ["C1", "S2", "U2", "student", "completed"],
        ["C2", "S3", "U3", "student", "inactive"],
    ]


def test_diffing_users_uses_the_user_remove_status(state):
    before = sources({"users.csv": ROSTER["users.csv"]})
    after = sources({"users.csv": csv_text("user_id,login_id,first_name,last_name,email,status")})
    diff = diff_sources(before, after, drop_status=None, user_remove_status="suspended")

    statuses = [row[-1] for _, row in diff.sources[0].rows()]
    assert statuses == ["suspended"] * 4


def test_applied_diff_rows_are_numbered_within_the_diff(state):
    run(state, ROSTER)
    before = sources(ROSTER)
    after = sources(
        {
            "enrollments.csv": csv_text(
                "course_id,section_id,user_id,role,status",
                "C1,S1,U1,student,active",
                "C1,S2,U2,student,active",
                "C2,S3,U3,student,active",
                "C1,S1,TCH1,teacher,active",
                "C2,S3,TCH1,teacher,active",
                "C1,S1,GHOST,student,active",
            )
        }
    )
    diff = diff_sources(before, after, drop_status=None, user_remove_status=None)
    result = apply_sources(state, diff.sources)

    assert messages_by_row(result.messages) == [
        (
            "enrollments.csv",
            "User not found for enrollment (User ID: GHOST, Course ID: C1, Section ID: S1)",
            2,
        )
    ]
