"""HTTP plumbing and the ``Sandbox`` object that owns the server thread.

A real socket (not an in-process transport) so the client's connection pooling, keep-alive,
timeouts and retry-on-reset paths are exercised exactly as against Truto.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import email.utils
import json
import logging
import math
import secrets
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .brex import BrexEmulator
from .expenses import RECEIPTS_PREFIX
from .faults import CURSOR_PARAMS, Fault, FaultInjector
from .seed import LARGE_TRANSACTION_COUNT, TRANSACTION_COUNT, CompanyData, fresh_company
from .truto import LIST_SHAPES, HttpResponse, ListShape, TrutoGateway, json_response, remote_error, truto_error

log = logging.getLogger("brex_mcp.sandbox")

DEFAULT_SEED = 7
DEFAULT_ACCOUNT_ID = "sandbox-account"
PROFILES = {"default": TRANSACTION_COUNT, "large": LARGE_TRANSACTION_COUNT}


@dataclass(frozen=True)
class RequestRecord:
    """One request as received, before any checks (rejected requests are recorded too)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = 0.0
    """``time.monotonic()`` when the request arrived."""
    status: int | None = None
    """The status answered (None while unanswered or when the connection was dropped)."""


class _RateLimit:
    """Truto's per-account limit as a token bucket: ``requests`` per ``seconds``, bursts up to ``requests``."""

    def __init__(self, requests: int, seconds: float) -> None:
        if requests < 1 or seconds <= 0:
            raise ValueError("rate_limit must be (requests >= 1, seconds > 0)")
        self.capacity = requests
        self.rate = requests / seconds
        self.tokens = float(requests)
        self.updated = time.monotonic()
        self.lock = threading.Lock()
        self.rejected = 0

    def admit(self) -> float | None:
        """None when the request may go on; otherwise seconds until a token is free."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return None
            self.rejected += 1
            return (1 - self.tokens) / self.rate


class _App:
    """Shared state the request handler threads work on."""

    def __init__(
        self,
        gateway: TrutoGateway,
        faults: FaultInjector,
        rate_limit: _RateLimit | None = None,
        max_records: int = 1000,
    ) -> None:
        self.gateway = gateway
        self.faults = faults
        self.rate_limit = rate_limit
        # Only the latest requests are kept: a sandbox serving a long-running server must not grow without end.
        self.records: collections.deque[RequestRecord] = collections.deque(maxlen=max_records)
        self.received = 0
        self.records_lock = threading.Lock()
        # empty_page faults hand out cursors that stand for the page they emptied.
        self.cursor_aliases: dict[str, str | None] = {}

    def record(self, rec: RequestRecord) -> None:
        with self.records_lock:
            self.records.append(rec)
            self.received += 1

    def set_status(self, rec: RequestRecord, status: int | None) -> None:
        with self.records_lock:
            for index in range(len(self.records) - 1, -1, -1):
                if self.records[index] is rec:
                    self.records[index] = dataclasses.replace(rec, status=status)
                    return

    def resolve_aliases(self, query: dict[str, list[str]]) -> dict[str, list[str]]:
        for name in CURSOR_PARAMS:
            value = (query.get(name) or [""])[0]
            if value in self.cursor_aliases:
                query = dict(query)
                original = self.cursor_aliases[value]
                if original is None:
                    del query[name]
                else:
                    query[name] = [original]
        return query

    def rewrite_page(self, fault: Fault, query: dict[str, list[str]], response: HttpResponse) -> HttpResponse:
        """Apply an ``empty_page`` or ``repeat_cursor`` fault to a list answer; other answers pass unchanged."""
        if response.status != 200:
            return response
        try:
            payload = json.loads(response.body)
        except ValueError:
            return response
        page = payload
        if isinstance(payload, dict) and isinstance(payload.get("result"), dict):
            page = payload["result"]  # a Brex page wrapped by Truto's custom API
        if isinstance(page, dict) and isinstance(page.get("items"), list):
            rows_key = "items"
        elif isinstance(page, dict) and isinstance(page.get("result"), list):
            rows_key = "result"
        else:
            return response
        sent = next((query[n][0] for n in CURSOR_PARAMS if (query.get(n) or [""])[0]), None)
        if fault.kind == "empty_page":
            alias = f"emptied{secrets.token_hex(8)}"
            self.cursor_aliases[alias] = sent
            page[rows_key] = []
            page["next_cursor"] = alias
            if "result_count" in page:
                page["result_count"] = 0
        else:
            page["next_cursor"] = sent
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return HttpResponse(response.status, body, response.headers)

    def fault_response(self, fault: Fault) -> HttpResponse:
        if fault.kind == "malformed_json":
            return HttpResponse(200, b'{"result": [{"id": "cu_', {"Content-Type": "application/json; charset=utf-8"})
        if fault.kind == "html":
            status = fault.status or 502
            page = f"<html><head><title>{status} Bad Gateway</title></head><body><h1>{status}</h1></body></html>"
            return HttpResponse(status, page.encode(), {"Content-Type": "text/html; charset=utf-8", **fault.headers})
        status = fault.status or 500
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            if fault.retry_after_format == "date":
                headers["Retry-After"] = email.utils.formatdate(time.time() + fault.retry_after, usegmt=True)
            else:
                headers["Retry-After"] = f"{fault.retry_after:g}"
        if fault.body is not None:
            try:
                json.loads(fault.body)
                content_type = "application/json; charset=utf-8"
            except ValueError:
                content_type = "text/plain; charset=utf-8"
            return HttpResponse(status, fault.body, {"Content-Type": content_type, **fault.headers})
        if fault.remote:
            brex_body = {"type": _error_type(status), "message": "Injected fault"}
            response = remote_error(status, brex_body, self.gateway.brex.next_trace_id(), headers)
        else:
            response = truto_error(status, "Injected fault", headers)
        if fault.missing_scopes:
            payload = json.loads(response.body)
            payload["truto_error_insight"] = {
                "forbidden_error": {"value": {"missing_scopes": list(fault.missing_scopes)}}
            }
            response.body = json.dumps(payload, separators=(",", ":")).encode()
        return response


def _error_type(status: int) -> str:
    try:
        return HTTPStatus(status).name
    except ValueError:
        return "ERROR"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    app: _App

    def __init__(self, address: tuple[str, int], app: _App) -> None:
        self.app = app
        self.app_running = True
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that give up mid-answer (timeouts, resets) are normal here, not worth a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("client %s went away: %r", client_address, error)
        else:
            log.exception("sandbox failed while serving %s", client_address)

    def drop_connections(self) -> None:
        """Close kept-alive connections so their handler threads end with the server."""
        with self.sockets_lock:
            sockets = list(self.open_sockets)
            self.open_sockets.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "brex-mcp-sandbox/0.1"
    sys_version = ""
    timeout = 120  # an idle keep-alive connection frees its thread eventually
    disable_nagle_algorithm = True  # headers and body go out as separate writes; don't wait on delayed ACKs
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        # DEBUG: quiet inside the MCP server; ``python -m brex_mcp.sandbox`` turns it on.
        log.debug("%s - %s", self.address_string(), format % args)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        app = self.server.app
        try:
            body = self._read_body()
        except ValueError:
            self._write(truto_error(400, "Malformed request body"), close=True)
            return
        split = urlsplit(self.path)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        query = parse_qs(split.query, keep_blank_values=True)
        record = RequestRecord(self.command, split.path, query, headers, body, at=time.monotonic())
        app.record(record)

        if split.path.startswith(RECEIPTS_PREFIX):  # a pre-signed upload uri: the storage, not Truto
            status, message = app.gateway.brex.expenses.receive(
                self.command, split.path[len(RECEIPTS_PREFIX) :], headers, body
            )
            self._write(HttpResponse(status, message.encode(), {"Content-Type": "text/plain; charset=utf-8"}))
            return
        if app.rate_limit is not None:
            wait = app.rate_limit.admit()
            if wait is not None:
                # Truto's own 429: no remote flag, Retry-After in whole seconds.
                retry_after = str(max(1, math.ceil(wait)))
                app.set_status(record, 429)
                self._write(truto_error(429, "Rate limit exceeded", {"Retry-After": retry_after}))
                return
        fault = app.faults.take(self.command, split.path, query)
        kind = fault.kind if fault is not None else None
        if fault is not None and kind == "reset":
            self._reset()
            return
        if fault is not None and kind == "timeout":
            self._stall(fault.seconds)
            return
        if fault is not None and kind == "delay":
            time.sleep(fault.seconds)
        if fault is not None and kind in ("status", "malformed_json", "html"):
            response = app.fault_response(fault)
            app.set_status(record, response.status)
            self._write(response)
            return
        query = app.resolve_aliases(query)
        try:
            response = app.gateway.handle(self.command, split.path, query, headers, body)
        except Exception:
            log.exception("sandbox failed on %s %s", self.command, self.path)
            response = json_response(
                500, {"statusCode": 500, "error": "Internal Server Error", "message": "sandbox internal error"}
            )
        if fault is not None and kind in ("empty_page", "repeat_cursor"):
            response = app.rewrite_page(fault, query, response)
        if fault is not None and kind == "late":
            time.sleep(fault.seconds)
        if fault is not None and kind == "truncated":
            app.set_status(record, response.status)
            self._write_truncated(response)
            return
        app.set_status(record, response.status)
        self._write(response)

    def _write(self, response: HttpResponse, *, close: bool = False) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _write_truncated(self, response: HttpResponse) -> None:
        """Promise the whole body, send half of it, close: the client sees the connection end mid-body."""
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        self.wfile.write(response.body[: len(response.body) // 2])
        self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _stall(self, seconds: float) -> None:
        """Say nothing for ``seconds`` (or until the client hangs up or the sandbox stops), then close."""
        self.close_connection = True
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.server.app_running:
            try:
                self.connection.settimeout(0.05)
                if self.connection.recv(1, socket.MSG_PEEK) == b"":
                    break  # the client gave up
            except (TimeoutError, BlockingIOError):
                continue
            except OSError:
                break
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _reset(self) -> None:
        """Drop the connection with a TCP reset and no response, like a dying load balancer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            # Linger 0 makes close() send RST instead of FIN: the client sees "connection reset".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()


