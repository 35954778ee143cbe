"""Money: the ISO 4217 table, the one amount parser (both decimal marks, signs, grouping,
rounding), telling a column's decimal mark, and the command line refusing what it must."""

from __future__ import annotations

import ast
import inspect
import json
import re
import time
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from conftest import PIPELINE_YAML, add, store_digest
from pipecli import money
from pipecli.errors import UsageError
from pipecli.money import (CURRENCIES, AmbiguousAmount, Mark, check_currency, detect_mark,
                           minor_units, parse_amount, parse_rate, readings)
from pipecli.values import format_money, parse_money, round_money

P, C = Mark.POINT, Mark.COMMA
ROUND = {"round_half_up": True}
SUFFIXES = {"suffixes": True}

# -- the table ------------------------------------------------------------------------------

# Checked by hand against ISO 4217 List One (the minor-unit column).
HAND_CHECKED = [
    ("USD", 2), ("EUR", 2), ("GBP", 2), ("CHF", 2), ("CAD", 2), ("AUD", 2), ("CNY", 2),
    ("INR", 2), ("BRL", 2), ("MXN", 2), ("SEK", 2), ("HUF", 2), ("IDR", 2), ("MGA", 2),
    ("MRU", 2), ("VES", 2), ("SLE", 2), ("XCG", 2), ("ZWG", 2), ("XCD", 2),
    ("JPY", 0), ("KRW", 0), ("ISK", 0), ("CLP", 0), ("VND", 0), ("UGX", 0), ("XOF", 0),
    ("XAF", 0), ("XPF", 0), ("PYG", 0), ("RWF", 0), ("BIF", 0), ("DJF", 0), ("GNF", 0),
    ("KMF", 0), ("VUV", 0), ("UYI", 0),
    ("BHD", 3), ("IQD", 3), ("JOD", 3), ("KWD", 3), ("LYD", 3), ("OMR", 3), ("TND", 3),
    ("CLF", 4), ("UYW", 4),
    ("XAU", None), ("XAG", None), ("XPT", None), ("XPD", None), ("XDR", None),
    ("XXX", None), ("XTS", None), ("XBA", None), ("XSU", None), ("XUA", None),
]


def test_the_table_has_every_active_code_once():
    assert 170 <= len(CURRENCIES) <= 190
    assert all(re.fullmatch(r"[A-Z]{3}", code) for code in CURRENCIES)
    assert all(units in (None, 0, 2, 3, 4) for units in CURRENCIES.values())
    # A dict literal keeps the last of two equal keys without a word: count them in the source.
    tree = ast.parse(inspect.getsource(money))
    literal = next(node.value for node in ast.walk(tree) if isinstance(node, ast.AnnAssign)
                   and getattr(node.target, "id", "") == "CURRENCIES")
    keys = [k.value for k in literal.keys]
    assert len(keys) == len(set(keys)) == len(CURRENCIES)


@pytest.mark.parametrize("code, units", HAND_CHECKED)
def test_hand_checked_minor_units(code, units):
    assert CURRENCIES[code] == units


def test_withdrawn_codes_are_out_and_their_replacements_in():
    for old, new in money.WITHDRAWN.items():
        assert old not in CURRENCIES and CURRENCIES[new] is not None, old
    for codes, _ in money.SIGNS.values():  # every sign names only currencies pipe keeps
        assert all(CURRENCIES.get(code) in (0, 2, 3) for code in codes), codes


def test_minor_units():
    assert (minor_units("JPY"), minor_units("usd"), minor_units("KWD")) == (0, 2, 3)
    for code in ("XAU", "ZZZ", "HRK", ""):
        with pytest.raises(ValueError):
            minor_units(code)


@pytest.mark.parametrize("code, fragment", [
    ("XYZ", "currency 'XYZ' is not an ISO 4217 currency code"),
    ("dollars", "'dollars' is not an ISO 4217 currency code"),
    ("HRK", "'HRK' is no longer an ISO 4217 currency code (replaced by EUR)"),
    ("SLL", "replaced by SLE"),
    ("XAU", "XAU has no minor unit"), ("xdr", "XDR has no minor unit"),
    ("CLF", "CLF has 4 decimal places, but pipe stores amounts to 3"),
    ("UYW", "UYW has 4 decimal places"),
])
def test_check_currency_refuses_with_one_sentence(code, fragment):
    with pytest.raises(ValueError) as info:
        check_currency(code, what="currency")
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_check_currency_upper_cases():
    assert [check_currency(c, what="x") for c in ("usd", " Eur ", "JPY", "KWD")] == \
        ["USD", "EUR", "JPY", "KWD"]


