"""``python -m brex_mcp.sandbox``: serve the sandbox in the foreground for manual poking."""

from __future__ import annotations

import argparse
import logging
import sys

from .faults import SPEC_HELP
from .server import DEFAULT_ACCOUNT_ID, DEFAULT_SEED, PROFILES, Sandbox
from .truto import LIST_SHAPES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m brex_mcp.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--custom-list-shape", choices=LIST_SHAPES, default="brex_page")
    parser.add_argument("--token", default=None, help="API token to accept (default: a random one)")
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="default", help="large: 50,000 transactions")
    parser.add_argument("--faults", default=None, metavar="SPEC", help=SPEC_HELP)
    parser.add_argument(
        "--rate-limit", default=None, metavar="N/SECONDS", help="answer 429 beyond N requests per SECONDS"
    )
    args = parser.parse_args(argv)
    rate_limit = None
    if args.rate_limit:
        count, _, seconds = args.rate_limit.partition("/")
        try:
            rate_limit = (int(count), float(seconds))
        except ValueError:
            parser.error(f"--rate-limit must look like 50/10, got {args.rate_limit!r}")

    # stdout stays clean: everything, including the connection details, goes to stderr.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("brex_mcp.sandbox").setLevel(logging.DEBUG)  # one line per request
    try:
        sandbox = Sandbox(
            seed=args.seed,
            custom_list_shape=args.custom_list_shape,
            host=args.host,
            port=args.port,
            token=args.token,
            account_id=args.account_id,
            profile=args.profile,
            faults=args.faults,
            rate_limit=rate_limit,
        )
    except ValueError as exc:
        parser.error(str(exc))
    url = sandbox.start()
    print(f"Truto base URL:        {url}", file=sys.stderr)
    print(f"API token:             {sandbox.token}", file=sys.stderr)
    print(f"integrated_account_id: {sandbox.account_id}", file=sys.stderr)
    try:
        sandbox.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
