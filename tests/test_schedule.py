from datetime import datetime

import pytest
from schedule import after_delay, in_window, next_allowed, next_local_time


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


def test_quiet_hours_across_midnight():
    # 21:00 to 08:00 in Brussels (CET, UTC+1, in early March)
    quiet = dict(start=21.0, end=8.0, tz="Europe/Brussels")
    day = datetime(2026, 3, 2, 13, 0)  # 14:00 local: allowed, unchanged
    assert next_allowed(day, **quiet) == day
    assert next_allowed(datetime(2026, 3, 2, 19, 59), **quiet) == datetime(2026, 3, 2, 19, 59)  # 20:59 local
    # 23:00 local -> 08:00 local the next morning (07:00 UTC)
    assert next_allowed(datetime(2026, 3, 2, 22, 0), **quiet) == datetime(2026, 3, 3, 7, 0)
    # 21:00 sharp is quiet, 08:00 sharp is not
    assert next_allowed(datetime(2026, 3, 2, 20, 0), **quiet) == datetime(2026, 3, 3, 7, 0)
    assert next_allowed(datetime(2026, 3, 3, 7, 0), **quiet) == datetime(2026, 3, 3, 7, 0)
    # 03:00 local, after midnight -> 08:00 the same day
    assert next_allowed(datetime(2026, 3, 3, 2, 0), **quiet) == datetime(2026, 3, 3, 7, 0)


def test_quiet_hours_within_a_day_and_none():
    # 12:00 to 14:00 in UTC (a lunch break)
    assert next_allowed(datetime(2026, 3, 2, 12, 30), 12.0, 14.0) == datetime(2026, 3, 2, 14, 0)
    assert next_allowed(datetime(2026, 3, 2, 14, 0), 12.0, 14.0) == datetime(2026, 3, 2, 14, 0)
    assert next_allowed(datetime(2026, 3, 2, 23, 0), 12.0, 14.0) == datetime(2026, 3, 2, 23, 0)
    # start == end: no quiet hours
    assert next_allowed(datetime(2026, 3, 2, 23, 0), 8.0, 8.0) == datetime(2026, 3, 2, 23, 0)
    with pytest.raises(ValueError):
        next_allowed(datetime(2026, 3, 2, 23, 0), 21.0, 24.0)


def test_quiet_hours_over_daylight_saving_changes():
    quiet = dict(start=21.0, end=8.0, tz="Europe/Brussels")
    # spring forward night (2026-03-29): 23:00 CET -> 08:00 CEST = 06:00 UTC
    assert next_allowed(datetime(2026, 3, 28, 22, 0), **quiet) == datetime(2026, 3, 29, 6, 0)
    # fall back night (2026-10-25): 23:00 CEST -> 08:00 CET = 07:00 UTC
    assert next_allowed(datetime(2026, 10, 24, 21, 0), **quiet) == datetime(2026, 10, 25, 7, 0)
    # a window ending at 02:30, inside the spring-forward gap: the first moment after it (03:30 CEST)
    assert next_allowed(datetime(2026, 3, 28, 23, 30), 0.0, 2.5, "Europe/Brussels") == datetime(2026, 3, 29, 1, 30)
    # New York (UTC-5): 22:00 local = 03:00 UTC -> 08:00 local = 13:00 UTC
    assert next_allowed(datetime(2026, 3, 3, 3, 0), 21.0, 8.0, "America/New_York") == datetime(2026, 3, 3, 13, 0)
