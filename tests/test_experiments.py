import hashlib
import math
from collections import Counter

import pytest

from experiments import (
    NOT_ENOUGH,
    NOT_SIGNIFICANT,
    SIGNIFICANT,
    Variant,
    assign,
    bucket,
    compare,
    held_out,
    mean_uplift,
    rate_uplift,
    two_proportion_z,
    welch_z,
    wilson,
)


def test_bucket_is_the_sha256_of_salt_and_keys():
    # SHA-256("split:7:42") starts with a861a99492380ecd; 0xa861a99492380ecd / 2**64
    # = 12133024452932030157 / 18446744073709551616 = 0.65774021...
    assert hashlib.sha256(b"split:7:42").hexdigest()[:16] == "a861a99492380ecd"
    assert bucket("split", 7, 42) == pytest.approx(0.6577402103159502, abs=1e-15)
    # the same answer every time, in every process (no per-process salt as with hash())
    assert all(bucket("split", 7, 42) == bucket("split", 7, 42) for __ in range(3))


def test_assign_reads_the_bucket_against_cumulative_weights():
    # 0.6577 of a total weight 100 is 65.77: past A (0-50), inside B (50-100)
    assert assign([("a", 50), ("b", 50)], "split", 7, 42) == "b"
    # with A at 70 the same customer falls inside A (0-70)
    assert assign([("a", 70), ("b", 30)], "split", 7, 42) == "a"
    # a variant of weight 0 is never chosen: 65.77 of 100 falls in C (50-100)
    assert assign([("a", 50), ("b", 0), ("c", 50)], "split", 7, 42) == "c"
    with pytest.raises(ValueError):
        assign([("a", 0), ("b", 0)], "split", 7, 42)


def test_assign_respects_the_weights():
    counts = Counter(assign([("a", 20), ("b", 30), ("c", 50)], "split", 3, partner) for partner in range(10000))
    # binomial standard deviation at n=10000: sqrt(10000*0.2*0.8) = 40 for A, 46 for B, 50 for C;
    # 4 standard deviations of slack
    assert abs(counts["a"] - 2000) < 160
    assert abs(counts["b"] - 3000) < 184
    assert abs(counts["c"] - 5000) < 200


def test_holdout_has_its_own_salt():
    # the same customer and id in a split and a holdout are drawn independently:
    # over 10000 customers of a 50 % holdout and a 50/50 split, about a quarter
    # are held out AND in variant A (sd sqrt(10000*0.25*0.75) = 43)
    both = sum(held_out(50, 9, p) and assign([("a", 1), ("b", 1)], "split", 9, p) == "a" for p in range(10000))
    assert abs(both - 2500) < 175
    assert not any(held_out(0, 9, p) for p in range(1000)), "0 %: nobody"
    # 10 % of 10000: 1000, sd sqrt(10000*0.1*0.9) = 30
    assert abs(sum(held_out(10, 5, p) for p in range(10000)) - 1000) < 120


def test_two_proportion_z():
    # 30/100 against 20/100: pooled p = 50/200 = 0.25
    # se = sqrt(0.25 * 0.75 * (1/100 + 1/100)) = sqrt(0.00375) = 0.0612372
    # z = (0.30 - 0.20) / 0.0612372 = 1.632993
    # two-sided p = erfc(1.632993 / sqrt 2) = 2 * (1 - Phi(1.633)) = 0.10247
    z, p = two_proportion_z(30, 100, 20, 100)
    assert z == pytest.approx(1.632993, abs=1e-6)
    assert p == pytest.approx(0.10247, abs=1e-5)
    # nobody succeeded anywhere: no difference to test
    assert two_proportion_z(0, 50, 0, 50) == (0.0, 1.0)


def test_welch_z_from_sums_and_squares():
    # A: 40 recipients, revenue sum 400, sum of squares 10000:
    #    mean 10, variance (10000 - 40 * 10^2) / 39 = 6000 / 39 = 153.846
    # B: 40 recipients, sum 200, squares 4000: mean 5, variance (4000 - 40 * 5^2) / 39 = 76.923
    # se = sqrt(153.846 / 40 + 76.923 / 40) = sqrt(5.76923) = 2.401922
    # z = (10 - 5) / 2.401922 = 2.081666; p = 2 * (1 - Phi(2.0817)) = 0.037373
    z, p = welch_z(400, 10000, 40, 200, 4000, 40)
    assert z == pytest.approx(2.081666, abs=1e-6)
    assert p == pytest.approx(0.037373, abs=1e-6)


def test_compare_two_variants_needs_the_minimum_sample():
    # 10/20 against 2/20 looks like a big lead, but 20 < 30 recipients per variant
    verdict = compare([Variant("a", 20, 10), Variant("b", 20, 2)], "click")
    assert (verdict.leader, verdict.status) == ("a", NOT_ENOUGH)
    # 30/100 against 20/100: p = 0.10247 (above) > 0.05: not significant
    verdict = compare([Variant("a", 100, 20), Variant("b", 100, 30)], "open")
    assert (verdict.leader, verdict.status) == ("b", NOT_SIGNIFICANT)
    assert verdict.comparisons[0].p_value == pytest.approx(0.10247, abs=1e-5)
    assert verdict.comparisons[0].confidence == pytest.approx(0.89753, abs=1e-5)
    # 2/100 against 0/100: 100 recipients each, but at the pooled rate 2/200 only
    # 100 * 0.01 = 1 success is expected per variant, fewer than 5
    assert compare([Variant("a", 100, 2), Variant("b", 100, 0)], "conversion").status == NOT_ENOUGH


