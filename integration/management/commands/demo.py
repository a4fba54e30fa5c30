"""``manage.py demo``: the whole product on one machine, on the embedded default.

Starts the simulated Infinite Campus and Canvas, the console (Django's development server),
a Celery worker and exactly one beat; creates a demo district wired to the sandbox; and
drives it through the story an operator sees: a full provisioning run, coursework in Canvas,
a grade passback, a "next night" delta, and a night whose feed would drop most of one
school's sections, which the guard holds for approval in the console.

The demo has an embedded instance of its own (``EMBEDDED_NAME=rosterbridge_demo``, set by
``make demo``): its database and Redis are emptied at each start, so a second demo starts
cleanly over whatever the first left (a held run, a killed worker's lock, queued messages).
While it runs, ``.local/demo.env`` holds its settings, and ``manage.py`` reads that file, so
the README's commands reach the demo from another terminal.

Everything runs until Ctrl-C, which stops every child process, the embedded PostgreSQL and
Redis the demo started, and removes the env file.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from gradepassback.models import PassbackCourse
from integration import embedded
from provisioning.models import RosterEnrollment
from provisioning.tasks import apply_run
from runs.models import SyncRun
from runs.services.launch import start_run
from runs.services.lifecycle import sync_run_approve
from tenants.models import District
from tenants.services import district_create

DEMO_SLUG = "demo"
SANDBOX_SEED = 2026
RUN_WAIT_SECONDS = 600
TAUGHT_COURSES = 40
CONTROL_TIMEOUT = 60
#: Default of the env file; ``manage.py`` reads the same path (its ``DEMO_ENV_FILE``).
DEMO_ENV_FILE = settings.BASE_DIR / ".local" / "demo.env"


class Command(BaseCommand):
    help = "Run the console, a worker, beat and a demo district against the sandbox."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="Console port.")
        parser.add_argument("--sandbox-port", type=int, default=8765)
        parser.add_argument("--students", type=int, default=1200)
        parser.add_argument("--schools", type=int, default=3)
        parser.add_argument(
            "--no-story", action="store_true", help="Start everything but run no syncs."
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("The demo runs with DEBUG on (make demo sets it).")
        if settings.EMBEDDED_NAME in (None, embedded.DEFAULT_NAME):
            raise CommandError(
                "The demo runs on an embedded instance of its own, which it empties at each "
                "start (make demo sets EMBEDDED_NAME=rosterbridge_demo, and no DATABASE_URL)."
            )
        self.children: list[subprocess.Popen] = []
        self.env_file = Path(os.environ.get("ENV_FILE") or DEMO_ENV_FILE)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            self._run(options)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop_children()
            self.env_file.unlink(missing_ok=True)
            connections.close_all()
            stopped = embedded.stop(settings.BASE_DIR, embedded.started)
            if stopped:
                self._say(f"Stopped {', '.join(stopped)}.")

    # --- the story -----------------------------------------------------------------------

    def _run(self, options: dict) -> None:
        connections.close_all()
        embedded.reset(settings.BASE_DIR, settings.EMBEDDED_NAME)
        call_command("migrate", interactive=False, verbosity=0)
        # The LTI tool's URLs (in the developer key the demo installs) name this console.
        settings.LTI_TOOL_BASE_URL = f"http://localhost:{options['port']}"
        password = self._admin()
        info = self._sandbox(options)
        district = self._district(info)
        call_command("setup_periodic_tasks", verbosity=0)
        self._spawn("worker", [*self._celery(), "worker", "--loglevel=WARNING", "--concurrency=2"])
        self._spawn("beat", [*self._celery(), "beat", "--loglevel=WARNING"])
        self._spawn(
            "console",
            [
                sys.executable,
                "manage.py",
                "runserver",
                f"127.0.0.1:{options['port']}",
                "--noreload",
            ],
        )
        self._write_env_file()
        url = f"http://localhost:{options['port']}/console/"
        self.stdout.write(self.style.SUCCESS(f"\nConsole: {url}"))
        self.stdout.write(f"Log in as: admin / {password}")
        self.stdout.write(f"Other terminals: manage.py reads {self.env_file} (see README).")
        self.stdout.write("Stop with Ctrl-C.\n")
        if not options["no_story"]:
            self._story(district, info)
        while all(child.poll() is None for child in self.children):
            time.sleep(1)
        failed = [c for c in self.children if c.poll() is not None]
        raise CommandError(f"A demo process stopped: {failed[0].args[-1]!r}; see its output.")

    def _story(self, district: District, info: dict) -> None:
        self._say("1/5 Full provisioning of the demo district ...")
        first = self._wait(self._provision(district, SyncRun.Kind.FULL))
        if first.status == SyncRun.Status.HELD and _only_first_write(first):
            # The district setting "Hold the first write" (on by default) holds it; the demo
            # approves it here, as an operator would in the console after reading the plan.
            self._say(f"Run #{first.pk} is held: {first.held_reason}")
            self._say("The demo approves it (in real use a person reads the plan first).")
            sync_run_approve(run=first, actor=None, actor_label="demo")
            apply_run.delay(first.pk)
            self._wait(first)
        self._say("2/5 Teachers add coursework and grades in Canvas ...")
        # Coursework in a few dozen courses keeps the demo's passback to a minute or so.
        self._control(info, "canvas", "teach", {"seed": SANDBOX_SEED, "limit": TAUGHT_COURSES})
        self._say("3/5 Grade passback to the SIS ...")
        with_passback = self._enqueue_passback(district)
        self._wait(with_passback)
        self._teacher_grade_sync(district, with_passback)
        self._say("4/5 Next night: adds, drops, moves and renames, then a delta run ...")
        self._control(info, "oneroster", "mutate", {"fraction": 0.02})
        self._wait(self._provision(district, SyncRun.Kind.DELTA))
        self._say("5/5 The weekly full sync, the night one school's sections were re-numbered ...")
        self._control(info, "oneroster", "scenario", {"name": "renumber_sections"})
        run = self._wait(self._provision(district, SyncRun.Kind.FULL))
        if run.status == SyncRun.Status.HELD:
            self._say(f"Run #{run.pk} is held for approval: {run.held_reason}")
            self._say("Open it in the console to approve or discard it.")
        self._say("Demo ready.")

    # --- pieces ------------------------------------------------------------------------------

    def _teacher_grade_sync(self, district: District, passback: SyncRun) -> None:
        """Install the LTI tool in the sandbox Canvas and print a teacher's launch URL."""
        course = (
            PassbackCourse.objects.filter(passback_run__run=passback, pushed__gt=0)
            .order_by("sis_course_id")
            .first()
        )
        teacher = (
            RosterEnrollment.objects.filter(
                district=district, class_sid=course.sis_course_id, role="teacher"
            )
            .order_by("user_sid")
            .first()
            if course is not None
            else None
        )
        if teacher is None:
            self._say("No taught course with a teacher: no grade sync link.")
            return
        out = io.StringIO()
        call_command(
            "sandbox",
            "lti-launch",
            district.slug,
            "--course",
            course.sis_course_id,
            "--user",
            teacher.user_sid,
            "--role",
            "instructor",
            stdout=out,
        )
        self.stdout.write(f"Teacher grade sync: {json.loads(out.getvalue())['launch_url']}")

    def _admin(self) -> str:
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        # A fresh password each start: nothing to remember, nothing stored in the repo.
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_staff = user.is_superuser = True
        user.save()
        return password

    def _sandbox(self, options: dict) -> dict:
        process = self._spawn(
            "sandbox",
            [
                sys.executable,
                "manage.py",
                "sandbox",
                "serve",
                "--port",
                str(options["sandbox_port"]),
                "--students",
                str(options["students"]),
                "--schools",
                str(options["schools"]),
                "--seed",
                str(SANDBOX_SEED),
            ],
            stdout=subprocess.PIPE,
        )
        line = process.stdout.readline()
        if not line:
            raise CommandError("The sandbox did not start; is the port free?")
        return json.loads(line)

    def _district(self, info: dict) -> District:
        options = {
            "name": "Springfield Demo District",
            "status": District.Status.ACTIVE,
            "oneroster_base_url": info["oneroster_url"],
            "oneroster_token_url": info["token_url"],
            "oneroster_client_id": info["client_id"],
            "canvas_base_url": info["canvas_url"],
            "canvas_account_id": str(info["canvas_account_id"]),
            "passback_enabled": True,
            "course_grade_mode": District.CourseGradeMode.OWN_LINEITEM,
            "notification_emails": "district-it@example.org",
        }
        credentials = {
            "oneroster_client_secret": info["client_secret"],
            "oneroster_vendor_key": info["vendor_key"],
            "oneroster_vendor_secret": info["vendor_secret"],
            "canvas_token": info["canvas_token"],
        }
        # The demo's database is new (``embedded.reset``): the district is always created.
        return district_create(
            actor=None, actor_label="demo", slug=DEMO_SLUG, **options, **credentials
        )

    def _provision(self, district: District, kind: str) -> SyncRun:
        return start_run(
            district=district, kind=kind, trigger=SyncRun.Trigger.MANUAL, actor_label="demo"
        )

    def _enqueue_passback(self, district: District) -> SyncRun:
        return start_run(
            district=district,
            kind=SyncRun.Kind.PASSBACK,
            trigger=SyncRun.Trigger.MANUAL,
            actor_label="demo",
        )

    def _wait(self, run: SyncRun) -> SyncRun:
        deadline = time.monotonic() + RUN_WAIT_SECONDS
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.status not in (
                SyncRun.Status.QUEUED,
                SyncRun.Status.RUNNING,
                SyncRun.Status.APPLYING,
            ):
                self._say(f"    run #{run.pk} {run.kind}: {run.status}")
                return run
            time.sleep(1)
        raise CommandError(f"Run #{run.pk} did not finish in {RUN_WAIT_SECONDS} s.")

    def _control(self, info: dict, half: str, action: str, body: dict) -> dict:
        root = info["oneroster_url"].split("/campus/")[0]
        secret = info["client_secret"] if half == "oneroster" else info["canvas_token"]
        response = requests.post(
            f"{root}/_sandbox/{half}/{action}",
            json=body,
            headers={"Authorization": f"Bearer {secret}"},
            timeout=CONTROL_TIMEOUT,
        )
        if response.status_code >= 400:
            raise CommandError(f"Sandbox {half}/{action} answered {response.status_code}.")
        return response.json()

    def _celery(self) -> list[str]:
        return [str(Path(sys.executable).with_name("celery")), "-A", "integration"]

    def _spawn(self, name: str, command: list[str], **kwargs) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": settings.DATABASE_URL,
            "REDIS_URL": settings.REDIS_URL,
        }
        process = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, **kwargs)  # noqa: S603
        self.children.append(process)
        return process

    def _stop_children(self) -> None:
        for child in reversed(self.children):
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()

    def _write_env_file(self) -> None:
        """What ``manage.py`` needs to reach this demo: its services and development mode."""
        values = {
            "DEBUG": "true",
            "SANDBOX_ENABLED": "true",
            "ALLOW_PRIVATE_UPSTREAMS": "true",
            "ALLOW_HTTP_UPSTREAMS": "true",
            "DATABASE_URL": settings.DATABASE_URL,
            "REDIS_URL": settings.REDIS_URL,
        }
        self.env_file.parent.mkdir(parents=True, exist_ok=True)
        self.env_file.write_text(
            "# Written by manage.py demo while it runs; removed when it stops.\n"
            + "".join(f"{key}={value}\n" for key, value in values.items())
        )

    def _say(self, message: str) -> None:
        self.stdout.write(message)


def _only_first_write(run: SyncRun) -> bool:
    """Whether the first-write hold is the only reason ``run`` is held."""
    guards = {trip.get("guard") for trip in (run.plan_summary or {}).get("guards", [])}
    return guards == {"first_write"}
