"""The MLLP listener, run for real (`manage.py mllp_listen` in a subprocess on loopback): ACKs
come only after a message is stored, and a listener killed mid-stream loses nothing and
duplicates nothing once the sender resends what was not acknowledged, as labs do."""

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from monitoring.interop.hl7_build import LIVER_PANEL, build_oru
from monitoring.interop.mllp import MAX_MESSAGE_BYTES
from tests.test_compose import argv, command_problem, services

ROOT = Path(settings.BASE_DIR)
START, END = b"\x0b", b"\x1c\r"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A migrated SQLite database of its own (the listener is another process) with one patient."""
    folder = tmp_path_factory.mktemp("mllp")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "AIH_VAR_DIR": str(folder),
        "CELERY_BROKER_URL": "memory://",  # evaluations are queued into the void: not under test here
    }
    env.pop("REDIS_URL", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, cwd=ROOT, check=True, capture_output=True)
    create = "from tests.factories import PatientFactory; PatientFactory(mrn='MLLP1')"
    subprocess.run([*manage, "shell", "-c", create], env=env, cwd=ROOT, check=True, capture_output=True)
    return env, folder / "db.sqlite3"


class Listener:
    def __init__(self, env, port, *options: str):
        self.output = ""
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "mllp_listen", "--host", "127.0.0.1", "--port", str(port), *options],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 60
        line = ""
        while "MLLP listener" not in line:
            line = self.process.stdout.readline()
            assert line or self.process.poll() is None, "the listener exited before listening"
            assert time.monotonic() < deadline, "the listener did not start"

    def stop(self, sig=signal.SIGTERM, timeout=30) -> int:
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=timeout)
            self.output = self.process.stdout.read()  # what it logged after starting
            return code
        finally:
            self.process.stdout.close()


def message(n: int) -> str:
    return build_oru(
        mrn="MLLP1", control_id=f"M{n}", results=LIVER_PANEL, collected_at="20250301083000", order_id=f"ORD{n}"
    )


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.settimeout(30)
    return sock


def read_acks(sock: socket.socket, count: int, buffer: bytearray) -> list[tuple[str, str]]:
    """(MSA-1, MSA-2) of the next `count` ACKs; fewer if the connection dies."""
    acks = []
    while len(acks) < count:
        while END not in buffer:
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                return acks
            buffer.extend(chunk)
        block, _, rest = bytes(buffer).partition(END)
        buffer[:] = rest
        msa = next(s for s in block.lstrip(START).decode().split("\r") if s.startswith("MSA"))
        fields = msa.split("|")
        acks.append((fields[1], fields[2]))
    return acks


def stored(database: Path) -> tuple[dict[str, int], int, int]:
    with sqlite3.connect(database) as db:
        originals = dict(
            db.execute(
                "SELECT control_id, count(*) FROM monitoring_inboundmessage WHERE status <> 'duplicate' "
                "GROUP BY control_id"
            ).fetchall()
        )
        results = db.execute("SELECT count(*) FROM monitoring_labresult").fetchone()[0]
        distinct = db.execute("SELECT count(DISTINCT source_id || analyte_id) FROM monitoring_labresult").fetchone()[0]
    return originals, results, distinct


def test_every_acknowledged_message_is_stored_exactly_once_across_a_kill_and_restart(site):
    env, database = site
    port = free_port()
    total = 40
    accepted: set[str] = set()

    listener = Listener(env, port)
    sock = connect(port)
    for n in range(total):  # pipelined: many messages in flight when the listener dies
        sock.sendall(START + message(n).encode() + END)
    buffer = bytearray()
    first = read_acks(sock, 8, buffer)
    listener.stop(signal.SIGKILL)  # mid-stream, no warning
    first += read_acks(sock, total, buffer)  # whatever made it out before the kill
    sock.close()
    assert len(first) >= 8
    assert all(code == "AA" for code, _ in first)
    accepted |= {control for _, control in first}
    assert len(accepted) < total, "the kill should have interrupted the stream"

    # The lab reconnects and resends everything not acknowledged, plus one it did get an AA for
    # (an ACK lost on the way is indistinguishable from a message lost on the way).
    listener = Listener(env, port)
    resend = [n for n in range(total) if f"M{n}" not in accepted] + [0]
    sock = connect(port)
    for n in resend:
        sock.sendall(START + message(n).encode() + END)
    second = read_acks(sock, len(resend), bytearray())
    sock.close()
    assert [code for code, _ in second] == ["AA"] * len(resend)
    accepted |= {control for _, control in second}
    assert listener.stop(signal.SIGTERM) == 0

    originals, results, distinct = stored(database)
    assert accepted == {f"M{n}" for n in range(total)}
    assert {control: originals.get(control) for control in accepted} == dict.fromkeys(accepted, 1)
    assert results == distinct == total * len(LIVER_PANEL)


def test_a_quarantined_message_gets_an_error_ack_and_garbage_between_blocks_is_ignored(site):
    env, database = site
    port = free_port()
    listener = Listener(env, port)
    try:
        sock = connect(port)
        unknown = build_oru(mrn="NOBODY", control_id="Q1", results=LIVER_PANEL, collected_at="20250301083000")
        sock.sendall(b"noise" + START + unknown.encode() + END + START + message(1000).encode() + END)
        acks = read_acks(sock, 2, bytearray())
        sock.close()
    finally:
        code = listener.stop(signal.SIGINT)
    assert code == 0
    assert acks[0][0] == "AE"
    assert acks[1] == ("AA", "M1000")


def test_sigterm_lets_the_message_in_flight_finish_and_be_acknowledged(site):
    env, database = site
    port = free_port()
    listener = Listener(env, port)
    sock = connect(port)
    for n in range(2000, 2030):
        sock.sendall(START + message(n).encode() + END)
    buffer = bytearray()
    acks = read_acks(sock, 3, buffer)
    listener.process.send_signal(signal.SIGTERM)
    acks += read_acks(sock, 100, buffer)  # until the listener closes the connection
    sock.close()
    assert listener.process.wait(timeout=30) == 0
    listener.process.stdout.close()

    originals, _, _ = stored(database)
    acknowledged = {control for code, control in acks if code == "AA"}
    assert len(acknowledged) == len(acks) >= 3
    assert all(originals.get(control) == 1 for control in acknowledged)
    # Nothing is left half-done: every stored message of this batch was processed.
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM monitoring_inboundmessage WHERE status = 'received'").fetchone() == (0,)


def test_the_compose_mllp_service_runs_the_listener_for_the_network():
    service = services()["mllp"]
    command = argv(service["command"])
    assert command_problem(command) is None
    assert command[:3] == ["python", "manage.py", "mllp_listen"]
    assert "--host=0.0.0.0" in command  # reachable from the lab's network, not only inside the container
    assert command_problem(argv(service["healthcheck"]["test"])) is None


def closed_by_the_listener(sock: socket.socket, within: float = 10) -> bool:
    """True if the listener closes the connection (without sending anything) within `within` s."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_a_connection_that_sends_nothing_is_closed_after_the_idle_timeout(site):
    env, _ = site
    port = free_port()
    listener = Listener(env, port, "--idle-timeout", "0.5")
    try:
        busy = connect(port)
        busy.sendall(START + message(3000).encode() + END)
        assert read_acks(busy, 1, bytearray()) == [("AA", "M3000")]
        silent = connect(port)
        started = time.monotonic()
        assert closed_by_the_listener(busy) and closed_by_the_listener(silent)
        assert time.monotonic() - started < 5
        busy.close()
        silent.close()
    finally:
        assert listener.stop() == 0
    assert "closed after 0.5 s without a message" in listener.output


