"""Kognitos API typed values: the 96-bit decimal round-trips exactly, every documented
kind reads as plain Python (or as ``Value``, sent back verbatim), bad inputs are refused
with the input's name before any request."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runbridge_kognitos_api import Value
from runbridge_kognitos_api._values import (
    BadValue,
    decode,
    decode_number,
    decode_values,
    encode,
    encode_inputs,
    encode_number,
)

WORD = st.integers(min_value=0, max_value=2**32 - 1)
FLAGS = st.builds(
    lambda scale, negative: (scale << 16) | (negative << 31),
    st.integers(min_value=0, max_value=28),
    st.integers(min_value=0, max_value=1),
)


def test_the_specs_examples() -> None:
    assert encode_number(Decimal("123.45")) == {"lo": 12345, "mid": 0, "hi": 0, "flags": 131072}
    assert encode_number(Decimal("-0.001")) == {"lo": 1, "mid": 0, "hi": 0, "flags": 2147680256}
    assert decode_number({"lo": 42, "flags": 0}) == 42  # zero fields left out
    assert decode_number({"lo": 12345, "mid": 0, "hi": 0, "flags": 131072}) == Decimal("123.45")


@given(lo=WORD, mid=WORD, hi=WORD, flags=FLAGS)
def test_any_wire_number_goes_back_as_it_came(lo: int, mid: int, hi: int, flags: int) -> None:
    wire = {"lo": lo, "mid": mid, "hi": hi, "flags": flags}
    assert encode_number(decode_number(wire)) == wire


@given(
    mantissa=st.integers(min_value=0, max_value=2**96 - 1),
    scale=st.integers(min_value=0, max_value=28),
    negative=st.booleans(),
)
def test_any_decimal_that_fits_round_trips_with_its_scale(
    mantissa: int, scale: int, negative: bool
) -> None:
    number = Decimal((int(negative), tuple(map(int, str(mantissa))), -scale))
    back = decode_number(encode_number(number))
    assert back == number
    if isinstance(back, Decimal):  # 1.50 stays 1.50, -0 stays -0
        assert back.as_tuple() == number.as_tuple()
    else:
        assert scale == 0 and not (negative and mantissa == 0)


def test_numbers_are_read_tolerantly() -> None:
    # protojson accepts numeric strings; a signed reading of flags is negative
    assert decode_number({"lo": "5", "flags": str(1 << 16)}) == Decimal("0.5")
    assert decode_number({"lo": 5, "flags": -(2**31) + (1 << 16)}) == Decimal("-0.5")


@pytest.mark.parametrize(
    ("wire", "problem"),
    [
        ({"lo": 1, "flags": 29 << 16}, "flags"),
        ({"lo": 1, "flags": 1}, "flags"),
        ({"lo": 2**32}, "32-bit"),
        ({"lo": True}, "32-bit"),
        ("12", "not an object"),
    ],
)
def test_malformed_numbers_say_what_is_wrong(wire: Any, problem: str) -> None:
    with pytest.raises(BadValue, match=problem):
        decode_number(wire)


@pytest.mark.parametrize(
    "number", [Decimal(2**96), Decimal("1e-29"), Decimal("NaN"), Decimal("-Infinity")]
)
def test_numbers_that_do_not_fit_are_refused(number: Decimal) -> None:
    with pytest.raises(BadValue):
        encode_number(number)


def test_floats_are_sent_as_the_decimal_they_print_as() -> None:
    assert decode(encode(0.1)) == Decimal("0.1")
    assert decode(encode(12.5)) == Decimal("12.5")
    assert decode(encode(-3)) == -3


PLAIN: list[Any] = [
    None,
    True,
    "text",
    7,
    Decimal("-1.50"),
    [1, "a", None],
    {"a": 1, "b": [True]},
    date(2024, 2, 29),
    time(12, 30, 5, 250),
    datetime(2024, 1, 1, 9, 0, tzinfo=UTC),
    datetime(2024, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=-4))),
    datetime(2024, 1, 1, 9, 0),
]


@pytest.mark.parametrize("value", PLAIN, ids=repr)
def test_plain_values_round_trip(value: Any) -> None:
    assert decode(encode(value)) == value


def test_wire_kinds_without_a_python_twin_are_kept_and_sent_verbatim() -> None:
    kept = [
        {"file": {"inline": {"file_name": "a.txt", "content": "aGk="}}},
        {"table": {"remote": "s3://bucket/t.feather"}},
        {"set": {"items": [{"text": "a"}]}},
        {"duration": "3.5s"},
        {"time_zone": {"id": "America/New_York"}},
        {"datetime": {"year": 2024, "month": 1, "day": 1, "time_zone": {"id": "Europe/Paris"}}},
        {"a_kind_from_next_year": {"x": 1}},
    ]
    for wire in kept:
        read = decode(wire)
        assert read == Value(wire)
        assert encode(read) == wire


def test_dictionaries_are_entries_with_typed_keys() -> None:
    wire = {
        "dictionary": {
            "entries": [
                {"key": {"text": "a"}, "value": {"text": "b"}},
                {"key": {"number": {"lo": 2}}, "value": {"bool_value": False}},
            ]
        }
    }
    assert decode(wire) == {"a": "b", 2: False}
    assert encode({"a": "b", 2: False}) == {
        "dictionary": {
            "entries": [
                {"key": {"text": "a"}, "value": {"text": "b"}},
                {"key": {"number": {"lo": 2, "mid": 0, "hi": 0, "flags": 0}},
                 "value": {"bool_value": False}},
            ]
        }
    }  # fmt: skip


def test_null_is_read_in_each_likely_spelling() -> None:
    for spelling in (None, "NULL_VALUE", ""):
        assert decode({"null_value": spelling}) is None


def test_bad_inputs_name_the_input() -> None:
    with pytest.raises(BadValue, match=r"inputs\['amount'\]"):
        encode_inputs({"amount": Decimal("1e-40")})
    with pytest.raises(BadValue, match=r"inputs\['blob'\].*bytes"):
        encode_inputs({"blob": b"\x00"})
    with pytest.raises(BadValue, match="key"):
        encode_inputs({"d": {(1, 2): 3}})


def test_a_read_never_fails_on_one_odd_value() -> None:
    odd = {
        "ok": {"text": "fine"},
        "bad": {"number": {"lo": 1, "flags": 1}},
        "two": {"a": 1, "b": 2},
    }
    read = decode_values(odd, "user_inputs")
    assert read["ok"] == "fine"
    assert read["bad"] == Value(odd["bad"]) and read["two"] == Value(odd["two"])


def test_impossible_dates_and_offsets_are_kept_not_fatal() -> None:
    odd = {
        "month13": {"date": {"year": 2024, "month": 13, "day": 1}},
        "hour25": {"timeofday": {"hours": 25}},
        "day_offset": {"datetime": {"year": 2024, "month": 1, "day": 1, "utc_offset": "86400s"}},
        "list_key": {"dictionary": {"entries": [{"key": {"list": {}}, "value": {"text": "x"}}]}},
    }
    read = decode_values(odd, "outputs")
    assert read == {name: Value(wire) for name, wire in odd.items()}
