import base64
import logging
from datetime import timedelta

import numpy as np
from markupsafe import Markup

from odoo import SUPERUSER_ID, api, fields, models
from odoo.tools import SQL, format_date, format_datetime, formatLang

from odoo.addons.smb_journey.lib import backtest as backtest_lib

_logger = logging.getLogger(__name__)

# a run checks the predictions of the latest run whose horizon ended at most this many days before it
# (a run a horizon ago give or take a missed night or a few weeks without scoring); a snapshot no run
# can pick any more is dropped by the nightly cron
BACKTEST_TOLERANCE_DAYS = 21


class SmbChurnRun(models.Model):
    """How a run's predictions turned out, checked by the run a horizon later.

    Every done run keeps a snapshot of what it predicted per customer
    (``snapshot``: the churn probability over its horizon and the revenue
    expected over it, compressed numpy arrays in one attachment). A run
    scoring at ``T`` finds the latest run ``R`` of the company whose horizon
    has passed (``R.date + R.horizon <= T``, by at most
    :data:`BACKTEST_TOLERANCE_DAYS`), reads in one query what R's customers
    ordered in ``[R.date, R.date + R.horizon)`` and records the outcome
    (``backtest_*``, see ``lib/backtest.py``). A backtest sharply worse than
    the previous ones sets ``warning`` and gives the company's journeys
    responsible a To-Do, once per degradation."""

    _name = "smb.churn.run"
    _inherit = ["smb.churn.run", "mail.thread", "mail.activity.mixin"]
    # runs are read-only for everyone: who can read one can discuss it and plan a To-Do on it
    _mail_post_access = "read"

    # averaged, not summed, in the trend graph
    holdout_auc = fields.Float(aggregator="avg")
    holdout_ece = fields.Float(aggregator="avg")

    currency_id = fields.Many2one(related="company_id.currency_id")
    snapshot = fields.Binary(
        "Predictions Snapshot", attachment=True, readonly=True, copy=False,
        groups="smb_journey.group_journey_manager",
        help="What this run predicted for each customer: the probability of no order within the horizon and the "
             "revenue expected over it (compressed numpy arrays). The run a horizon later checks them against "
             "what the customers ordered; the snapshot is dropped once no run needs it.")
    has_snapshot = fields.Boolean("Predictions Kept", readonly=True, copy=False)
    backtest_run_id = fields.Many2one(
        "smb.churn.run", "Predictions Checked", readonly=True, copy=False, index="btree_not_null",
        ondelete="set null",
        help="The run a horizon ago whose predictions this run checked against what the customers then ordered.")
    backtest_note = fields.Char("About the Check", readonly=True, copy=False)
    backtest_date_to = fields.Datetime("Checked Until", readonly=True, copy=False,
                                       help="End of the checked run's horizon.")
    backtest_customers = fields.Integer("Customers Checked", readonly=True, copy=False, aggregator="avg",
                                        help="The customers the checked run scored.")
    backtest_churn_rate = fields.Float(
        "Did Not Order", digits=(4, 3), readonly=True, copy=False, aggregator="avg",
        help="Share of the checked customers without an order over the horizon.")
    backtest_predicted_churn = fields.Float(
        "Predicted Not to Order", digits=(4, 3), readonly=True, copy=False, aggregator="avg",
        help="The mean churn probability the checked run gave them.")
    backtest_auc = fields.Float(
        "Past Predictions AUC", digits=(4, 3), readonly=True, copy=False, aggregator="avg",
        help="How well the checked run's scores sorted the customers who did not order above those who did: "
             "0.5 is chance, 1 perfect.")
    backtest_ece = fields.Float(
        "Past Predictions Calibration Error", digits=(4, 3), readonly=True, copy=False, aggregator="avg",
        help="Expected calibration error of the checked run's probabilities against who did not order (10 bins): "
             "0 is perfect, 0.03 the aim.")
    backtest_predicted_revenue = fields.Monetary(
        "Predicted Revenue", readonly=True, copy=False,
        help="The revenue the checked run expected from its customers over its horizon (each one's predicted "
             "value, prorated to the horizon).")
    backtest_actual_revenue = fields.Monetary(
        "Actual Revenue", readonly=True, copy=False,
        help="What the same customers ordered over the horizon (confirmed orders, untaxed, in the company "
             "currency). Customers who were new since are left out.")
    backtest_revenue_error = fields.Float(
        "Revenue Error (%)", digits=(5, 1), readonly=True, copy=False, aggregator="avg",
        help="Predicted minus actual revenue, in percent of the actual.")
    backtest_spearman = fields.Float(
        "Revenue Rank Correlation", digits=(4, 3), readonly=True, copy=False, aggregator="avg",
        help="Spearman's correlation of the predicted and the actual revenue per customer: 1 when the "
             "customers expected to spend most did.")
    backtest_metrics = fields.Json(
        "Past Predictions Outcome", readonly=True, copy=False,
        help="The check as computed: metrics (null when not measurable) and reliability bins.")
    warning = fields.Text(readonly=True, copy=False)
    warning_metrics = fields.Char(
        readonly=True, copy=False,
        help="The metrics that degraded (auc, ece, revenue): a To-Do is scheduled when one appears that the "
             "previous check did not have.")
    reliability_chart = fields.Json(
        "Reliability Diagram", compute="_compute_reliability_chart",
        help="Predicted probability of no order against the observed share, per bin of predictions: on the "
             "diagonal when the probabilities can be taken at their word.")

    @api.depends("date")
    def _compute_display_name(self):
        for run in self:
            run.display_name = self.env._("Run of %(date)s", date=format_datetime(self.env, run.date, dt_format="short"))

    @api.depends("model_params", "backtest_metrics", "backtest_run_id.date")
    def _compute_reliability_chart(self):
        _ = self.env._
        for run in self:
            series = []
            metrics = (run.model_params or {}).get("metrics") or {}
            if metrics.get("reliability"):
                series.append({
                    "key": "holdout",
                    "label": _("Validation on the latest observed window (%(count)s customers)",
                               count=formatLang(self.env, metrics.get("holdout_rows")
                                                or sum(b[2] for b in metrics["reliability"]), digits=0)),
                    "ece": metrics.get("ece"),
                    "bins": metrics["reliability"],
                })
            outcome = run.backtest_metrics or {}
            if outcome.get("reliability"):
                series.append({
                    "key": "backtest",
                    "label": _("Predictions of %(date)s against what followed (%(count)s customers)",
                               date=format_date(self.env, run.backtest_run_id.date) if run.backtest_run_id else "?",
                               count=formatLang(self.env, outcome.get("customers", 0), digits=0)),
                    "ece": outcome.get("ece"),
                    "bins": outcome["reliability"],
                })
            run.reliability_chart = {"series": series} if series else False

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        # a run a night per company: no "created" message, no follower
        quiet = self.with_context(mail_create_nolog=True, mail_create_nosubscribe=True)
        return super(SmbChurnRun, quiet).create(vals_list).with_env(self.env)

    # ------------------------------------------------------------
    # CRON
    # ------------------------------------------------------------

    @api.model
    def _cron_score(self):
        super()._cron_score()
        self._prune_snapshots()

    @api.model
    def _prune_snapshots(self):
        """Drop the snapshots no run can check any more: a run's predictions
        are checked by a run between ``horizon`` and ``horizon +``
        :data:`BACKTEST_TOLERANCE_DAYS` days after it, never later."""
        self.flush_model(["date", "horizon_days", "has_snapshot"])
        ids = [row[0] for row in self.env.execute_query(SQL(
            """
            SELECT id FROM smb_churn_run
             WHERE has_snapshot AND date + (horizon_days + %s) * INTERVAL '1 day' < %s
            """,
            BACKTEST_TOLERANCE_DAYS, fields.Datetime.now(),
        ))]
        if ids:
            # sudo: the snapshot is a Journey Manager's field, the cron prunes every company's
            self.browse(ids).sudo().write({"snapshot": False, "has_snapshot": False})
        return len(ids)

    # ------------------------------------------------------------
    # SNAPSHOT AND BACKTEST
    # ------------------------------------------------------------

    def _record_predictions(self, ids, churn, value, value_days=365):
        """Keep this run's predictions (``value``: each customer's expected
        revenue over ``value_days``, prorated to the horizon: the expected
        orders grow linearly with time), then check those of the run a
        horizon ago. A failing check is recorded on the run and never fails
        the scoring."""
        self.ensure_one()
        revenue = np.asarray(value, dtype=float) * self.horizon_days / value_days
        self.write({"snapshot": base64.b64encode(backtest_lib.pack(ids, churn, revenue)), "has_snapshot": True})
        try:
            with self.env.cr.savepoint():
                self._backtest()
        except Exception as e:  # noqa: BLE001 - the scores are written all the same
            _logger.exception("Checking past churn predictions failed for run %s", self.id)
            self.backtest_note = self.env._("Checking the past predictions failed: %(error)s", error=str(e) or repr(e))

    def _backtest_run(self):
        """The latest earlier run of the company with its predictions kept
        whose horizon ended before this run, by at most the tolerance."""
        self.ensure_one()
        self.flush_model(["company_id", "state", "date", "horizon_days", "has_snapshot"])
        rows = self.env.execute_query(SQL(
            """
            SELECT id FROM smb_churn_run
             WHERE company_id = %(company)s AND state = 'done' AND has_snapshot AND id != %(id)s
               AND date + horizon_days * INTERVAL '1 day' <= %(now)s
               AND date + (horizon_days + %(tolerance)s) * INTERVAL '1 day' >= %(now)s
             ORDER BY date DESC, id DESC
             LIMIT 1
            """,
            company=self.company_id.id, id=self.id, now=self.date, tolerance=BACKTEST_TOLERANCE_DAYS,
        ))
        return self.browse(rows[0][0]) if rows else self.browse()

    def _backtest(self):
        self.ensure_one()
        _ = self.env._
        past = self._backtest_run()
        if not past:
            self.backtest_note = _(
                "No run a horizon ago yet: this run's predictions are checked by the first run from %(date)s on.",
                date=format_date(self.env, self.date + timedelta(days=self.horizon_days)))
            return
        start, end = past.date, past.date + timedelta(days=past.horizon_days)
        snapshot = past.snapshot
        if not snapshot:  # its attachment deleted by hand
            past.has_snapshot = False
            return self._backtest()
        ids, churn, revenue = backtest_lib.unpack(base64.b64decode(snapshot))
        self.env["sale.order"].flush_model(["state", "company_id", "date_order", "partner_id", "amount_untaxed",
                                            "currency_rate"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        rows = self.env.execute_query(self._window_sql(past.company_id, start, end))
        bought = np.asarray(rows, dtype=float).reshape(-1, 2)
        outcome = backtest_lib.outcome(ids, churn, revenue, bought[:, 0].astype(np.int64), bought[:, 1])
        notes = []
        if outcome["auc"] is None:
            notes.append(_("AUC not measurable: every customer checked ordered, or none did."))
        if outcome["revenue_error"] is None:
            notes.append(_("Revenue error not measurable: the customers checked ordered nothing."))
        self.write({
            "backtest_run_id": past.id,
            "backtest_date_to": end,
            "backtest_note": " ".join(notes) or False,
            "backtest_customers": outcome["customers"],
            "backtest_churn_rate": outcome["churn_rate"],
            "backtest_predicted_churn": outcome["predicted_churn"],
            "backtest_auc": outcome["auc"] or 0.0,
            "backtest_ece": outcome["ece"],
            "backtest_predicted_revenue": outcome["predicted_revenue"],
            "backtest_actual_revenue": outcome["actual_revenue"],
            "backtest_revenue_error": outcome["revenue_error"] or 0.0,
            "backtest_spearman": outcome["spearman"] or 0.0,
            "backtest_metrics": {key: round(value, 4) if isinstance(value, float) else value
                                 for key, value in outcome.items()},
        })
        self._check_degradation()

    @api.model
    def _window_sql(self, company, start, end):
        """What each customer (commercial partner) ordered in ``[start, end)``:
        confirmed orders, untaxed, in the company currency as
        ``_history_sql`` converts them; one row per customer who ordered."""
        return SQL(
            """
            SELECT p.commercial_partner_id, SUM(o.amount_untaxed / COALESCE(NULLIF(o.currency_rate, 0), 1))
              FROM sale_order o
              JOIN res_partner p ON p.id = o.partner_id
             WHERE o.state = 'sale' AND o.company_id = %s AND o.date_order >= %s AND o.date_order < %s
             GROUP BY 1
            """,
            company.id, start, end,
        )

    # ------------------------------------------------------------
    # DEGRADATION
    # ------------------------------------------------------------

    def _check_degradation(self):
        """Compare this run's check with the previous checks of the company
        (rules and thresholds: ``lib/backtest.py:degradation``). A degraded
        check gets a ``warning``; the administrator gets a To-Do when a
        metric degrades that had not in the previous check, so a degradation
        lasting several nights (consecutive checks share most of their
        window) is announced once. Once the worse numbers have become the
        median of the previous checks, they are the shop's new normal and
        warn no more."""
        self.ensure_one()
        previous = self.search([
            ("company_id", "=", self.company_id.id), ("id", "!=", self.id), ("backtest_run_id", "!=", False),
            ("date", "<=", self.date),
        ], order="date desc, id desc", limit=backtest_lib.HISTORY)
        found = backtest_lib.degradation(self.backtest_metrics or {}, [run.backtest_metrics or {} for run in previous])
        if not found:
            return
        metrics = sorted({metric for metric, *__ in found})
        self.write({"warning": self._warning_text(found), "warning_metrics": ",".join(metrics)})
        before = set((previous[:1].warning_metrics or "").split(","))
        if set(metrics) - before:
            self._warn_administrator()

    def _warning_text(self, found):
        _ = self.env._
        lines = [_("The predictions of %(date)s turned out worse than usual over their %(days)s days:",
                   date=format_date(self.env, self.backtest_run_id.date), days=self.backtest_run_id.horizon_days)]
        for metric, rule, value, reference in found:
            if metric == "auc":
                lines.append(_("- Ranking: AUC %(value)s against %(usual)s usually (median of the previous checks): "
                               "the scores tell the customers who stopped from those who kept buying less well.",
                               value=f"{value:.2f}", usual=f"{reference:.2f}"))
            elif metric == "ece" and rule == "limit":
                lines.append(_("- Calibration: the probabilities were %(value)s points off on average (more than "
                               "%(limit)s).", value=f"{100 * value:.0f}", limit=f"{100 * reference:.0f}"))
            elif metric == "ece":
                lines.append(_("- Calibration: the probabilities were %(value)s points off on average, against "
                               "%(usual)s usually.", value=f"{100 * value:.0f}", usual=f"{100 * reference:.0f}"))
            elif rule == "limit" and value < 0:
                lines.append(_("- Revenue: the prediction was %(value)s %% below what the customers ordered (more "
                               "than %(limit)s %% off either way).", value=f"{-value:.0f}", limit=f"{reference:.0f}"))
            elif rule == "limit":
                lines.append(_("- Revenue: the prediction was %(value)s %% above what the customers ordered (more "
                               "than %(limit)s %% off either way).", value=f"{value:.0f}", limit=f"{reference:.0f}"))
            elif value < 0:
                lines.append(_("- Revenue: the prediction was %(value)s %% below what the customers ordered, "
                               "against %(usual)s %% off usually.", value=f"{-value:.0f}", usual=f"±{reference:.0f}"))
            else:
                lines.append(_("- Revenue: the prediction was %(value)s %% above what the customers ordered, "
                               "against %(usual)s %% off usually.", value=f"{value:.0f}", usual=f"±{reference:.0f}"))
        lines.append(_("A change in the shop (prices, a campaign, imported or cancelled orders) can explain it; "
                       "otherwise check the churn horizon in Settings › Journeys."))
        return "\n".join(lines)

    def _warning_user(self):
        """Who is warned: the company's journeys responsible, else the
        administrator, else a Journey Manager of the company; never OdooBot,
        an archived user or one who cannot open the run."""
        self.ensure_one()
        company = self.company_id

        def fit(user):
            return (user and user.active and not user.share and user.id != SUPERUSER_ID
                    and company in user.company_ids and user.has_group("smb_journey.group_journey_user"))

        for user in (company.smb_journey_user_id, self.env.ref("base.user_admin", raise_if_not_found=False)):
            if fit(user):
                return user
        managers = self.env.ref("smb_journey.group_journey_manager").sudo().all_user_ids
        return managers.filtered(fit)[:1]

    def _warn_administrator(self):
        user = self._warning_user()
        if not user:
            return self.env["mail.activity"]
        return self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=self.env._("Churn predictions got worse"),
            note=Markup("<br/>").join(self.warning.split("\n")),  # each line escaped
            user_id=user.id,
        )
