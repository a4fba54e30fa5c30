"""The OneRoster client reading the simulated Infinite Campus over loopback HTTP."""

from __future__ import annotations

import datetime as dt

import pytest

from integration.oneroster.client import OneRosterClient, OneRosterConfig
from integration.oneroster.filters import combine, delta_filter, status_filter
from integration.oneroster.records import (
    AcademicSession,
    Class,
    Course,
    Demographics,
    Enrollment,
    InvalidRecord,
    Org,
    PagingAnomaly,
    User,
)
from tests.integration.oneroster.conftest import make_config

ROSTER = ["orgs", "academicSessions", "courses", "classes", "users", "enrollments"]


def _ids(items) -> list[str]:
    return [i.sourced_id for i in items if not isinstance(i, PagingAnomaly)]


def test_a_full_read_yields_every_record_typed_and_valid(sandbox, client_for):
    client = client_for(sandbox)
    counts = sandbox.generated.counts()
    by_collection: dict[str, list] = {}
    for collection, item in client.stream_many([(c, None) for c in ROSTER]):
        by_collection.setdefault(collection, []).append(item)
    assert list(by_collection) == ROSTER
    for items in by_collection.values():
        assert not [i for i in items if isinstance(i, InvalidRecord | PagingAnomaly)]
    assert len(by_collection["orgs"]) == counts["schools"] + 1
    assert len(by_collection["academicSessions"]) == counts["academicSessions"]
    assert len(by_collection["courses"]) == counts["courses"]
    assert len(by_collection["classes"]) == counts["classes"]
    assert len(by_collection["users"]) == counts["users"]
    assert len(by_collection["enrollments"]) == counts["enrollments"]
    assert all(isinstance(o, Org) for o in by_collection["orgs"])
    assert all(isinstance(s, AcademicSession) for s in by_collection["academicSessions"])
    assert all(isinstance(c, Course) for c in by_collection["courses"])
    assert all(isinstance(c, Class) and c.terms for c in by_collection["classes"])
    assert all(isinstance(u, User) for u in by_collection["users"])
    assert all(isinstance(e, Enrollment) for e in by_collection["enrollments"])
    assert len(set(_ids(by_collection["enrollments"]))) == counts["enrollments"]


def test_typed_subsets_and_demographics(sandbox, client_for):
    client = client_for(sandbox)
    students = list(client.stream("students"))
    teachers = list(client.stream("teachers"))
    assert students
    assert all(u.role == "student" and u.sourced_id.startswith("s") for u in students)
    assert teachers
    assert all(u.role == "teacher" and u.sourced_id.startswith("t") for u in teachers)
    schools = list(client.stream("schools"))
    assert all(o.type == "school" for o in schools)
    terms = list(client.stream("terms"))
    assert len(terms) == 4 * len(schools)
    assert all(t.type == "term" for t in terms)
    demographics = list(client.stream("demographics"))
    assert len(demographics) == len(students)
    assert all(isinstance(d, Demographics) for d in demographics)


@pytest.mark.parametrize(("page_size", "concurrency"), [(7, 1), (7, 5), (1000, 3)])
def test_page_size_and_concurrency_do_not_change_what_is_read(
    sandbox, client_for, page_size, concurrency
):
    reference = _ids(client_for(sandbox, page_size=10_000).stream("enrollments"))
    client = client_for(sandbox, page_size=page_size, concurrency=concurrency)
    assert _ids(client.stream("enrollments")) == reference


def test_a_server_that_caps_the_page_size_is_read_completely(sandbox, client_for):
    sandbox.oneroster.max_limit = 9
    client = client_for(sandbox, page_size=100)
    items = list(client.stream("users"))
    assert not [i for i in items if isinstance(i, PagingAnomaly)]
    assert len(items) == sandbox.generated.counts()["users"]
    queries = [q for m, p, q in sandbox.oneroster.requests if p == "users"]
    assert any("offset=9&" in q or q.endswith("offset=9") for q in queries)


def test_without_total_or_links_a_short_page_is_not_taken_for_the_end(sandbox, client_for):
    state = sandbox.oneroster
    state.send_total = False
    state.send_links = False
    state.max_limit = 10  # every page is "short" compared to the limit asked for
    client = client_for(sandbox, page_size=25)
    items = list(client.stream("classes"))
    assert not [i for i in items if isinstance(i, PagingAnomaly)]
    assert len(items) == sandbox.generated.counts()["classes"]