def test_compare_three_variants_with_bonferroni():
    # A 60/200 leads B 40/200 and C 38/200; two comparisons, so each p is doubled.
    # A vs B: pooled 100/400 = 0.25, se = sqrt(0.25 * 0.75 * 2/200) = 0.0433013,
    #   z = (0.30 - 0.20) / 0.0433013 = 2.309401, p = 0.0209213, corrected 0.0418427
    # A vs C: pooled 98/400 = 0.245, se = sqrt(0.245 * 0.755 * 0.01) = 0.0430087,
    #   z = (0.30 - 0.19) / 0.0430087 = 2.557621, p = 0.0105391, corrected 0.0210782
    # both below 0.05: A's lead is significant
    verdict = compare([Variant("a", 200, 60), Variant("b", 200, 40), Variant("c", 200, 38)], "click")
    assert verdict.leader == "a"
    assert verdict.status == SIGNIFICANT
    p = {c.key: c.p_value for c in verdict.comparisons}
    assert p["b"] == pytest.approx(0.0418427, abs=1e-6)
    assert p["c"] == pytest.approx(0.0210782, abs=1e-6)
    # the same A against B alone (uncorrected 0.0209) would pass, but with a
    # fourth variant (3 comparisons) 0.0209 * 3 = 0.0628 no longer does
    verdict = compare([Variant("a", 200, 60), Variant("b", 200, 40), Variant("c", 200, 38),
                       Variant("d", 200, 39)], "click")
    assert verdict.status == NOT_SIGNIFICANT
    assert {c.key: c.p_value for c in verdict.comparisons}["b"] == pytest.approx(0.0627640, abs=1e-6)


def test_compare_revenue_and_ties():
    # revenue per recipient 10 (A) against 5 (B), as in test_welch_z: p = 0.0374;
    # 12 and 8 buyers: pooled 20/80 = 0.25, 40 * 0.25 = 10 expected buyers each
    verdict = compare([Variant("a", 40, 12, 400, 10000), Variant("b", 40, 8, 200, 4000)], "revenue")
    assert (verdict.leader, verdict.status) == ("a", SIGNIFICANT)
    assert verdict.comparisons[0].p_value == pytest.approx(0.037373, abs=1e-6)
    # a tie for the lead names no leader
    verdict = compare([Variant("a", 50, 5), Variant("b", 50, 5)], "click")
    assert (verdict.leader, verdict.status) == (None, NOT_SIGNIFICANT)
    assert compare([Variant("a", 0), Variant("b", 0)], "click").status == NOT_ENOUGH


def test_wilson_interval():
    # 0/10: centre = (0 + 1.96^2 / 20) / (1 + 1.96^2 / 10) = 0.192073 / 1.384146 = 0.138766
    # half = 1.96 * sqrt(0 + 1.96^2 / 400) / 1.384146 = 0.192073 / 1.384146 = 0.138766
    # -> [0, 0.277533]
    low, high = wilson(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.277533, abs=1e-6)


def test_rate_uplift_newcombe():
    # Newcombe (1998), "Interval estimation for the difference between independent
    # proportions", example 56/70 against 48/80, method 10: 0.2000 [0.0524, 0.3339].
    # Wilson 56/70: [0.691834, 0.876953]; Wilson 48/80: [0.490455, 0.700382]
    # low  = 0.2 - sqrt((0.8 - 0.691834)^2 + (0.700382 - 0.6)^2) = 0.2 - sqrt(0.021777) = 0.2 - 0.147569 = 0.052431
    # high = 0.2 + sqrt((0.876953 - 0.8)^2 + (0.6 - 0.490455)^2) = 0.2 + sqrt(0.017922) = 0.2 + 0.133873 = 0.333873
    uplift = rate_uplift(56, 70, 48, 80)
    assert uplift.difference == pytest.approx(0.2)
    assert uplift.low == pytest.approx(0.052431, abs=1e-6)
    assert uplift.high == pytest.approx(0.333873, abs=1e-6)
    assert uplift.status == SIGNIFICANT
    # a small control group: 3/20 against 1/20 is "not enough data yet" (20 < 30)
    assert rate_uplift(3, 20, 1, 20).status == NOT_ENOUGH
    # 12/100 against 3/30: Wilson 12/100 [0.069994, 0.198121], 3/30 [0.034600, 0.256211]
    # low  = 0.02 - sqrt((0.12 - 0.069994)^2 + (0.256211 - 0.1)^2) = 0.02 - sqrt(0.026903) = 0.02 - 0.164020
    #      = -0.144020: the interval contains 0
    uplift = rate_uplift(12, 100, 3, 30)
    assert uplift.low == pytest.approx(-0.144020, abs=1e-5)
    assert uplift.status == NOT_SIGNIFICANT


def test_mean_uplift_welch_interval():
    # revenue per entrant 10 (treatment) against 5 (control), variances 153.846 and 76.923
    # over 40 each: half width 1.959964 * sqrt(5.76923) = 1.959964 * 2.401922 = 4.707681
    # -> 5 [0.292319, 9.707681]
    uplift = mean_uplift(400, 10000, 40, 200, 4000, 40, buyers=12)
    assert uplift.difference == pytest.approx(5.0)
    assert uplift.low == pytest.approx(0.292319, abs=1e-6)
    assert uplift.high == pytest.approx(9.707681, abs=1e-6)
    assert uplift.status == SIGNIFICANT
    # four buyers in all: too few for the normal approximation
    assert mean_uplift(400, 10000, 40, 200, 4000, 40, buyers=4).status == NOT_ENOUGH
    assert math.isclose(mean_uplift(0, 0, 40, 0, 0, 40, buyers=0).difference, 0.0)
