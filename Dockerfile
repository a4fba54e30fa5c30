# Image for compose.yaml: the same code runs web (gunicorn), worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
# Every app of the project (tests/test_compose.py checks the list against pyproject.toml).
COPY integration ./integration
COPY tenants ./tenants
COPY runs ./runs
COPY provisioning ./provisioning
COPY gradepassback ./gradepassback
COPY evaluation ./evaluation
COPY console ./console
COPY lti ./lti
COPY sandbox ./sandbox
COPY templates ./templates
COPY manage.py ./
RUN pip install . \
    && useradd --system --uid 1000 --home /app app \
    && mkdir -p /app/.local/media /app/.local/static && chown -R app /app/.local

USER app
# collectstatic needs settings but no secrets of value; real ones come from the environment.
RUN DEBUG=1 DATABASE_URL=postgres://unused/unused REDIS_URL=redis://unused:6379/0 \
    python manage.py collectstatic --noinput

EXPOSE 8000
CMD ["gunicorn", "integration.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120"]