class Sandbox:
    """A loopback HTTP server that behaves like Truto in front of a seeded Brex company, and like Brex itself.

    ``Sandbox(seed=7).start()`` returns the base URL; use ``token`` and ``account_id`` as the Truto
    API token and ``integrated_account_id``, or ``brex_token`` for Brex's own routes (``/v2/...``).
    ``profile="large"`` (or ``transactions=N``) seeds more card transactions: 50,000 for ``large``.
    """

    def __init__(
        self,
        seed: int = DEFAULT_SEED,
        custom_list_shape: ListShape = "brex_page",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        account_id: str = DEFAULT_ACCOUNT_ID,
        other_accounts: dict[str, int] | None = None,
        profile: str = "default",
        transactions: int | None = None,
        rate_limit: tuple[int, float] | None = None,
        faults: str | None = None,
        max_records: int = 1000,
    ) -> None:
        """`other_accounts` maps further integrated account ids to the seeds of their own companies;
        ``rate_limit=(n, seconds)`` answers 429 with Retry-After beyond n requests per seconds (a token
        bucket, as Truto's per-account limit); ``faults`` is a spec string armed at once (see faults.py);
        ``requests`` keeps the latest ``max_records`` requests and ``received`` counts them all."""
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
        self.transaction_count = transactions if transactions is not None else PROFILES[profile]
        if custom_list_shape not in LIST_SHAPES:
            raise ValueError(f"custom_list_shape must be one of {LIST_SHAPES}, got {custom_list_shape!r}")
        self.seed = seed
        self.custom_list_shape: ListShape = custom_list_shape
        self.host = host
        self.port = port
        self.token = token or f"sandbox-token-{secrets.token_hex(16)}"
        self.account_id = account_id
        self.faults = FaultInjector()
        if faults:
            self.faults.add_spec(faults)
        self._rate_limit = _RateLimit(*rate_limit) if rate_limit is not None else None
        self._data: CompanyData | None = None
        self._data_lock = threading.Lock()
        brex = BrexEmulator(self._get_data, trace_prefix=secrets.token_hex(4))
        self._brex = brex
        gateway = TrutoGateway(token=self.token, account_id=account_id, brex=brex, list_shape=custom_list_shape)
        self.brex_token = gateway.brex_token = f"bxt_sandbox_{secrets.token_hex(16)}"
        self._others: dict[str, CompanyData] = {}
        self._other_seeds = dict(other_accounts or {})
        for other in self._other_seeds:
            gateway.companies[other] = BrexEmulator(self._data_getter(other), trace_prefix=secrets.token_hex(4))
        self._app = _App(gateway, self.faults, self._rate_limit, max_records)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._state_lock = threading.Lock()

    # -- data ------------------------------------------------------------------------------------

    def _get_data(self) -> CompanyData:
        # Seeded on first use so that constructing and starting the sandbox costs nothing.
        if self._data is None:
            with self._data_lock:
                if self._data is None:
                    self._data = fresh_company(self.seed, self.transaction_count)
        return self._data

    def _data_getter(self, account: str) -> Callable[[], CompanyData]:
        def get() -> CompanyData:
            with self._data_lock:
                if account not in self._others:
                    self._others[account] = fresh_company(self._other_seeds[account], self.transaction_count)
            return self._others[account]

        return get

    def data_for(self, account: str) -> CompanyData:
        """The company behind an integrated account: the primary's is `data`, others' come from `other_accounts`."""
        return self.data if account == self.account_id else self._data_getter(account)()

    @property
    def data(self) -> CompanyData:
        """The live company state (Brex-shaped dicts); edits are visible to later requests."""
        return self._get_data()

    @property
    def account_status(self) -> str:
        """The integrated account's status as Truto reports it; set it to e.g. "needs_reauth" in tests."""
        return self._app.gateway.account_status

    @account_status.setter
    def account_status(self, value: str) -> None:
        self._app.gateway.account_status = value

    # -- requests --------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the latest requests (up to max_records), oldest first."""
        with self._app.records_lock:
            return list(self._app.records)

    @property
    def received(self) -> int:
        """How many requests arrived since start (``requests`` keeps only the latest ``max_records``)."""
        with self._app.records_lock:
            return self._app.received

    @property
    def rate_limited(self) -> int:
        """How many requests the sandbox's rate limit answered with 429."""
        return self._rate_limit.rejected if self._rate_limit is not None else 0

    def clear_requests(self) -> None:
        with self._app.records_lock:
            self._app.records.clear()

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._url

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> str:
        """Bind and serve from a daemon thread; returns the base URL. Calling it again is a no-op."""
        with self._state_lock:
            if self._server is not None and self._url is not None:
                return self._url
            server = _Server((self.host, self.port), self._app)
            host, port = server.server_address[:2]
            display_host = f"[{host}]" if ":" in str(host) else str(host)
            self._url = f"http://{display_host}:{port}"
            self._brex.expenses.public_url = self._url
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.5},
                name=f"brex-sandbox-{port}",
                daemon=True,
            )
            self._thread.start()
            log.info("sandbox serving on %s (seed %s, list shape %s)", self._url, self.seed, self.custom_list_shape)
            return self._url

    def stop(self) -> None:
        """Stop serving and close every connection; safe to call twice."""
        with self._state_lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            self._url = None
        if server is None:
            return
        # shutdown() only takes effect when the accept loop wakes; a throwaway connection wakes it at
        # once instead of after poll_interval, which matters for suites that start a sandbox per test.
        stopper = threading.Thread(target=server.shutdown, name="brex-sandbox-stop", daemon=True)
        stopper.start()
        while stopper.is_alive():
            with contextlib.suppress(OSError), socket.create_connection(server.server_address[:2], timeout=1):
                pass
            stopper.join(timeout=0.01)
        server.app_running = False
        server.drop_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def wait(self) -> None:
        """Block until the server thread ends (used by ``python -m brex_mcp.sandbox``)."""
        thread = self._thread
        while thread is not None and thread.is_alive():
            thread.join(timeout=0.5)

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._url or "not started"
        return f"Sandbox(seed={self.seed}, custom_list_shape={self.custom_list_shape!r}, {where})"
