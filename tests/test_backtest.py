import numpy as np
import pytest
from backtest import auc, degradation, outcome, pack, ranks, spearman, unpack
from calibration import ece, reliability


def test_reliability_bins_hold_mean_prediction_observed_rate_and_count():
    p = np.array([0.05, 0.08, 0.31, 0.35, 0.39, 0.95, 1.0])
    y = np.array([0, 0, 1, 0, 0, 1, 1])
    assert reliability(p, y) == [[0.065, 0.0, 2], [0.35, 0.3333, 3], [0.975, 1.0, 2]]
    # |0.065 - 0| x 2/7 + |0.35 - 1/3| x 3/7 + |0.975 - 1| x 2/7
    assert ece(p, y) == pytest.approx((0.13 + 0.05 + 0.05) / 7)
    assert ece([], []) == 0.0 and reliability([], []) == []


def test_ece_is_small_for_calibrated_predictions_and_large_for_shifted_ones():
    rng = np.random.default_rng(1)
    p = rng.random(20000)
    y = (rng.random(20000) < p).astype(int)
    assert ece(p, y) < 0.02
    assert ece(np.clip(p + 0.2, 0, 1), y) > 0.15
    assert sum(row[2] for row in reliability(p, y)) == 20000


def test_snapshot_round_trip_is_compact():
    rng = np.random.default_rng(2)
    ids = np.sort(rng.choice(np.arange(1, 400000), 100000, replace=False))[::-1]  # any order in
    churn, revenue = rng.random(100000), rng.gamma(2.0, 50.0, 100000)
    data = pack(ids, churn, revenue)
    back_ids, back_churn, back_revenue = unpack(data)
    order = np.argsort(ids)
    assert back_ids.tolist() == ids[order].tolist()
    np.testing.assert_allclose(back_churn, churn[order], rtol=1e-6)
    np.testing.assert_allclose(back_revenue, revenue[order], rtol=1e-6)
    assert len(data) < 1_000_000, "under 10 bytes a customer"


def test_ranks_auc_and_spearman_match_the_references():
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    assert ranks([10, 30, 30, 0]).tolist() == [2, 3.5, 3.5, 1]
    rng = np.random.default_rng(3)
    p = np.round(rng.random(500), 2)  # ties
    y = (rng.random(500) < p).astype(int)
    assert auc(p, y) == pytest.approx(roc_auc_score(y, p))
    a, b = np.round(rng.gamma(1, 10, 500)), np.where(rng.random(500) < 0.5, 0, rng.gamma(1, 10, 500))
    assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic)
    assert auc([0.1, 0.2], [1, 1]) is None
    assert spearman([1, 2, 3], [5, 5, 5]) is None


def test_outcome_by_hand():
    """Four customers; two of them ordered in the window (one of them twice), and one who was
    not predicted (new since the run) ordered too and is left out."""
    ids = np.array([11, 12, 13, 14])
    churn = np.array([0.2, 0.4, 0.6, 0.8])
    revenue = np.array([30.0, 60.0, 30.0, 0.0])
    result = outcome(ids, churn, revenue, bought_ids=[11, 13, 99], bought_revenue=[50.0, 40.0, 500.0])
    # no order: 12 and 14. Pairs (no order, ordered): 0.4>0.2, 0.4<0.6, 0.8>0.2, 0.8>0.6 -> 3/4
    assert result["auc"] == pytest.approx(0.75)
    # each bin holds one customer: |0.2-0| + |0.4-1| + |0.6-0| + |0.8-1| over 4
    assert result["ece"] == pytest.approx(0.4)
    assert result["reliability"] == [[0.2, 0.0, 1], [0.4, 1.0, 1], [0.6, 0.0, 1], [0.8, 1.0, 1]]
    assert (result["predicted_revenue"], result["actual_revenue"]) == (120.0, 90.0)
    assert result["revenue_error"] == pytest.approx(100 * 30 / 90)
    # ranks predicted (2.5, 4, 2.5, 1), actual (4, 1.5, 3, 1.5): centred (0, 1.5, 0, -1.5), (1.5, -1, 0.5, -1)
    # -> (0 - 1.5 + 0 + 1.5) / ... = 0
    assert result["spearman"] == pytest.approx(0.0)
    assert (result["customers"], result["churn_rate"], result["predicted_churn"]) == (4, 0.5, pytest.approx(0.5))


def test_degradation_rules():
    usual = [{"customers": 1000, "auc": 0.80, "ece": 0.02, "revenue_error": -5.0}] * 5
    good = {"customers": 1000, "auc": 0.78, "ece": 0.05, "revenue_error": 12.0}
    assert degradation(good, usual) == []
    bad = {"customers": 1000, "auc": 0.70, "ece": 0.12, "revenue_error": -30.0}
    assert [(m, r) for m, r, *__ in degradation(bad, usual)] == [("auc", "drop"), ("ece", "limit"),
                                                                   ("revenue", "limit")]
    risen = {"customers": 1000, "auc": 0.80, "ece": 0.08, "revenue_error": 21.0}
    assert degradation(risen, usual) == [("ece", "rise", 0.08, 0.02), ("revenue", "rise", 21.0, 5.0)]
    assert degradation(risen, []) == [], "relative rules need a previous backtest"
    assert degradation({**bad, "customers": 50}, usual) == [], "too few customers to tell"
    assert degradation({"customers": 1000, "auc": None, "ece": 0.0, "revenue_error": None}, usual) == []
