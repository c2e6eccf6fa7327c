from brex_mcp.money import exponent, format_minor, money, money_from_brex


def test_usd_has_two_decimal_places():
    assert format_minor(12900, "USD") == "129.00 USD"


def test_jpy_has_no_minor_unit():
    assert format_minor(15000, "JPY") == "15,000 JPY"


def test_kwd_has_three_decimal_places():
    assert format_minor(-123456, "KWD") == "-123.456 KWD"


def test_negative_amount_below_one_unit_keeps_its_sign():
    assert format_minor(-5, "USD") == "-0.05 USD"


def test_large_amounts_stay_exact_without_floats():
    assert format_minor(123456789012345678, "USD") == "1,234,567,890,123,456.78 USD"


def test_unknown_currency_has_no_display():
    assert exponent("XYZ") is None
    assert money(100, "XYZ").display is None


def test_missing_currency_means_usd_as_brex_defines():
    assert money_from_brex({"amount": 700, "currency": None}).model_dump() == {
        "amount": 700,
        "currency": "USD",
        "display": "7.00 USD",
    }


def test_non_integer_amount_is_not_money():
    assert money_from_brex({"amount": 7.5, "currency": "USD"}) is None
    assert money_from_brex({"amount": True, "currency": "USD"}) is None


# -- money in ----------------------------------------------------------------------------------------


def test_a_decimal_string_converts_exactly_with_the_currency_exponent():
    from brex_mcp.money import parse_money

    assert [
        parse_money(currency=c, decimal=d).amount for c, d in [("USD", "1234.50"), ("JPY", "20000"), ("KWD", "1.005")]
    ] == [
        123450,
        20000,
        1005,
    ]


def test_a_decimal_past_float_precision_stays_exact():
    from brex_mcp.money import parse_money

    assert parse_money(currency="USD", decimal="90071992547409.93").amount == 9007199254740993


def test_more_places_than_the_currency_allows_names_its_exponent():
    import pytest

    from brex_mcp.money import MoneyInputError, parse_money

    with pytest.raises(MoneyInputError, match=r"USD allows 2 \(ISO 4217 exponent 2\)"):
        parse_money(currency="usd", decimal="1.000")


def test_an_unknown_currency_is_an_error():
    import pytest

    from brex_mcp.money import MoneyInputError, parse_money

    with pytest.raises(MoneyInputError, match="not an ISO 4217 currency code"):
        parse_money(currency="XYZ", amount=100)
