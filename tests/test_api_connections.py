"""Connections against a real `tinktalker serve` process over real sockets: idle and slow ones are
closed, the count is capped, the open-files limit is raised, and running out of descriptors does not
flood the log."""

import resource
import signal
import socket
import time

import httpx
import pytest

from devkit.loopback_server import serve_process

ENV = {
    "TINKTALKER__STORE__BACKEND": "memory",
    "TINKTALKER__SERVER__IDLE_TIMEOUT_S": "1",
    "TINKTALKER__SERVER__HEADER_TIMEOUT_S": "1.5",
    "TINKTALKER__SERVER__MAX_CONNECTIONS": "4",
}


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with serve_process(tiny_model_dir, ENV, open_files=(256, hard)) as (
        url,
        process,
    ):  # as `ulimit -n 256`
        yield url, process


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def closed_after(sock: socket.socket) -> float:
    """Seconds until the server closes `sock` (reads until EOF)."""
    started = time.monotonic()
    while sock.recv(4096):
        pass
    return time.monotonic() - started


def test_a_connection_that_never_sends_is_closed_after_the_idle_timeout(server):
    url, _ = server
    with connect(url) as sock:
        assert 0.5 < closed_after(sock) < 5


def test_a_connection_sending_its_headers_a_byte_at_a_time_is_closed(server):
    url, _ = server
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    with connect(url) as sock:
        started = time.monotonic()
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            for byte in request:
                sock.send(bytes([byte]))
                time.sleep(0.1)
        assert time.monotonic() - started < 5  # 100 bytes at 10/s would take 10 s


def test_a_kept_alive_connection_is_closed_when_idle(server):
    url, _ = server
    with connect(url) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200 OK" in sock.recv(4096)
        assert closed_after(sock) < 5


def test_beyond_max_connections_requests_are_refused_fast_then_served_again(server):
    url, _ = server
    held = [connect(url) for _ in range(4)]
    try:
        time.sleep(0.2)
        started = time.monotonic()
        refused = httpx.get(f"{url}/health", timeout=5)
        assert refused.status_code == 503 and time.monotonic() - started < 1
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)
    assert httpx.get(f"{url}/health", timeout=5).status_code == 200


def test_the_soft_open_files_limit_is_raised_at_start(server):
    _, process = server
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    line = next(
        entry
        for entry in open(f"/proc/{process.pid}/limits").read().splitlines()
        if entry.startswith("Max open files")
    )
    assert line.split()[3] == str(hard), line  # soft == hard


def test_running_out_of_descriptors_is_one_line_not_a_flood(tiny_model_dir):
    env = {
        **ENV,
        "TINKTALKER__SERVER__MAX_CONNECTIONS": "1000",
        "TINKTALKER__SERVER__IDLE_TIMEOUT_S": "30",
    }
    with serve_process(tiny_model_dir, env, open_files=(160, 160)) as (url, process):
        held = []
        try:
            for _ in range(250):  # more than the server has descriptors for
                held.append(connect(url))
            time.sleep(2.5)  # asyncio retries the accept every second
        finally:
            for sock in held:
                sock.close()
        time.sleep(1.5)
        assert httpx.get(f"{url}/health", timeout=5).status_code == 200
        process.terminate()
        process.wait(20)
        log = process.stderr.read()
    assert "out of file descriptors" in log
    assert "Traceback" not in log and log.count("out of file descriptors") <= 2


def everything_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_a_request_with_both_lengths_is_refused_and_its_connection_closed(server):
    # RFC 9112 6.1: Content-Length beside Transfer-Encoding can smuggle a second request past a
    # proxy that reads the other length; the pipelined GET must never be answered
    url, _ = server
    smuggling = (
        b"POST /answer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    with connect(url) as sock:
        sock.sendall(smuggling)
        answers = everything_until_closed(sock)
    assert answers.startswith(b"HTTP/1.1 400 ") and answers.count(b"HTTP/1.1 ") == 1
    assert b"Content-Length and Transfer-Encoding" in answers


def test_a_body_that_stops_arriving_gets_408_and_a_closed_connection(server):
    url, _ = server
    head = (
        b"POST /answer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
    )
    with connect(url) as sock:
        sock.sendall(head + b'{"messages": ')  # and then nothing: 87 bytes never come
        started = time.monotonic()
        answer = everything_until_closed(sock)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 ") and b"did not arrive within 1.5 s" in answer
    assert waited < 8  # header_timeout_s is 1.5 here; before, it stayed open 150 s and more


def test_during_a_drain_ready_answers_503_instead_of_refusing(tiny_model_dir):
    env = {**ENV, "TINKTALKER__SERVER__HEADER_TIMEOUT_S": "60"}
    with serve_process(tiny_model_dir, env) as (url, process):
        in_flight = connect(url)  # a request whose body is still coming: the drain waits for it
        in_flight.sendall(
            b"POST /answer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        assert httpx.get(f"{url}/health", timeout=5).status_code == 200  # the head was read
        process.send_signal(signal.SIGTERM)
        answers = []
        for _ in range(100):  # bounded: until the drain answers (before: refused at once)
            try:
                answers.append(httpx.get(f"{url}/ready", timeout=5).status_code)
            except httpx.ConnectError:
                answers.append("refused")
            if answers[-1] != 200:  # 200: the signal is not handled yet
                break
            time.sleep(0.05)
        assert answers[-1] == 503, answers
        in_flight.close()  # the last request ends: the server stops by itself
        assert process.wait(20) is not None
