"""Risk notes in plain words, from an evaluation's counts and checks.

Each note says what was found, what happens if nothing is done, and what to do. The words
are for a district's IT staff and a CSM deciding whether the first import may go ahead.
"""

from __future__ import annotations

from typing import Any

HIGH = "high"
MEDIUM = "medium"
INFO = "info"
LEVELS = (HIGH, MEDIUM, INFO)


def _n(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def evaluation_risks(summary: dict[str, Any]) -> list[dict[str, str]]:
    """Notes, most serious first: ``[{"level": …, "text": …}]``."""
    users = summary["users"]
    courses = summary["courses"]
    sections = summary["sections"]
    checks = summary["checks"]
    user_checks = checks["users"]
    notes: list[tuple[str, str]] = []

    if users["ambiguous"]:
        notes.append(
            (
                HIGH,
                f"{_n(users['ambiguous'], 'OneRoster user has', 'OneRoster users have')} more "
                "than one possible Canvas account (or share one with another user). Decide by "
                "hand which account each person keeps before the first import; otherwise they "
                "get a new, empty account beside the old one.",
            )
        )
    if checks["users"]["login_collisions"]:
        notes.append(
            (
                HIGH,
                f"{_n(user_checks['login_collisions'], 'user has a login', 'users have logins')}"
                " already taken in Canvas by another person's account. Canvas would refuse "
                'them ("login already in use") until the logins are made unique in Infinite '
                "Campus or in Canvas.",
            )
        )
    re_keyed = users["matched_login"] + users["matched_email"]
    if re_keyed:
        notes.append(
            (
                MEDIUM,
                f"{_n(re_keyed, 'Canvas account', 'Canvas accounts')} from the previous SIS "
                "match by login or e-mail under another SIS id. Load the proposed "
                "change_sis_id.csv on its own, before the first import, so these people keep "
                "their courses, submissions and grades; without it Canvas creates duplicates.",
            )
        )
    if users["matched_email"]:
        notes.append(
            (
                MEDIUM,
                f"{_n(users['matched_email'], 'account matches', 'accounts match')} by e-mail "
                "only. An e-mail match is weaker than a login match (shared or recycled "
                "addresses): check a sample in the detail before loading change_sis_id.csv.",
            )
        )
    for type_key, noun in (("users", "account"), ("courses", "course"), ("sections", "section")):
        missing = checks[type_key].get("matched_without_sis_id", 0)
        if missing:
            notes.append(
                (
                    MEDIUM,
                    f"{_n(missing, f'matching Canvas {noun} has', f'matching Canvas {noun}s have')}"
                    " no SIS id, so change_sis_id cannot re-key them and they are left out of "
                    "the proposed file. Give them an SIS id in Canvas first, or merge by hand.",
                )
            )
    if checks["users"]["login_changes"]:
        notes.append(
            (
                MEDIUM,
                f"{_n(checks['users']['login_changes'], 'person keeps', 'people keep')} their "
                "Canvas account (same SIS id) but the first import changes their login to the "
                "one Infinite Campus sends. Tell them before the switch.",
            )
        )
    duplicates = checks["users"]["duplicate_logins"] + checks["users"]["duplicate_emails"]
    if duplicates:
        notes.append(
            (
                MEDIUM,
                f"Infinite Campus sends {_n(user_checks['duplicate_logins'], 'login', 'logins')} "
                f"and {_n(user_checks['duplicate_emails'], 'e-mail address', 'e-mail addresses')}"
                " used by more than one person. Provisioning holds such users back as "
                "conflicts until they are fixed in Infinite Campus.",
            )
        )
    without_id = user_checks.get("without_user_id", 0)
    if without_id:
        notes.append(
            (
                MEDIUM,
                f"{_n(without_id, 'OneRoster user has', 'OneRoster users have')} "
                "no value for the district's Canvas user id setting; they cannot be matched "
                "or provisioned until it is filled in.",
            )
        )
    if courses["ambiguous"] or sections["ambiguous"]:
        notes.append(
            (
                MEDIUM,
                f"{_n(courses['ambiguous'], 'class matches', 'classes match')} several Canvas "
                f"courses and {_n(sections['ambiguous'], 'class matches', 'classes match')} "
                "several sections (same code or name). Pick the right ones by hand, or let "
                "the first import create new courses.",
            )
        )
    course_re_keyed = courses["matched_login"] + courses["matched_email"]
    if course_re_keyed:
        notes.append(
            (
                MEDIUM,
                f"{_n(course_re_keyed, 'Canvas course keeps', 'Canvas courses keep')} its "
                "content only if re-keyed: it matches a class by code or name under another "
                "SIS id. The proposed change_sis_id.csv includes them; check the name matches.",
            )
        )
    if users["orphan"]:
        notes.append(
            (
                INFO,
                f"{_n(users['orphan'], 'Canvas account', 'Canvas accounts')} from the previous "
                "SIS match nobody in Infinite Campus. They would be suspended when the old "
                "SIS's users are retired: check that none still need access (staff who are "
                "not in Infinite Campus, for example).",
            )
        )
    if courses["orphan"]:
        notes.append(
            (
                INFO,
                f"{_n(courses['orphan'], 'Canvas course', 'Canvas courses')} from the previous "
                "SIS match no class in Infinite Campus; they keep their content but no "
                "longer get enrollment updates.",
            )
        )
    if users["new"]:
        notes.append(
            (
                INFO,
                f"{_n(users['new'], 'person is', 'people are')} new to Canvas and get an "
                "account from the first import. SIS-created accounts receive no registration "
                "e-mail, so share sign-in instructions.",
            )
        )
    if not notes:
        notes.append((INFO, "Nothing found that needs attention before the first import."))
    order = {level: index for index, level in enumerate(LEVELS)}
    notes.sort(key=lambda note: order[note[0]])
    return [{"level": level, "text": text} for level, text in notes]
