"""The JSON fast path for transactions gives exactly what the Transaction model dumps to."""

from __future__ import annotations

import pytest

from brex_mcp.models import transaction_from_brex, transaction_json_from_brex
from brex_mcp.sandbox.seed import fresh_company

ODD_ROWS = [
    {"id": "t1"},
    {"id": "t2", "amount": {"amount": True, "currency": "USD"}, "merchant": "not a dict"},
    {"id": "t3", "amount": {"amount": 1250, "currency": "XTS"}, "type": "", "description": None},
    {"id": "t4", "amount": {"amount": -5, "currency": None}, "merchant": {"raw_descriptor": "", "mcc": 7011}},
    {"id": 5, "amount": {"amount": 7.5, "currency": "USD"}, "posted_at_date": 20260101},
    {"id": "t6", "amount": {"amount": 123456, "currency": "kwd"}, "card_id": "c", "posted_at_date": "2026-01-01"},
    {"id": "t7", "description": "Caf\u00e9 \u202egnp.exe", "merchant": {"raw_descriptor": "\u200bZERO WIDTH"}},
]


def test_every_seeded_transaction_gives_the_model_s_json():
    for row in fresh_company(7).transactions:
        assert transaction_json_from_brex(row) == transaction_from_brex(row).model_dump(mode="json", exclude_none=True)


@pytest.mark.parametrize("row", ODD_ROWS, ids=[str(r["id"]) for r in ODD_ROWS])
def test_odd_rows_give_the_model_s_json(row):
    assert transaction_json_from_brex(row) == transaction_from_brex(row).model_dump(mode="json", exclude_none=True)
