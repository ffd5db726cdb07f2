from datetime import date, timedelta

from tiers import Tier, decide, next_tier, qualify, rank, shown_window

BRONZE = Tier(1, 200.0, grace_days=30)
SILVER = Tier(2, 1000.0, min_orders=2, grace_days=30)
GOLD = Tier(3, 3000.0, min_orders=3, window=1, grace_days=60)
RANKED = rank([GOLD, BRONZE, SILVER])  # listed in any order, ranked by threshold
TODAY = date(2026, 3, 2)


def test_ranked_by_threshold():
    assert [t.id for t in RANKED] == [1, 2, 3]


def test_threshold_is_inclusive_and_orders_count():
    assert qualify(RANKED, (199.99, 199.99), (5, 5)) is None
    assert qualify(RANKED, (200.0, 200.0), (1, 1)) == BRONZE
    # enough spend for Silver but a single order: Bronze
    assert qualify(RANKED, (1500.0, 1500.0), (1, 1)) == BRONZE
    assert qualify(RANKED, (1000.0, 1000.0), (2, 2)) == SILVER


def test_each_tier_reads_its_own_window():
    # Gold reads window 1 (say 24 months): 3000 there, only 900 over window 0
    assert qualify(RANKED, (900.0, 3000.0), (1, 3)) == GOLD
    assert qualify(RANKED, (3500.0, 2999.0), (4, 3)) == SILVER


def test_upgrade_is_immediate_and_may_skip_tiers():
    assert decide(RANKED, None, GOLD, None, TODAY) == decide(RANKED, None, GOLD, None, TODAY)
    decision = decide(RANKED, None, GOLD, None, TODAY)
    assert (decision.tier_id, decision.change, decision.grace_since) == (3, "upgrade", None)
    assert decide(RANKED, 1, SILVER, TODAY - timedelta(days=3), TODAY).change == "upgrade"


def test_staying_clears_the_grace_period():
    decision = decide(RANKED, 2, SILVER, TODAY - timedelta(days=10), TODAY)
    assert (decision.tier_id, decision.change, decision.grace_since) == (2, None, None)


def test_downgrade_waits_for_the_grace_period_of_the_held_tier():
    first = decide(RANKED, 3, SILVER, None, TODAY)
    assert (first.tier_id, first.change, first.grace_since) == (3, None, TODAY)
    day_59 = decide(RANKED, 3, SILVER, TODAY, TODAY + timedelta(days=59))
    assert (day_59.tier_id, day_59.change, day_59.grace_since) == (3, None, TODAY)
    day_60 = decide(RANKED, 3, SILVER, TODAY, TODAY + timedelta(days=60))
    assert (day_60.tier_id, day_60.change, day_60.grace_since) == (2, "downgrade", None)


def test_downgrade_to_no_tier_and_without_grace_when_immediate():
    assert decide(RANKED, 1, None, TODAY - timedelta(days=30), TODAY).tier_id is None
    decision = decide(RANKED, 3, BRONZE, None, TODAY, immediate=True)
    assert (decision.tier_id, decision.change) == (1, "downgrade")


def test_zero_grace_downgrades_on_first_sight():
    ranked = rank([Tier(1, 100.0), Tier(2, 500.0)])
    assert decide(ranked, 2, ranked[0], None, TODAY).change == "downgrade"


def test_archived_tier_is_replaced_without_upgrade():
    decision = decide(RANKED, 99, SILVER, None, TODAY)
    assert (decision.tier_id, decision.change) == (2, "reassigned")
    assert decide(RANKED, 99, None, None, TODAY).change == "reassigned"


def test_next_tier_and_shown_window():
    assert next_tier(RANKED, None) == BRONZE
    assert next_tier(RANKED, 2) == GOLD
    assert next_tier(RANKED, 3) is None
    assert shown_window(RANKED, 2) == 1  # aims at Gold: Gold's window
    assert shown_window(RANKED, 3) == 1  # at the top: its own
    assert shown_window(RANKED, None) == 0
    assert shown_window([], None) == 0
