import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_redis_without_host_checks(client):
    response = client.get("/healthz", HTTP_HOST="internal-probe:8000")
    assert response.status_code == 200
    assert response.json() == {"database": True, "redis": True}