def test_a_connection_over_the_cap_is_closed_at_once_and_the_others_are_served(site):
    env, _ = site
    port = free_port()
    listener = Listener(env, port, "--max-connections", "2")
    try:
        first, second = connect(port), connect(port)
        for n, sock in enumerate((first, second), start=3100):
            sock.sendall(START + message(n).encode() + END)
            assert read_acks(sock, 1, bytearray()) == [("AA", f"M{n}")]
        third = connect(port)
        assert closed_by_the_listener(third, within=5)
        third.close()

        second.sendall(START + message(3102).encode() + END)  # the connections within the cap go on
        assert read_acks(second, 1, bytearray()) == [("AA", "M3102")]
        first.close()  # a place is free again, once the listener has seen the close
        deadline = time.monotonic() + 10
        while True:
            fourth = connect(port)
            fourth.sendall(START + message(3103).encode() + END)
            acks = read_acks(fourth, 1, bytearray())
            fourth.close()
            if acks or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert acks == [("AA", "M3103")]
        second.close()
    finally:
        assert listener.stop() == 0
    assert "refused: already 2 connections open (the limit)" in listener.output


def test_a_frame_larger_than_the_limit_is_refused_without_an_ack_and_nothing_is_stored(site):
    env, database = site
    port = free_port()
    listener = Listener(env, port)
    try:
        huge = message(3200).encode() + b"NTE|1||" + b"x" * MAX_MESSAGE_BYTES
        sock = connect(port)
        with contextlib.suppress(OSError):  # the listener may close while it is still being sent
            sock.sendall(START + huge + END)
        assert read_acks(sock, 1, bytearray()) == []  # closed, no ACK
        sock.close()

        sock = connect(port)  # the listener itself is fine
        sock.sendall(START + message(3201).encode() + END)
        assert read_acks(sock, 1, bytearray()) == [("AA", "M3201")]
        sock.close()
    finally:
        assert listener.stop() == 0
    originals, _, _ = stored(database)
    assert "M3200" not in originals
    assert f"message larger than {MAX_MESSAGE_BYTES} bytes refused" in listener.output
