"""docker-compose.yml and the Dockerfile describe a deployment that can work: there is no Docker
engine here, so these tests read the files and check every name they use against the project."""

import http.client
import importlib
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from celery.app.utils import find_app
from celery.bin.celery import celery as celery_cli
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, get_commands, load_command_class
from gunicorn.config import Config as GunicornConfig

from aih_tracker.celery import app as celery_app

ROOT = Path(settings.BASE_DIR)
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
REQUIRED_SERVICES = {"postgres", "redis", "web", "worker", "beat"}
APP_SERVICES = {"migrate", "web", "worker", "beat"}


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict[str, dict]:
    return load_compose()["services"]


def environment(service: dict) -> dict[str, str]:
    """A service's environment, written either as a mapping or as a list of KEY=value."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def interpolate(text: str, values: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error}; $$ is a literal $."""

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if values.get(name):
            return values[name]
        if operator == ":?":
            raise KeyError(f"compose would refuse to start without {name}: {rest}")
        return rest if operator == ":-" else ""

    return re.sub(r"\$\$|\$\{(\w+)(:[-?])?([^}]*)\}", substitute, text)


def argv(command: str | list[str]) -> list[str]:
    """A compose `command` or healthcheck `test` as the argument list the container runs."""
    if isinstance(command, str):
        return shlex.split(command.replace("$$", "$"))
    if command[0] == "CMD":
        return list(command[1:])
    if command[0] == "CMD-SHELL":
        return shlex.split(command[1].replace("$$", "$"))
    return list(command)


def command_problem(args: list[str]) -> str | None:
    """None when the command runs something this project really has, else what is wrong."""
    program, rest = args[0], args[1:]
    if program == "gunicorn":
        return gunicorn_problem(rest)
    if program == "celery":
        return celery_problem(rest)
    if program in {"python", "python3"} and rest[:1] == ["manage.py"]:
        return manage_py_problem(rest[1:])
    if program in {"python", "python3"} and rest[:1] == ["-c"] and len(rest) == 2:
        try:
            compile(rest[1], "<healthcheck>", "exec")
        except SyntaxError as error:
            return f"python -c code does not compile: {error}"
        return None
    return f"{program!r} is none of gunicorn, celery, python manage.py or python -c"


def gunicorn_problem(args: list[str]) -> str | None:
    try:
        parsed = GunicornConfig().parser().parse_args(args)
    except SystemExit:
        return f"gunicorn rejects its arguments {args}"
    if len(parsed.args) != 1 or ":" not in parsed.args[0]:
        return f"gunicorn needs one module:attribute, got {parsed.args}"
    module_name, attribute = parsed.args[0].split(":", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        return f"gunicorn's module {module_name!r} does not import: {error}"
    if not callable(getattr(module, attribute, None)):
        return f"{module_name} has no WSGI callable {attribute!r}"
    return None


def celery_problem(args: list[str]) -> str | None:
    app_name, positional, rest = None, [], list(args)
    while rest:
        arg = rest.pop(0)
        if arg in {"-A", "--app"} and rest:
            app_name = rest.pop(0)
        elif arg.startswith("--app="):
            app_name = arg.split("=", 1)[1]
        elif arg.startswith("-A") and len(arg) > 2:
            app_name = arg[2:]
        elif not arg.startswith("-"):
            positional.append(arg)
    if app_name is None:
        return "celery without -A would not load this project's app"
    try:
        found = find_app(app_name)
    except (ImportError, AttributeError) as error:
        return f"celery -A {app_name} does not resolve: {error}"
    if found is not celery_app:
        return f"celery -A {app_name} resolves to {found!r}, not aih_tracker's Celery app"
    if not positional or positional[0] not in celery_cli.commands:
        return f"celery has no sub-command {positional[:1]}"
    return None


def manage_py_problem(args: list[str]) -> str | None:
    if not args:
        return "manage.py without a command"
    name, options = args[0], args[1:]
    commands = get_commands()
    if name not in commands:
        return f"manage.py has no command {name!r}"
    command = load_command_class(commands[name], name)
    try:
        command.create_parser("manage.py", name).parse_args(options)
    except CommandError as error:
        return f"manage.py {name} rejects {options}: {error}"
    return None


# --- the helper itself must tell real commands from broken ones -------------------------


@pytest.mark.parametrize(
    "command",
    [
        "gunicorn aih_tracker.wsgi:application --bind 0.0.0.0:8000",
        "celery -A aih_tracker worker --loglevel=INFO",
        "celery --app=aih_tracker beat",
        "python manage.py migrate --noinput",
        "python manage.py check_heartbeat --max-age 300",
        "python -c 'import sys; sys.exit(0)'",
    ],
)
def test_the_command_checker_accepts_real_commands(command):
    assert command_problem(argv(command)) is None


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ("gunicorn aih_tracker.wsgi:app", "no WSGI callable 'app'"),
        ("gunicorn aih_tracker.nowhere:application", "does not import"),
        ("gunicorn aih_tracker.wsgi:application --no-such-option", "rejects its arguments"),
        ("gunicorn --bind 0.0.0.0:8000", "needs one module:attribute"),
        ("celery -A no_such_project worker", "does not resolve"),
        ("celery -A patients worker", "does not resolve"),
        ("celery worker", "without -A"),
        ("celery -A aih_tracker wrker", "no sub-command"),
        ("python manage.py no_such_command", "no command 'no_such_command'"),
        ("python manage.py check_heartbeat --max-age soon", "rejects"),
        ("python -c 'import os,'", "does not compile"),
        ("sh -c 'exit 0'", "is none of"),
    ],
)
def test_the_command_checker_rejects_broken_commands(command, problem):
    assert problem in (command_problem(argv(command)) or "")


