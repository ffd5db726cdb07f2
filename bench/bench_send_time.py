#!/usr/bin/env python3
"""Best send time on simulated customers whose reading hours are known.

No database: the benchmark runs ``smb_journey/lib/send_time.py`` as the
nightly recompute and the "until the customer's best time" wait do, on
customers simulated like this:

- each customer has a reading hour, drawn from a shop's daily pattern (a
  morning peak around 07:00-08:00, lunch, and a larger evening peak around
  20:00, a few night owls);
- an email sent at hour ``s`` is opened with probability
  ``0.05 + 0.45 * exp(-d^2 / 8)``, ``d`` the distance in hours (around the
  clock) between ``s`` and the reading hour: an email that arrives when the
  customer reads is at the top of the inbox, one sent hours before is buried;
- an open is recorded at the reading hour give or take an hour (70 %), or at
  once, at the send hour (30 %): the history partly echoes the hours the
  shop sent at, which is why the model explores;
- history: the customer's first ``--history`` opens (1, 3, 10, 30), from the
  shop's past newsletters sent at 10:00.

Then ``--rounds`` emails per customer, one per round, under these policies:
the shop-wide best hour (the baseline: the one hour at which the shop's
customers, all together, open most, computed from their true reading hours:
the best any single hour can do), the best hour the shop's own history
shows (it echoes the 10:00 sends), a fixed 10:00, the per-customer best
hour without and with the 10 % exploration, and the true reading hour (the
ceiling). The per-customer
policy learns as it goes: each round's opens are added to the customer's
history and the shop's pattern before the next round, as the nightly
recompute would. Printed per history size: share of sends within the
customer's reading hour and simulated open rate (expected opens per send),
with their ratio to the shop-wide baseline measured in the same run.

    python3 bench/bench_send_time.py [--seed 7] [--customers 2000] [--rounds 20]
"""

import argparse
import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "smb_journey" / "lib"))

import send_time  # noqa: E402

HOURS = send_time.HOURS
PAST_SEND_HOUR = 10
FIXED_HOUR = 10


def reading_hour_weights():
    """The shop's daily pattern of reading hours (relative weights per hour)."""
    weights = []
    for hour in range(HOURS):
        w = 0.02  # night owls
        w += 1.0 * math.exp(-((hour - 7.5) ** 2) / (2 * 1.0**2))  # before work
        w += 0.7 * math.exp(-((hour - 12.5) ** 2) / (2 * 0.8**2))  # lunch
        w += 1.6 * math.exp(-((hour - 20.0) ** 2) / (2 * 1.5**2))  # evening
        weights.append(w)
    return weights


def distance(a, b):
    d = abs(a - b) % HOURS
    return min(d, HOURS - d)


def open_probability(send, reading):
    return 0.05 + 0.45 * math.exp(-distance(send, reading) ** 2 / 8)


def recorded_hour(rng, send, reading):
    """The hour an open shows in the history."""
    if rng.random() < 0.3:
        return send
    return (reading + round(rng.gauss(0, 1.0))) % HOURS


def simulate(seed, customers, history, rounds):
    rng = random.Random(seed)
    weights = reading_hour_weights()
    reading = rng.choices(range(HOURS), weights=weights, k=customers)
    # history: the first `history` opens of the shop's past 10:00 newsletters
    own = []
    for c in range(customers):
        counts = [0] * HOURS
        opened = 0
        while opened < history:
            if rng.random() < open_probability(PAST_SEND_HOUR, reading[c]):
                counts[recorded_hour(rng, PAST_SEND_HOUR, reading[c])] += 1
                opened += 1
        own.append(counts)
    shop = [sum(counts[h] for counts in own) for h in range(HOURS)]
    # the baseline: the one hour that opens most over all the shop's customers, known exactly
    shop_best = max(range(HOURS), key=lambda s: sum(open_probability(s, h) for h in reading))
    # what the shop's own history says (echoes the 10:00 sends)
    history_best = send_time.best_hour([0] * HOURS, send_time.shop_shares(shop))[0]

    policies = {
        "shop-wide best hour": lambda c, r: shop_best,
        "shop's history best hour": lambda c, r: history_best,
        "fixed 10:00": lambda c, r: FIXED_HOUR,
        "per-customer, no exploration": 0.0,  # learnt, below
        "per-customer best hour": send_time.EXPLORATION_SHARE,
        "true reading hour (ceiling)": lambda c, r: reading[c],
    }
    results = {}
    for name, policy in policies.items():
        model_own = [list(counts) for counts in own]
        model_shop = list(shop)
        in_hour = expected_opens = 0.0
        for r in range(rounds):
            shares = send_time.shop_shares(model_shop)
            new_opens = []
            for c in range(customers):
                if callable(policy):
                    hour = policy(c, r)
                else:  # learnt: the nightly recompute's best hour, then the wait's exploration
                    best = send_time.best_hour(model_own[c], shares)[0]
                    hour = send_time.send_hour(best, (seed, c, r), share=policy)
                p = open_probability(hour, reading[c])
                in_hour += hour == reading[c]
                expected_opens += p
                if rng.random() < p:
                    new_opens.append((c, recorded_hour(rng, hour, reading[c])))
            for c, hour in new_opens:
                model_own[c][hour] += 1
                model_shop[hour] += 1
        sends = customers * rounds
        results[name] = (in_hour / sends, expected_opens / sends)
    return shop_best, history_best, results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--history", type=int, nargs="+", default=[1, 3, 10, 30])
    args = parser.parse_args()
    started = time.time()
    print(f"seed {args.seed}, {args.customers} customers, {args.rounds} emails each, "
          f"exploration {send_time.EXPLORATION_SHARE:.0%}, prior weight k = {send_time.PRIOR_WEIGHT:g}")
    for history in args.history:
        shop_best, history_best, results = simulate(args.seed, args.customers, history, args.rounds)
        base_hour, base_opens = results["shop-wide best hour"]
        print(f"\nhistory: {history} past open(s) per customer; the shop-wide best hour: {shop_best}:00 "
              f"(the shop's history says {history_best}:00)")
        print(f"{'policy':<30} {'in reading hour':>16} {'open rate':>10} {'x baseline':>11} {'x baseline':>11}")
        print(f"{'':<30} {'':>16} {'':>10} {'(in hour)':>11} {'(opens)':>11}")
        for name, (in_hour, opens) in results.items():
            ratio_hour = f"{in_hour / base_hour:.2f}" if base_hour else "-"
            print(f"{name:<30} {in_hour:>16.1%} {opens:>10.1%} {ratio_hour:>11} {opens / base_opens:>11.2f}")
    print(f"\n{time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
