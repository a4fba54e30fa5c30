"""The simulated Canvas as an LTI 1.3 platform: developer keys, JWKS and the OIDC
authorization endpoint's checks."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import jwt
import pytest
import requests
from jwt import PyJWK

from sandbox.server import start_sandbox

CONFIG = {
    "title": "Tool",
    "oidc_initiation_url": "http://tool.test/login/",
    "target_link_uri": "http://tool.test/launch/",
    "custom_fields": {"sis_course_id": "$Canvas.course.sisSourceId"},
}


@pytest.fixture
def running():
    sandbox = start_sandbox(schools=1, students=12, seed=5)
    try:
        yield sandbox
    finally:
        sandbox.canvas.close()
        sandbox.stop()


def _key(running) -> dict:
    response = requests.post(
        f"{running.url}/_sandbox/canvas/lti/developer-keys",
        json=CONFIG,
        headers={"Authorization": f"Bearer {running.canvas.token}"},
        timeout=10,
    )
    assert response.status_code == 200
    return response.json()


def test_a_developer_key_needs_the_canvas_token_and_is_stable_per_tool(running):
    refused = requests.post(
        f"{running.url}/_sandbox/canvas/lti/developer-keys", json=CONFIG, timeout=10
    )
    assert refused.status_code == 401
    assert _key(running)["client_id"] == _key(running)["client_id"]


def test_authorization_refuses_a_foreign_redirect_uri_and_a_tampered_hint(running):
    key = _key(running)
    state = running.canvas
    user = state.add_user("T1", "t1", "Tess Teacher")
    course = state.add_course("C1", "C1", "Course One", state.root.id, state.default_term.id)
    platform = state.lti_platform

    def authorize(**changes: str) -> requests.Response:
        hint = platform.hint_sign(
            {"course": course.id, "user": user.id, "role": "instructor", "placement": "post_grades"}
        )
        params = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "client_id": key["client_id"],
            "redirect_uri": CONFIG["target_link_uri"],
            "state": "s-1",
            "nonce": "n-1",
            "login_hint": str(user.id),
            "lti_message_hint": hint,
            **changes,
        }
        return requests.get(f"{key['auth_login_url']}?{urlencode(params)}", timeout=10)

    good = authorize()
    assert good.status_code == 200
    token = re.search(r"name='id_token' value='([^']+)'", good.text).group(1)
    jwks = requests.get(key["key_set_url"], timeout=10).json()
    public = PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(token, public, algorithms=["RS256"], audience=key["client_id"])
    assert claims["nonce"] == "n-1"
    assert claims["https://purl.imsglobal.org/spec/lti/claim/custom"] == {"sis_course_id": "C1"}
    assert claims["https://purl.imsglobal.org/spec/lti/claim/lis"]["person_sourcedid"] == "T1"

    assert authorize(redirect_uri="http://evil.test/launch/").status_code == 400
    assert authorize(lti_message_hint="x.y.z").status_code == 400
    assert authorize(login_hint="999").status_code == 400
    assert authorize(response_mode="query").status_code == 400
