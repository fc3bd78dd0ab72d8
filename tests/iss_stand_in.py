"""A MOEX ISS stand-in on loopback: the board quote and the search, in ISS's JSON blocks.

Blocks are {"columns": [...], "data": [[...]]} with the columns in ISS's own order (not the order
asked for); `iss.only` and `<block>.columns` select as on the real server, unless `ignore_columns`.
`mode` makes it misbehave: "down" (HTTP 500), "garbage" (an HTML page), "no_blocks" (JSON without
the blocks asked for), "hold" (requests wait until `release()`, at most 10 s).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MOSCOW = timezone(timedelta(hours=3))
# a subset of ISS's columns, in ISS's order
SECURITY_COLUMNS = [
    "SECID", "BOARDID", "SHORTNAME", "PREVPRICE", "LOTSIZE", "FACEVALUE", "STATUS", "BOARDNAME",
    "DECIMALS", "SECNAME", "MINSTEP", "PREVWAPRICE", "PREVDATE", "ISIN", "LATNAME", "CURRENCYID",
]  # fmt: skip
MARKET_COLUMNS = [
    "SECID", "BOARDID", "BID", "OFFER", "OPEN", "LOW", "HIGH", "LAST", "LASTCHANGE",
    "LASTCHANGEPRCNT", "WAPRICE", "LASTTOPREVPRICE", "NUMTRADES", "TRADINGSTATUS", "UPDATETIME",
    "TIME", "SYSTIME",
]  # fmt: skip
SEARCH_COLUMNS = [
    "id", "secid", "shortname", "regnumber", "name", "isin", "is_traded", "emitent_id",
    "emitent_title", "type", "group", "primary_boardid", "marketprice_boardid",
]  # fmt: skip


@dataclass
class Share:
    secid: str
    shortname: str
    name: str
    prev_price: float
    last: float | None  # None: no trade yet today
    change_percent: float | None
    decimals: int = 2
    prev_date: str = "2026-11-30"
    currency: str = "SUR"


def share_rows(share: Share) -> tuple[dict[str, Any], dict[str, Any]]:
    now = datetime.now(MOSCOW)
    security = {
        "SECID": share.secid, "BOARDID": "TQBR", "SHORTNAME": share.shortname,
        "PREVPRICE": share.prev_price, "LOTSIZE": 10, "FACEVALUE": 3, "STATUS": "A",
        "BOARDNAME": "Т+: Акции и ДР - безадрес.", "DECIMALS": share.decimals,
        "SECNAME": share.name, "MINSTEP": 0.01, "PREVWAPRICE": share.prev_price,
        "PREVDATE": share.prev_date, "ISIN": f"RU000{share.secid}", "LATNAME": share.secid,
        "CURRENCYID": share.currency,
    }  # fmt: skip
    traded = share.last is not None
    market = {
        "SECID": share.secid, "BOARDID": "TQBR", "BID": None, "OFFER": None,
        "OPEN": share.last, "LOW": share.last, "HIGH": share.last, "LAST": share.last,
        "LASTCHANGE": None, "LASTCHANGEPRCNT": None, "WAPRICE": share.last,
        "LASTTOPREVPRICE": share.change_percent, "NUMTRADES": 1234 if traded else 0,
        "TRADINGSTATUS": "T", "UPDATETIME": now.strftime("%H:%M:%S"),
        "TIME": now.strftime("%H:%M:%S") if traded else None,
        "SYSTIME": now.strftime("%Y-%m-%d %H:%M:%S"),
    }  # fmt: skip
    return security, market


def search_row(number: int, secid: str, shortname: str, name: str, **fields: Any) -> dict:
    return {
        "id": number, "secid": secid, "shortname": shortname, "regnumber": None, "name": name,
        "isin": f"RU000{secid}", "is_traded": fields.get("is_traded", 1), "emitent_id": 1,
        "emitent_title": name, "type": fields.get("type", "common_share"),
        "group": fields.get("group", "stock_shares"),
        "primary_boardid": fields.get("board", "TQBR"), "marketprice_boardid": "TQBR",
    }  # fmt: skip


SHARES = [
    Share("SBER", "Сбербанк", "Сбербанк России ПАО ао", 312.06, 315.9, 1.23),
    Share("SBERP", "Сбербанк-п", "Сбербанк России ПАО ап", 310.0, 311.2, 0.39),
    Share("GAZP", "ГАЗПРОМ ао", '"Газпром" (ПАО) ао', 128.5, 127.31, -0.93),
    Share("LKOH", "ЛУКОЙЛ", "НК ЛУКОЙЛ (ПАО) - ао", 6540.5, 6712.5, 2.63, decimals=1),
    Share("VTBR", "ВТБ ао", "Банк ВТБ (ПАО) ао", 71.555, None, None, decimals=3),
    Share("ROSN", "Роснефть", "ПАО НК Роснефть", 420.0, 421.05, 0.25),
]
SEARCH = [  # ISS lists a bond and the preferred share before the ordinary one for "сбер"
    search_row(1, "RU000A10B0J7", "Сбер Sb51R", "Сбербанк ПАО 001Р-SBER51R",
               group="stock_bonds", type="exchange_bond", board="TQCB"),
    search_row(2, "SBERP", "Сбербанк-п", "Сбербанк России ПАО ап", type="preferred_share"),
    search_row(3, "SBER", "Сбербанк", "Сбербанк России ПАО ао"),
    search_row(4, "SBRCY", "Сбербанк ДР", "Sberbank ADR", is_traded=0, group="stock_dr"),
    search_row(5, "GAZP", "ГАЗПРОМ ао", "\"Газпром\" (ПАО) ао"),
    search_row(6, "SU26238RMFS4", "ОФЗ 26238", "ОФЗ-ПД 26238 15/05/2041",
               group="stock_bonds", type="ofz_bond", board="TQOB"),
    search_row(7, "LKOH", "ЛУКОЙЛ", "НК ЛУКОЙЛ (ПАО) - ао"),
]  # fmt: skip


class IssStandIn:
    def __init__(self) -> None:
        self.shares = {share.secid: share for share in SHARES}
        self.search_rows = list(SEARCH)
        self.mode = "ok"
        self.ignore_columns = False
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._released = threading.Event()
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/iss"

    def __enter__(self) -> IssStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def release(self) -> None:
        self._released.set()

    def asked(self, path_end: str) -> int:
        """How many requests reached a path ending so (e.g. "/SBER.json", "/securities.json")."""
        with self._changed:
            return sum(path.endswith(path_end) for path, _ in self.requests)

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"ISS stand-in got {len(self.requests)} of {count} requests")

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, str, bytes]:
        with self._changed:
            self.requests.append((path, params))
            self._changed.notify_all()
        if self.mode == "hold":
            self._released.wait(10)
        if self.mode == "down":
            return 500, "text/plain", b"Internal Server Error"
        if self.mode == "garbage":
            return 200, "text/html", b"<html><body>Service maintenance</body></html>"
        if self.mode == "no_blocks":
            return 200, "application/json", b'{"error": "unexpected"}'
        body = self._json(path, params)
        if body is None:
            return 404, "text/plain", b"Not Found"
        return 200, "application/json", json.dumps(body, ensure_ascii=False).encode()

    def _json(self, path: str, params: dict[str, str]) -> dict | None:
        if path == "/iss/securities.json":
            wanted = params.get("q", "").casefold()
            rows = [
                row
                for row in self.search_rows
                if any(wanted in str(row[k]).casefold() for k in ("secid", "shortname", "name"))
            ]
            return {"securities": self._block("securities", SEARCH_COLUMNS, rows, params)}
        quote = re.fullmatch(
            r"/iss/engines/stock/markets/shares/boards/TQBR/securities/([^/]+)\.json", path
        )
        if quote is None:
            return None
        share = self.shares.get(quote.group(1))  # ISS is case-sensitive: sber finds nothing
        security, market = share_rows(share) if share else (None, None)
        blocks = {
            "securities": self._block("securities", SECURITY_COLUMNS, [security], params),
            "marketdata": self._block("marketdata", MARKET_COLUMNS, [market], params),
        }
        only = params.get("iss.only")
        return {k: v for k, v in blocks.items() if not only or k in only.split(",")}

    def _block(self, name: str, columns: list[str], rows: list, params: dict[str, str]) -> dict:
        asked = params.get(f"{name}.columns")
        if asked and not self.ignore_columns:
            chosen = set(asked.split(","))
            columns = [c for c in columns if c in chosen]
        return {"columns": columns, "data": [[row[c] for c in columns] for row in rows if row]}


def _handler_for(iss: IssStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            url = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(url.query).items()}
            status, kind, body = iss.answer(url.path, params)
            try:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except ConnectionError:  # the client gave up waiting (its timeout)
                pass

        def log_message(self, *args: object) -> None:
            pass

    return Handler