# -- parse_amount: accepted -----------------------------------------------------------------

ACCEPTED = [
    # text, currency, mark, options, exact value
    ("12500", None, P, {}, "12500"),
    ("0", "USD", P, {}, "0"),
    ("007", "USD", P, {}, "7"),
    (".5", "USD", P, {}, "0.5"),
    ("0.99", "USD", P, {}, "0.99"),
    ("12,500.50", "USD", P, {}, "12500.5"),
    ("1,234,567.89", "USD", P, {}, "1234567.89"),
    ("1.234.567,89", "EUR", C, {}, "1234567.89"),
    ("1 234 567,89", "EUR", C, {}, "1234567.89"),
    ("1\u00a0234,50", "EUR", C, {}, "1234.5"),
    ("1\u202f234,50", "EUR", C, {}, "1234.5"),
    ("1 234.50", "USD", P, {}, "1234.5"),
    ("1'234.50", "CHF", P, {}, "1234.5"),
    ("1\u2019234.50", "CHF", P, {}, "1234.5"),
    ("12_500", None, P, {}, "12500"),
    ("12,5", "EUR", C, {}, "12.5"),
    ("0,99", "EUR", C, {}, "0.99"),
    ("1234", "EUR", C, {}, "1234"),
    ("12.000", "EUR", C, {}, "12000"),
    ("12,000", "USD", P, {}, "12000"),
    # trailing zeros are no extra precision once the mark is known ...
    ("1.500", "USD", P, {"mark_known": True}, "1.5"),
    ("2.500", "KWD", P, {}, "2.5"),  # ... or the currency has three decimals
    ("1,234.500", "USD", P, {}, "1234.5"),  # both marks: only one reading
    ("2.5000", "EUR", P, {}, "2.5"),  # four decimals are no thousands group
    ("1.234", "KWD", P, {}, "1.234"),
    ("1,234", "KWD", C, {}, "1.234"),
    ("  42  ", "USD", P, {}, "42"),
    ("$12", "USD", P, {}, "12"),
    ("$12", "CAD", P, {}, "12"),
    ("$12", "MXN", P, {}, "12"),
    ("$ 12", "AUD", P, {}, "12"),
    ("12 €", "EUR", C, {}, "12"),
    ("€12,50", "EUR", C, {}, "12.5"),
    ("12,50\u00a0€", "EUR", C, {}, "12.5"),
    ("EUR 12", "EUR", P, {}, "12"),
    ("12EUR", "EUR", P, {}, "12"),
    ("12 EUR", None, P, {}, "12"),
    ("US$ 5", "USD", P, {}, "5"),
    ("R$ 5", "BRL", C, {}, "5"),
    ("CHF 5", "CHF", P, {}, "5"),
    ("5 kr", "SEK", C, {}, "5"),
    ("5 kr", "NOK", C, {}, "5"),
    ("5 kr.", "DKK", C, {}, "5"),
    ("£5", "GBP", P, {}, "5"),
    ("£5", None, P, {}, "5"),
    ("¥500", "JPY", P, {}, "500"),
    ("¥500", "CNY", P, {}, "500"),
    ("₹500", "INR", P, {}, "500"),
    ("Rs.500", "PKR", P, {}, "500"),
    ("500 zł", "PLN", C, {}, "500"),
    ("$1,200.00 USD", "USD", P, {}, "1200"),
    ("999,999,999,999.99", "USD", P, {}, "999999999999.99"),
    ("12.5k", None, P, SUFFIXES, "12500"),
    ("1.2m", None, P, SUFFIXES, "1200000"),
    ("3K", "USD", P, SUFFIXES, "3000"),
    ("$2.5M", "USD", P, SUFFIXES, "2500000"),
    ("1.2345k", "USD", P, SUFFIXES, "1234.5"),
    # half up from the exact value: a tie goes up (half-even would give 0.12, 0.14, 2, 0)
    ("0.125", "USD", P, ROUND, "0.13"),
    ("0.145", "USD", P, ROUND, "0.15"),
    ("2.5", "JPY", P, ROUND, "3"),
    ("0.5", "JPY", P, ROUND, "1"),
    ("12.344", "USD", P, {**ROUND, "mark_known": True}, "12.34"),
    ("12,345", "EUR", C, {**ROUND, "mark_known": True}, "12.35"),
    ("12.3445", "USD", P, ROUND, "12.34"),  # four decimals: no thousands group
    ("1.0005", "KWD", P, ROUND, "1.001"),
    ("0.0125k", "JPY", P, {**ROUND, **SUFFIXES}, "13"),
    ("999,999,999,999.994", "USD", P, ROUND, "999999999999.99"),
    # 29 significant digits: exact arithmetic, not the default 28-digit context, decides
    ("2.4999999999999999999999999999", "JPY", P, ROUND, "2"),
]


