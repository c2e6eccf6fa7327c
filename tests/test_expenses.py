"""list_expenses, attach_receipt and update_expense_memo end to end against the sandbox."""

from __future__ import annotations

import base64
import json

import pytest
from mcp import Client
from mcp.types import ElicitResult

from brex_mcp.server import build_server
from brex_mcp.tools.expenses import MAX_RECEIPT_BYTES, upload_uri_allowed
from tests.conftest import settings_for

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def answering(action, content=None, questions=None):
    async def callback(_context, params):
        if questions is not None:
            questions.append(params.message)
        return ElicitResult(action=action, content=content)

    return callback


YES = answering("accept", {"confirm": True})


async def call(settings, tool, arguments, mode="auto", callback=YES):
    async with Client(build_server(settings), mode=mode, elicitation_callback=callback) as client:
        return await client.call_tool(tool, arguments)


def writes_sent(sandbox):
    return [r for r in sandbox.requests if r.method != "GET"]


def audit_outcomes(settings):
    if not settings.audit_log.exists():
        return []
    return [json.loads(line)["outcome"] for line in settings.audit_log.read_text().splitlines()]


def missing_receipt(sandbox, index=0):
    return [e for e in sandbox.data.expenses if not e["receipts"]][index]


# -- list_expenses ------------------------------------------------------------------------------------


async def test_missing_receipt_lists_exactly_the_expenses_without_one_for_a_user(sandbox, client):
    expense = missing_receipt(sandbox)
    user = next(u for u in sandbox.data.users if u["id"] == expense["user_id"])
    wanted = [e["id"] for e in sandbox.data.expenses if e["user_id"] == user["id"] and not e["receipts"]][:100]
    result = await client.call_tool("list_expenses", {"user": user["email"], "missing_receipt": True, "limit": 100})
    page = result.structured_content
    assert [e["id"] for e in page["expenses"]] == wanted
    assert all(e["receipts"] == 0 and e["user_id"] == user["id"] for e in page["expenses"])


async def test_an_expense_shows_merchant_exact_amount_memo_and_receipt_count(sandbox, settings):
    expense = next(e for e in sandbox.data.expenses if e["memo"] and e["original_amount"]["currency"] == "GBP")
    tx = next(t for t in sandbox.data.transactions if t["expense_id"] == expense["id"])
    day = expense["purchased_at"][:10]
    result = await call(settings, "list_expenses", {"purchased_at_start": day, "purchased_at_end": day, "limit": 100})
    shown = next(e for e in result.structured_content["expenses"] if e["id"] == expense["id"])
    assert shown["merchant"] == tx["merchant"]["raw_descriptor"]
    assert shown["amount"]["amount"] == tx["amount"]["amount"] and shown["amount"]["currency"] == "GBP"
    assert shown["billing_amount"]["currency"] == "USD"
    assert (shown["memo"], shown["receipts"]) == (expense["memo"], len(expense["receipts"]))
    assert all(e["purchased_at"].startswith(day) for e in result.structured_content["expenses"])


async def test_the_receipt_filter_resumes_from_its_cursor_without_gaps_or_repeats(sandbox, settings):
    wanted = [e["id"] for e in sandbox.data.expenses if not e["receipts"]][:10]
    first = (await call(settings, "list_expenses", {"missing_receipt": True, "limit": 5})).structured_content
    second = await call(
        settings, "list_expenses", {"missing_receipt": True, "limit": 5, "cursor": first["next_cursor"]}
    )
    ids = [e["id"] for e in first["expenses"] + second.structured_content["expenses"]]
    assert ids == wanted
    assert all(int(r.query["limit"][0]) <= 100 for r in sandbox.requests if r.path == "/custom/v1/expenses")


async def test_a_page_size_over_100_is_refused_before_any_request(sandbox, settings):
    result = await call(settings, "list_expenses", {"limit": 101})
    assert result.is_error and sandbox.requests == []


async def test_the_sandbox_refuses_an_expense_page_over_100(sandbox, settings):
    result = await call(settings, "proxy_request", {"method": "GET", "path": "/v1/expenses", "query": {"limit": 101}})
    assert result.is_error and "between 1 and 100" in result.content[0].text


# -- update_expense_memo ------------------------------------------------------------------------------


async def test_a_memo_update_changes_the_expense_and_returns_the_old_memo(sandbox, mode):
    expense = next(e for e in sandbox.data.expenses if e["memo"])
    old = expense["memo"]
    questions = []
    settings = settings_for(sandbox)
    result = await call(
        settings,
        "update_expense_memo",
        {"expense_id": expense["id"], "memo": "Client dinner, Q4 kickoff"},
        mode,
        answering("accept", {"confirm": True}, questions),
    )
    body = result.structured_content
    assert (body["previous_memo"], body["expense"]["memo"], body["changed"]) == (old, "Client dinner, Q4 kickoff", True)
    assert expense["memo"] == "Client dinner, Q4 kickoff"
    assert [r.method for r in writes_sent(sandbox)] == ["PUT"]
    assert old in questions[0] and "Client dinner, Q4 kickoff" in questions[0]
    assert audit_outcomes(settings) == ["success"]


