"""The Canvas client against the simulated Canvas on a loopback port."""

from __future__ import annotations

import pytest

from integration.canvas.client import CanvasClient, CanvasConfig
from sandbox.canvas.state import CanvasState
from sandbox.canvas.testing import serve_canvas
from tests.sandbox.canvas.conftest import ROSTER, FakeClock, csv_text, make_zip

TOKEN = "canvas-client-test-token"

__all__ = ["ROSTER", "TOKEN", "csv_text", "make_zip"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock):
    canvas = CanvasState(token=TOKEN, monotonic=clock)
    yield canvas
    canvas.close()


@pytest.fixture
def canvas_url(state: CanvasState):
    with serve_canvas(state) as url:
        yield url


@pytest.fixture
def sleeps(clock: FakeClock) -> list[float]:
    """Every pause the client asked for; each one moves the simulated clock instead."""
    return []


@pytest.fixture
def fake_sleep(sleeps: list[float], clock: FakeClock):
    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    return sleep


@pytest.fixture
def client(canvas_url: str, fake_sleep):
    canvas = CanvasClient(
        CanvasConfig(base_url=canvas_url, token=TOKEN, allow_private=True), sleep=fake_sleep
    )
    yield canvas
    canvas.close()


@pytest.fixture
def roster_zip(tmp_path):
    path = tmp_path / "roster.zip"
    path.write_bytes(make_zip(ROSTER))
    return path
