import json
import logging
import time
from datetime import date, datetime, timedelta

import numpy as np
# scikit-learn trains the model (lib/churn.py imports it lazily to stay light):
# load its compiled modules with the addon, not in the middle of a run
import sklearn.linear_model  # noqa: F401
import sklearn.metrics  # noqa: F401

from odoo import api, fields, models
from odoo.tools import SQL, format_date

from odoo.addons.smb_journey.lib import churn as churn_lib

_logger = logging.getLogger(__name__)

EPOCH = date(1970, 1, 1)
# advisory lock namespace of a company's scoring (the second key is the company id)
SCORING_LOCK = 0x5B3C
# the partner columns a scoring run owns (company-dependent: one value per company)
CHURN_COLUMNS = ("smb_churn_score", "smb_churn_band", "smb_clv", "smb_next_order_date", "smb_churn_reasons")


class SmbChurnRun(models.Model):
    """One nightly scoring of a company's customers: what model was used and
    how good it was on the shop's own later data, for the admin to inspect.
    The model itself is kept as plain numbers (``model_params``), never a pickle."""

    _name = "smb.churn.run"
    _description = "Churn Scoring Run"
    _order = "date desc, id desc"
    _check_company_auto = True

    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    state = fields.Selection(
        [("done", "Done"), ("skipped", "Skipped"), ("failed", "Failed")], required=True, readonly=True)
    message = fields.Text(readonly=True)
    customer_count = fields.Integer("Customers Scored", readonly=True)
    horizon_days = fields.Integer("Horizon (days)", readonly=True)
    horizon_source = fields.Selection(
        [("admin", "Set by the admin"), ("cadence", "From the purchase cadence")], readonly=True)
    model_kind = fields.Selection(
        [("logistic_regression", "Logistic regression (trained)"), ("statistical", "Statistical (fallback)")],
        readonly=True)
    model_reason = fields.Char("Why This Model", readonly=True)
    holdout_auc = fields.Float("Holdout AUC", digits=(4, 3), readonly=True)
    holdout_brier = fields.Float("Holdout Brier Score", digits=(4, 3), readonly=True)
    holdout_ece = fields.Float("Calibration Error", digits=(4, 3), readonly=True,
                               help="Expected calibration error on the holdout (10 bins): 0 is perfect.")
    holdout_rows = fields.Integer(readonly=True)
    season_note = fields.Char(
        "Yearly Pattern", readonly=True,
        help="The shop's yearly pattern of repeat purchases the expected orders follow (read from 13 full months of "
             "history at least), or why there is none yet.")
    train_rows = fields.Integer(readonly=True)
    top_features = fields.Text(readonly=True)
    high_count = fields.Integer("High Risk", readonly=True)
    medium_count = fields.Integer("Medium Risk", readonly=True)
    duration = fields.Float("Duration (s)", digits=(6, 2), readonly=True)
    model_params = fields.Json("Model", readonly=True, help="The fitted model as plain numbers.")
    model_summary = fields.Text("Learned Model", compute="_compute_model_summary",
                                help="The stored model, readable: what each input weighs and how the "
                                     "label window is carried to the horizon.")

    @api.depends("model_params")
    def _compute_model_summary(self):
        for run in self:
            run.model_summary = run._model_summary(run.model_params or {})

    def _model_summary(self, params):
        _ = self.env._
        if params.get("kind") != "logistic_regression":
            if not params:
                return False
            metrics = params.get("metrics") or {}
            rate = params.get("shop_rate") or 1.0 / churn_lib.PRIOR_GAP_DAYS
            lines = [_("Each customer's purchase rate, shrunk to the shop's (%(rate)s repeat purchases a day: one "
                       "every %(gap)s days for an average customer), discounted by how overdue they are.",
                       rate=round(rate, 4), gap=round(1.0 / rate))]
            if "prior_weight" in metrics:
                lines.append(_(
                    "The shop's rate: %(repeats)s repeat purchases over %(weeks)s customer-weeks followed, with a "
                    "prior of one repeat purchase every %(prior)s days weighing %(weight)s %%.",
                    repeats=metrics.get("repeat_purchases", 0), weeks=round(metrics.get("exposure_days", 0.0) / 7),
                    prior=round(churn_lib.PRIOR_GAP_DAYS), weight=round(100 * metrics["prior_weight"])))
                if metrics["prior_weight"] > 0.5:
                    lines.append(_("The shop is too young to read its purchase rate from: the prior weighs more "
                                   "than what its customers did."))
            return "\n".join(lines)
        lines = [_("Label window %(window)s days, carried to the %(horizon)s-day horizon with persistence "
                   "%(persistence)s (1 = independent windows).", window=params.get("window"),
                   horizon=params.get("horizon"), persistence=round(params.get("persistence", 1.0), 2)),
                 _("Expected orders scaled by %(scale)s to what the latest label windows held.",
                   scale=round(params.get("orders_scale", 1.0), 3)),
                 _("An order's value: the customer's own orders against the shop's average, which weighs "
                   "%(strength)s orders.", strength=round(params.get("spend_strength", 3.0), 2))]
        if params.get("season"):
            lines.append(_("Yearly pattern (1 = an average month): %(factors)s", factors=", ".join(
                f"{self._month_name(index, 'MMM')} {factor:.2f}" for index, factor in enumerate(params["season"]))))
        # the weights last, below the line that announces them
        lines.append(_("Weights on standardised inputs (positive: more risk), intercept %(intercept)s:",
                       intercept=round(params.get("intercept", 0.0), 3)))
        weights = sorted(zip(churn_lib.FEATURES, params.get("coef", []), strict=False), key=lambda w: -abs(w[1]))
        lines += [f"  {name}: {weight:+.3f}" for name, weight in weights]
        return "\n".join(lines)

    def _season_note(self, fitted, history, today):
        """What the run says of the shop's yearly pattern: the months it peaks
        and dips, or that there is not enough history to read one (the
        statistical model of a young shop included: its owner reads why)."""
        _ = self.env._
        info = fitted.metrics.get("season") or churn_lib.seasonality(history, today)[1]
        months = info.get("months", 0)
        if not fitted.season and months >= churn_lib.SEASON_MIN_MONTHS:
            # enough history, but the statistical model follows no pattern
            return _("Not followed: the statistical model counts every month alike (%(months)s full months of "
                     "history).", months=months)
        if not fitted.season and months == 1:
            return _("Not read yet: 1 full month of history, %(minimum)s needed. Every month counts alike.",
                     minimum=churn_lib.SEASON_MIN_MONTHS)
        if not fitted.season:
            return _("Not read yet: %(months)s full months of history, %(minimum)s needed. Every month counts alike.",
                     months=months, minimum=churn_lib.SEASON_MIN_MONTHS)
        peak, low = info["peak"], info["low"]
        return _(
            "Read from %(months)s months: %(peak)s x%(peak_factor)s, %(low)s x%(low_factor)s of an average month.",
            months=info["months"], peak=self._month_name(peak), peak_factor=f"{fitted.season[peak]:.2f}",
            low=self._month_name(low), low_factor=f"{fitted.season[low]:.2f}")

    def _month_name(self, index, date_format="MMMM"):
        """The name of month ``index`` (0 = January) in the reader's language."""
        return format_date(self.env, date(2000, index + 1, 1), date_format=date_format)

    # ------------------------------------------------------------
    # CRON / API
    # ------------------------------------------------------------

    @api.model
    def _cron_score(self):
        """Nightly: score every customer of every company with orders, one
        company per committed step."""
        companies = self.env["sale.order"].sudo()._read_group([("state", "=", "sale")], ["company_id"])
        for (company,) in companies:
            self.score_customers(company)
            self.env["ir.cron"]._commit_progress(1)

    def action_score_now(self):
        """Score the current company's customers now and open the run."""
        run = self.score_customers(self.env.company)
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": run.id, "view_mode": "form"}

    @api.model
    def score_customers(self, company=None):
        """Train on ``company``'s history and score its customers now; returns the run."""
        company = company or self.env.company
        self.env["smb.churn.run"].check_access("create")
        # sudo: scores are derived data written on every customer for salespeople to read
        return self.sudo()._score_company(company)

    # ------------------------------------------------------------
    # ENGINE
    # ------------------------------------------------------------

    def _score_company(self, company):
        started = time.perf_counter()
        # one scoring of a company at a time (the cron and Score Now): the
        # second would rewrite the same customers and fail on them
        locked = self.env.execute_query(SQL(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", SCORING_LOCK, company.id))[0][0]
        if not locked:
            return self.create({"company_id": company.id, "state": "skipped",
                                "message": self.env._("Another scoring of this company was running.")})
        now = fields.Datetime.now()
        # as of this instant, in days: an order of today counts, and recency
        # runs from now (the library takes any cutoff, not only midnights)
        today = (now - datetime(1970, 1, 1)).total_seconds() / 86400
        try:
            with self.env.cr.savepoint():
                return self._score_in_savepoint(company, now, today, started)
        except Exception as e:  # noqa: BLE001 - a failed run is recorded for the admin, scores stay as they were
            _logger.exception("Churn scoring failed for company %s", company.id)
            return self.create({"company_id": company.id, "state": "failed", "message": str(e) or repr(e),
                                "duration": time.perf_counter() - started})

    def _score_in_savepoint(self, company, now, today, started):
        history = self._purchase_history(company, now)
        if not len(history.customer):
            return self.create({"company_id": company.id, "state": "done", "customer_count": 0,
                                "message": self.env._("No confirmed order yet: nothing to score."),
                                "duration": time.perf_counter() - started})
        horizon, source = company.smb_churn_horizon_days, "admin"
        if not horizon:
            horizon, source = churn_lib.derive_horizon(history, today), "cadence"
        signals_at = self._signals(company, now)
        fitted = churn_lib.train(history, today, horizon, signals_at=signals_at)
        ids, scores, __, value, next_in, reasons = churn_lib.predict(
            fitted, history, today, signals=signals_at(today), clv_days=365, explain=True)
        first_run = not self.search_count(
            [("company_id", "=", company.id), ("state", "=", "done"), ("customer_count", ">", 0)], limit=1)
        written, changes = self._write_scores(company, ids, scores, value, next_in, now.date(), reasons)
        metrics = fitted.metrics
        run = self.create({
            "company_id": company.id,
            "state": "done",
            "customer_count": len(ids),
            "horizon_days": horizon,
            "horizon_source": source,
            "model_kind": fitted.kind,
            "model_reason": fitted.reason,
            "holdout_auc": metrics.get("auc", 0.0),
            "holdout_brier": metrics.get("brier", 0.0),
            "holdout_ece": metrics.get("ece", 0.0),
            "holdout_rows": metrics.get("holdout_rows", 0),
            "season_note": self._season_note(fitted, history, today),
            "train_rows": metrics.get("train_rows", 0),
            "top_features": "\n".join(f"{name}: {drop:+.4f} AUC" for name, drop in fitted.importances),
            "high_count": written.get("high", 0),
            "medium_count": written.get("medium", 0),
            "duration": time.perf_counter() - started,
            "model_params": fitted.to_dict(),
        })
        # kept for the run a horizon later to check; checks the run a horizon ago (smb_churn_run_monitor.py)
        # the value over the horizon: the 12-month value's share of it, with the shop's season
        run._record_predictions(ids, scores, value * fitted.period_share(today, horizon, 365), value_days=horizon)
        run._record_band_changes(changes, quiet=first_run)
        return run

    def _purchase_history(self, company, now):
        """One row per commercial partner and purchase day, in the company
        currency, with the number of orders of that day: a single set-based
        query. The model counts purchase days; people are shown orders."""
        self.env["sale.order"].flush_model()
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        rows = self.env.execute_query(self._history_sql(company, now))
        if not rows:
            return churn_lib.History.from_rows([])
        array = np.asarray(rows, dtype=float)
        return churn_lib.History(array[:, 0].astype(np.int64), array[:, 1], array[:, 2], array[:, 3])

    @api.model
    def _history_sql(self, company, now):
        return SQL(
            """
            SELECT p.commercial_partner_id, (o.date_order::date - DATE '1970-01-01') AS day,
                   SUM(o.amount_untaxed / COALESCE(NULLIF(o.currency_rate, 0), 1)), COUNT(*)
              FROM sale_order o
              JOIN res_partner p ON p.id = o.partner_id
             WHERE o.state = 'sale' AND o.company_id = %s AND o.date_order <= %s
             GROUP BY 1, 2
             ORDER BY 1, 2
            """,
            company.id, now,
        )

    def _signals(self, company, now):
        """The addon's own signals as of any cutoff: journey email opens and
        clicks by the customer (not a mail scanner's), and abandoned carts, in
        the 90 days before it."""
        self.env["mailing.trace"].flush_model()
        events = {}
        # a person's opens only (mailing.trace._smb_human_open_domain); a
        # machine's click is never recorded on the trace (set_clicked)
        for name, column, person in (
            ("opens_90d", "open_datetime", SQL("NOT COALESCE(t.smb_machine_open, FALSE)")),
            ("clicks_90d", "links_click_datetime", SQL("TRUE")),
        ):
            rows = self.env.execute_query(SQL(
                """
                SELECT p.commercial_partner_id, (t.%s::date - DATE '1970-01-01')
                  FROM mailing_trace t
                  JOIN mailing_mailing m ON m.id = t.mass_mailing_id
                  JOIN smb_journey_step s ON s.mailing_id = m.id
                  JOIN res_partner p ON p.id = t.res_id
                 WHERE t.model = 'res.partner' AND t.%s IS NOT NULL AND %s AND s.company_id = %s AND t.%s < %s
                """,
                SQL.identifier(column), SQL.identifier(column), person, company.id, SQL.identifier(column), now,
            ))
            events[name] = np.asarray(rows, dtype=float).reshape(-1, 2)
        rows = self.env.execute_query(SQL(
            """
            SELECT p.commercial_partner_id, (o.date_order::date - DATE '1970-01-01')
              FROM sale_order o JOIN res_partner p ON p.id = o.partner_id
             WHERE o.state = 'draft' AND o.website_id IS NOT NULL AND o.company_id = %s AND o.date_order < %s
            """,
            company.id, now,
        ))
        events["carts_90d"] = np.asarray(rows, dtype=float).reshape(-1, 2)

        def signals_at(cutoff):
            return {name: churn_lib.count_events(e[:, 0].astype(np.int64), e[:, 1], cutoff)
                    for name, e in events.items() if len(e)}
        return signals_at

    def _write_scores(self, company, ids, scores, value, next_in, today, reasons):
        """Bands (with hysteresis against the stored ones) and one UPDATE of the
        customers and contacts whose shown values changed. Raw SQL: derived
        values, no ``write_date`` bump, no other module's write hooks.

        A row is rewritten only when what a user sees of it changes: the score
        at the field's displayed digits, the band, the value at the company
        currency's digits, the expected next order or the reasons. Every
        rewritten row leaves a dead version of the partner's whole row behind
        (with its index entries), so a night when little moved writes little.
        The comparison is made per row, contacts included: a contact out of
        step with its commercial partner is written even when the latter is
        not."""
        key = str(company.id)
        previous = dict(self.env.execute_query(SQL(
            "SELECT id, smb_churn_band->>%s FROM res_partner WHERE id = ANY(%s)", key, ids.tolist())))
        new_bands = churn_lib.bands(
            scores, [previous.get(int(i)) for i in ids], company.smb_churn_medium_threshold,
            company.smb_churn_high_threshold, company.smb_churn_hysteresis)
        next_dates = [
            fields.Date.to_string(today + timedelta(days=int(d))) if np.isfinite(d) else None for d in next_in
        ]
        score_digits = self.env["res.partner"]._fields["smb_churn_score"].get_digits(self.env)[1]
        currency_digits = company.currency_id.decimal_places
        self.env.cr.execute(SQL(
            """
            UPDATE res_partner p
               SET smb_churn_score = COALESCE(p.smb_churn_score, '{}'::jsonb) || jsonb_build_object(%(key)s, v.score),
                   smb_churn_band = COALESCE(p.smb_churn_band, '{}'::jsonb) || jsonb_build_object(%(key)s, v.band),
                   smb_clv = COALESCE(p.smb_clv, '{}'::jsonb) || jsonb_build_object(%(key)s, v.clv),
                   smb_next_order_date = COALESCE(p.smb_next_order_date, '{}'::jsonb)
                                         || jsonb_build_object(%(key)s, v.next_date),
                   smb_churn_reasons = COALESCE(p.smb_churn_reasons, '{}'::jsonb)
                                       || jsonb_build_object(%(key)s, v.reasons)
              FROM unnest(%(ids)s::int[], %(scores)s::float8[], %(bands)s::varchar[], %(clv)s::float8[],
                          %(next)s::varchar[], %(reasons)s::varchar[])
                   AS v(partner_id, score, band, clv, next_date, reasons)
             WHERE p.commercial_partner_id = v.partner_id
               AND (ROUND((p.smb_churn_score->>%(key)s)::numeric, %(score_digits)s)
                       IS DISTINCT FROM ROUND(v.score::numeric, %(score_digits)s)
                    OR p.smb_churn_band->>%(key)s IS DISTINCT FROM v.band
                    OR ROUND((p.smb_clv->>%(key)s)::numeric, %(currency_digits)s)
                       IS DISTINCT FROM ROUND(v.clv::numeric, %(currency_digits)s)
                    OR p.smb_next_order_date->>%(key)s IS DISTINCT FROM v.next_date
                    OR p.smb_churn_reasons->>%(key)s IS DISTINCT FROM v.reasons)
            """,
            key=key, ids=ids.tolist(), scores=np.round(scores, 4).tolist(), bands=new_bands,
            clv=np.round(value, currency_digits).tolist(), next=next_dates,
            reasons=[json.dumps(r) for r in reasons], score_digits=score_digits, currency_digits=currency_digits,
        ))
        _logger.info("Churn scoring of company %s: %s customers scored, %s partner rows written",
                     company.id, len(ids), self.env.cr.rowcount)
        self.env["res.partner"].invalidate_model(list(CHURN_COLUMNS))
        counts = {}
        for band in new_bands:
            counts[band] = counts.get(band, 0) + 1
        changes = [
            (int(pid), previous.get(int(pid)), band, float(score), float(clv))
            for pid, band, score, clv in zip(ids, new_bands, scores, value, strict=True)
            if previous.get(int(pid)) != band
        ]
        return counts, changes

    def _record_band_changes(self, changes, quiet=False):
        """One history row per customer whose band changed (one INSERT), and
        the journeys listening to a rising risk. The first run of a company
        places its customers quietly: a go-live is not a wave of win-backs."""
        self.ensure_one()
        if not changes:
            return self.env["smb.churn.history"]
        History = self.env["smb.churn.history"]
        History.flush_model()
        now, uid = fields.Datetime.now(), self.env.uid
        ids = [row[0] for row in self.env.execute_query(SQL(
            """
            INSERT INTO smb_churn_history (partner_id, company_id, run_id, date, from_band, to_band, score, clv,
                                           create_uid, create_date, write_uid, write_date)
            SELECT v.partner_id, %(company)s, %(run)s, %(now)s, v.from_band, v.to_band, v.score, v.clv,
                   %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM unnest(%(partners)s::int[], %(froms)s::varchar[], %(tos)s::varchar[], %(scores)s::float8[],
                          %(clvs)s::numeric[]) AS v(partner_id, from_band, to_band, score, clv)
            RETURNING id
            """,
            company=self.company_id.id, run=self.id, now=now, uid=uid,
            partners=[c[0] for c in changes], froms=[c[1] for c in changes], tos=[c[2] for c in changes],
            scores=[round(c[3], 4) for c in changes], clvs=[round(c[4], 2) for c in changes],
        ))]
        rows = History.browse(ids)
        if not quiet:
            rising = rows.filtered(lambda r: churn_lib.BANDS.index(r.to_band) > churn_lib.BANDS.index(r.from_band or "low"))
            self.env["smb.journey"]._fire_trigger("churn_risk", rising)
        return rows