async def test_a_non_ascii_memo_is_refused_before_anything_is_sent(sandbox, settings):
    expense = sandbox.data.expenses[0]
    result = await call(settings, "update_expense_memo", {"expense_id": expense["id"], "memo": "Café with client"})
    assert result.is_error and "memo" in result.content[0].text
    assert sandbox.requests == []


async def test_a_memo_dry_run_sends_nothing(sandbox, settings):
    expense = sandbox.data.expenses[0]
    result = await call(settings, "update_expense_memo", {"expense_id": expense["id"], "memo": "Taxi", "dry_run": True})
    assert result.structured_content["would_send"] == {
        "method": "PUT",
        "path": f"/v1/expenses/card/{expense['id']}",
        "body": {"memo": "Taxi"},
    }
    assert writes_sent(sandbox) == []


async def test_a_declined_memo_update_sends_nothing(sandbox, settings):
    expense = sandbox.data.expenses[0]
    result = await call(
        settings, "update_expense_memo", {"expense_id": expense["id"], "memo": "Taxi"}, callback=answering("decline")
    )
    assert result.is_error and writes_sent(sandbox) == []


async def test_an_unknown_expense_is_an_error_not_an_empty_answer(sandbox, settings):
    result = await call(settings, "update_expense_memo", {"expense_id": "expense_nope", "memo": "Taxi"})
    assert result.is_error and "not_found" in result.content[0].text
    assert writes_sent(sandbox) == []


# -- attach_receipt -----------------------------------------------------------------------------------


def receipt_args(expense, content=PDF, **extra):
    return {
        "expense_id": expense["id"],
        "receipt_name": "dinner",
        "content_base64": base64.b64encode(content).decode(),
        **extra,
    }


async def test_a_receipt_is_uploaded_through_the_presigned_uri_and_shows_on_the_expense(sandbox, mode):
    expense = missing_receipt(sandbox)
    result = await call(settings_for(sandbox), "attach_receipt", receipt_args(expense), mode)
    body = result.structured_content
    assert (body["expense"]["receipts"], body["receipt_name"], body["content_type"]) == (
        1,
        "dinner.pdf",
        "application/pdf",
    )
    assert [r["id"] for r in expense["receipts"]] == [body["receipt_id"]]
    assert sandbox._brex.expenses.received[body["receipt_id"]] == ("dinner.pdf", "application/pdf", PDF)
    upload = next(r for r in sandbox.requests if r.path.startswith("/_receipts/"))
    assert upload.method == "PUT" and "authorization" not in upload.headers


async def test_a_receipt_url_is_refused_with_the_reason_and_nothing_is_sent(sandbox, settings):
    expense = missing_receipt(sandbox)
    arguments = {**receipt_args(expense), "content_base64": "https://example.com/receipt.pdf"}
    result = await call(settings, "attach_receipt", arguments)
    assert result.is_error and "does not fetch addresses chosen by a model" in result.content[0].text
    assert sandbox.requests == []
    assert audit_outcomes(settings) == ["refused"]


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"just some text", "notes.txt", "not a receipt type"),
        (PDF, "photo.png", "ends in .png but the content is a PDF"),
        (b"%PDF-" + b"0" * MAX_RECEIPT_BYTES, "big.pdf", f"the limit is {MAX_RECEIPT_BYTES:,} bytes"),
    ],
)
async def test_a_bad_receipt_is_refused_before_anything_is_sent(sandbox, settings, content, name, expected):
    arguments = {**receipt_args(missing_receipt(sandbox), content), "receipt_name": name}
    result = await call(settings, "attach_receipt", arguments)
    assert result.is_error and expected in result.content[0].text
    assert sandbox.requests == []


async def test_invalid_base64_is_refused_before_anything_is_sent(sandbox, settings):
    result = await call(
        settings, "attach_receipt", {**receipt_args(missing_receipt(sandbox)), "content_base64": "%%%%"}
    )
    assert result.is_error and "not valid base64" in result.content[0].text
    assert sandbox.requests == []


async def test_a_receipt_dry_run_checks_the_file_and_sends_nothing(sandbox, settings):
    expense = missing_receipt(sandbox)
    result = await call(settings, "attach_receipt", receipt_args(expense, dry_run=True))
    assert result.structured_content["would_send"]["body"] == {"receipt_name": "dinner.pdf"}
    assert writes_sent(sandbox) == [] and expense["receipts"] == []


async def test_a_declined_receipt_sends_nothing(sandbox, settings):
    result = await call(
        settings, "attach_receipt", receipt_args(missing_receipt(sandbox)), callback=answering("decline")
    )
    assert result.is_error and writes_sent(sandbox) == []
    assert audit_outcomes(settings) == ["declined"]


def test_upload_uris_must_be_https_or_the_configured_loopback_origin():
    assert upload_uri_allowed("https://bucket.s3.amazonaws.com/x?sig=1", "https://api.truto.one")
    assert not upload_uri_allowed("http://169.254.169.254/latest", "https://api.truto.one")
    assert upload_uri_allowed("http://127.0.0.1:5000/_receipts/t", "http://127.0.0.1:5000")
    assert not upload_uri_allowed("http://127.0.0.1:6000/_receipts/t", "http://127.0.0.1:5000")
