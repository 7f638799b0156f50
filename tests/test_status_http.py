"""The status endpoint's HTTP, spoken with raw sockets: what clients other than aiohttp's
(curl, Prometheus, a container health check, a port scanner) get."""

from __future__ import annotations

import asyncio
import json

import pytest

from ops import status_server
from ops.status_server import Status
from tests.test_status_server import ANY_FREE_PORT


async def exchange(port: int, request: bytes, host: str = "127.0.0.1") -> tuple[str, dict, bytes]:
    """(status line, headers, body) of the answer to ``request``, read until the server
    closes the connection (it answers one request per connection)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(5):
            raw = await reader.read()
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


@pytest.fixture
async def port() -> int:  # type: ignore[misc]
    status = Status(ANY_FREE_PORT)
    await status.start(lambda: {})
    assert status.server is not None
    yield status.server.port
    await status.stop()


def get(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\n\r\n".encode()


async def test_get_and_head_of_both_routes(port: int) -> None:
    status, headers, body = await exchange(port, get("/healthz"))
    assert status == "HTTP/1.1 200 OK"
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert int(headers["content-length"]) == len(body)
    assert headers["connection"] == "close"
    assert json.loads(body) == {"status": "ok", "adapters": {}}
    status, headers, body = await exchange(port, get("/metrics?name[]=x"))  # query ignored
    assert status == "HTTP/1.1 200 OK"
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert b"confidant_reminders_sent_total 0.0" in body
    status, headers, body = await exchange(port, get("/healthz", "HEAD"))
    assert (status, body) == ("HTTP/1.1 200 OK", b"")
    assert int(headers["content-length"]) > 0  # the length a GET would get


async def test_other_paths_methods_and_garbage_are_refused(port: int) -> None:
    assert (await exchange(port, get("/")))[0] == "HTTP/1.1 404 Not Found"
    assert (await exchange(port, get("/healthz/x")))[0] == "HTTP/1.1 404 Not Found"
    assert (await exchange(port, get("/metrics", "POST")))[0] == "HTTP/1.1 405 Method Not Allowed"
    assert (await exchange(port, b"hello\r\n\r\n"))[0] == "HTTP/1.1 400 Bad Request"
    assert (await exchange(port, b"GET /healthz\r\n\r\n"))[0] == "HTTP/1.1 400 Bad Request"
    huge = b"GET /healthz HTTP/1.1\r\nX: " + b"a" * (status_server.MAX_REQUEST_BYTES + 10)
    assert (await exchange(port, huge + b"\r\n\r\n"))[0] == "HTTP/1.1 400 Bad Request"


async def test_a_client_that_never_finishes_asking_is_let_go(
    monkeypatch: pytest.MonkeyPatch, port: int
) -> None:
    monkeypatch.setattr(status_server, "REQUEST_TIMEOUT_S", 0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\n")  # and nothing more
        await writer.drain()
        async with asyncio.timeout(5):
            assert await reader.read() == b""  # closed by the server, no answer
    finally:
        writer.close()
    assert (await exchange(port, get("/healthz")))[0] == "HTTP/1.1 200 OK"  # still serving


async def test_a_failing_answer_is_a_500_and_the_endpoint_goes_on(
    monkeypatch: pytest.MonkeyPatch, port: int
) -> None:
    def broken(*_: object) -> tuple[int, dict[str, object]]:
        raise KeyError("x")

    monkeypatch.setattr(status_server, "health", broken)
    assert (await exchange(port, get("/healthz")))[0] == "HTTP/1.1 500 Internal Server Error"
    assert (await exchange(port, get("/metrics")))[0] == "HTTP/1.1 200 OK"
