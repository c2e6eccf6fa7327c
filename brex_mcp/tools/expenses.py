"""Expense reconciliation: list card expenses (missing receipts among them), attach a receipt, fix a memo.

Brex's Expenses API pages at most 100 rows and cannot filter on receipts, so `missing_receipt` is
applied here while paging, with a cursor that resumes exactly where the scan stopped. Receipts go up
in Brex's two steps: ask for a pre-signed upload uri, then PUT the bytes to it (without our token).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import httpx
from mcp.server.mcpserver import Context, Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from ..errors import UpstreamError
from ..money import Money, money_from_brex
from ..output import Output
from ..pagination import Page, Position, parse_page, scan
from ..text import clean
from .inputs import BrexId, Cursor, DateBound, start_position
from .registry import READ, ToolSpec, app_state, expect_object, structured, tool_errors
from .writes import Consent, PlannedRequest, WriteConfirmation, ask, consent_of, send_write

log = logging.getLogger(__name__)

EXPENSES_PAGE = 100  # Brex's maximum for list-expenses
ExpenseStatus = Literal["DRAFT", "SUBMITTED", "APPROVED", "OUT_OF_POLICY", "VOID", "CANCELED", "SPLIT", "SETTLED"]
MAX_RECEIPT_BYTES = 2_500_000  # a receipt travels base64 inside one MCP request; HTTP transports cap those at 4 MiB
MAX_RECEIPT_BASE64 = (MAX_RECEIPT_BYTES + 2) // 3 * 4 + 200  # + room for a data: prefix and line breaks
UPLOAD_TIMEOUT_SECONDS = 60.0
# Receipt types by their first bytes: the name's extension is not trusted, the content decides.
RECEIPT_TYPES: list[tuple[str, str, tuple[str, ...], Any]] = [
    ("PDF", "application/pdf", (".pdf",), lambda b: b.startswith(b"%PDF-")),
    ("PNG", "image/png", (".png",), lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    ("JPEG", "image/jpeg", (".jpg", ".jpeg"), lambda b: b.startswith(b"\xff\xd8\xff")),
    ("GIF", "image/gif", (".gif",), lambda b: b[:6] in (b"GIF87a", b"GIF89a")),
    ("HEIC", "image/heic", (".heic", ".heif"), lambda b: b[4:8] == b"ftyp" and b[8:12] in (b"heic", b"heix", b"mif1")),
    ("WEBP", "image/webp", (".webp",), lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
]
_DATA_URL = re.compile(r"^data:[\w.+/-]+;base64,", re.IGNORECASE)


class Expense(Output):
    id: str
    status: str | None = Field(default=None, description="DRAFT, SUBMITTED, APPROVED, OUT_OF_POLICY, ...")
    payment_status: str | None = None
    expense_type: str | None = Field(default=None, description="CARD, REIMBURSEMENT, BILLPAY, ...")
    merchant: str | None = None
    amount: Money | None = Field(default=None, description="As purchased, in the purchase currency")
    billing_amount: Money | None = Field(default=None, description="As billed to the company, when it differs")
    memo: str | None = None
    category: str | None = None
    purchased_at: str | None = None
    user_id: str | None = None
    budget_id: str | None = None
    receipts: int = Field(description="Receipts attached; 0 means the receipt is missing")


def _text(value: Any) -> str | None:
    return (clean(value) or None) if isinstance(value, str) else None


def expense_from_brex(row: dict[str, Any], merchant: str | None = None) -> Expense:
    descriptor = row.get("merchant") if isinstance(row.get("merchant"), dict) else {}
    amount = money_from_brex(row.get("original_amount"))
    billing = money_from_brex(row.get("billing_amount"))
    receipts = row.get("receipts") if isinstance(row.get("receipts"), list) else []
    return Expense(
        id=str(row["id"]),
        status=_text(row.get("status")),
        payment_status=_text(row.get("payment_status")),
        expense_type=_text(row.get("expense_type")),
        merchant=_text(descriptor.get("raw_descriptor")) or merchant,
        amount=amount,
        billing_amount=billing if billing is not None and billing != amount else None,
        memo=_text(row.get("memo")),
        category=_text(row.get("category")),
        purchased_at=_text(row.get("purchased_at")),
        user_id=_text(row.get("user_id")),
        budget_id=_text(row.get("budget_id")),
        receipts=len(receipts),
    )


def _describe(expense: Expense) -> str:
    amount = expense.amount.display if expense.amount and expense.amount.display else "an"
    where = f" at {expense.merchant}" if expense.merchant else ""
    when = f" on {expense.purchased_at[:10]}" if expense.purchased_at else ""
    return f"the {amount} expense{where}{when} ({expense.id})"


async def _read_expense(ctx: Context, tool: str, arguments: dict[str, Any], expense_id: str) -> dict[str, Any]:
    state = app_state(ctx)
    try:
        response = await state.client.custom("GET", f"/v1/expenses/{expense_id}", params={"expand[]": ["merchant"]})
        return expect_object(response.data, "expense")
    except UpstreamError as exc:
        state.audit.record(
            tool, arguments, "failed", http_status=exc.status, brex_trace_id=exc.trace_id, detail=f"reading: {exc.kind}"
        )
        raise ToolError(exc.describe()) from None


# -- list_expenses ------------------------------------------------------------------------------------


class ExpensePage(Output):
    expenses: list[Expense]
    next_cursor: str | None = Field(default=None, description="Pass as cursor to get the next page; absent when done")
    has_more: bool


async def list_expenses(
    ctx: Context,
    user: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=320,
            pattern=r"^([A-Za-z0-9_-]{1,128}|[^@\s]+@[^@\s]+)$",
            description="Only this user's expenses: Brex user id or email",
        ),
    ] = None,
    status: Annotated[
        list[ExpenseStatus] | None, Field(max_length=8, description="Only expenses in these statuses")
    ] = None,
    purchased_at_start: Annotated[
        DateBound | None,
        Field(description="First purchase date to include (inclusive); a datetime counts by its UTC date"),
    ] = None,
    purchased_at_end: Annotated[
        DateBound | None,
        Field(description="Last purchase date to include (inclusive); a datetime counts by its UTC date"),
    ] = None,
    missing_receipt: Annotated[
        bool | None, Field(description="true: only expenses without a receipt; false: only those with one")
    ] = None,
    limit: Annotated[int, Field(ge=1, le=100, description="Expenses to return, 1-100")] = 25,
    cursor: Cursor = None,
) -> Annotated[CallToolResult, ExpensePage]:
    start_day, end_day = purchased_at_start, purchased_at_end
    if start_day and end_day and start_day > end_day:
        raise ToolError(f"purchased_at_start ({start_day}) is after purchased_at_end ({end_day}); nothing can match.")
    state = app_state(ctx)
    user_id = None
    if user is not None:
        with tool_errors():
            user_id = str((await state.directory.find_user(user))["id"])
    start = start_position(cursor, EXPENSES_PAGE if missing_receipt is not None else limit, "list_expenses")

    def accept(row: Any) -> bool:
        if missing_receipt is None:
            return True
        receipts = row.get("receipts") if isinstance(row, dict) else None
        return (not receipts) == missing_receipt

    async def fetch(position: Position) -> Page:
        params: dict[str, Any] = {
            "limit": min(position.page_size, EXPENSES_PAGE),
            "expand[]": ["merchant"],
            "user_id[]": [user_id] if user_id else None,
            "status[]": status or None,
        }
        if start_day:
            params["purchased_at_start"] = f"{start_day.isoformat()}T00:00:00Z"
        if end_day:
            params["purchased_at_end"] = f"{end_day.isoformat()}T23:59:59.999Z"
        if position.cursor is not None:
            params[position.param] = position.cursor
        return parse_page((await state.client.custom("GET", "/v1/expenses", params=params)).data)

    with tool_errors():
        result = await scan(fetch, start=start, want=limit, accept=accept, max_pages=state.settings.max_pages_per_call)
    return structured(
        ExpensePage(
            expenses=[expense_from_brex(row) for row in result.rows],
            next_cursor=result.next.encode("list_expenses") if result.next else None,
            has_more=result.has_more,
        )
    )


# -- update_expense_memo ------------------------------------------------------------------------------

Memo = Annotated[
    str,
    Field(
        max_length=1000,
        pattern=r"^[\x20-\x7E]*$",
        description="The new memo, printable ASCII only (Brex refuses other characters in free text); "
        "an empty string clears it",
    ),
]


class MemoResult(Output):
    expense: Expense
    previous_memo: str | None = None
    changed: bool
    dry_run: bool = False
    would_send: PlannedRequest | None = None
    confirmation: Literal["confirmed_by_user", "not_needed", "client_cannot_ask", "not_asked_by_policy"]
    message: str


def _memo_arguments(expense_id: str, memo: str, dry_run: bool) -> dict[str, Any]:
    return {"expense_id": expense_id, "memo": memo, "dry_run": dry_run}


async def _load_for_memo(expense_id: str, memo: str, dry_run: bool, ctx: Context) -> dict[str, Any]:
    arguments = _memo_arguments(expense_id, memo, dry_run)
    expense = await _read_expense(ctx, "update_expense_memo", arguments, expense_id)
    _card_expense_only(ctx, "update_expense_memo", arguments, expense)
    return expense


def _card_expense_only(ctx: Context, tool: str, arguments: dict[str, Any], expense: dict[str, Any]) -> None:
    """Brex's memo and receipt endpoints are for card expenses (/v1/expenses/card/...)."""
    kind = expense.get("expense_type")
    if kind not in (None, "CARD"):
        message = f"Expense {expense.get('id')} is a {kind} expense; this tool changes card expenses only."
        app_state(ctx).audit.record(tool, arguments, "refused", detail=message)
        raise ToolError(message + " Nothing was sent.")