@pytest.mark.parametrize("text, currency, mark, options, expected", ACCEPTED)
def test_accepted_amounts(text, currency, mark, options, expected):
    value = parse_amount(text, currency=currency, mark=mark, **options)
    assert value == Decimal(expected)
    assert str(value) == expected  # normalized: no exponent, no trailing zeros


# -- parse_amount: refused ------------------------------------------------------------------

REFUSED = [
    # three decimals beyond the currency's, with the mark unknown: thousands, written the
    # other way? (2.500 EUR is 2,500 in much of Europe)
    ("2.500", "EUR", P, {}, "or it is 2500 with the point between thousands"),
    ("1.000", "JPY", P, {}, "or it is 1000 with the point between thousands"),
    ("2,500", "EUR", Mark.COMMA, {}, "or it is 2500 with the comma between thousands"),
    ("12.345", "USD", P, {"round_half_up": True}, "or it is 12345"),  # never rounded
    ("", None, P, {}, "value '' is not an amount (it is empty)"),
    ("   ", "USD", P, {}, "is empty"),
    ("-5", None, P, {}, "value '-5' is negative"),
    ("\u22125", None, P, {}, "is negative"),
    ("(12)", "USD", P, {}, "value '(12)' is negative"),
    ("12-", "USD", P, {}, "is negative"),
    ("-$12", "USD", P, {}, "is negative"),
    ("$-12", "USD", P, {}, "is negative"),
    ("(€12,50)", "EUR", C, {}, "is negative"),
    ("abc", None, P, {}, "value 'abc' is not an amount"),
    ("12 apples", None, P, {}, "is not an amount"),
    ("+12", None, P, {}, "is not an amount"),
    ("12.", None, P, {}, "is not an amount"),
    ("NaN", None, P, {}, "NaN and Infinity are not numbers"),
    ("Infinity", None, P, {}, "are not numbers"),
    ("-inf", None, P, {}, "are not numbers"),
    ("1e5", None, P, {}, "not an exponent"),
    ("1.5E3", "USD", P, {}, "not an exponent"),
    ("2e-3", None, P, {}, "not an exponent"),
    ("1.2.3", None, P, {}, "more than one decimal point"),
    ("1,2,3", None, C, {}, "more than one decimal comma"),
    ("1,23,4", None, P, {}, "group thousands in threes, as in 1,234,567.89"),
    ("1,23,456", "INR", P, {}, "group thousands in threes"),
    ("12,34.5", None, P, {}, "group thousands in threes"),
    ("1.23.4", None, C, {}, "group thousands in threes, as in 1.234.567,89"),
    ("1 234,567.89", None, P, {}, "two different separators"),
    ("1,5", None, P, {}, "value '1,5' is not an amount with a decimal point (with a decimal "
                         "comma it would be 1.5); use a dot for decimals: 1.5"),
    ("1.000,50", "EUR", P, {}, "use a dot for decimals: 1000.50"),
    ("0,500", None, P, {}, "with a decimal comma it would be 0.5"),
    ("1.5", None, C, {}, "with a decimal point it would be 1.5); use a comma for decimals: 1,5"),
    ("1,234.56", None, C, {}, "use a comma for decimals: 1234,56"),
    ("£500", "EUR", P, {}, "value '£500' is in pounds (GBP), but the deal's currency is EUR"),
    ("$5", "EUR", P, {}, "is in dollars or pesos, but the deal's currency is EUR"),
    ("12 EUR", "USD", P, {}, "is in EUR, but the deal's currency is USD"),
    ("¥5", "KRW", P, {}, "is in yen or yuan"),
    ("5 kr", "EUR", C, {}, "is in kronor or kroner"),
    ("US$ 5", "CAD", P, {}, "is in USD, but the deal's currency is CAD"),
    ("R$ 5", "USD", P, {}, "is in BRL"),
    ("$5 EUR", None, P, {}, "names two different currencies"),
    ("12 XYZ", None, P, {}, "'XYZ' is not an ISO 4217 currency code"),
    ("12 HRK", None, P, {}, "replaced by EUR"),
    ("12.345", "USD", P, {}, "value '12.345' has more than 2 decimal places for USD"),
    ("0.125", "USD", P, {}, "more than 2 decimal places for USD"),
    ("2.5", "JPY", P, {}, "has decimals, but JPY amounts are whole numbers"),
    ("1.2345", "KWD", P, {}, "more than 3 decimal places for KWD"),
    ("1.2345", None, P, {}, "has more than 3 decimal places"),
    ("12,345", "EUR", C, {}, "more than 2 decimal places for EUR"),
    ("1" * 30, None, P, {}, "is too large (at most 999,999,999,999.99)"),
    ("1,000,000,000,000", "USD", P, {}, "is too large"),
    ("999,999,999,999.995", "USD", P, ROUND, "is too large"),  # rounds up past the bound
    ("1000000000k", None, P, SUFFIXES, "is too large"),
    ("12k", None, P, {}, "is not an amount"),  # suffixes only where asked for
    ("12 k", None, P, SUFFIXES, "is not an amount"),
    ("1" * 101, None, P, {}, "is too long to be an amount"),
    ("\u0661\u0662", None, P, {}, "is not an amount"),  # Arabic-Indic digits: not ours to read
    ("5", "XAU", P, {}, "XAU has no minor unit"),
    ("5", "CLF", P, {}, "CLF has 4 decimal places"),
    ("5", "XYZ", P, {}, "'XYZ' is not an ISO 4217 currency code"),
]


