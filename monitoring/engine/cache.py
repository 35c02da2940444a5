"""The engine's speed machinery, in one place, each piece behind a plain function.

None of it changes a finding: with all of it off the engine computes the same alerts, only slower.
What each piece buys was measured with `bench/sweep.py --only-single` on PostgreSQL (re-evaluating one
patient after a new lab; figures from the session that built them):

* **The remembered basis** (`current_basis(fresh=False)`): the clinics' parameters, the analyte codes
  and the digests an evaluation records (engine/basis.py) are read once and reused for
  `settings.AIH_BASIS_REUSE_SECONDS` (60) by the evaluations of this process. One patient's
  re-evaluation went from 29 ms to 18 ms. Safe because the parameters an evaluation uses and the digest
  it records come from the same read, made before its data: after a change its digest is older than
  the clinic's and the sweep evaluates the patient again. A change saved in this process is seen at
  once (`forget_basis`, called by monitoring/signals.py). Off: `AIH_BASIS_REUSE_SECONDS=0`.
* **Prepared statements** (`fetch`, `fetch_batches`): on PostgreSQL the loader's statements are bound
  on the server, prepared once per connection with a generic plan and read in binary. Planning the
  patient tables' 19-branch UNION ALL took about 3 ms of every evaluation; with the rest of that work
  the one-patient re-evaluation came to 9.7 ms (median). Off: `DB_PREPARED_STATEMENTS=0` (then
  psycopg never prepares; needed behind PgBouncer in transaction mode before 1.21).
* **Frozen start-up objects**: a Celery worker moves what it loaded at start out of the garbage
  collector's view (`freeze_loaded_objects`, run on `worker_init` by aih_tracker/celery.py): a 55 ms
  full collection every few dozen evaluations went away. Off: `AIH_GC_FREEZE=0`.
"""

from __future__ import annotations

import functools
import gc
import time

from django.conf import settings
from django.db import connection

from .basis import Basis, read_basis

LAB_FETCH_BATCH = 20000

# -- the remembered basis -----------------------------------------------------------------------------

_recent: tuple[float, Basis] | None = None  # (when, what) this process last read
_generation = 0  # how many times this process was told to forget it


def current_basis(fresh: bool = True) -> Basis:
    """The basis of every clinic. `fresh=False` may reuse one read in this process within the last
    `AIH_BASIS_REUSE_SECONDS`: evaluations do, so that re-evaluating one patient reads only that
    patient's data. The sweep, which decides who is skipped, reads it fresh. A worker sees a change
    saved by the web process within `AIH_BASIS_REUSE_SECONDS`.
    """
    global _recent
    now, generation = time.monotonic(), _generation
    if not fresh and _recent is not None and now - _recent[0] < settings.AIH_BASIS_REUSE_SECONDS:
        return _recent[1]
    basis = read_basis()
    if generation == _generation:  # not forgotten while this was read (by another thread)
        _recent = (now, basis)
    return basis


def forget_basis() -> None:
    """The next evaluation in this process reads the basis again (a parameter, range or analyte changed)."""
    global _recent, _generation
    _generation += 1
    _recent = None


# -- prepared statements --------------------------------------------------------------------------------


def fetch(sql: str, params=None) -> list[tuple]:
    """The rows of one of the loader's own statements, as the driver returns them (without the ORM's
    per-row converters: the sweep reads millions of lab rows, and they cost more than the read).

    On PostgreSQL through a cursor that binds the parameters on the server, prepares the statement once
    per connection (with a generic plan: settings.AIH_PREPARED_STATEMENTS) and reads the rows in binary:
    planning the patient tables' UNION ALL took most of its time, and re-evaluating one patient runs it
    again and again.
    Dates from SQLite are ISO text: the caller parses them.
    """
    with _cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def fetch_batches(sql: str, params=None, batch_size: int = LAB_FETCH_BATCH):
    """As `fetch`, yielding the rows fetched `batch_size` at a time."""
    with _cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(batch_size):
            yield from batch


def _cursor():
    """Django's cursor; on PostgreSQL one that prepares (`fetch`), made the way Django makes its own
    (health check and reconnection, thread check, error translation) and wrapped the same way (query
    logging, execute wrappers)."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.validate_thread_sharing()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _preparing_cursor_class()(connection.connection)
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


@functools.cache
def _preparing_cursor_class():
    import psycopg

    class PreparingCursor(psycopg.Cursor):
        """Server-side binding; every statement prepared on its first execution (if the connection allows
        prepared statements at all: settings.AIH_PREPARED_STATEMENTS); rows in binary."""

        def execute(self, query, params=None, **kwargs):
            return super().execute(query, params, prepare=True, binary=True)

    return PreparingCursor


# -- frozen start-up objects ---------------------------------------------------------------------------


def freeze_loaded_objects() -> int:
    """Move every object alive now out of the garbage collector's view (they live as long as the process):
    a full collection then walks only what later work creates. Returns how many were frozen (0 when
    `AIH_GC_FREEZE=0`)."""
    if not settings.AIH_GC_FREEZE:
        return 0
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