async def _confirm_memo(
    expense: Annotated[dict[str, Any], Resolve(_load_for_memo)], expense_id: str, memo: str, dry_run: bool, ctx: Context
) -> Elicit[WriteConfirmation] | Consent:
    if dry_run or (expense.get("memo") or "") == memo:
        return Consent.NOT_NEEDED
    old = _text(expense.get("memo"))
    before = f"'{old[:200]}'" if old else "no memo"
    after = f"'{memo}'" if memo else "no memo (cleared)"
    return ask(
        ctx,
        f"Change the memo of {_describe(expense_from_brex(expense))} from {before} to {after}?",
        "update_expense_memo",
        _memo_arguments(expense_id, memo, dry_run),
    )


async def update_expense_memo(
    ctx: Context,
    expense_id: BrexId,
    memo: Memo,
    expense: Annotated[dict[str, Any], Resolve(_load_for_memo)],
    confirmation: Annotated[ElicitationResult[WriteConfirmation | Consent], Resolve(_confirm_memo)],
    dry_run: Annotated[bool, Field(description="Only show the request that would be sent")] = False,
) -> Annotated[CallToolResult, MemoResult]:
    state = app_state(ctx)
    arguments = _memo_arguments(expense_id, memo, dry_run)
    before = expense_from_brex(expense)
    consent = consent_of(confirmation)
    if consent is None:
        state.audit.record("update_expense_memo", arguments, "declined", detail=f"elicitation {confirmation.action}")
        raise ToolError(f"The user did not confirm; the memo of expense {expense_id} was not changed.")
    common = {"previous_memo": before.memo, "confirmation": consent.value}
    if (expense.get("memo") or "") == memo:
        state.audit.record("update_expense_memo", arguments, "no_op", detail="memo already says this")
        return structured(
            MemoResult(
                expense=before,
                changed=False,
                dry_run=dry_run,
                message="The memo already says this; nothing was sent.",
                **common,
            )
        )
    body = {"memo": memo or None}
    path = f"/v1/expenses/card/{expense_id}"
    if dry_run:
        state.audit.record("update_expense_memo", arguments, "dry_run")
        return structured(
            MemoResult(
                expense=before,
                changed=False,
                dry_run=True,
                would_send=PlannedRequest(method="PUT", path=path, body=body),
                message=f"Dry run: would change the memo of {_describe(before)}. Nothing was sent.",
                **common,
            )
        )
    response, _ = await send_write(ctx, "update_expense_memo", arguments, consent, "PUT", path, body=body)
    after = (
        expense_from_brex(response.data, before.merchant)
        if isinstance(response.data, dict) and "id" in response.data
        else before.model_copy(update={"memo": memo or None})
    )
    # PUT answers Brex's plain Expense: no receipts or user, so those stay as read before.
    after = after.model_copy(
        update={"receipts": before.receipts, "user_id": before.user_id, "expense_type": before.expense_type}
    )
    return structured(MemoResult(expense=after, changed=True, message=f"Memo of {_describe(after)} updated.", **common))