@pytest.mark.parametrize("text, currency, mark, options, fragment", REFUSED)
def test_refused_amounts(text, currency, mark, options, fragment):
    with pytest.raises(ValueError) as info:
        parse_amount(text, currency=currency, mark=mark, **options)
    message = str(info.value)
    assert fragment in message, message
    assert "\n" not in message


def test_there_are_enough_cases():
    assert len(ACCEPTED) + len(REFUSED) >= 80


def test_the_message_names_what_and_the_text():
    with pytest.raises(ValueError) as info:
        parse_amount("1.000,50", currency="USD", what="amount (column Amount)")
    assert str(info.value).startswith("amount (column Amount) '1.000,50' ")
    assert info.value.other_mark is Mark.COMMA  # an importer can name its flag
    with pytest.raises(ValueError) as info:
        parse_amount("x" * 500, currency=None)
    assert len(str(info.value)) < 120  # a long cell is cut short in the message


def test_an_accepted_amount_reads_back_the_same():
    """What format_money writes parses back to the same amount (in the mark it writes)."""
    for amount, currency in ((Decimal("1234567.89"), "USD"), (Decimal("12"), "JPY"),
                             (Decimal("0.5"), "EUR"), (Decimal("1.234"), "KWD")):
        assert parse_amount(format_money(amount, currency), currency=currency) == amount


# -- readings and detect_mark ---------------------------------------------------------------

@pytest.mark.parametrize("text, point, comma", [
    ("1.000,50", None, "1000.5"), ("1,234.56", "1234.56", None), ("12,5", None, "12.5"),
    ("1.5", "1.5", None), ("1234", "1234", "1234"), ("12", "12", "12"),
    ("2.500", "2.5", "2500"), ("12,000", "12000", "12"), ("1.234.567", None, "1234567"),
    ("0.500", "0.5", None), ("1 234,50", None, "1234.5"), ("$1,234.56", "1234.56", None),
    ("-1,5", None, "1.5"), ("abc", None, None), ("", None, None),
])
def test_readings(text, point, comma):
    expected = {P: point and Decimal(point), C: comma and Decimal(comma)}
    assert readings(text) == expected


@pytest.mark.parametrize("cells, expected", [
    ([(2, "1.000,50"), (3, "12,5"), (4, "2.500")], C),  # the ambiguous 2.500 is 2500 here
    ([(2, "2.500"), (3, "1,234.56"), (4, "1.5")], P),
    ([(2, "12,50 €"), (3, "7")], C),
    ([(2, "n/a"), (3, "1,5")], C),  # a cell that is no amount says nothing
    ([(2, "1234"), (3, "12"), (4, "")], None),  # both marks read every cell alike
    ([], None),
])
def test_detect_mark(cells, expected):
    assert detect_mark(cells) is expected


