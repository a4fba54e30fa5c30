"""The district-wide cap on SIS requests in flight, held in Redis."""

from __future__ import annotations

import threading

import pytest

from gradepassback.gate import RequestGate, gate_key
from integration.redis_names import redis_client


@pytest.fixture
def district_id():
    # An id no real test district uses; cleaned before and after.
    redis_client().delete(gate_key(987654))
    yield 987654
    redis_client().delete(gate_key(987654))


def test_at_most_limit_slots_across_gates_sharing_a_district(district_id):
    gates = [RequestGate(district_id=district_id, limit=3) for _ in range(4)]  # 4 "workers"
    inside = 0
    peak = 0
    lock = threading.Lock()
    start = threading.Barrier(12)

    def work(gate: RequestGate) -> None:
        nonlocal inside, peak
        start.wait()
        for _ in range(20):
            with gate.slot():
                with lock:
                    inside += 1
                    peak = max(peak, inside)
                    assert gate.in_flight() <= 3
                with lock:
                    inside -= 1

    threads = [threading.Thread(target=work, args=(gates[i % 4],)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= peak <= 3
    assert gates[0].in_flight() == 0


def test_a_dead_holders_slot_expires(district_id):
    dead = RequestGate(district_id=district_id, limit=1, lease_seconds=0.05)
    assert dead.try_acquire() is not None  # never released: its holder "died"
    waiting = RequestGate(district_id=district_id, limit=1, lease_seconds=0.05)
    with waiting.slot():  # waits until the lease lapses, then takes the slot
        assert waiting.in_flight() == 1
    assert waiting.in_flight() == 0


def test_release_frees_the_slot_for_another_worker(district_id):
    one = RequestGate(district_id=district_id, limit=1)
    other = RequestGate(district_id=district_id, limit=1)
    token = one.try_acquire()
    assert token is not None
    assert other.try_acquire() is None
    one.release(token)
    assert other.try_acquire() is not None