# -- attach_receipt -----------------------------------------------------------------------------------


class ReceiptResult(Output):
    expense: Expense
    receipt_id: str | None = None
    receipt_name: str
    content_type: str
    size_bytes: int
    dry_run: bool = False
    would_send: PlannedRequest | None = None
    confirmation: Literal["confirmed_by_user", "not_needed", "client_cannot_ask", "not_asked_by_policy"]
    message: str


def _receipt_arguments(expense_id: str, receipt_name: str, content_base64: str, dry_run: bool) -> dict[str, Any]:
    # The audit keeps the size, not the file.
    return {
        "expense_id": expense_id,
        "receipt_name": receipt_name,
        "content_base64_chars": len(content_base64),
        "dry_run": dry_run,
    }


def check_receipt(receipt_name: str, content_base64: str) -> tuple[bytes, str, str, str]:
    """(bytes, type label, MIME type, file name) or ValueError saying what is wrong; nothing is sent before this."""
    text = content_base64.strip()
    if re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
        raise ValueError(
            "receipts are taken as base64 content, not as URLs: this server does not fetch addresses chosen by "
            "a model (that could reach internal services or cloud metadata). Download the file and pass its "
            "bytes base64-encoded in content_base64."
        )
    text = _DATA_URL.sub("", text)
    text = re.sub(r"\s+", "", text)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("content_base64 is not valid base64 (standard alphabet, with padding)") from None
    if not data:
        raise ValueError("the receipt is empty")
    if len(data) > MAX_RECEIPT_BYTES:
        raise ValueError(f"the receipt is {len(data):,} bytes; the limit is {MAX_RECEIPT_BYTES:,} bytes")
    kind = next((k for k in RECEIPT_TYPES if k[3](data)), None)
    if kind is None:
        allowed = ", ".join(k[0] for k in RECEIPT_TYPES)
        raise ValueError(f"the content is not a receipt type Brex takes here; allowed: {allowed} (judged by content)")
    label, mime, extensions, _ = kind
    name = receipt_name.strip()
    lowered = name.lower()
    known = [ext for k in RECEIPT_TYPES for ext in k[2]]
    given = next((ext for ext in known if lowered.endswith(ext)), None)
    if given is None:
        name += extensions[0]
    elif given not in extensions:
        raise ValueError(f"receipt_name ends in {given} but the content is a {label} file")
    return data, label, mime, name


