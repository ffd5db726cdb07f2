"""Scheduling math for journey steps: when is a wait over?

All datetimes in and out are naive UTC (Odoo's convention); a customer's
local time only matters for "until a weekday / hour" waits, computed in the
customer's timezone so "Tuesday 10:00" means 10:00 where the customer lives.
"""

from datetime import datetime, timedelta

import pytz

UNITS = {
    "minutes": timedelta(minutes=1),
    "hours": timedelta(hours=1),
    "days": timedelta(days=1),
    "weeks": timedelta(weeks=1),
}


def after_delay(start, amount, unit):
    """``start`` plus ``amount`` ``unit`` (minutes, hours, days, weeks)."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}")
    if amount < 0:
        raise ValueError("a delay cannot be negative")
    return start + amount * UNITS[unit]


def next_local_time(start, hour, weekday=None, tz="UTC"):
    """First moment strictly after or at ``start`` that is ``hour`` o'clock
    (a float: 9.5 is 09:30) on ``weekday`` (0 = Monday, None = any day) in ``tz``.

    Returned as naive UTC. Daylight-saving gaps are resolved forward.
    """
    if not 0 <= hour < 24:
        raise ValueError("hour must be within [0, 24)")
    if weekday is not None and not 0 <= weekday <= 6:
        raise ValueError("weekday must be within [0, 6]")
    zone = _zone(tz)
    local_start = pytz.utc.localize(start).astimezone(zone)
    minutes = round(hour * 60)
    for days in range(0, 8):
        day = (local_start + timedelta(days=days)).date()
        if weekday is not None and day.weekday() != weekday:
            continue
        naive = datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)
        candidate = _localize(zone, naive)
        if candidate >= local_start:
            return candidate.astimezone(pytz.utc).replace(tzinfo=None)
    raise AssertionError("unreachable: a week always contains the weekday")


def next_allowed(now, start, end, tz="UTC"):
    """``now`` if it lies outside the quiet hours ``[start, end)`` (float
    hours of the local day in ``tz``: 21.0 to 8.0 is the night, across
    midnight), else the end of the quiet hours, in the customer's local time.

    Naive UTC in and out. ``start == end`` means no quiet hours. When the end
    falls in a daylight-saving gap, the first moment after it is returned.
    """
    if not (0 <= start < 24 and 0 <= end < 24):
        raise ValueError("quiet hours must be within [0, 24)")
    if start == end:
        return now
    local = pytz.utc.localize(now).astimezone(_zone(tz))
    hour = local.hour + local.minute / 60 + local.second / 3600 + local.microsecond / 3_600_000_000
    quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return now
    return next_local_time(now, end, tz=tz)


def _zone(tz):
    try:
        return pytz.timezone(tz or "UTC")
    except pytz.UnknownTimeZoneError:
        return pytz.utc


def _localize(zone, naive):
    try:
        return zone.localize(naive, is_dst=None)
    except pytz.NonExistentTimeError:  # spring forward: 02:30 does not exist
        return zone.localize(naive + timedelta(hours=1), is_dst=True)
    except pytz.AmbiguousTimeError:  # fall back: take the first occurrence
        return zone.localize(naive, is_dst=True)


def in_window(moment, start, days):
    """Whether ``moment`` lies in ``[start, start + days]`` (conversion windows)."""
    return start <= moment <= start + timedelta(days=days)
