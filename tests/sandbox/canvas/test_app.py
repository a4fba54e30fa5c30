"""The simulated Canvas's HTTP surface: auth, paging, throttling, imports, controls."""

from __future__ import annotations

import io
import threading
from urllib.parse import urlencode

import orjson
import pytest
import requests

from sandbox.canvas.app import create_canvas_app
from sandbox.canvas.state import CanvasState
from sandbox.canvas.testing import serve_canvas
from sandbox.canvas.throttle import LeakyBucket
from sandbox.web import parse_multipart
from tests.sandbox.canvas.conftest import ROSTER, TOKEN, FakeClock, make_zip

#: "Use the client's own token" (``None`` means send none).
OWN = object()


class Client:
    """Calls the WSGI app in-process."""

    def __init__(self, state: CanvasState, token: str | None = TOKEN) -> None:
        self.app = create_canvas_app(state)
        self.token = token

    def call(self, method, path, *, query=None, body=b"", content_type="", token=OWN):
        token = self.token if token is OWN else token
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": urlencode(query or [], doseq=True),
            "SERVER_NAME": "canvas.test",
            "SERVER_PORT": "80",
            "HTTP_HOST": "canvas.test",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": content_type,
        }
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        seen = {}

        def start_response(status, headers):
            seen["status"] = int(status.split()[0])
            seen["headers"] = dict(headers)

        payload = b"".join(self.app(environ, start_response))
        return seen["status"], seen["headers"], payload

    def json(self, method, path, **kwargs):
        status, headers, payload = self.call(method, path, **kwargs)
        return status, headers, orjson.loads(payload) if payload else None

    def control(self, name, body=None, token=OWN):
        return self.json(
            "POST",
            f"/_sandbox/canvas/{name}",
            body=orjson.dumps(body or {}),
            content_type="application/json",
            token=token,
        )


@pytest.fixture
def api(state):
    yield Client(state)
    state.close()


