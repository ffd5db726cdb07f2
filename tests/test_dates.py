from datetime import date, datetime

import pytest

import dates


@pytest.mark.parametrize(("born", "year", "expected"), [
    (date(1990, 6, 15), 2027, date(2027, 6, 15)),
    (date(1992, 2, 29), 2027, date(2027, 2, 28)),   # no 29 February in 2027
    (date(1992, 2, 29), 2028, date(2028, 2, 29)),   # a leap year has one
    (date(1990, 2, 28), 2028, date(2028, 2, 28)),
    (date(1990, 12, 31), 2027, date(2027, 12, 31)),
])
def test_occasion_in_year(born, year, expected):
    assert dates.occasion_in_year(born, year) == expected


def test_years_since():
    assert dates.years_since(date(1992, 2, 29), date(2027, 2, 28)) == 35


def test_first_scan_covers_today_only():
    now = datetime(2027, 3, 10, 12, 0)
    assert dates.scan_start(None, now) == now
    # a day on either side: customers from UTC-12 to UTC+14
    assert dates.scan_days(None, now) == (date(2027, 3, 9), date(2027, 3, 11))


def test_scan_covers_the_days_since_the_last_pass():
    now = datetime(2027, 3, 10, 12, 0)
    last = datetime(2027, 3, 8, 23, 0)
    assert dates.scan_start(last, now) == last
    assert dates.scan_days(last, now) == (date(2027, 3, 7), date(2027, 3, 11))


def test_scan_never_looks_back_more_than_a_week():
    now = datetime(2027, 3, 10, 12, 0)
    assert dates.scan_start(datetime(2027, 1, 1), now) == datetime(2027, 3, 3, 12, 0)


def test_entry_keys_round_trip():
    assert dates.entry_key("birthday", date(2027, 2, 28)) == "birthday:2027"
    assert dates.entry_key("anniversary", date(2027, 5, 1)) == "anniversary:2027"
    key = dates.entry_key("field", date(2027, 4, 30), field="x_warranty_end")
    assert key == "date:x_warranty_end:2027-04-30"
    assert dates.parse_entry_key("birthday:2027") == ("birthday", 2027)
    assert dates.parse_entry_key(key) == ("field", date(2027, 4, 30))
    assert dates.parse_entry_key("sale.order,4") == (None, None)
    assert dates.parse_entry_key("date:x:not-a-date") == (None, None)


def test_month_days_covers_the_scanned_days_and_the_leap_day():
    assert dates.month_days(date(2027, 2, 27), date(2027, 3, 1)) == [227, 228, 229, 301]
    # a reminder 30 days before: the occasions are 30 days after the scanned days
    assert dates.month_days(date(2027, 12, 2), date(2027, 12, 2), offset_days=-30) == [101]
    assert dates.month_days(date(2027, 6, 1), date(2027, 6, 3), offset_days=2) == [530, 531, 601]