def test_contradicting_cells_name_the_first_contradiction():
    with pytest.raises(AmbiguousAmount) as info:
        detect_mark([(2, "1,234.56"), (3, "7"), (4, "12,5"), (5, "1.000,50")])
    e = info.value
    assert (e.line, e.text) == (4, "12,5") and isinstance(e, ValueError)
    assert "'12,5' has a decimal comma, but '1,234.56' on line 2 has a decimal point" in str(e)


def test_only_ambiguous_cells_are_refused():
    with pytest.raises(AmbiguousAmount) as info:
        detect_mark([(2, "1234"), (5, "2.500"), (6, "12,000")])
    assert info.value.line == 5
    assert str(info.value) == ("'2.500' could be 2.5 or 2500; say --decimal-comma or "
                               "--decimal-point")


def test_detect_mark_reads_a_generator_once():
    cells = ((line, text) for line, text in [(2, "2.500"), (3, "12,5")])
    assert detect_mark(cells) is C


# -- rates and the values wrappers ----------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("1.0850", "1.085"), ("1", "1"), (" 0.0067 ", "0.0067"), ("0.0000000001", "1E-10"),
    ("123456789012.1234567891", "123456789012.1234567891"),  # a float would lose digits
])
def test_parse_rate(text, expected):
    assert parse_rate(text, what="rate") == Decimal(expected)


@pytest.mark.parametrize("text, fragment", [
    ("0", "must be more than 0"), ("0.000", "more than 0"), ("-1", "not a decimal number"),
    ("abc", "not a decimal number"), ("1e3", "not a decimal number"),
    ("1_000", "not a decimal number"), ("1,5", "not a decimal number"),
    ("0.12345678901", "more than 10 decimal places"), ("1234567890123", "not a decimal"),
    (".inf", "not a decimal number"), ("", "not a decimal number"),
])
def test_parse_rate_refusals(text, fragment):
    with pytest.raises(ValueError) as info:
        parse_rate(text, what="the rate of EUR")
    assert fragment in str(info.value)


def test_parse_money_is_the_command_line_form():
    assert parse_money("12.5k", "USD", what="--value") == Decimal(12500)
    with pytest.raises(UsageError) as info:
        parse_money("1.000,50", "USD", what="--value")
    assert info.value.exit_code == 2 and "--value '1.000,50'" in str(info.value)


def test_format_and_round_use_the_currency_minor_units():
    assert format_money(Decimal("1234.5"), "USD") == "1,234.50"
    assert format_money(Decimal("1234.5"), "JPY") == "1,235"  # half up
    assert format_money(Decimal("1.2345"), "KWD") == "1.235"
    assert round_money(Decimal("0.125"), "USD") == Decimal("0.13")
    assert round_money(Decimal("2.5"), "JPY") == Decimal("3")
    # a code pipe cannot vouch for (a hand-edited store) shows all the store keeps
    assert format_money(Decimal("1.125"), "ZZZ") == "1.125"


# -- the command line -----------------------------------------------------------------------

@pytest.fixture
def euro(tmp_path, backend):
    """A workspace whose pipeline counts in EUR."""
    store = "deals" if backend == "csv" else "deals.sqlite"
    text = PIPELINE_YAML.format(store=store).replace("currency: USD", "currency: EUR")
    (tmp_path / "pipeline.yaml").write_text(text)
    return tmp_path


def refused(run, folder, *args) -> str:
    """The command exits 2 with one line on stderr and leaves the store as it was."""
    before = store_digest(folder)
    result = run(*args)
    assert result.code == 2, result
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
    assert store_digest(folder) == before
    return result.err


def test_a_value_in_another_currency_is_refused(run, euro):
    add(run, "Seed")  # the store exists, so "unchanged" is a real comparison
    err = refused(run, euro, "add", "Acme", "--value", "£500")
    assert "--value '£500' is in pounds (GBP), but the deal's currency is EUR" in err
    deal_id = add(run, "Acme", "--value", "€500")
    assert "is in USD" in refused(run, euro, "won", deal_id, "--value", "US$ 600")
    assert "is in pounds" in refused(run, euro, "edit", deal_id, "--value", "£600")
    assert run("edit", deal_id, "--value", "600 EUR").code == 0
    shown = run("show", deal_id, "-o", "json").json()
    assert (shown["value"], shown["currency"]) == (600, "EUR")


def test_a_decimal_comma_is_refused_on_the_command_line(run, euro):
    add(run, "Seed")
    err = refused(run, euro, "add", "Acme", "--value", "1.000,50")
    assert "use a dot for decimals: 1000.50" in err