def upload(api, data: bytes, **fields):
    boundary = "sandboxboundary42"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachment"; '
            f'filename="roster.zip"\r\nContent-Type: application/zip\r\n\r\n'
        ).encode()
        + data
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return api.json(
        "POST",
        "/api/v1/accounts/1/sis_imports",
        body=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


# --- authentication ----------------------------------------------------------------------------


def test_a_bad_token_gets_401_with_www_authenticate(state):
    status, headers, body = Client(state, token="nope").json("GET", "/api/v1/users/self")

    assert status == 401
    assert headers["WWW-Authenticate"] == 'Bearer realm="canvas-lms"'
    assert body == {"status": "unauthorized", "errors": [{"message": "Invalid access token."}]}


def test_no_token_is_unauthenticated(state):
    status, headers, body = Client(state, token=None).json("GET", "/api/v1/users/self")

    assert status == 401
    assert "WWW-Authenticate" in headers
    assert body["status"] == "unauthenticated"


def test_a_missing_permission_gets_401_without_www_authenticate(state):
    limited = state.issue_token({"read_roster"})
    status, headers, body = Client(state, token=limited).json(
        "GET", "/api/v1/accounts/1/sis_imports"
    )

    assert status == 401
    assert "WWW-Authenticate" not in headers
    assert body["errors"] == [{"message": "user not authorized to perform that action"}]


def test_controls_need_the_admin_token(state, api):
    limited = state.issue_token({"read_roster", "import_sis"})

    status, _, _ = api.control("summary", token=limited)
    assert status == 405  # summary is GET; POST is not allowed
    status, _, body = api.control("teach", token=limited)
    assert status == 401
    status, _, body = api.json("GET", "/_sandbox/canvas/summary")
    assert status == 200
    assert body["courses"] == 0


def test_unknown_paths_are_404(api):
    status, _, body = api.json("GET", "/api/v1/nothing/here")

    assert status == 404
    assert body == {"errors": [{"message": "The specified resource does not exist."}]}


# --- throttling --------------------------------------------------------------------------------


def test_every_answer_reports_its_cost_and_the_remaining_quota(api):
    status, headers, _ = api.call("GET", "/api/v1/users/self")

    assert status == 200
    assert float(headers["X-Request-Cost"]) >= 0
    assert 0 < float(headers["X-Rate-Limit-Remaining"]) <= 600


def test_a_full_bucket_answers_403_rate_limit_exceeded(state, api, clock):
    state.bucket(TOKEN).fill(600)

    status, headers, body = api.call("GET", "/api/v1/users/self")

    assert status == 403
    assert body == b"403 Forbidden (Rate Limit Exceeded)\n"
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["X-Rate-Limit-Remaining"] == "0.0"
    clock.advance(1)  # leaks 10 units
    assert api.call("GET", "/api/v1/users/self")[0] == 200


def test_the_leaky_bucket_charges_in_flight_requests_up_front():
    clock = FakeClock()
    bucket = LeakyBucket(high_water=600, up_front_cost=250, clock=clock)

    assert bucket.reserve()
    assert bucket.reserve()
    assert bucket.reserve()  # 500 < 600: still admitted
    assert not bucket.reserve()  # 750: too many in flight
    bucket.release(0.1)
    bucket.release(0.1)
    assert bucket.reserve()
    assert bucket.peak_in_flight == 3
    assert bucket.throttled == 1


def test_the_bucket_leaks_over_time_and_caps_at_the_maximum():
    clock = FakeClock()
    bucket = LeakyBucket(maximum=800, leak_per_second=10, clock=clock)
    bucket.fill(5000)

    assert bucket.remaining == 0
    clock.advance(25)  # 800 - 250 = 550 left in the bucket
    assert bucket.remaining == pytest.approx(50)


def test_a_forced_throttle_hits_only_the_method_asked_for(state, api):
    state.throttle_next(1, method="POST")

    assert api.call("GET", "/api/v1/users/self")[0] == 200
    status, _, body = api.call("POST", "/api/v1/accounts/1/sis_imports", body=make_zip(ROSTER))
    assert (status, body) == (403, b"403 Forbidden (Rate Limit Exceeded)\n")
    assert state.runner.records == {}


# --- pagination ---------------------------------------------------------------------------------


def test_lists_page_with_link_headers(state, api):
    for n in range(25):
        state.add_user(f"S{n}", f"s{n}", f"Student {n}")

    status, headers, body = api.json("GET", "/api/v1/accounts/1/users", query={"page": 2})

    assert status == 200
    assert len(body) == 10  # Canvas's default page size
    links = headers["Link"]
    for rel in ("current", "next", "prev", "first", "last"):
        assert f'rel="{rel}"' in links
    assert "page=3&per_page=10" in links
    _, _, capped = api.json("GET", "/api/v1/accounts/1/users", query={"per_page": 500})
    assert len(capped) == 25


def test_paged_listings_see_what_changed_since_the_last_page(state, api):
    state.add_user("S1", "s1", "Student 1")
    first = api.json("GET", "/api/v1/accounts/1/users")[2]
    upload(api, make_zip({"users.csv": "user_id,login_id,status\nS1,s1,deleted\nS2,s2,active\n"}))
    state.runner.wait_idle()

    again = api.json("GET", "/api/v1/accounts/1/users")[2]

    assert [u["sis_user_id"] for u in first] == ["S1"]
    assert [u["sis_user_id"] for u in again] == ["S2"]


def test_sis_imports_page_without_a_last_link(api):
    upload(api, make_zip(ROSTER))

    _, headers, body = api.json("GET", "/api/v1/accounts/1/sis_imports")

    assert 'rel="last"' not in headers["Link"]
    assert [item["id"] for item in body["sis_imports"]] == [1]


# --- SIS imports over HTTP ----------------------------------------------------------------------


def test_an_import_moves_from_created_through_importing_to_imported(state, api):
    state.runner.pause()
    status, _, created = upload(api, make_zip(ROSTER), diffing_data_set_identifier="demo")

    assert status == 200
    assert created["workflow_state"] == "created"
    assert created["diffing_data_set_identifier"] == "demo"
    _, _, importing = api.json("GET", "/api/v1/accounts/1/sis_imports/importing")
    assert importing == {"sis_imports": []}
    state.runner.resume()
    assert state.runner.wait_idle()
    _, _, done = api.json("GET", "/api/v1/accounts/1/sis_imports/1")
    assert done["workflow_state"] == "imported"
    assert done["progress"] == 100
    assert done["data"]["counts"]["courses"] == 2
    assert done["diffing_threshold_exceeded"] is False
    assert done["statistics"]["Course"]["created"] == 2


def test_pausing_holds_imports_queued_after_earlier_ones(state, api):
    upload(api, make_zip(ROSTER))
    assert state.runner.wait_idle()
    state.runner.pause()

    upload(api, make_zip(ROSTER))

    assert not state.runner.wait_idle(timeout=0.2)
    assert state.runner.get(2).workflow_state == "created"
    state.runner.resume()
    assert state.runner.wait_idle()
    assert state.runner.get(2).workflow_state == "imported"


def test_an_upload_without_attachment_is_400(api):
    status, _, body = api.json(
        "POST",
        "/api/v1/accounts/1/sis_imports",
        body=b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--\r\n',
        content_type="multipart/form-data; boundary=b",
    )

    assert status == 400
    assert body == {"errors": [{"message": "Missing attachment"}]}


def test_batch_mode_is_refused_loudly(api):
    status, _, body = upload(api, make_zip(ROSTER), batch_mode="true", batch_mode_term_id="T1")

    assert status == 400
    assert "not simulated" in body["errors"][0]["message"]


def test_a_raw_zip_body_is_accepted(state, api):
    status, _, created = api.json(
        "POST",
        "/api/v1/accounts/1/sis_imports",
        query={"extension": "zip"},
        body=make_zip(ROSTER),
        content_type="application/zip",
    )

    assert status == 200
    assert state.runner.wait_idle()
    assert state.runner.get(created["id"]).workflow_state == "imported"


def test_the_errors_file_lists_every_message(state, api):
    bad = {"users.csv": "user_id,login_id,status\nU1,,active\n"}
    upload(api, make_zip(bad))
    state.runner.wait_idle()

    status, _, body = api.call("GET", "/files/sis_import_errors/1.csv")

    assert status == 200
    assert body.decode().splitlines() == [
        "sis_import_id,file,message,row",
        "1,users.csv,No login_id given for user U1,2",
    ]


def test_a_multipart_body_parses_fields_and_files():
    body = (
        b'--xx\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
        b'--xx\r\nContent-Disposition: form-data; name="f"; filename="z.zip"\r\n'
        b"Content-Type: application/zip\r\n\r\nPK\r\n\x00\x01\r\n--xx--\r\n"
    )

    fields, files = parse_multipart(body, b"xx")

    assert fields == {"a": "1"}
    assert files == {"f": ("z.zip", b"PK\r\n\x00\x01")}


# --- controls -------------------------------------------------------------------------------------


def test_teach_scores_and_read_back_through_the_controls(state, api):
    upload(api, make_zip(ROSTER))
    state.runner.wait_idle()

    status, _, taught = api.control("teach", {"seed": 1})
    again = api.control("teach", {"seed": 1})[2]
    changed = api.control("scores", {"count": 2, "seed": 1})[2]
    back = api.control("read-back", {"courses": ["C1"], "enrollments_of": ["C2"]})[2]

    assert status == 200
    assert taught["courses"] == 2
    assert taught["assignments"] == 20
    assert again["courses"] == 0  # taught courses are left alone
    assert changed["changed"] == 2
    assert back["courses"]["C1"]["workflow_state"] == "claimed"
    assert back["enrollments"]["C2"] == [
        {"user": "U3", "section": "S3", "role": "student", "state": "active"},
        {"user": "TCH1", "section": "S3", "role": "teacher", "state": "active"},
    ]
    assert back["imports"][0]["workflow_state"] == "imported"


def test_fail_next_import_through_the_control(state, api):
    api.control("fail-next-import", {"count": 1})
    upload(api, make_zip(ROSTER))
    state.runner.wait_idle()

    _, _, done = api.json("GET", "/api/v1/accounts/1/sis_imports/1")
    assert done["workflow_state"] == "failed_with_messages"


def test_previous_sis_through_the_control(state, api):
    status, _, report = api.control(
        "previous-sis",
        {
            "users": [{"sourcedId": f"u{n}", "username": f"user{n}"} for n in range(10)],
            "classes": [{"sourcedId": "c1", "title": "Algebra"}],
            "orphans": 2,
        },
    )

    assert status == 200
    assert sum(len(ids) for name, ids in report["users"].items() if name != "orphans") == 10
    assert len(report["users"]["orphans"]) == 2
    assert all(state.users_by_sis[sis].origin == "previous" for sis in report["users"]["orphans"])


def test_the_app_mounted_in_the_sandbox_server_keeps_escaped_ids(state):
    """``sandbox.server`` passes the raw URI, so a ``%2F`` in a SIS id survives routing."""
    from sandbox.server import SandboxHTTPServer

    state.add_course("A/B.1", "AB", "Slash Course", state.root.id, state.default_term.id)
    server = SandboxHTTPServer(("127.0.0.1", 0), create_canvas_app(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        found = requests.get(
            f"{url}/api/v1/courses/sis_course_id:A%2FB%2E1",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
    finally:
        server.shutdown()
        server.server_close()

    assert found.status_code == 200
    assert found.json()["name"] == "Slash Course"


def test_wsgiref_decoded_paths_still_route(state):
    state.add_course("A/B.1", "AB", "Slash Course", state.root.id, state.default_term.id)
    with serve_canvas(state) as url:
        found = requests.get(
            f"{url}/api/v1/courses/sis_course_id:A%2FB%2E1",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )

    assert found.status_code == 200
    assert found.json()["sis_course_id"] == "A/B.1"