async def _prepare_receipt(
    expense_id: str, receipt_name: str, content_base64: str, dry_run: bool, ctx: Context
) -> dict[str, Any]:
    """Content checks first, then the expense: bad input never costs a request."""
    state = app_state(ctx)
    arguments = _receipt_arguments(expense_id, receipt_name, content_base64, dry_run)
    try:
        data, label, mime, name = check_receipt(receipt_name, content_base64)
    except ValueError as exc:
        state.audit.record("attach_receipt", arguments, "refused", detail=str(exc))
        raise ToolError(f"{str(exc).rstrip('.')}. Nothing was sent.") from None
    expense = await _read_expense(ctx, "attach_receipt", arguments, expense_id)
    _card_expense_only(ctx, "attach_receipt", arguments, expense)
    return {"data": data, "label": label, "mime": mime, "name": name, "expense": expense}


async def _confirm_receipt(
    prepared: Annotated[dict[str, Any], Resolve(_prepare_receipt)],
    expense_id: str,
    receipt_name: str,
    content_base64: str,
    dry_run: bool,
    ctx: Context,
) -> Elicit[WriteConfirmation] | Consent:
    if dry_run:
        return Consent.NOT_NEEDED
    expense = expense_from_brex(prepared["expense"])
    size = len(prepared["data"])
    return ask(
        ctx,
        f"Attach receipt '{prepared['name']}' ({prepared['label']}, {size:,} bytes) to {_describe(expense)}, "
        f"which has {expense.receipts} receipt(s) now?",
        "attach_receipt",
        _receipt_arguments(expense_id, receipt_name, content_base64, dry_run),
    )