def test_interpolation_follows_compose_rules():
    assert interpolate("${A:-x}/${B:-y}/$${HOSTNAME}", {"A": "a"}) == "a/y/${HOSTNAME}"
    with pytest.raises(KeyError, match="SECRET"):
        interpolate("${SECRET:?set it}", {})


# --- docker-compose.yml -----------------------------------------------------------------


def test_the_deployment_has_the_required_services():
    assert set(services()) >= REQUIRED_SERVICES | APP_SERVICES


@pytest.mark.parametrize("name", sorted(REQUIRED_SERVICES))
def test_every_long_running_service_has_a_healthcheck(name):
    healthcheck = services()[name].get("healthcheck") or {}

    assert healthcheck.get("test"), f"{name} has no healthcheck"
    assert not healthcheck.get("disable")
    assert argv(healthcheck["test"])[0] != "NONE"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_every_app_service_gets_its_settings_from_the_environment(name):
    service = services()[name]
    env = environment(service)

    assert service.get("build") or service.get("image") == services()["web"]["image"], "runs the project's image"
    assert env.get("DATABASE_URL", "").startswith("postgres://"), "PostgreSQL, not the SQLite default"
    assert env.get("REDIS_URL", "").startswith("redis://redis:"), "the redis service as broker"
    # Required from whoever deploys it, never a key written into the file.
    assert env.get("DJANGO_SECRET_KEY", "").startswith("${DJANGO_SECRET_KEY:?")
    assert env.get("DJANGO_DEBUG") == "0"
    assert env.get("DJANGO_ALLOWED_HOSTS")


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_every_app_command_runs_something_this_project_has(name):
    service = services()[name]
    checks = [argv(service["command"])]
    if "healthcheck" in service:
        checks.append(argv(service["healthcheck"]["test"]))

    for command in checks:
        assert command_problem(command) is None, f"{name}: {command_problem(command)}"


