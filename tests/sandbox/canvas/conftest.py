"""Fixtures for the simulated Canvas: a state with a fixed token, zips built in memory."""

from __future__ import annotations

import io
import zipfile

import pytest

from sandbox.canvas.state import CanvasState

TOKEN = "sandbox-canvas-test-token"


class FakeClock:
    """A monotonic clock tests move by hand (the throttle leaks only as it advances)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_zip(files: dict[str, str | bytes]) -> bytes:
    """A zip of the given files (text is written as UTF-8, bytes as they are)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content.encode() if isinstance(content, str) else content)
    return buffer.getvalue()


def csv_text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


ROSTER = {
    "accounts.csv": csv_text(
        "account_id,parent_account_id,name,status",
        "SCH1,,North High,active",
        "SCH2,,South Middle,active",
    ),
    "terms.csv": csv_text(
        "term_id,name,status,start_date,end_date",
        "T2025,2025-2026,active,2025-08-15T05:00:00Z,2026-06-05T05:00:00Z",
    ),
    "courses.csv": csv_text(
        "course_id,short_name,long_name,account_id,term_id,status",
        "C1,ALG1,Algebra 1,SCH1,T2025,active",
        "C2,BIO,Biology,SCH2,T2025,published",
    ),
    "sections.csv": csv_text(
        "section_id,course_id,name,status",
        "S1,C1,Algebra 1 - P1,active",
        "S2,C1,Algebra 1 - P2,active",
        "S3,C2,Biology - P3,active",
    ),
    "users.csv": csv_text(
        "user_id,login_id,first_name,last_name,email,status",
        "U1,ann,Ann,Lee,ann@example.org,active",
        "U2,bob,Bob,Ray,bob@example.org,active",
        "U3,cat,Cat,Kim,cat@example.org,active",
        "TCH1,teach1,Tara,Teacher,tara@example.org,active",
    ),
    "enrollments.csv": csv_text(
        "course_id,section_id,user_id,role,status",
        "C1,S1,U1,student,active",
        "C1,S2,U2,student,active",
        "C2,S3,U3,student,active",
        "C1,S1,TCH1,teacher,active",
        "C2,S3,TCH1,teacher,active",
    ),
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> CanvasState:
    return CanvasState(token=TOKEN, monotonic=clock)


@pytest.fixture
def roster_zip() -> bytes:
    return make_zip(ROSTER)