def test_link_headers_alone_are_enough(sandbox, client_for):
    sandbox.oneroster.send_total = False
    client = client_for(sandbox, page_size=11)
    assert len(list(client.stream("courses"))) == sandbox.generated.counts()["courses"]


def test_get_first_reads_one_record(sandbox, client_for):
    client = client_for(sandbox)
    first = client.get_first("orgs")
    assert isinstance(first, Org)
    assert first.type == "district"
    assert sandbox.oneroster.requests[-1][2].startswith("limit=1")


def test_get_first_of_an_empty_collection_is_none(fresh_sandbox, client_for):
    fresh_sandbox.oneroster.scenario("empty_feed")
    assert client_for(fresh_sandbox).get_first("users") is None


def test_an_empty_feed_streams_nothing_and_reports_nothing(fresh_sandbox, client_for):
    fresh_sandbox.oneroster.scenario("empty_feed")
    assert list(client_for(fresh_sandbox).stream("enrollments")) == []


def test_a_delta_read_returns_exactly_the_changed_rows(fresh_sandbox, client_for):
    client = client_for(fresh_sandbox)
    since = dt.datetime.now(tz=dt.UTC) - dt.timedelta(seconds=1)
    changed = fresh_sandbox.oneroster.mutate(adds=1, moves=2, renames=2, tobedeleted=2, drops=2)
    enrollments = set(_ids(client.stream("enrollments", filter=delta_filter(since))))
    expected = (
        set(changed["added_enrollments"])
        | set(changed["moved_to"])
        | set(changed["tobedeleted_enrollments"])
    )
    assert enrollments == expected
    users = set(_ids(client.stream("users", filter=delta_filter(since))))
    assert users == set(changed["added_users"]) | set(changed["renamed_users"])
    gone = set(changed["dropped_enrollments"]) | set(changed["moved_from"])
    assert not gone & set(_ids(client.stream("enrollments")))


def test_status_filters_combine_with_a_delta(fresh_sandbox, client_for):
    client = client_for(fresh_sandbox)
    since = dt.datetime.now(tz=dt.UTC) - dt.timedelta(seconds=1)
    changed = fresh_sandbox.oneroster.mutate(tobedeleted=3, renames=1)
    flt = combine(delta_filter(since), status_filter("tobedeleted"))
    items = list(client.stream("enrollments", filter=flt))
    assert {i.sourced_id for i in items} == set(changed["tobedeleted_enrollments"])
    assert all(i.status == "tobedeleted" for i in items)


def test_unknown_collections_are_refused(sandbox, client_for):
    client = client_for(sandbox)
    with pytest.raises(ValueError, match="Unknown OneRoster collection"):
        list(client.stream("lineItems"))
    with pytest.raises(ValueError, match="resources"):
        client.get_first("resources")


def test_a_consumer_may_stop_early(sandbox, client_for):
    client = client_for(sandbox, page_size=5)
    stream = client.stream("enrollments")
    first = [next(stream) for _ in range(3)]
    stream.close()
    assert len(first) == 3
    assert client.get_first("orgs") is not None


def test_repr_never_shows_secrets(sandbox):
    config = make_config(sandbox)
    text = repr(config) + repr(OneRosterClient(config))
    for secret in (config.client_secret, config.vendor_key, config.vendor_secret):
        assert secret not in text


def test_config_defaults_come_from_settings(settings):
    settings.ONEROSTER_PAGE_SIZE = 1234
    settings.ONEROSTER_CONCURRENCY = 2
    config = OneRosterConfig(base_url="https://x.example/ims/oneroster/v1p1", token_url="t",
                             client_id="c", client_secret="s")  # fmt: skip
    assert (config.page_size, config.concurrency) == (1234, 2)
    with pytest.raises(ValueError, match="auth_method"):
        OneRosterConfig(base_url="b", token_url="t", client_id="c", client_secret="s",
                        auth_method="basic")  # fmt: skip


@pytest.mark.parametrize("concurrency", [1, 3])
def test_requests_in_flight_never_exceed_the_concurrency(sandbox, client_for, concurrency):
    from sandbox.oneroster.faults import FaultRule

    state = sandbox.oneroster
    state.faults.set([FaultRule("slow", delay=0.05, count=-1)])
    state.max_in_flight = 0
    client = client_for(sandbox, page_size=10, concurrency=concurrency)
    reads = [("users", None), ("enrollments", None), ("classes", None)]
    assert sum(1 for _ in client.stream_many(reads)) > 0
    assert state.max_in_flight == concurrency