def test_the_roles_of_the_app_services():
    svc = services()
    assert argv(svc["migrate"]["command"])[:3] == ["python", "manage.py", "migrate"]
    assert argv(svc["web"]["command"])[0] == "gunicorn"
    assert argv(svc["worker"]["command"])[3] == "worker"
    assert argv(svc["beat"]["command"])[3] == "beat"
    assert argv(svc["beat"]["healthcheck"]["test"])[2] == "check_heartbeat"
    assert argv(svc["worker"]["healthcheck"]["test"])[3:5] == ["inspect", "ping"]
    # A one-shot job that compose restarted would migrate forever.
    assert svc["migrate"].get("restart", "no") == "no"
    assert "replicas" not in (svc["beat"].get("deploy") or {}), "one beat only: never scale it"


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_app_services_start_after_healthy_dependencies_and_migrations(name):
    depends_on = services()[name]["depends_on"]

    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"


def test_migrations_wait_for_a_healthy_database():
    assert services()["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


# --- Dockerfile -------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_dockerfile_installs_the_pinned_requirements():
    instructions = dockerfile_instructions()

    assert instructions[0] == ("FROM", "python:3.11-slim-bookworm")
    assert any(op == "COPY" and "requirements.txt" in arg.split()[:-1] for op, arg in instructions)
    assert any(op == "RUN" and re.search(r"pip install .*-r requirements\.txt", arg) for op, arg in instructions)
    assert any(op == "RUN" and "collectstatic --noinput" in arg for op, arg in instructions)


def test_the_image_runs_as_a_non_root_user():
    users = [arg for op, arg in dockerfile_instructions() if op == "USER"]

    assert users, "no USER instruction: the app would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_the_image_contains_every_local_app_and_the_templates():
    copied = {
        Path(source).parts[0]
        for op, arg in dockerfile_instructions()
        if op == "COPY" and not arg.startswith("--from")
        for source in arg.split()[:-1]
    }
    local_apps = {
        Path(config.path).relative_to(ROOT).parts[0]
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(ROOT) and ".venv" not in Path(config.path).parts
    }
    needed = local_apps | {"manage.py", "requirements.txt"}
    needed |= {Path(folder).relative_to(ROOT).parts[0] for folder in settings.STATICFILES_DIRS}
    needed |= {Path(folder).relative_to(ROOT).parts[0] for t in settings.TEMPLATES for folder in t["DIRS"]}

    assert needed <= copied, f"the Dockerfile does not copy {sorted(needed - copied)}"


# --- the web healthcheck against a real gunicorn with the deployment's settings -----------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_web_healthcheck_passes_on_gunicorn_with_production_settings(tmp_path):
    """DEBUG off, HTTPS redirect on, a real host name: the healthcheck must still get a 200."""
    web = services()["web"]
    given = {
        "DJANGO_SECRET_KEY": "k" + os.urandom(32).hex(),
        "POSTGRES_PASSWORD": "unused",
        "DJANGO_ALLOWED_HOSTS": "aih.example.org",
    }
    env = {key: interpolate(value, given) for key, value in environment(web).items()}
    # The same settings, but SQLite in a temporary folder instead of the postgres container.
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "AIH_VAR_DIR": str(tmp_path)}
    env |= {"WEB_CONCURRENCY": "1", "PATH": os.environ["PATH"]}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], env=env, cwd=ROOT, check=True, capture_output=True
    )

    port = free_port()
    command = [arg for arg in argv(web["command"]) if not arg.startswith("--bind")]
    server = subprocess.Popen(
        [sys.executable, "-m", *command, f"--bind=127.0.0.1:{port}"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        healthcheck = [arg.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for arg in argv(web["healthcheck"]["test"])]
        healthcheck[0] = sys.executable
        deadline = time.monotonic() + 30
        while True:
            result = subprocess.run(healthcheck, env=env, capture_output=True, text=True)
            if result.returncode == 0 or time.monotonic() > deadline or server.poll() is not None:
                break
            time.sleep(0.5)
        assert result.returncode == 0, result.stderr[-2000:]

        # Without the proxy's header the same request is redirected to HTTPS: the header matters.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/health/", headers={"Host": "aih.example.org"})
        response = connection.getresponse()
        connection.close()
        assert (response.status, response.getheader("Location")) == (301, "https://aih.example.org/health/")
    finally:
        server.terminate()
        server.wait(timeout=10)
