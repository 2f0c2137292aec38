"""MLLP both ways, with python-hl7's asyncio streams: the listener partners send to, and the client
Refloop sends with (outbound messages, tests, the benchmark, the demo).

The listener reads raw blocks (not parsed messages): the bytes are stored as they came, even when
they do not parse, and answered with an ACK. The Django ORM is synchronous: each message is handled
in a worker (`run_in_executor`), which keeps its database connection while it works and closes it
when it fails and when the listener stops. The workers are threads of the listener's process, or,
with `processes` above 1, that many worker processes taking one message at a time each: the
listener's process then only reads and writes the sockets, and each message goes to whichever
worker is free, so every core works even when one partner's connection carries all the traffic
(threads of one process share one core's worth of Python).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from django.conf import settings
from django.db import connections
from hl7.mllp import InvalidBlockError, open_hl7_connection, start_hl7_server

log = logging.getLogger(__name__)

BLOCK_LIMIT = 32 * 1024 * 1024  # a report PDF embedded in an MDM is a few MB at most


def _handle(block: bytes) -> bytes:
    """One message in a worker thread. The thread keeps its database connection from message to
    message (a long-lived worker, not a request: opening one per message would cost more than
    the message); a connection that failed is closed, and the next message opens a new one."""
    from refloop.interop.hl7v2.services import message_receive

    try:
        return message_receive(raw=block)
    except Exception:
        connections.close_all()
        raise


def _worker_start(database_names: dict[str, str]) -> None:
    """A worker process, started fresh (spawn: it inherits none of the listener's sockets): Django
    set up on the listener's databases (a test database has a name of its own). Ctrl-C reaches
    the whole process group: a worker finishes its message and stops with the listener."""
    import django

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_orphan_exit, args=(os.getppid(),), daemon=True).start()
    django.setup()
    for alias, name in database_names.items():
        connections[alias].settings_dict["NAME"] = name


def _orphan_exit(listener_pid: int) -> None:
    """A listener killed outright (SIGKILL, out of memory) cannot stop its workers, and a worker
    waiting for its next message would wait for ever: each one leaves once its listener is gone
    (a message half done is rolled back by the database; it was never acknowledged)."""
    while os.getppid() == listener_pid:
        time.sleep(1)
    os._exit(1)


def _worker_ready() -> None:
    """Nothing: run once by each worker process before the listener takes connections."""


def sources_allowed() -> list:
    return [ipaddress.ip_network(n.strip()) for n in settings.REFLOOP_HL7_ALLOWED_SOURCES if n]


def source_allowed(address: str, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    return any(ip in network for network in networks if ip.version == network.version)


def _close_thread_connections(barrier: threading.Barrier) -> None:
    # Every worker thread waits at the barrier, so each one closes its own connection.
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=5)
    connections.close_all()


class Listener:
    """An MLLP server: each block in, its ACK out, in order, per connection."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, workers: int = 16, processes=1):
        self.host, self.port = host, port
        self.workers, self.processes = workers, processes
        self.allowed = sources_allowed()
        self.executor = self._executor_new()
        self.server = None

    def _executor_new(self):
        if self.processes <= 1:
            return ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="hl7")
        names = {alias: connections[alias].settings_dict["NAME"] for alias in connections}
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start,
            initargs=(names,),
        )

    async def start(self) -> int:
        if isinstance(self.executor, ProcessPoolExecutor):
            # Every worker up (Django imported, set up) before the first connection is taken.
            loop, executor = asyncio.get_running_loop(), self.executor
            await asyncio.gather(
                *(loop.run_in_executor(executor, _worker_ready) for _ in range(self.processes))
            )
        self.server = await start_hl7_server(self._client, self.host, self.port, limit=BLOCK_LIMIT)
        self.port = self.server.sockets[0].getsockname()[1]
        log.info("hl7 listener on %s:%s", self.host, self.port)
        return self.port

    def _executor_renew(self, broken) -> None:
        """A worker process died (killed, out of memory): the pool cannot be used again. Its
        messages in flight were not answered (each sender resends, and a message committed but
        never answered is processed then); a new pool takes the next ones."""
        if self.executor is broken:
            log.error("hl7 worker process died: the workers are started again")
            self.executor = self._executor_new()
            broken.shutdown(wait=False)

    async def _client(self, reader, writer) -> None:
        loop = asyncio.get_running_loop()
        peer = writer.get_extra_info("peername")
        if not source_allowed(peer[0] if peer else "", self.allowed):
            # MLLP has no sign-in: who may send is who can connect (partners' addresses).
            log.warning("hl7 connection refused from %s (not an allowed source)", peer and peer[0])
            writer.close()
            return
        try:
            while True:
                try:
                    block = await reader.readblock()
                except asyncio.IncompleteReadError:
                    break  # the sender closed the connection
                except (InvalidBlockError, ValueError) as error:
                    log.warning("hl7 connection dropped: %s", type(error).__name__)
                    break
                executor = self.executor
                try:
                    ack = await loop.run_in_executor(executor, _handle, block)
                except BrokenProcessPool:
                    self._executor_renew(executor)
                    break
                except Exception as error:  # noqa: BLE001 - the database is away, say
                    # Not stored, or stored and not answered: no ACK, so the sender resends.
                    log.error("hl7 message not taken: %s", type(error).__name__)
                    break
                writer.writeblock(ack)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        if isinstance(self.executor, ProcessPoolExecutor):
            self.executor.shutdown(wait=True)  # each worker's connection closes as it exits
            return
        workers = self.executor._max_workers
        barrier = threading.Barrier(workers)
        for _ in range(workers):
            self.executor.submit(_close_thread_connections, barrier)
        self.executor.shutdown(wait=True)


async def listener_serve(*, host: str, port: int, workers: int = 16, processes: int = 1) -> None:
    listener = Listener(host, port, workers, processes)
    await listener.start()
    try:
        await asyncio.Event().wait()
    finally:
        await listener.stop()


class ListenerThread:
    """The listener in a thread of its own, with its own event loop (tests, benchmark, demo)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, workers: int = 16, processes=1):
        self.listener = Listener(host, port, workers, processes)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ListenerThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.listener.start(), self.loop).result(timeout=10)
        return self

    @property
    def port(self) -> int:
        return self.listener.port

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.listener.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


async def mllp_exchange(
    host: str, port: int, messages: list[bytes], *, timeout: float = 10.0
) -> list[bytes]:
    """Send each message over one connection, waiting for each answer; returns the answers."""
    reader, writer = await asyncio.wait_for(
        open_hl7_connection(host, port, limit=BLOCK_LIMIT), timeout
    )
    try:
        answers = []
        for message in messages:
            writer.writeblock(message)
            await writer.drain()
            answers.append(await asyncio.wait_for(reader.readblock(), timeout))
        return answers
    finally:
        writer.close()


def mllp_send(host: str, port: int, messages: list[bytes], *, timeout: float = 10.0) -> list[bytes]:
    """mllp_exchange for synchronous callers."""
    return _run(mllp_exchange(host, port, messages, timeout=timeout))


def _run(coroutine):
    """asyncio.run, also from a thread whose event loop is already running (a caller inside
    another asyncio program, or a browser driver's loop in the same process): there the exchange
    runs on a loop of its own in a helper thread, and this thread waits for it."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False
    else:
        running = True
    if not running:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
