"""One full scan in its own process, so its peak RSS is its own: `python -m benchmarks.scan_worker ours|raw`.

Reads BENCH_URL, BENCH_TOKEN and BENCH_ACCOUNT; prints {"rows", "seconds", "peak_rss_mb"} as JSON.
ours: TrutoClient + the pager + Transaction models, page by page as an agent would (nothing kept);
raw: an httpx loop that fetches and parses the same pages.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

import anyio
import httpx

PAGE = 1000
PATH = "/v2/transactions/card/primary"


async def ours(url: str, token: str, account: str) -> int:
    from pydantic import SecretStr

    from brex_mcp.config import Settings
    from brex_mcp.models import transaction_json_from_brex
    from brex_mcp.pagination import Page, Position, parse_page, scan
    from brex_mcp.truto import TrutoClient

    settings = Settings(
        truto_api_token=SecretStr(token), integrated_account_id=account, truto_base_url=url, rate_limit_requests=0
    )
    client = TrutoClient(settings)

    async def fetch(position: Position) -> Page:
        params: dict[str, object] = {"limit": position.page_size}
        if position.cursor is not None:
            params[position.param] = position.cursor
        return parse_page((await client.custom("GET", PATH, params=params)).data)

    rows = 0
    position: Position | None = Position(page_size=PAGE)
    try:
        while position is not None:
            result = await scan(fetch, start=position, want=PAGE, max_pages=1)
            rows += len([transaction_json_from_brex(row) for row in result.rows])  # what list_transactions does
            position = result.next
    finally:
        await client.aclose()
    return rows


async def raw(url: str, token: str, account: str) -> int:
    rows = 0
    cursor = None
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        while True:
            params = {"limit": PAGE, "integrated_account_id": account}
            if cursor:
                params["cursor"] = cursor
            response = await http.get("/custom" + PATH, params=params)
            response.raise_for_status()
            page = response.json()["result"]
            rows += len(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return rows


def main() -> int:
    mode = sys.argv[1]
    env = os.environ
    if mode == "ours":  # imports are cold start (figure 1), not scanning: load them before the clock starts
        import brex_mcp.models
        import brex_mcp.pagination
        import brex_mcp.truto  # noqa: F401
    started = time.perf_counter()
    rows = anyio.run(ours if mode == "ours" else raw, env["BENCH_URL"], env["BENCH_TOKEN"], env["BENCH_ACCOUNT"])
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": peak}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
