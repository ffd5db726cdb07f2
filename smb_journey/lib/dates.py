"""Date triggers: on which day does a customer's date come round?

A birthday or the anniversary of a first order comes back every year, on
the same month and day; a 29 February comes on 28 February in the other
years. A plain date (a warranty end) comes once. The scanner finds the
customers in SQL (smb.journey ``_scan_date``); this module holds the same
rules for what Python needs: the days a scan covers, an occasion's date and
how many years it counts, and the exactly-once entry key.
"""

import calendar
from datetime import date, timedelta

# how far back a scan looks when the cron did not run: an email a few days
# late is still welcome, one weeks late is not
LOOKBACK_DAYS = 7


def occasion_in_year(born, year):
    """The day ``born`` (a date) comes round in ``year``; 29 February is on
    28 February in a year that has none."""
    if born.month == 2 and born.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return born.replace(year=year)


def years_since(born, occasion):
    """How many years ``occasion`` celebrates (30 for a thirtieth birthday)."""
    return occasion.year - born.year


def scan_days(start, now, lookback_days=LOOKBACK_DAYS):
    """First and last UTC day of the calendar days a scan must look at, for
    customers in any timezone (UTC-12 to UTC+14), from ``start`` (the last
    pass; None: today only) to ``now`` (naive UTC datetimes). Never further
    back than ``lookback_days``."""
    start = scan_start(start, now, lookback_days)
    return start.date() - timedelta(days=1), now.date() + timedelta(days=1)


def scan_start(start, now, lookback_days=LOOKBACK_DAYS):
    """The moment whose local day is the first day a scan covers: the last
    pass (a day whose hour came after it was not seen yet), today for a
    first pass, never more than ``lookback_days`` ago."""
    return max(start or now, now - timedelta(days=lookback_days))


def month_days(first, last, offset_days=0):
    """The month and day (``month * 100 + day``) of every occasion the days
    from ``first`` to ``last`` can greet with an offset of ``offset_days``:
    what a scan of yearly dates may look up in an index instead of reading
    every date. 28 February brings 29 February (born on a leap day)."""
    result = set()
    day = first
    while day <= last:
        occasion = day - timedelta(days=offset_days)
        result.add(occasion.month * 100 + occasion.day)
        day += timedelta(days=1)
    if 228 in result:
        result.add(229)
    return sorted(result)


def entry_key(source, occasion, field=None):
    """The exactly-once key: once a year for yearly dates (``birthday:2027``),
    once per value for a plain date (``date:x_warranty_end:2027-03-01``), so a
    new warranty end date makes the customer enter again."""
    if source == "field":
        return f"date:{field}:{occasion.isoformat()}"
    return f"{source}:{occasion.year}"


def parse_entry_key(key):
    """(source, year or date) from an entry key made by :func:`entry_key`;
    (None, None) for another key."""
    source, __, rest = (key or "").partition(":")
    if source in ("birthday", "anniversary") and rest.isdigit():
        return source, int(rest)
    if source == "date" and ":" in rest:
        try:
            return "field", date.fromisoformat(rest.rpartition(":")[2])
        except ValueError:
            return None, None
    return None, None
