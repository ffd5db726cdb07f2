from datetime import datetime

import pytest
from send_time import DAYTIME, best_hour, next_send_time, posterior, send_hour, shop_shares, smooth


def hours(**counts):
    """24 hourly counts from h7=3, h19=2, ..."""
    values = [0] * 24
    for name, count in counts.items():
        values[int(name[1:])] = count
    return values


# the shop: 26 opens at 10:00, none at other hours; with one pseudo-open per
# hour, 10:00 holds 27/50 and every other hour 1/50
SHOP = shop_shares(hours(h10=26))


def test_shop_shares():
    assert SHOP[10] == pytest.approx(27 / 50)
    assert SHOP[3] == pytest.approx(1 / 50)
    assert sum(SHOP) == pytest.approx(1)
    assert shop_shares([0] * 24) == pytest.approx([1 / 24] * 24)


def test_little_history_is_shrunk_to_the_shop():
    # one open at 19:00, k = 4, no smoothing:
    # 19:00 = (1 + 4 * 1/50) / 5 = 0.216; 10:00 = (4 * 27/50) / 5 = 0.432
    values = posterior(hours(h19=1), SHOP, k=4, neighbour=0)
    assert values[19] == pytest.approx(0.216)
    assert values[10] == pytest.approx(0.432)
    assert best_hour(hours(h19=1), SHOP, k=4, neighbour=0) == (10, pytest.approx(0.2))
    # three opens at 19:00: 19:00 = 3.08 / 7 = 0.44 beats 10:00 = 2.16 / 7 = 0.3086
    values = posterior(hours(h19=3), SHOP, k=4, neighbour=0)
    assert values[19] == pytest.approx(0.44)
    assert values[10] == pytest.approx(2.16 / 7)
    assert best_hour(hours(h19=3), SHOP, k=4, neighbour=0) == (19, pytest.approx(3 / 7))
    # no history at all: the shop's best hour, with no confidence
    assert best_hour([0] * 24, SHOP) == (10, 0.0)


def test_smoothing_with_neighbouring_hours():
    # 19:00 keeps half of 3.08/7 and takes a quarter of each neighbour's 0.08/7
    values = posterior(hours(h19=3), SHOP, k=4, neighbour=0.25)
    assert values[19] == pytest.approx(1.58 / 7)
    assert values[18] == pytest.approx(0.83 / 7)
    assert values[10] == pytest.approx(1.12 / 7)
    assert sum(values) == pytest.approx(1)
    # own history only (k = 0): 3 opens at 07:00 and an evening of 2 + 2 + 2 at 19-21:00.
    # Unsmoothed 07:00 wins (3/9); smoothed 20:00 = (0.5 * 2 + 0.25 * 4) / 9 = 2/9 beats 07:00 = 1.5/9
    own = hours(h7=3, h19=2, h20=2, h21=2)
    assert best_hour(own, SHOP, k=0, neighbour=0) == (7, 1.0)
    assert posterior(own, SHOP, k=0)[20] == pytest.approx(2 / 9)
    assert posterior(own, SHOP, k=0)[7] == pytest.approx(1.5 / 9)
    assert best_hour(own, SHOP, k=0)[0] == 20


def test_smoothing_goes_around_midnight():
    values = smooth(hours(h23=4))
    assert values[23] == 2 and values[22] == 1 and values[0] == 1
    assert sum(values) == 4


def test_ties_go_to_the_earliest_hour():
    assert best_hour(hours(h9=2, h15=2), [1 / 24] * 24, neighbour=0)[0] == 9


def test_exploration_share_is_stable_and_in_daytime():
    assert {send_hour(19, ("enrollment", i), share=0) for i in range(200)} == {19}
    explored = [send_hour(19, ("enrollment", i), share=1) for i in range(200)]
    assert 19 not in explored and set(explored) <= set(DAYTIME)
    assert len(set(explored)) == len(DAYTIME) - 1, "every other daytime hour is tried"
    sends = [send_hour(19, ("enrollment", i, "step", 3)) for i in range(10000)]
    assert 0.09 < sum(hour != 19 for hour in sends) / len(sends) < 0.11
    assert sends == [send_hour(19, ("enrollment", i, "step", 3)) for i in range(10000)], "same key, same hour"
    with pytest.raises(ValueError):
        send_hour(19, "x", share=1.5)


def test_next_send_time_in_the_customer_timezone():
    now = datetime(2026, 3, 2, 9, 30)  # 10:30 in Brussels (UTC+1)
    assert next_send_time(now, 10, "Europe/Brussels") == now, "already their hour: now"
    assert next_send_time(now, 19, "Europe/Brussels") == datetime(2026, 3, 2, 18, 0)
    assert next_send_time(now, 8, "Europe/Brussels") == datetime(2026, 3, 3, 7, 0)
    assert next_send_time(now, 9, "UTC") == now
    with pytest.raises(ValueError):
        next_send_time(now, 24)
