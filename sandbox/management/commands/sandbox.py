"""``manage.py sandbox``: serve the simulated Infinite Campus + Canvas, and drive it.

    manage.py sandbox serve [--port P] [--students N] [--schools K] [--seed S]
    manage.py sandbox scenario NAME --url URL --secret-env VAR [--school ID] [--share X]
    manage.py sandbox mutate --url URL --secret-env VAR (--fraction F | --adds N ...)
    manage.py sandbox faults --url URL --secret-env VAR (--json RULES | --clear)
    manage.py sandbox window --url URL --secret-env VAR (--open | --close) [--term ID ...]
    manage.py sandbox info|gradebook|reset --url URL --secret-env VAR
    manage.py sandbox teach --url URL [--token-env VAR] [--secret-env VAR]
    manage.py sandbox lti-launch SLUG --course SIS_COURSE_ID --user SIS_USER_ID
              --role instructor|ta|student

``serve`` prints one JSON line (DESIGN §6) once listening and serves until interrupted.
The other subcommands are thin HTTP calls to the control endpoints of a running sandbox;
secrets come from environment variables, never from the command line.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.lti.routes import gradebook_url
from sandbox.oneroster.generator import SHAPES
from sandbox.server import start_sandbox
from tenants.models import District

CONTROL_TIMEOUT = (5.0, 600.0)  # controls may regenerate or mutate a large district


class Command(BaseCommand):
    help = "Run the simulated Infinite Campus (OneRoster 1.1) and Canvas, or control one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        serve = sub.add_parser("serve", help="Serve a generated district on loopback")
        serve.add_argument("--host", default="127.0.0.1")
        serve.add_argument("--port", type=int, default=0)
        serve.add_argument("--students", type=int, default=2000)
        serve.add_argument("--schools", type=int, default=None)
        serve.add_argument(
            "--seed",
            type=int,
            default=None,
            help="Fixed seed: also derives the secrets from it (for demos). Default: 1, "
            "with random secrets.",
        )
        serve.add_argument("--no-canvas", action="store_true", help="OneRoster half only")
        serve.add_argument(
            "--latency-ms",
            type=float,
            default=0.0,
            help="Hold every API answer back this long, as a real service's network and "
            "work do (default: none)",
        )
        serve.add_argument(
            "--shape",
            choices=sorted(SHAPES),
            default="ic",
            help="Which plausible Infinite Campus shape to serve (docs/sandbox.md)",
        )

        def control(name: str, help_text: str) -> CommandParser:
            p = sub.add_parser(name, help=help_text)
            p.add_argument("--url", required=True, help="The sandbox's base URL")
            p.add_argument(
                "--secret-env",
                default="ONEROSTER_CLIENT_SECRET",
                help="Environment variable holding the sandbox client secret",
            )
            return p

        scenario = control("scenario", "Apply a named scenario")
        scenario.add_argument("name")
        scenario.add_argument("--school", default=None)
        scenario.add_argument("--share", type=float, default=None)
        scenario.add_argument("--fraction", type=float, default=None)
        mutate = control("mutate", "Apply 'next night' mutations")
        mutate.add_argument("--fraction", type=float, default=None)
        for kind in ("adds", "drops", "moves", "renames", "tobedeleted"):
            mutate.add_argument(f"--{kind}", type=int, default=0)
        faults = control("faults", "Set fault injection rules")
        faults.add_argument("--json", dest="rules", default=None, help="JSON body of /faults")
        faults.add_argument("--clear", action="store_true")
        window = control("window", "Open or close grading windows")
        state = window.add_mutually_exclusive_group(required=True)
        state.add_argument("--open", action="store_true")
        state.add_argument("--close", action="store_true")
        window.add_argument("--term", action="append", default=None)
        control("info", "Show the district summary and settings")
        control("gradebook", "Show what the gradebook stored")
        control("reset", "Regenerate the district, empty the gradebook, clear faults")
        teach = sub.add_parser("teach", help="Seed coursework into the simulated Canvas")
        teach.add_argument("--url", required=True)
        teach.add_argument("--token-env", default="CANVAS_TOKEN")
        teach.add_argument(
            "--secret-env",
            default=None,
            help="Also read the OneRoster quarters (needs the sandbox client secret)",
        )

        launch = sub.add_parser(
            "lti-launch",
            help="Register the LTI tool in the district's sandbox Canvas; print a launch URL",
        )
        launch.add_argument("slug")
        launch.add_argument("--course", required=True, help="SIS course id")
        launch.add_argument("--user", required=True, help="SIS user id of the person launching")
        launch.add_argument("--role", choices=("instructor", "ta", "student"), default="instructor")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "lti-launch":
            self.stdout.write(json.dumps(_lti_launch(options)))
            return
        if action == "serve":
            self._serve(options)
            return
        if action == "teach":
            self._teach(options)
            return
        body: dict[str, Any] = {}
        path = action
        if action == "scenario":
            body = {"name": options["name"]}
            for key in ("school", "share", "fraction"):
                if options[key] is not None:
                    body[key] = options[key]
        elif action == "mutate":
            if options["fraction"] is not None:
                body = {"fraction": options["fraction"]}
            else:
                kinds = ("adds", "drops", "moves", "renames", "tobedeleted")
                body = {k: options[k] for k in kinds if options[k]}
        elif action == "faults":
            if options["clear"]:
                path = "faults/clear"
            elif options["rules"]:
                body = json.loads(options["rules"])
            else:
                raise CommandError("faults needs --json or --clear")
        elif action == "window":
            path = "grading-window"
            body = {"open": bool(options["open"]), "terms": options["term"]}
        result = _post(
            f"{_root(options['url'])}/_sandbox/oneroster/{path}",
            _secret(options["secret_env"]),
            body,
        )
        self.stdout.write(json.dumps(result))

    def _serve(self, options: dict) -> None:
        if not settings.SANDBOX_ENABLED:
            # A fake SIS with known data has no place next to real districts.
            raise CommandError(
                "The sandbox is disabled: set SANDBOX_ENABLED=true (on by default with DEBUG)."
            )

        students = options["students"]
        schools = options["schools"] or max(1, round(students / 810))
        seed = options["seed"]
        running = start_sandbox(
            schools=schools,
            students=students,
            seed=1 if seed is None else seed,
            port=options["port"],
            host=options["host"],
            fixed_secrets=seed is not None,
            canvas=not options["no_canvas"],
            shape=SHAPES[options["shape"]],
            latency=options["latency_ms"] / 1000,
        )
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        sys.stdout.write(json.dumps(running.info) + "\n")
        sys.stdout.flush()
        try:
            stop.wait()
        finally:
            running.stop()

    def _teach(self, options: dict) -> None:
        root = _root(options["url"])
        body: dict[str, Any] = {}
        if options["secret_env"]:
            info = _post(f"{root}/_sandbox/oneroster/info", _secret(options["secret_env"]), {})
            body["quarters_by_account"] = {
                school["sourcedId"]: [
                    {"title": q["title"], "start_date": q["start_date"], "end_date": q["end_date"]}
                    for q in school["quarters"]
                ]
                for school in info["schools"]
            }
        result = _post(f"{root}/_sandbox/canvas/teach", _secret(options["token_env"]), body)
        self.stdout.write(json.dumps(result))


def _root(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommandError(f"Not a sandbox URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _secret(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        raise CommandError(f"Set {variable} in the environment")
    return value


def _post(url: str, secret: str, body: dict) -> Any:
    try:
        response = requests.post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {secret}"},
            timeout=CONTROL_TIMEOUT,
        )
    except requests.RequestException as exc:
        raise CommandError(f"Could not reach the sandbox at {_root(url)}") from exc
    if response.status_code >= 400:
        raise CommandError(f"The sandbox answered {response.status_code}: {response.text[:300]}")
    try:
        return response.json()
    except ValueError:
        return {}


def _lti_launch(options: dict) -> dict[str, str]:
    """Install the tool in the sandbox Canvas the district points at (a developer key, as a
    Canvas admin would paste the tool's JSON), register that Canvas for the district, and
    answer the simulated gradebook URL that launches the tool as the given user."""
    if not settings.SANDBOX_ENABLED:
        # The developer-key control exists only in the simulated Canvas.
        raise CommandError("The sandbox is disabled: set SANDBOX_ENABLED=true.")
    district = District.objects.filter(slug=options["slug"]).first()
    if district is None:
        raise CommandError(f"No district {options['slug']!r}.")
    if not district.canvas_base_url or not district.canvas_token:
        raise CommandError(f"District {district.slug} has no Canvas URL or token.")
    out = io.StringIO()
    call_command("lti", "config", district.slug, stdout=out)
    config = json.loads(out.getvalue())
    root = _root(district.canvas_base_url)
    key = _post(f"{root}/_sandbox/canvas/lti/developer-keys", district.canvas_token, config)
    call_command(
        "lti",
        "register",
        district.slug,
        "--issuer",
        key["issuer"],
        "--client-id",
        key["client_id"],
        "--deployment-id",
        key["deployment_id"],
        "--auth-login-url",
        key["auth_login_url"],
        "--auth-token-url",
        key["auth_token_url"],
        "--key-set-url",
        key["key_set_url"],
        stdout=io.StringIO(),
    )
    launch_url = gradebook_url(
        root,
        course=options["course"],
        user=options["user"],
        role=options["role"],
        client_id=key["client_id"],
    )
    return {"launch_url": launch_url, "client_id": key["client_id"]}
