from datetime import datetime, timedelta

import pytest
from entry import entry_key, may_enter

NOW = datetime(2026, 3, 2, 9, 0)


def test_first_entry_always_allowed():
    for policy in ("once", "after_days", "always"):
        assert may_enter(policy, NOW)


def test_once_never_again():
    assert not may_enter("once", NOW, last_start=NOW - timedelta(days=400))


def test_after_days_waits_and_not_while_running():
    last = NOW - timedelta(days=10)
    assert may_enter("after_days", NOW, last_start=last, days=10)
    assert not may_enter("after_days", NOW, last_start=last, days=11)
    assert not may_enter("after_days", NOW, last_start=last, days=1, any_running=True)


def test_always_but_never_the_same_record_twice():
    assert may_enter("always", NOW, last_start=NOW)
    assert not may_enter("always", NOW, last_start=NOW, same_record_seen=True)


def test_entry_key_names_the_record_or_the_rank():
    assert entry_key("sale.order,7", 3) == "sale.order,7"
    assert entry_key(None, 0) == "#1"
    assert entry_key(None, 2) == "#3"


def test_unknown_policy():
    with pytest.raises(ValueError):
        may_enter("sometimes", NOW)
