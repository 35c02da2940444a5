"""The MLLP listener: HL7 v2 over TCP, one ACK per message, sent only once the message is stored.

Framing is python-hl7's (hl7.mllp: <VT> message <FS><CR>). Each connection is read one message
at a time; the message is stored and processed in a worker thread (the ORM is synchronous),
and only then is the ACK written: AA imported (or a repeat of an imported message), AE stored
in quarantine, AR not stored (the database was unreachable: the sender should try again).

Limits, so that no sender can hold the listener's memory or connections: a connection that
sends no complete message for `idle_timeout` seconds (or does not read its ACK for as long) is
closed; a connection beyond `max_connections` open at once is closed at once; a frame larger
than MAX_MESSAGE_BYTES is refused by closing the connection without an ACK (the stream
reader's `limit`: at most that much is buffered; the sender sees no ACK and may alert).

On SIGTERM or SIGINT the listener stops accepting connections, lets a message that is being
processed finish and be acknowledged, closes idle connections, and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from hl7.mllp import InvalidBlockError, start_hl7_server
from hl7.mllp.streams import CARRIAGE_RETURN, END_BLOCK, START_BLOCK

from monitoring.interop.hl7 import acknowledgement, build_ack, decode_text, import_message, read_header

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
IDLE_TIMEOUT_SECONDS = 60.0
MAX_CONNECTIONS = 50


def handle_message(text: str, *, clinic, origin: str) -> str:
    """Store and import one message; return the ACK to send. Runs in a thread (ORM)."""
    close_old_connections()
    try:
        message = import_message(text, clinic=clinic, origin=origin)
        return acknowledgement(message)[1]
    except Exception:  # noqa: BLE001 - the sender must hear "not stored", not silence
        logger.exception("Could not store an inbound HL7 message from %s", origin)
        return build_ack(read_header(text), "AR", "Not stored (server error): send it again later.")
    finally:
        close_old_connections()


async def read_block(reader) -> bytes:
    """The next MLLP block. Unlike hl7.mllp's readblock, bytes before the start character
    (line noise, a keep-alive newline) are dropped instead of losing the message after them."""
    data = await reader.readuntil(END_BLOCK + CARRIAGE_RETURN)
    start = data.rfind(START_BLOCK)
    if start < 0:
        raise InvalidBlockError("no start block character")
    if start:
        logger.warning("%s bytes before an MLLP start block ignored", start)
    return data[start + 1 : -2]


class Listener:
    def __init__(
        self,
        *,
        clinic,
        host: str,
        port: int,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ):
        self.clinic, self.host, self.port = clinic, host, port
        self.idle_timeout, self.max_connections = idle_timeout, max_connections
        self.stopping = asyncio.Event()
        self.connections: set[asyncio.Task] = set()
        self.handled = 0

    async def serve(self, on_ready: Callable[[tuple], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
                loop.add_signal_handler(sig, self.stopping.set)
        server = await start_hl7_server(self._connection, self.host, self.port, limit=MAX_MESSAGE_BYTES)
        if on_ready is not None:
            on_ready(server.sockets[0].getsockname())
        try:
            await self.stopping.wait()
        finally:
            server.close()
            if self.connections:
                await asyncio.wait(self.connections, timeout=60)
            await server.wait_closed()

    def stop(self) -> None:
        self.stopping.set()

    async def _connection(self, reader, writer) -> None:
        peer = writer.get_extra_info("peername")
        origin = f"mllp:{peer[0]}:{peer[1]}" if peer else "mllp"
        if len(self.connections) >= self.max_connections:
            logger.warning("%s: refused: already %s connections open (the limit)", origin, len(self.connections))
            writer.close()
            return
        self.connections.add(asyncio.current_task())
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            while not self.stopping.is_set():
                read = asyncio.ensure_future(read_block(reader))
                await asyncio.wait({read, stop}, timeout=self.idle_timeout, return_when=asyncio.FIRST_COMPLETED)
                if not read.done():  # shutting down, or idle for too long: nothing in flight
                    read.cancel()
                    if not self.stopping.is_set():
                        logger.info("%s: closed after %s s without a message", origin, self.idle_timeout)
                    break
                try:
                    block = read.result()
                except asyncio.IncompleteReadError:
                    break  # the peer closed the connection
                except InvalidBlockError:
                    logger.warning("%s: data outside an MLLP block ignored", origin)
                    continue
                except asyncio.LimitOverrunError:
                    logger.warning("%s: message larger than %s bytes refused", origin, MAX_MESSAGE_BYTES)
                    break
                text = decode_text(block)
                # Not cancelled by a shutdown: once read, a message is stored and acknowledged. Each
                # connection is read in order; several connections are processed side by side in
                # worker threads (each with its own database connection).
                ack = await asyncio.shield(
                    sync_to_async(handle_message, thread_sensitive=False)(text, clinic=self.clinic, origin=origin)
                )
                writer.writeblock(ack.encode("utf-8"))
                await asyncio.wait_for(writer.drain(), self.idle_timeout)
                self.handled += 1
        except TimeoutError:  # (an OSError too: caught first)
            logger.warning("%s: closed, its ACKs were not read for %s s", origin, self.idle_timeout)
        except (ConnectionError, OSError) as error:
            logger.info("%s: connection lost (%s)", origin, error)
        finally:
            stop.cancel()
            writer.close()
            self.connections.discard(asyncio.current_task())