def test_grouping_with_spaces_is_accepted(run, workspace):
    deal_id = add(run, "Acme", "--value", "1 234.50")
    assert run("show", deal_id, "-o", "json").json()["value"] == 1234.5
    deal_id = add(run, "Beta", "--value", "1\u00a0234\u00a0567")
    assert run("show", deal_id, "-o", "json").json()["value"] == 1234567


def test_won_checks_the_decimals_of_the_deal_currency(run, workspace):
    deal_id = add(run, "Acme", "--value", "100")
    err = refused(run, workspace, "won", deal_id, "--value", "99.999")
    assert "more than 2 decimal places for USD" in err


def test_an_unknown_currency_in_the_pipeline_file_is_refused_with_its_line(run, tmp_path):
    text = PIPELINE_YAML.format(store="deals").replace("currency: USD", "currency: XYZ")
    (tmp_path / "pipeline.yaml").write_text(text)
    line = text.splitlines().index("currency: XYZ") + 1
    result = run("list")
    assert result.code == 1 and "Traceback" not in result.err
    assert result.err.strip().splitlines() == [
        f"pipe: error: {tmp_path / 'pipeline.yaml'}:{line}: currency 'XYZ' is not an ISO "
        f"4217 currency code (such as USD, EUR or JPY)"]
    assert not (tmp_path / "deals").exists()


def test_json_keeps_amounts_exact(run, workspace):
    deal_id = add(run, "Acme", "--value", "999,999,999,999.99")
    out = run("show", deal_id, "-o", "json").out
    assert json.loads(out, parse_float=Decimal)["value"] == Decimal("999999999999.99")


def test_a_huge_cell_costs_nothing():
    start = time.perf_counter()
    for text in ("x" * 1_000_000, "$" * 1_000_000, "1," * 500_000, "(" * 500_000 + ")" * 500_000):
        assert readings(text) == {P: None, C: None}
        assert detect_mark([(2, text)]) is None
        with pytest.raises(ValueError):
            parse_amount(text, currency=None)
        assert money.stated_currencies(text) is None
    assert time.perf_counter() - start < 2


# -- properties -----------------------------------------------------------------------------

_AMOUNT_ALPHABET = st.sampled_from(list("0123456789.,'_ -()$€£kKmMeE+") + ["\u00a0", "USD",
                                                                         "kr", "NaN"])


@settings(max_examples=3000, deadline=None)
@given(st.one_of(st.text(max_size=30), st.lists(_AMOUNT_ALPHABET, max_size=14).map("".join)),
       st.sampled_from([None, "USD", "JPY", "KWD", "EUR"]), st.sampled_from([P, C]),
       st.booleans(), st.booleans())
def test_any_text_is_an_amount_or_one_sentence(text, currency, mark, rounding, suffixes):
    try:
        value = parse_amount(text, currency=currency, mark=mark, round_half_up=rounding,
                             suffixes=suffixes)
    except ValueError as e:
        assert str(e) and "\n" not in str(e)
    else:
        places = minor_units(currency) if currency else 3
        assert 0 <= value <= money.MAX_VALUE
        assert value == value.quantize(Decimal(1).scaleb(-places))
        assert "E" not in str(value)
    readings(text)  # never raises


def _written(value: Decimal, mark: Mark, group: str) -> str:
    """value written by hand: thousands grouped by `group`, the fraction after `mark`."""
    whole, _, fraction = f"{value:f}".partition(".")
    groups = []
    while len(whole) > 3:
        whole, tail = whole[:-3], whole[-3:]
        groups.insert(0, tail)
    text = group.join([whole, *groups])
    return text + (mark + fraction if fraction else "")


@settings(max_examples=1500, deadline=None)
@given(st.decimals(min_value=0, max_value=money.MAX_VALUE, places=2, allow_nan=False,
                   allow_infinity=False), st.sampled_from([P, C]),
       st.sampled_from(["", " ", "\u00a0", "'", "sep"]))
def test_a_grouped_amount_reads_back_exactly(value, mark, group):
    group = ("," if mark is P else ".") if group == "sep" else group
    text = _written(value, mark, group)
    assert parse_amount(text, currency="USD", mark=mark) == value
    other = readings(text)[Mark.COMMA if mark is P else Mark.POINT]
    if other is not None and other != value:  # a text both marks read, differently
        with pytest.raises(AmbiguousAmount):
            detect_mark([(2, text)])