def upload_uri_allowed(uri: str, truto_base_url: str) -> bool:
    """Brex's pre-signed uris are https; plain http only to the loopback origin we already talk to (the sandbox)."""
    parts = urlsplit(uri)
    if parts.scheme == "https" and parts.hostname:
        return True
    base = urlsplit(truto_base_url)
    return parts.scheme == "http" and (parts.scheme, parts.netloc) == (base.scheme, base.netloc)


async def attach_receipt(
    ctx: Context,
    expense_id: BrexId,
    receipt_name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            pattern=r"^[\x20-\x7E]+$",
            description="File name Brex shows, e.g. 'hotel-invoice.pdf'; printable ASCII. The extension must "
            "match the content (added when missing)",
        ),
    ],
    content_base64: Annotated[
        str,
        Field(
            min_length=4,
            max_length=MAX_RECEIPT_BASE64,
            description=f"The receipt file, base64-encoded (a data: URL prefix is fine): PDF, PNG, JPEG, GIF, "
            f"HEIC or WEBP, at most {MAX_RECEIPT_BYTES:,} bytes. URLs are not accepted",
        ),
    ],
    prepared: Annotated[dict[str, Any], Resolve(_prepare_receipt)],
    confirmation: Annotated[ElicitationResult[WriteConfirmation | Consent], Resolve(_confirm_receipt)],
    dry_run: Annotated[
        bool, Field(description="Check the file and the expense and show the request; send nothing")
    ] = False,
) -> Annotated[CallToolResult, ReceiptResult]:
    state = app_state(ctx)
    arguments = _receipt_arguments(expense_id, receipt_name, content_base64, dry_run)
    before = expense_from_brex(prepared["expense"])
    consent = consent_of(confirmation)
    if consent is None:
        state.audit.record("attach_receipt", arguments, "declined", detail=f"elicitation {confirmation.action}")
        raise ToolError(f"The user did not confirm; no receipt was attached to expense {expense_id}.")
    data, mime, name = prepared["data"], prepared["mime"], prepared["name"]
    path = f"/v1/expenses/card/{expense_id}/receipt_upload"
    body = {"receipt_name": name}
    common = {"receipt_name": name, "content_type": mime, "size_bytes": len(data), "confirmation": consent.value}
    if dry_run:
        state.audit.record("attach_receipt", arguments, "dry_run")
        return structured(
            ReceiptResult(
                expense=before,
                dry_run=True,
                would_send=PlannedRequest(method="POST", path=path, body=body),
                message=f"Dry run: the file is a valid {prepared['label']}; it would be uploaded to "
                f"{_describe(before)} (then PUT to the upload uri Brex returns). Nothing was sent.",
                **common,
            )
        )
    response, key = await send_write(ctx, "attach_receipt", arguments, consent, "POST", path, body=body)
    answer = response.data if isinstance(response.data, dict) else {}
    uri, receipt_id = answer.get("uri"), answer.get("id")
    if not isinstance(uri, str) or not upload_uri_allowed(uri, state.settings.truto_base_url):
        state.audit.record("attach_receipt", arguments, "failed", idempotency_key=key, detail="unusable upload uri")
        raise ToolError(
            "Brex answered the upload request without a usable https upload uri; the file was not uploaded. "
            "Try again later."
        )
    try:
        async with httpx.AsyncClient(timeout=UPLOAD_TIMEOUT_SECONDS, follow_redirects=False) as http:
            upload = await http.put(uri, content=data, headers={"Content-Type": mime})
    except httpx.HTTPError as exc:
        state.audit.record("attach_receipt", arguments, "unknown", detail=f"upload: {type(exc).__name__}")
        raise ToolError(
            f"The receipt upload did not complete ({type(exc).__name__}); it may or may not have arrived. Check "
            "the expense's receipts with list_expenses before calling again (a new call uploads a new copy)."
        ) from None
    if upload.status_code >= 300:
        state.audit.record(
            "attach_receipt", arguments, "failed", http_status=upload.status_code, detail="upload refused"
        )
        raise ToolError(
            f"Brex's storage refused the receipt upload (HTTP {upload.status_code}); no receipt was attached. "
            "Calling again asks for a new upload uri."
        )
    state.audit.record(
        "attach_receipt",
        arguments,
        "success",
        http_status=upload.status_code,
        detail=f"uploaded {len(data)} bytes as receipt {receipt_id}",
    )
    after = before
    try:  # read back; the upload already succeeded, so a failure here only means we cannot show it yet
        reread = await state.client.custom("GET", f"/v1/expenses/{expense_id}", params={"expand[]": ["merchant"]})
        after = expense_from_brex(expect_object(reread.data, "expense"), before.merchant)
    except UpstreamError as exc:
        log.info("could not read expense %s back after a receipt upload: %s", expense_id, exc.kind)
    shown = after.receipts > before.receipts
    return structured(
        ReceiptResult(
            expense=after,
            receipt_id=receipt_id if isinstance(receipt_id, str) else None,
            message=f"Uploaded '{name}' to {_describe(before)}. "
            + (
                "Brex shows it on the expense now."
                if shown
                else "Brex processes receipts asynchronously; it may take a moment to show."
            ),
            **common,
        )
    )


