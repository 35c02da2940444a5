"""What a pentest of the running app checks beyond the permission matrix: caching of patient pages,
file permissions of the embedded database, login throttling behind a proxy, what access logs keep."""

import http.client
import json
import logging
import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.servers.basehttp import WSGIRequestHandler

from aih_tracker.roles import Role
from tests.factories import PatientFactory
from tests.test_compose import argv, environment, free_port, interpolate, services

# --- Cache-Control: no-store on everything a signed-in user gets -------------------------------

SIGNED_IN_PAGES = [
    "/patients/",
    "/patients/{pk}/",
    "/patients/?q=Okafor",
    "/alerts/",
    "/alerts/badge/",
    "/recall/",
    "/recall/export.csv",
    "/dashboard/",
    "/imports/",
    "/quarantine/",
    "/patients/{pk}/fhir.json",
    "/admin/",
    "/admin/patients/patient/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", SIGNED_IN_PAGES)
def test_no_page_with_patient_data_may_be_kept_by_a_browser_or_proxy_cache(client, physician, url):
    patient = PatientFactory(family_name="Okafor")
    client.force_login(physician)
    response = client.get(url.format(pk=patient.pk))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_refusal_to_a_signed_in_user_is_not_cached_either(client, make_user):
    client.force_login(make_user(Role.NURSE))
    response = client.get("/recall/export.csv")
    assert response.status_code == 403
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_login_page_is_not_cached(client):
    assert "no-store" in client.get("/login/")["Cache-Control"]


# --- the embedded default's files are owner-only -------------------------------------------------

# Opens the database, writes to it and, while the connection is open (SQLite removes the write-ahead log
# when the last one closes), reports the mode of everything under var/.
START_AND_WRITE = """
import json, os, stat, sys
import django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS probe (x)")
    cursor.execute("INSERT INTO probe VALUES (1)")
modes = {}
for folder, dirs, files in os.walk(settings.VAR_DIR):
    for name in ["", *files]:
        path = os.path.join(folder, name)
        modes[os.path.relpath(path, settings.VAR_DIR)] = stat.S_IMODE(os.stat(path).st_mode)
json.dump(modes, sys.stdout)
"""


def start_the_app(var_dir) -> dict[str, int]:
    """A process of the app on the embedded default (SQLite and the filesystem broker in `var_dir`), started
    with the usual umask 022: the modes of what is under var/ once it has written to the database."""
    unset = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env["AIH_VAR_DIR"] = str(var_dir)
    result = subprocess.run(
        [sys.executable, "-c", START_AND_WRITE],
        env=env,
        cwd=settings.BASE_DIR,
        check=True,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o022),  # no threads in the child before exec
    )
    return json.loads(result.stdout)


PRIVATE_DIRS = [".", "cache", "celery", "celery/queue", "celery/processed", "celery/control"]


def test_the_embedded_database_and_var_folders_are_owner_only(tmp_path):
    modes = start_the_app(tmp_path / "var")
    assert modes["db.sqlite3"] == 0o600
    assert modes["db.sqlite3-wal"] == modes["db.sqlite3-shm"] == 0o600  # the write-ahead log holds the latest rows
    assert {folder: modes[folder] for folder in PRIVATE_DIRS} == dict.fromkeys(PRIVATE_DIRS, 0o700)


def test_a_var_folder_made_by_an_earlier_version_is_tightened(tmp_path):
    var = tmp_path / "var"
    (var / "celery" / "queue").mkdir(parents=True)
    for folder in (var, var / "celery", var / "celery" / "queue"):
        folder.chmod(0o755)
    (var / "db.sqlite3").touch()
    (var / "db.sqlite3").chmod(0o644)
    modes = start_the_app(var)
    assert modes["."] == modes["celery/queue"] == 0o700
    assert modes["db.sqlite3"] == 0o600


# --- login throttling sees the client, not the proxy -----------------------------------------------

PASSWORD = "correct horse battery staple"


