import logging
from collections import defaultdict

import psycopg2.errors

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL

from .smb_journey_log import LOG_REASONS

_logger = logging.getLogger(__name__)

EXIT_REASONS = [
    ("goal", "Goal reached"),
    ("purchased", "Purchased"),
    ("exit_step", "Exit step reached"),
    ("end", "Last step done"),
    ("cancelled", "Order cancelled"),
    ("emptied", "Cart emptied"),
    ("record_deleted", "Triggering record deleted"),
    ("left_audience", "Left the audience"),
    ("archived", "Contact archived"),
    ("unsubscribed", "Unsubscribed"),
    ("blacklisted", "Blacklisted"),
    ("bounced", "Email bounced"),
    ("journey_stopped", "Journey stopped"),
    ("manual", "Removed by hand"),
    ("error", "Error"),
]
# a batch walks its enrollments through instant steps (email -> wait); bound it
MAX_HOPS = 50


class SmbJourneyEnrollment(models.Model):
    _name = "smb.journey.enrollment"
    _description = "Journey Enrollment"
    _order = "date_start desc, id desc"
    _check_company_auto = True
    _rec_name = "partner_id"

    _unique_entry = models.UniqueIndex(
        "(journey_id, partner_id, entry_key)",
        "A customer enters a journey once per triggering record.",
    )
    _due_idx = models.Index("(due_at, id) WHERE state = 'running'")

    journey_id = fields.Many2one("smb.journey", required=True, index=True, ondelete="cascade", check_company=True)
    company_id = fields.Many2one("res.company", required=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    partner_id = fields.Many2one("res.partner", "Customer", required=True, index=True, ondelete="cascade")
    commercial_partner_id = fields.Many2one(related="partner_id.commercial_partner_id")
    entry_key = fields.Char(required=True, readonly=True, help="Triggering record or rank of entry; unique per customer.")
    res_model = fields.Char("Triggering Model", readonly=True)
    res_id = fields.Many2oneReference("Triggering Record ID", model_field="res_model", readonly=True)
    order_id = fields.Many2one("sale.order", "Order / Cart", index="btree_not_null", ondelete="set null", readonly=True)
    lead_id = fields.Many2one("crm.lead", "Lead", index="btree_not_null", ondelete="set null")
    state = fields.Selection(
        [("running", "Running"), ("completed", "Completed"), ("exited", "Exited"), ("error", "Error")],
        default="running", required=True, index=True,
    )
    exit_reason = fields.Selection(EXIT_REASONS, readonly=True)
    error_message = fields.Text(readonly=True)
    step_id = fields.Many2one("smb.journey.step", "Next Step", index=True, ondelete="restrict")
    due_at = fields.Datetime("Next Step Due", index=True)
    date_start = fields.Datetime("Entered On", required=True, default=fields.Datetime.now, readonly=True)
    date_end = fields.Datetime("Ended On", readonly=True)
    log_ids = fields.One2many("smb.journey.log", "enrollment_id", "Step Log")
    revenue = fields.Monetary(compute="_compute_revenue", currency_field="currency_id")

    def _compute_revenue(self):
        revenue = dict(self.env["smb.journey.log"]._read_group(
            [("enrollment_id", "in", self.ids)], ["enrollment_id"], ["revenue:sum"]))
        for enrollment in self:
            enrollment.revenue = revenue.get(enrollment, 0.0)

    def _compute_display_name(self):
        for enrollment in self:
            enrollment.display_name = f"{enrollment.journey_id.name} / {enrollment.partner_id.display_name}"

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_exit(self):
        self.filtered(lambda e: e.state in ("running", "error"))._exit("manual")

    def action_retry(self):
        """Run the failed step again at the next engine pass."""
        errors = self.filtered(lambda e: e.state == "error")
        errors.write({"state": "running", "error_message": False, "due_at": fields.Datetime.now()})
        self.env.ref("smb_journey.ir_cron_journey_engine")._trigger()

    def action_open_record(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": self.res_model, "res_id": self.res_id, "view_mode": "form"}

    # ------------------------------------------------------------
    # CRON
    # ------------------------------------------------------------

    @api.model
    def _due_domain(self):
        return Domain([
            ("state", "=", "running"),
            ("due_at", "<=", fields.Datetime.now()),
            ("journey_id.state", "=", "running"),
        ])

    @api.model
    def _cron_process(self):
        """Engine: run the due step of every due enrollment, batch by batch.

        Like ``sms.sms._process_queue``: a batch is locked (SKIP LOCKED, so a
        second worker takes other rows), run, and committed with the progress
        API; the runner calls again while enrollments remain. A crash rolls
        back the batch it was in (mails included) and the next run redoes it.
        """
        self.env["smb.journey"]._scan_abandoned_carts()
        processed, remaining = self._process_due_batch()
        self.env["ir.cron"]._commit_progress(processed, remaining=remaining)

    @api.model
    def run_engine(self):
        """Process everything due now, in this transaction (no commit): for
        server actions, demo data and scripts. Returns the number processed."""
        self.env["smb.journey"]._scan_abandoned_carts()
        total = 0
        while True:
            processed, remaining = self._process_due_batch()
            total += processed
            if not processed or not remaining:
                return total

    @api.model
    def _process_due_batch(self):
        """Lock and run one batch of due enrollments; returns (processed, remaining)."""
        domain = self._due_domain()
        batch_size = int(self.env["ir.config_parameter"].sudo().get_param("smb_journey.batch_size", 200))
        batch = self.search(domain, limit=batch_size, order="due_at, id")._try_lock()
        if batch is None:
            # a worker committed these rows after our snapshot was taken: the
            # runner calls again after the commit, with a fresh snapshot
            return 0, 1
        if batch:
            batch._process()
        remaining = self.search_count(domain) if len(batch) == batch_size else 0
        return len(batch), remaining

    def _try_lock(self):
        """``try_lock_for_update`` that tells a stale snapshot apart.

        Returns the rows locked (others are being run by another worker), or
        None when a row changed since our snapshot: REPEATABLE READ refuses
        to lock it (serialization failure), and it must not run from stale data.
        """
        if not self:
            return self
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                cr.execute(SQL(
                    "SELECT id FROM smb_journey_enrollment WHERE id IN %s FOR NO KEY UPDATE SKIP LOCKED",
                    tuple(self.ids),
                ), log_exceptions=False)
                locked = {row[0] for row in cr.fetchall()}
        except psycopg2.errors.SerializationFailure:
            return None
        return self.filtered(lambda e: e.id in locked)

    def _process(self):
        """Walk locked enrollments through every step due now."""
        todo = self
        for __ in range(MAX_HOPS):
            # what was searched may be stale: re-read under the lock
            todo.invalidate_recordset()
            todo = todo.filtered_domain(self._due_domain())
            todo = todo._apply_exit_conditions()
            if not todo:
                break
            for step, group in todo.grouped("step_id").items():
                if not step:
                    group._end("completed", "end")
                    continue
                group._apply_results(step, step._execute(group))
        else:
            _logger.warning("Journey enrollments %s still due after %s steps: stopped the walk", todo.ids, MAX_HOPS)

    def _apply_results(self, step, results):
        """Log what ``step`` did and move each enrollment to where it goes next."""
        now = fields.Datetime.now()
        self.env["smb.journey.log"].create([dict(
            result.log_vals,
            enrollment_id=result.enrollment.id,
            step_id=step.id,
            date=now,
            outcome=result.outcome,
            reason=result.reason,
            message=result.message,
        ) for result in results])
        moves = {}
        for result in results:
            if result.end_state:
                key = ("end", result.end_state, result.reason, result.message)
            else:
                next_step = step._next_step() if result.next_step is None else result.next_step
                key = ("move", next_step, result.due_at or now)
            moves.setdefault(key, []).append(result.enrollment.id)
        for key, ids in moves.items():
            enrollments = self.browse(ids)
            if key[0] == "end":
                __, state, reason, message = key
                if state == "error":
                    enrollments.write({"state": "error", "exit_reason": False, "error_message": message})
                else:
                    enrollments._end(state, reason if reason in dict(EXIT_REASONS) else "end")
            else:
                __, next_step, due_at = key
                if next_step:
                    enrollments.write({"step_id": next_step.id, "due_at": due_at})
                else:
                    enrollments._end("completed", "end")

    def _apply_exit_conditions(self):
        """End the enrollments that must not go on; return the others.

        Checked before every step rather than only on events, so a change the
        engine did not hear about (cart emptied, contact archived, goal reached
        by hand) still stops the journey before the next email.
        """
        ends = {}  # (state, reason) -> ids
        for enrollment in self:
            if not enrollment.partner_id.active:
                ends.setdefault(("exited", "archived"), []).append(enrollment.id)
                continue
            reason = enrollment.journey_id._get_record_exit_reason(enrollment)
            if reason:
                ends.setdefault(reason, []).append(enrollment.id)
        ended = {i for ids in ends.values() for i in ids}
        for journey, group in self.filtered(lambda e: e.id not in ended).grouped("journey_id").items():
            partners = group.partner_id
            in_audience = journey._audience(partners)
            reached = self._goal_reached(journey, group)
            for enrollment in group:
                if enrollment.id in reached:
                    ends.setdefault(("completed", "goal"), []).append(enrollment.id)
                elif enrollment.partner_id not in in_audience:
                    ends.setdefault(("exited", "left_audience"), []).append(enrollment.id)
        for (state, reason), ids in ends.items():
            self.browse(ids)._log_and_end(state, reason)
        ended = {i for ids in ends.values() for i in ids}
        return self.filtered(lambda e: e.id not in ended)

    @api.model
    def _goal_reached(self, journey, enrollments):
        """Ids of ``enrollments`` whose customer reached the journey's goal."""
        if journey.goal == "domain":
            matching = enrollments.partner_id.filtered_domain(journey._parsed("goal_domain"))
            return set(enrollments.filtered(lambda e: e.partner_id in matching).ids)
        if journey.goal == "order_confirmed":
            first_start = min(enrollments.mapped("date_start"))
            last_orders = dict(self.env["sale.order"]._read_group(
                [("state", "=", "sale"), ("partner_id", "child_of", enrollments.commercial_partner_id.ids),
                 ("date_order", ">=", first_start)],
                ["partner_id"], ["date_order:max"]))
            by_commercial = {}
            for partner, date in last_orders.items():
                key = partner.commercial_partner_id.id
                by_commercial[key] = max(date, by_commercial.get(key, date))
            return {
                e.id for e in enrollments
                if by_commercial.get(e.commercial_partner_id.id) and by_commercial[e.commercial_partner_id.id] > e.date_start
                and not (e.order_id and e.order_id.state == "sale" and e.journey_id.trigger == "order_confirmed")
            }
        return set()

    # ------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------

    def _end(self, state, reason):
        if self:
            self.write({
                "state": state, "exit_reason": reason, "date_end": fields.Datetime.now(),
                "due_at": False, "step_id": False,
            })

    def _exit(self, reason):
        """Exit the running (or failed) ones with ``reason``."""
        self.filtered(lambda e: e.state in ("running", "error"))._log_and_end("exited", reason)

    @api.model
    def _exit_for_emails(self, emails, reason):
        """End, at once, every running enrollment of customers with these emails
        (unsubscribed, blacklisted, bounced)."""
        emails = [e for e in emails if e]
        if not emails:
            return self
        enrollments = self.sudo().search([
            ("state", "in", ("running", "error")),
            ("partner_id.email_normalized", "in", emails),
        ])
        enrollments._exit(reason)
        return enrollments

    @api.model
    def _on_orders_confirmed(self, orders):
        """A confirmed order completes the carts it came from and the journeys
        whose goal is a purchase (for the same customer, entered before)."""
        carts = self.sudo().search([("order_id", "in", orders.ids), ("state", "=", "running"),
                                    ("journey_id.trigger", "=", "cart_abandoned")])
        carts._log_and_end("completed", "purchased")
        goal = self.sudo().search([
            ("state", "=", "running"), ("journey_id.goal", "=", "order_confirmed"),
            ("commercial_partner_id", "in", orders.partner_id.commercial_partner_id.ids),
            ("id", "not in", carts.ids),
        ])
        goal._log_and_end("completed", "goal")

    @api.model
    def _on_orders_cancelled(self, orders):
        self.sudo().search([("order_id", "in", orders.ids), ("state", "=", "running")])._exit("cancelled")

    def _log_and_end(self, state, reason):
        """End with ``reason``, logged on the step each one was waiting on so
        the admin sees where and why a customer left."""
        if not self:
            return
        log_reason = reason if reason in dict(LOG_REASONS) else False
        self.env["smb.journey.log"].create([{
            "enrollment_id": e.id, "step_id": e.step_id.id, "date": fields.Datetime.now(),
            "outcome": "exited", "reason": log_reason,
        } for e in self])
        self._end(state, reason)

    def _email_skip_reasons(self):
        """Why each enrollment's email cannot be sent (False: it can)."""
        blacklisted = set(self.env["mail.blacklist"].sudo().search([
            ("email", "in", [e for e in self.partner_id.mapped("email_normalized") if e]),
        ]).mapped("email"))
        reasons = {}
        for enrollment in self:
            partner = enrollment.partner_id
            if not partner.email:
                reasons[enrollment] = "email_missing"
            elif not partner.email_normalized:
                reasons[enrollment] = "email_invalid"
            elif partner.email_normalized in blacklisted:
                reasons[enrollment] = "blacklisted"
            elif partner.smb_journey_optout:
                reasons[enrollment] = "opted_out"
            else:
                reasons[enrollment] = False
        return reasons

    def _last_email_traces(self):
        """The mailing trace of each enrollment's latest sent email."""
        logs = self.env["smb.journey.log"].search(
            [("enrollment_id", "in", self.ids), ("outcome", "=", "sent"), ("mailing_trace_id", "!=", False)],
            order="date desc, id desc",
        )
        traces = {}
        for log in logs:
            traces.setdefault(log.enrollment_id.id, log.mailing_trace_id)
        return traces

    def _recommended_products(self, limit):
        """Per enrollment, published products related to its order, or to what
        the customer bought before when there is no order (accessories and
        alternatives first, then products of the same shop categories), that
        the customer has not bought yet. A few queries per batch, not per customer."""
        owned_by_customer = defaultdict(set)
        for partner, product_ids in self.env["sale.order.line"]._read_group(
            [("order_id.state", "=", "sale"),
             ("order_id.partner_id", "child_of", self.commercial_partner_id.ids)],
            ["order_partner_id"], ["product_id:array_agg"],
        ):
            owned_by_customer[partner.commercial_partner_id.id].update(product_ids)
        by_categories = {}
        result = {}
        for enrollment in self:
            order = enrollment.order_id
            owned = owned_by_customer[enrollment.commercial_partner_id.id] | set(order.order_line.product_id.ids)
            # without a triggering order (win-back, tier change), start from what they bought before
            bought = order.order_line.product_id if order else self.env["product.product"].browse(owned)
            templates = bought.product_tmpl_id
            candidates = (templates.accessory_product_ids
                          | templates.alternative_product_ids.product_variant_id)
            candidates = candidates.filtered(lambda p: p.id not in owned and p.sale_ok and p.website_published)
            categories = templates.public_categ_ids
            if len(candidates) < limit and categories:
                if categories not in by_categories:
                    by_categories[categories] = self.env["product.product"].search([
                        ("public_categ_ids", "in", categories.ids),
                        ("is_published", "=", True), ("sale_ok", "=", True),
                    ], limit=limit + 50)
                candidates |= by_categories[categories].filtered(lambda p: p.id not in owned)
            result[enrollment.id] = candidates[:limit]
        return result
