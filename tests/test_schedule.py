from datetime import datetime

import pytest
from schedule import after_delay, in_window, next_local_time


def test_delay_units():
    start = datetime(2026, 3, 2, 9, 0)
    assert after_delay(start, 1, "hours") == datetime(2026, 3, 2, 10, 0)
    assert after_delay(start, 23, "hours") == datetime(2026, 3, 3, 8, 0)
    assert after_delay(start, 2, "weeks") == datetime(2026, 3, 16, 9, 0)
    with pytest.raises(ValueError):
        after_delay(start, -1, "days")
    with pytest.raises(ValueError):
        after_delay(start, 1, "fortnights")


def test_until_hour_in_customer_timezone():
    # 2026-03-02 is a Monday; 09:00 UTC is 10:00 in Brussels (CET)
    start = datetime(2026, 3, 2, 9, 0)
    assert next_local_time(start, 10.0, tz="Europe/Brussels") == datetime(2026, 3, 2, 9, 0)
    assert next_local_time(start, 9.5, tz="Europe/Brussels") == datetime(2026, 3, 3, 8, 30)
    # New York is UTC-5 in early March
    assert next_local_time(start, 8.0, tz="America/New_York") == datetime(2026, 3, 2, 13, 0)


def test_until_weekday():
    start = datetime(2026, 3, 2, 9, 0)  # Monday
    assert next_local_time(start, 10.0, weekday=3, tz="UTC") == datetime(2026, 3, 5, 10, 0)
    # same weekday but the hour has passed: next week
    assert next_local_time(start, 8.0, weekday=0, tz="UTC") == datetime(2026, 3, 9, 8, 0)


def test_daylight_saving_gap_moves_forward():
    # Brussels springs forward on 2026-03-29 at 02:00 -> 03:00
    start = datetime(2026, 3, 28, 23, 0)
    assert next_local_time(start, 2.5, tz="Europe/Brussels") == datetime(2026, 3, 29, 1, 30)


def test_unknown_timezone_falls_back_to_utc():
    assert next_local_time(datetime(2026, 3, 2, 9, 0), 12.0, tz="Mars/Olympus") == datetime(2026, 3, 2, 12, 0)


def test_conversion_window():
    sent = datetime(2026, 3, 2, 9, 0)
    assert in_window(datetime(2026, 3, 5, 9, 0), sent, 3)
    assert not in_window(datetime(2026, 3, 5, 9, 1), sent, 3)
    assert not in_window(datetime(2026, 3, 2, 8, 59), sent, 3)
