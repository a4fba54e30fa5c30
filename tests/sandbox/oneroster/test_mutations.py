"""'Next night' mutations and scenarios, through the control endpoints."""

from __future__ import annotations

import time

from sandbox.oneroster.state import MAX_LIMIT


def _all(api, path: str, key: str, **params) -> list[dict]:
    return api.get(path, limit=MAX_LIMIT, **params).json()[key]


def _since(api) -> str:
    time.sleep(1.05)  # dateLastModified has one-second resolution
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))


def test_each_mutation_kind_is_visible_to_a_delta_and_a_full_read(fresh_api):
    before = {e["sourcedId"] for e in _all(fresh_api, "enrollments", "enrollments")}
    since = _since(fresh_api)
    body = {"adds": 2, "drops": 3, "moves": 2, "renames": 2, "tobedeleted": 2}
    changed = fresh_api.control("mutate", body).json()["changed"]
    assert len(changed["added_users"]) == 2
    assert len(changed["added_enrollments"]) == 14
    delta = {
        e["sourcedId"]: e
        for e in _all(fresh_api, "enrollments", "enrollments",
                      filter=f"dateLastModified>'{since}'")
    }  # fmt: skip
    assert set(delta) == (
        set(changed["added_enrollments"])
        | set(changed["moved_to"])
        | set(changed["tobedeleted_enrollments"])
    )
    assert {delta[e]["status"] for e in changed["tobedeleted_enrollments"]} == {"tobedeleted"}
    after = {e["sourcedId"] for e in _all(fresh_api, "enrollments", "enrollments")}
    assert before - after == set(changed["dropped_enrollments"]) | set(changed["moved_from"])
    users = {u["sourcedId"] for u in _all(fresh_api, "users", "users",
                                          filter=f"dateLastModified>'{since}'")}  # fmt: skip
    assert users == set(changed["added_users"]) | set(changed["renamed_users"])
    for moved_from, moved_to in zip(changed["moved_from"], changed["moved_to"], strict=True):
        assert fresh_api.get(f"enrollments/{moved_from}").status_code == 404
        assert fresh_api.get(f"enrollments/{moved_to}").status_code == 200


def test_next_night_changes_about_the_requested_share(fresh_api):
    changed = fresh_api.control("mutate", {"fraction": 0.05}).json()["changed"]
    assert len(changed["dropped_enrollments"]) == 2  # 5 % of 40 students
    assert changed["added_users"]
    assert fresh_api.control("scenario", {"name": "next_night"}).status_code == 200


def test_empty_feed_and_restore(fresh_api):
    assert fresh_api.control("scenario", {"name": "empty_feed"}).status_code == 200
    for path, key in (("orgs", "orgs"), ("users", "users"), ("enrollments", "enrollments")):
        response = fresh_api.get(path)
        assert response.json() == {key: []}
        assert response.headers["X-Total-Count"] == "0"
    fresh_api.control("scenario", {"name": "restore_feed"})
    assert fresh_api.get("users").json()["users"]


def test_mass_drop_at_one_school(fresh_api):
    school = fresh_api.running.generated.schools[0].sourced_id
    before = _all(fresh_api, f"schools/{school}/enrollments", "enrollments")
    body = {"name": "mass_drop", "school": school, "share": 0.9}
    changed = fresh_api.control("scenario", body).json()["changed"]
    after = _all(fresh_api, f"schools/{school}/enrollments", "enrollments")
    assert len(after) == len(before) - len(changed["dropped_enrollments"])
    students_before = sum(1 for e in before if e["role"] == "student")
    assert len(changed["dropped_enrollments"]) > students_before * 0.7


def test_renumbering_gives_every_class_of_a_school_a_new_id(fresh_api):
    school = fresh_api.running.generated.schools[1].sourced_id
    old = {c["sourcedId"] for c in _all(fresh_api, f"schools/{school}/classes", "classes")}
    changed = fresh_api.control("scenario", {"name": "renumber_sections", "school": school}).json()[
        "changed"
    ]
    new = {c["sourcedId"] for c in _all(fresh_api, f"schools/{school}/classes", "classes")}
    assert set(changed["old_classes"]) == old
    assert set(changed["new_classes"]) == new
    assert not old & new
    enrollments = _all(fresh_api, f"schools/{school}/enrollments", "enrollments")
    assert {e["class"]["sourcedId"] for e in enrollments} <= new
    assert {e["sourcedId"] for e in enrollments} == set(changed["new_enrollments"])
    assert fresh_api.get(f"classes/{changed['new_classes'][0]}").status_code == 200
    assert fresh_api.get(f"classes/{changed['old_classes'][0]}").status_code == 404


def test_reset_brings_back_the_generated_district(fresh_api):
    before = _all(fresh_api, "enrollments", "enrollments")
    fresh_api.control("mutate", {"drops": 5})
    fresh_api.control("faults", {"rules": [{"kind": "slow", "delay": 0.01, "count": -1}]})
    assert fresh_api.control("reset").status_code == 200
    assert _all(fresh_api, "enrollments", "enrollments") == before
    assert fresh_api.control("info").json()["faults"] == []


def test_unknown_scenarios_and_mutations_are_refused(fresh_api):
    assert fresh_api.control("scenario", {"name": "flood"}).status_code == 400
    assert fresh_api.control("mutate", {"explode": 1}).status_code == 400