TOOLS = [
    ToolSpec(
        list_expenses,
        title="List Brex expenses",
        description=(
            "List expenses (card spend as employees account for it) with merchant, amount, memo, status and "
            "how many receipts are attached; use missing_receipt=true to find the ones still needing a "
            "receipt. user is a Brex user id or email. Dates are purchase dates in UTC, both bounds "
            "inclusive. amount is integer minor units of the purchase currency (billing_amount, when shown, "
            "is what the company was billed); never add amounts of different currencies. The receipt filter "
            "is applied while paging, so a page may hold fewer than `limit` expenses, even none, while "
            "has_more is true: keep calling with cursor=next_cursor and the same filters."
        ),
        annotations=READ,
    ),
    ToolSpec(
        attach_receipt,
        title="Attach a receipt to a Brex expense",
        description=(
            "Upload a receipt file to a card expense (ids from list_expenses). Pass the file base64-encoded; "
            "URLs are refused because this server does not fetch model-chosen addresses. Type (PDF, PNG, "
            "JPEG, GIF, HEIC, WEBP) and size are checked before anything is sent. The user may be asked to "
            "confirm; dry_run=true checks the file and the expense without sending. Each call adds a receipt, "
            "so do not call again after success."
        ),
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
    ),
    ToolSpec(
        update_expense_memo,
        title="Update a Brex expense memo",
        description=(
            "Replace the memo (the employee's note) of a card expense; an empty memo clears it. Brex takes "
            "printable ASCII only, checked before anything is sent. The old memo is returned; the same memo "
            "again is a no-op. The user may be asked to confirm; dry_run=true shows the request."
        ),
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
    ),
]