def log_in(client, user, password, forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/login/", {"username": user.username, "password": password}, headers=headers)


def lock_out(client, user, forwarded_for):
    """Five wrong passwords (AXES_FAILURE_LIMIT) for `user`, each from the address `forwarded_for(n)` gives."""
    statuses = [log_in(client, user, "wrong", forwarded_for(n)).status_code for n in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses[-1] == 429  # the last failure locks


@pytest.mark.django_db
def test_behind_one_proxy_two_clients_are_locked_out_separately(client, physician, settings):
    settings.AIH_TRUSTED_PROXY_COUNT = 1  # nginx appends the address it saw: "<anything the client sent>, <client>"
    # One client gets locked out, whatever it puts in front of the address the proxy appends.
    lock_out(client, physician, lambda n: f"198.51.100.{n}, 203.0.113.7")
    assert log_in(client, physician, PASSWORD, "203.0.113.7").status_code == 429
    # Another client behind the same proxy still logs in.
    assert log_in(client, physician, PASSWORD, "203.0.113.8").status_code == 302


@pytest.mark.django_db
def test_without_a_trusted_proxy_a_forged_forwarded_for_does_not_evade_the_lockout(client, physician, settings):
    settings.AIH_TRUSTED_PROXY_COUNT = 0
    lock_out(client, physician, lambda n: f"198.51.100.{n}")
    assert log_in(client, physician, PASSWORD, "198.51.100.99").status_code == 429


@pytest.mark.django_db
def test_a_request_that_did_not_pass_the_configured_proxies_counts_as_the_proxys_address(client, physician, settings):
    settings.AIH_TRUSTED_PROXY_COUNT = 2
    lock_out(client, physician, lambda n: f"not-an-address-{n}" if n % 2 else None)  # too few entries, or junk
    assert log_in(client, physician, PASSWORD).status_code == 429


# --- access logs keep no search terms -----------------------------------------------------------

SEARCH = "/patients/?q=Okafor+MRN-4711"


def test_gunicorn_as_deployed_logs_the_path_of_a_search_but_not_what_was_searched(tmp_path):
    web = services()["web"]
    given = {"DJANGO_SECRET_KEY": "k" + os.urandom(32).hex(), "POSTGRES_PASSWORD": "unused"}
    env = {
        key: interpolate(value, given | {"DJANGO_ALLOWED_HOSTS": "aih.example.org"})
        for key, value in environment(web).items()
    }
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "AIH_VAR_DIR": str(tmp_path)}
    env |= {"WEB_CONCURRENCY": "1", "PATH": os.environ["PATH"]}
    port = free_port()
    command = [arg for arg in argv(web["command"]) if not arg.startswith("--bind")]
    log = tmp_path / "access.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", *command, f"--bind=127.0.0.1:{port}"], env=env, cwd=settings.BASE_DIR, stdout=out,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    connection.request(
                        "GET",
                        SEARCH,
                        headers={"Host": "aih.example.org", "Referer": f"https://aih.example.org{SEARCH}"},
                    )
                    status = connection.getresponse().status
                    connection.close()
                    break
                except ConnectionRefusedError:
                    assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
                    time.sleep(0.3)
        finally:
            server.terminate()
            server.wait(timeout=10)
    lines = [line for line in log.read_text().splitlines() if "/patients/" in line]
    assert len(lines) == 1, log.read_text()
    assert f'"GET /patients/ HTTP/1.1" {status}' in lines[0]
    assert "Okafor" not in lines[0] and "4711" not in lines[0] and "q=" not in lines[0]


def test_the_development_server_logs_the_path_of_a_search_but_not_what_was_searched():
    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    server_log = logging.getLogger("django.server")
    server_log.addHandler(handler)
    try:
        request = WSGIRequestHandler.__new__(WSGIRequestHandler)  # what runserver logs for each request
        request.request, request.requestline = None, f"GET {SEARCH} HTTP/1.1"
        request.log_request(200, 1234)
        request.requestline = "GET /patients/12/ HTTP/1.1"
        request.log_request(200, 99)
    finally:
        server_log.removeHandler(handler)
    assert seen == ['"GET /patients/ HTTP/1.1" 200 1234', '"GET /patients/12/ HTTP/1.1" 200 99']
