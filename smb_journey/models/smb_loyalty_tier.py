import psycopg2.errors
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, format_date, formatLang

from odoo.addons.smb_journey.lib import tiers as tiers_lib

# the partner columns a recompute owns (company-dependent: one value per company)
TIER_COLUMNS = (
    "smb_tier_id", "smb_tier_since", "smb_trailing_spend", "smb_tier_order_count", "smb_tier_grace_since",
)
# incremental recomputes lock row by row when a bulk lock hits a stale snapshot; above this, retry later
ROW_BY_ROW_LOCK_LIMIT = 100


class SmbLoyaltyTier(models.Model):
    _name = "smb.loyalty.tier"
    _description = "Loyalty Tier"
    _order = "company_id, min_spend, min_orders, sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10)
    color = fields.Integer()
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    min_spend = fields.Monetary(
        "Minimum Spend", currency_field="currency_id",
        help="Confirmed orders (untaxed, less refunds) in the company currency over the period. "
        "Tiers are ranked by this threshold: the higher it is, the higher the tier.",
    )
    period_months = fields.Integer(
        "Over the Last (months)", required=True, default=lambda self: self.env.company.smb_tier_period_months or 12)
    min_orders = fields.Integer("Minimum Orders", help="Confirmed orders needed over the same period, besides the spend.")
    grace_days = fields.Integer(
        "Grace Period (days)", default=lambda self: self.env.company.smb_tier_grace_days,
        help="A customer who stops qualifying keeps this tier for this many days before moving down. "
        "Cancelled or refunded orders move them down at once.",
    )
    benefits = fields.Html(translate=True, help="Shown to customers, e.g. in the tier welcome email.")
    reward_program_id = fields.Many2one(
        "loyalty.program", "Reward", check_company=True,
        domain="[('program_type', 'in', ('coupons', 'gift_card'))]",
        help="A personal coupon or gift card of this program is issued to every customer who reaches "
        "the tier, once per upgrade; the tier emails show its code.",
    )
    reward_program_type = fields.Selection(related="reward_program_id.program_type")
    reward_amount = fields.Monetary("Gift Card Value", currency_field="currency_id")
    partner_count = fields.Integer("Customers", compute="_compute_partner_stats")
    trailing_spend = fields.Monetary("Trailing Spend", compute="_compute_partner_stats", currency_field="currency_id")

    def _compute_partner_stats(self):
        stats = {}
        for company, tiers in self.grouped("company_id").items():
            Partner = self.env["res.partner"].with_company(company)
            for tier, count, spend in Partner._read_group(
                [("smb_tier_id", "in", tiers.ids), ("smb_is_commercial", "=", True)],
                ["smb_tier_id"], ["__count", "smb_trailing_spend:sum"],
            ):
                stats[tier.id] = (count, spend)
        for tier in self:
            tier.partner_count, tier.trailing_spend = stats.get(tier.id, (0, 0.0))

    @api.constrains("min_spend", "min_orders", "period_months", "grace_days", "reward_amount")
    def _check_rule(self):
        for tier in self:
            if tier.min_spend < 0 or tier.min_orders < 0 or tier.grace_days < 0 or tier.reward_amount < 0:
                raise ValidationError(self.env._("Tier %s: thresholds, grace period and reward cannot be negative.", tier.name))
            if tier.period_months < 1:
                raise ValidationError(self.env._("Tier %s: the period is at least one month.", tier.name))

    @api.model_create_multi
    def create(self, vals_list):
        tiers = super().create(vals_list)
        tiers.company_id._smb_tier_rules_changed()
        return tiers

    def write(self, vals):
        companies = self.company_id
        res = super().write(vals)
        if set(vals) & {"active", "min_spend", "min_orders", "period_months", "grace_days", "company_id"}:
            (companies | self.company_id)._smb_tier_rules_changed()
        return res

    def unlink(self):
        companies = self.company_id
        res = super().unlink()
        companies._smb_tier_rules_changed()
        return res

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_view_customers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("smb_journey.res_partner_action_smb_tier")
        action["domain"] = [("smb_tier_id", "=", self.id)]
        action["context"] = {"allowed_company_ids": [self.company_id.id]}
        return action

    def action_recompute(self):
        """Recompute every customer's tier now (what the nightly cron does)."""
        companies = self.company_id or self.env.company
        changes = self.recompute_tiers(companies=companies)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("Tiers recomputed: %(count)s customers changed tier.", count=changes),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    # ------------------------------------------------------------
    # PUBLIC API (server actions, other modules)
    # ------------------------------------------------------------

    @api.model
    def recompute_tiers(self, partners=None, companies=None):
        """Recompute loyalty tiers now; returns the number of tier changes.

        :param partners: only these customers (their commercial partners); all when None
        :param companies: only these companies; every company with tiers when None
        """
        self.check_access("read")
        # sudo: tiers are derived data, written for every salesperson to see
        Tier = self.sudo()
        if partners is not None:
            return Tier._recompute_partners(partners, companies)
        return sum(Tier._recompute_company(company, source="manual", skip_locked=True) or 0
                   for company in companies or Tier._companies_with_tiers())

    def _recompute_partners(self, partners, companies=None):
        commercial = partners.commercial_partner_id.ids
        return sum(self._recompute_company(company, commercial, source="manual") or 0
                   for company in companies or self._companies_with_tiers())

    # ------------------------------------------------------------
    # CRON
    # ------------------------------------------------------------

    @api.model
    def _cron_recompute(self):
        """Nightly: spend leaves the trailing window, grace periods end.

        One set-based pass per company, committed per company; a pass that
        meets rows changed since its snapshot hands back to the runner, which
        calls again with a fresh one (passes are idempotent)."""
        for company in self._companies_with_tiers():
            changes = self._recompute_company(company, source="nightly", skip_locked=True)
            if changes is None:
                self.env["ir.cron"]._commit_progress(0, remaining=1)
                return
            self.env["ir.cron"]._commit_progress(1)
        self.env["ir.cron"]._commit_progress(0, remaining=0)

    # ------------------------------------------------------------
    # ENGINE
    # ------------------------------------------------------------

    @api.model
    def _companies_with_tiers(self):
        # archived tiers too: their holders must be moved off them
        return self.with_context(active_test=False).search([]).company_id

    @api.model
    def _on_orders_changed(self, orders, source):
        """Incremental recompute for the customers of ``orders`` (confirmed,
        cancelled or refunded): a handful of queries whatever their number."""
        for company, company_orders in orders.grouped("company_id").items():
            if not self.with_context(active_test=False).search_count([("company_id", "=", company.id)], limit=1):
                continue
            self._recompute_company(
                company, company_orders.partner_id.commercial_partner_id.ids, source=source,
                immediate=source == "cancel",
            )

    def _ranked(self):
        """Lib tiers, lowest first, and the distinct windows (months) they read."""
        windows = sorted(set(self.mapped("period_months"))) or [12]
        ranked = tiers_lib.rank([
            tiers_lib.Tier(t.id, t.currency_id.round(t.min_spend), t.min_orders,
                           windows.index(t.period_months), t.grace_days)
            for t in self
        ])
        return ranked, windows

    @api.model
    def _spend_query(self, company, windows, commercial_ids=None):
        """Per commercial partner: spend and order count over each window.

        Confirmed orders, untaxed, converted to the company currency at the
        order's rate, less the posted credit notes of their lines; a fully
        refunded order does not count as an order.
        """
        now = fields.Datetime.now()
        starts = [now - relativedelta(months=months) for months in windows]
        restrict = SQL("AND p.commercial_partner_id = ANY(%s)", commercial_ids) if commercial_ids is not None else SQL()
        digits = company.currency_id.decimal_places
        n = len(starts)
        columns = [
            SQL("ROUND((COALESCE(SUM(net) FILTER (WHERE date_order >= %s), 0))::numeric, %s)::float8 AS %s",
                start, digits, SQL.identifier(f"c{i}"))
            for i, start in enumerate(starts)
        ] + [
            SQL("COUNT(*) FILTER (WHERE date_order >= %s AND net > 0) AS %s", start, SQL.identifier(f"c{n + i}"))
            for i, start in enumerate(starts)
        ]
        return SQL(
            """
            WITH orders AS (
                SELECT p.commercial_partner_id AS partner_id, o.id, o.date_order,
                       o.amount_untaxed / COALESCE(NULLIF(o.currency_rate, 0), 1) AS amount
                  FROM sale_order o
                  JOIN res_partner p ON p.id = o.partner_id
                 WHERE o.state = 'sale' AND o.company_id = %(company)s AND o.date_order >= %(oldest)s
                       %(restrict)s
            ), refunds AS (
                -- from the orders read above, never from all the company's
                -- credit notes: a checkout's cost must not grow with them
                SELECT sol.order_id, SUM(aml.balance) AS amount
                  FROM orders o
                  JOIN sale_order_line sol ON sol.order_id = o.id
                  JOIN sale_order_line_invoice_rel rel ON rel.order_line_id = sol.id
                  JOIN account_move_line aml ON aml.id = rel.invoice_line_id
                  JOIN account_move m ON m.id = aml.move_id
                 WHERE m.move_type = 'out_refund' AND m.state = 'posted'
                 GROUP BY sol.order_id
            ), nets AS (
                SELECT o.partner_id, o.date_order, o.amount - COALESCE(r.amount, 0) AS net
                  FROM orders o LEFT JOIN refunds r ON r.order_id = o.id
            )
            SELECT partner_id, %(columns)s FROM nets GROUP BY partner_id
            """,
            company=company.id, oldest=min(starts), restrict=restrict, columns=SQL(", ").join(columns),
        )

    def _recompute_company(self, company, commercial_ids=None, source="nightly", immediate=False, skip_locked=False):
        """Recompute the tiers of ``company``'s customers (all, or ``commercial_ids``).

        One aggregate query reads every customer's spend, the decisions are
        taken in Python from the lib rules, and only the customers whose
        values changed are written, in one UPDATE (their contacts with them).
        Returns the number of tier changes, or None when rows changed under
        us since our snapshot (the caller retries with a fresh one).
        """
        tiers = self.with_context(active_test=False).search([("company_id", "=", company.id)])
        ranked, windows = tiers.filtered("active")._ranked()
        key = str(company.id)
        today = fields.Datetime.now().date()
        initial = not company.smb_tiers_computed_at
        if commercial_ids is not None and not commercial_ids:
            return 0
        self.env["res.partner"].flush_model()
        self.env["sale.order"].flush_model()
        self.env["account.move"].flush_model()
        n = len(windows)
        # Unchanged spend and rules mean an unchanged decision: a full pass
        # only brings back the customers whose numbers moved, who are in a
        # grace period, or whose tier is gone (exact with a single window).
        rules_date = company.smb_tier_rules_date
        evaluate_all = (
            commercial_ids is not None or n > 1 or initial
            or (rules_date and rules_date >= company.smb_tiers_computed_at)
        )
        rows = self.env.execute_query(self._recompute_sql(
            company, windows, commercial_ids, only_moved=None if evaluate_all else [t.id for t in ranked],
        ))
        updates, changes = [], []
        qualify, decide, shown_window = tiers_lib.qualify, tiers_lib.decide, tiers_lib.shown_window
        zeros, no_orders = (0.0,) * n, (0,) * n
        for row in rows:
            partner_id = row[0]
            spends = row[1:1 + n] if row[1] is not None else zeros
            counts = row[1 + n:1 + 2 * n] if row[1] is not None else no_orders
            held, held_spend, held_count, grace_since = row[1 + 2 * n:]
            decision = decide(ranked, held, qualify(ranked, spends, counts), grace_since, today, immediate)
            window = shown_window(ranked, decision.tier_id)
            spend, count = spends[window], counts[window]
            if held_spend is None and not (spend or count or decision.tier_id or decision.grace_since):
                continue  # nothing spent, no tier: nothing stored stays nothing stored
            if (decision.change or decision.grace_since != grace_since or count != held_count
                    or held_spend is None or abs(spend - held_spend) >= 0.005):
                updates.append((partner_id, decision, spend, count))
            if decision.change:
                changes.append((partner_id, held, decision.tier_id, decision.change, spend, count))
        if not updates:
            self._stamp(company, commercial_ids)
            return 0
        locked = self._lock_partners([u[0] for u in updates], skip_locked)
        if locked is None:
            return None
        if len(locked) < len(updates):
            updates = [u for u in updates if u[0] in locked]
            changes = [c for c in changes if c[0] in locked]
        self._write_partner_tiers(key, updates, today, company.currency_id.decimal_places)
        if changes:
            self._record_changes(company, changes, source="initial" if initial else source)
        self._stamp(company, commercial_ids)
        return len(changes)

    def _recompute_sql(self, company, windows, commercial_ids, only_moved=None):
        """Spends per window beside the values held; ``only_moved`` (the active
        tier ids) keeps only the rows a single-window pass must decide again."""
        n = len(windows)
        restrict = SQL("AND id = ANY(%s)", commercial_ids) if commercial_ids is not None else SQL()
        moved = SQL("""
            WHERE h.partner_id IS NULL OR h.grace_since IS NOT NULL OR h.spend IS NULL
               OR (h.tier_id IS NOT NULL AND NOT h.tier_id = ANY(%(active)s))
               OR abs(COALESCE(s.c0, 0) - h.spend) >= 0.005
               OR COALESCE(s.c1, 0) IS DISTINCT FROM h.order_count
        """, active=only_moved) if only_moved is not None else SQL()
        return SQL(
            """
            WITH spend AS (%(spend)s), held AS (
                SELECT id AS partner_id,
                       (smb_tier_id->>%(key)s)::int AS tier_id,
                       (smb_trailing_spend->>%(key)s)::float8 AS spend,
                       (smb_tier_order_count->>%(key)s)::int AS order_count,
                       (smb_tier_grace_since->>%(key)s)::date AS grace_since
                  FROM res_partner
                 WHERE id = commercial_partner_id AND (smb_tier_id ? %(key)s OR smb_trailing_spend ? %(key)s)
                       %(restrict)s
            )
            SELECT COALESCE(s.partner_id, h.partner_id), %(spend_columns)s,
                   h.tier_id, h.spend, h.order_count, h.grace_since
              FROM spend s FULL JOIN held h ON h.partner_id = s.partner_id
            %(moved)s
            """,
            spend=self._spend_query(company, windows, commercial_ids), key=str(company.id), restrict=restrict,
            moved=moved,
            spend_columns=SQL(", ").join(SQL("s.%s", SQL.identifier(f"c{i}")) for i in range(2 * n)),
        )

    @api.model
    def _lock_partners(self, ids, skip_locked):
        """Lock the commercial partners about to be written; returns the ids locked.

        Two recomputes at once must not both issue the same upgrade's reward:
        the nightly pass skips rows another transaction holds (that one writes
        them); an incremental pass waits for them. A row committed by another
        transaction since our snapshot cannot be locked under REPEATABLE READ:
        a small incremental pass lets the serialization failure reach the
        request (Odoo retries it), a bulk pass returns None to be called again.
        """
        cr = self.env.cr
        mode = SQL("FOR NO KEY UPDATE SKIP LOCKED") if skip_locked else SQL("FOR NO KEY UPDATE")

        def lock(chunk):
            cr.execute(SQL("SELECT id FROM res_partner WHERE id = ANY(%s) ORDER BY id %s", list(chunk), mode),
                       log_exceptions=False)
            return {row[0] for row in cr.fetchall()}

        try:
            with cr.savepoint(flush=False):
                return lock(ids)
        except psycopg2.errors.SerializationFailure:
            if not skip_locked:
                raise
            if len(ids) > ROW_BY_ROW_LOCK_LIMIT:
                return None
        locked = set()
        for partner_id in ids:
            try:
                with cr.savepoint(flush=False):
                    locked |= lock([partner_id])
            except psycopg2.errors.SerializationFailure:
                continue  # changed by another recompute since our snapshot: it owns the row
        return locked

    @api.model
    def _write_partner_tiers(self, key, updates, today, digits=2):
        """One UPDATE for every customer written, their contacts included.

        Raw SQL on purpose: these are derived values, so the write must not
        bump ``write_date``, run other modules' write hooks or track messages.
        Only the rows holding other values are rewritten (a contact already
        in step with its company is left alone): each rewrite leaves a dead
        version of the partner's whole row and new entries in its indexes.
        """
        self.env.cr.execute(SQL(
            """
            UPDATE res_partner p
               SET smb_tier_id = COALESCE(p.smb_tier_id, '{}'::jsonb) || jsonb_build_object(%(key)s, v.tier_id),
                   smb_tier_since = CASE WHEN v.changed
                       THEN COALESCE(p.smb_tier_since, '{}'::jsonb)
                            || jsonb_build_object(%(key)s, CASE WHEN v.tier_id IS NULL THEN NULL ELSE %(today)s END)
                       ELSE p.smb_tier_since END,
                   smb_trailing_spend = COALESCE(p.smb_trailing_spend, '{}'::jsonb) || jsonb_build_object(%(key)s, v.spend),
                   smb_tier_order_count = COALESCE(p.smb_tier_order_count, '{}'::jsonb)
                                          || jsonb_build_object(%(key)s, v.order_count),
                   smb_tier_grace_since = COALESCE(p.smb_tier_grace_since, '{}'::jsonb)
                                          || jsonb_build_object(%(key)s, v.grace_since::text)
              FROM unnest(%(ids)s::int[], %(tier_ids)s::int[], %(changed)s::bool[], %(spends)s::float8[],
                          %(counts)s::int[], %(graces)s::date[])
                   AS v(partner_id, tier_id, changed, spend, order_count, grace_since)
             WHERE p.commercial_partner_id = v.partner_id
               AND ((p.smb_tier_id->>%(key)s)::int IS DISTINCT FROM v.tier_id
                    OR (v.changed AND (p.smb_tier_since->>%(key)s)::date
                                      IS DISTINCT FROM CASE WHEN v.tier_id IS NOT NULL THEN %(today)s::date END)
                    OR ROUND((p.smb_trailing_spend->>%(key)s)::numeric, %(digits)s)
                       IS DISTINCT FROM ROUND(v.spend::numeric, %(digits)s)
                    OR (p.smb_tier_order_count->>%(key)s)::int IS DISTINCT FROM v.order_count
                    OR (p.smb_tier_grace_since->>%(key)s)::date IS DISTINCT FROM v.grace_since)
            """,
            key=key, today=fields.Date.to_string(today), digits=digits,
            ids=[u[0] for u in updates],
            tier_ids=[u[1].tier_id for u in updates],
            changed=[bool(u[1].change) for u in updates],
            spends=[u[2] for u in updates],
            counts=[u[3] for u in updates],
            graces=[u[1].grace_since for u in updates],
        ))
        self.env["res.partner"].invalidate_model(list(TIER_COLUMNS))

    def _record_changes(self, company, changes, source):
        """History rows for the tier changes, the upgrades' rewards, and the
        journeys listening to tier changes. The first computation of a company
        places its customers quietly: no reward, no email."""
        announce = source != "initial"
        cards = {}
        if announce:
            upgrades = [(c[0], self.browse(c[2])) for c in changes if c[3] == "upgrade"]
            rewarded = [(partner_id, tier) for partner_id, tier in upgrades if tier.reward_program_id]
            new_cards = self.env["loyalty.card"].create([{
                "program_id": tier.reward_program_id.id,
                "partner_id": partner_id,
                "points": tier.reward_amount if tier.reward_program_type == "gift_card" else 1,
            } for partner_id, tier in rewarded])
            cards = {partner_id: card.id for (partner_id, __), card in zip(rewarded, new_cards, strict=True)}
        # one INSERT: a first computation writes a row for every customer
        # (70,000 ORM creates took 14 s more than this in bench/bench_tiers.py)
        History = self.env["smb.loyalty.tier.history"]
        History.flush_model()
        now, uid = fields.Datetime.now(), self.env.uid
        ids = [row[0] for row in self.env.execute_query(SQL(
            """
            INSERT INTO smb_loyalty_tier_history
                   (partner_id, company_id, date, from_tier_id, to_tier_id, change, source,
                    trailing_spend, order_count, reward_card_id, create_uid, create_date, write_uid, write_date)
            SELECT v.partner_id, %(company)s, %(now)s, v.from_tier_id, v.to_tier_id, v.change, %(source)s,
                   v.spend, v.order_count, v.card_id, %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM unnest(%(partners)s::int[], %(froms)s::int[], %(tos)s::int[], %(changes)s::varchar[],
                          %(spends)s::numeric[], %(counts)s::int[], %(cards)s::int[])
                   AS v(partner_id, from_tier_id, to_tier_id, change, spend, order_count, card_id)
            RETURNING id
            """,
            company=company.id, now=now, source=source, uid=uid,
            partners=[c[0] for c in changes], froms=[c[1] for c in changes], tos=[c[2] for c in changes],
            changes=[c[3] for c in changes], spends=[c[4] for c in changes], counts=[c[5] for c in changes],
            cards=[cards.get(c[0]) for c in changes],
        ))]
        history = History.browse(ids)
        if announce:
            Journey = self.env["smb.journey"]
            Journey._fire_trigger("tier_upgraded", history.filtered(lambda h: h.change == "upgrade"))
            Journey._fire_trigger("tier_downgraded", history.filtered(lambda h: h.change == "downgrade"))
        return history

    @api.model
    def _stamp(self, company, commercial_ids):
        """Date the full pass; a concurrent pass that stamped first is as good."""
        if commercial_ids is not None:
            return
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(SQL(
                    "UPDATE res_company SET smb_tiers_computed_at = %s WHERE id = %s",
                    fields.Datetime.now(), company.id,
                ), log_exceptions=False)
        except psycopg2.errors.SerializationFailure:
            pass
        company.invalidate_recordset(["smb_tiers_computed_at"])

    # ------------------------------------------------------------
    # EMAIL CONTEXT
    # ------------------------------------------------------------

    @api.model
    def _render_contexts(self, enrollments, company):
        """Plain tier values per enrollment for the email sandbox: the tier
        held in the journey's company, what is missing for the next one, and
        the reward code of the upgrade that started the journey (else of the
        latest upgrade to the tier held)."""
        History = self.env["smb.loyalty.tier.history"]
        partners = enrollments.commercial_partner_id
        triggering = {
            e.id: History.browse(e.res_id) for e in enrollments if e.res_model == History._name and e.res_id
        }
        latest = {}
        for row in History.search([
            ("partner_id", "in", partners.ids), ("company_id", "=", company.id),
            ("change", "=", "upgrade"), ("reward_card_id", "!=", False),
        ], order="date desc, id desc"):
            latest.setdefault((row.partner_id.id, row.to_tier_id.id), row)
        result = {}
        langs = enrollments._render_langs()
        for enrollment in enrollments:
            # the journey's company and the customer's language (with_env would drop a with_company)
            env = self.with_company(company).with_context(lang=langs[enrollment.id]).env
            partner = enrollment.commercial_partner_id.with_env(env)
            tier = partner.smb_tier_id
            row = triggering.get(enrollment.id)
            if not (row and row.exists() and row.partner_id == enrollment.commercial_partner_id):
                row = latest.get((partner.id, tier.id))
            card = row.reward_card_id if row else self.env["loyalty.card"]
            following = partner.smb_tier_next_id
            currency = company.currency_id
            result[enrollment.id] = {
                "name": tier.name or "",
                "benefits": tier.benefits or "",
                "since": format_date(env, partner.smb_tier_since) if partner.smb_tier_since else "",
                "spend": formatLang(env, partner.smb_trailing_spend, currency_obj=currency),
                "order_count": partner.smb_tier_order_count,
                "grace_until": format_date(env, partner.smb_tier_grace_end) if partner.smb_tier_grace_end else "",
                "next_name": following.name or "",
                "to_next": formatLang(env, partner.smb_tier_missing_amount, currency_obj=currency) if following else "",
                "orders_to_next": partner.smb_tier_missing_orders,
                "reward_code": card.code or "",
                "reward_description": (card.program_id.reward_ids[:1].description or card.program_id.name or "") if card else "",
                "reward_expires": format_date(env, card.expiration_date) if card.expiration_date else "",
            }
        return result
