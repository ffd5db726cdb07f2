import json
from datetime import timedelta

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL, format_amount

from odoo.addons.smb_journey.lib import tiers as tiers_lib
from odoo.addons.smb_journey.models.smb_churn_run import CHURN_COLUMNS
from odoo.addons.smb_journey.models.smb_loyalty_tier import TIER_COLUMNS
from odoo.addons.smb_journey.tools import vocabulary

# derived per-company values of the commercial partner that its contacts carry too
SHARED_COLUMNS = TIER_COLUMNS + CHURN_COLUMNS


class ResPartner(models.Model):
    _inherit = "res.partner"

    # journeys find people by address: entry history, unengaged customers
    _smb_email_normalized_idx = models.Index("(email_normalized) WHERE email_normalized IS NOT NULL")

    smb_enrollment_ids = fields.One2many("smb.journey.enrollment", "partner_id", "Journeys")
    smb_enrollment_count = fields.Integer("Journey Count", compute="_compute_smb_enrollment_count")
    smb_active_journey_ids = fields.Many2many(
        "smb.journey", string="Active Journeys", compute="_compute_smb_active_journey_ids",
        groups="base.group_user",
        help="The journeys this customer, or a contact of this company, is going through now.")
    smb_journey_optout = fields.Boolean(
        "Opted Out of Journeys", tracking=True,
        help="Receives no journey email; other emails (orders, invoices) still go out.",
    )
    smb_sunset_date = fields.Datetime(
        "Unengaged Since", tracking=True, readonly=True, copy=False,
        help="Went through a re-engagement journey without opening, clicking or answering any email: receives "
        "no marketing journey email any more (order follow-ups still go out). Clear it to resume.")
    smb_consent_confirmed = fields.Boolean(
        "Consent Confirmed", compute="_compute_smb_consent_confirmed", search="_search_smb_consent_confirmed",
        help="This email address confirmed a subscription to a double opt-in mailing list (through the link "
        "emailed to it) and has not unsubscribed from that list since.")
    # the birthday scan looks up today's month and day (written rarely: HOT updates are kept)
    _smb_birthday_md_idx = models.Index(
        "(((EXTRACT(MONTH FROM smb_birthday) * 100 + EXTRACT(DAY FROM smb_birthday))::int)) "
        "WHERE smb_birthday IS NOT NULL")
    smb_birthday = fields.Date(
        "Birthday", copy=False,
        help="Journeys with the Birthday trigger greet the customer on this day every year (29 February: "
        "on 28 February in other years). The customer can set it in their account on the website.")

    # Loyalty tier, per company (company-dependent), of the commercial partner:
    # its contacts carry a copy. Written by smb.loyalty.tier's recompute only.
    smb_tier_id = fields.Many2one("smb.loyalty.tier", "Loyalty Tier", company_dependent=True, readonly=True, copy=False)
    smb_tier_color = fields.Integer(related="smb_tier_id.color")
    smb_tier_since = fields.Date("Tier Since", company_dependent=True, readonly=True, copy=False)
    smb_trailing_spend = fields.Float(
        "Trailing Spend", company_dependent=True, readonly=True, copy=False, aggregator="sum",
        help="Confirmed orders (untaxed, less refunds) over the period of the next tier, in the company currency.",
    )
    smb_tier_order_count = fields.Integer("Orders in Period", company_dependent=True, readonly=True, copy=False)
    smb_tier_grace_since = fields.Date(
        "No Longer Qualifies Since", company_dependent=True, readonly=True, copy=False)
    smb_tier_grace_end = fields.Date("Keeps Tier Until", compute="_compute_smb_tier_progress")
    smb_tier_next_id = fields.Many2one("smb.loyalty.tier", "Next Tier", compute="_compute_smb_tier_progress")
    smb_tier_missing_amount = fields.Float("Spend to Next Tier", compute="_compute_smb_tier_progress")
    smb_tier_missing_orders = fields.Integer("Orders to Next Tier", compute="_compute_smb_tier_progress")
    smb_tier_currency_id = fields.Many2one("res.currency", compute="_compute_smb_tier_currency_id")
    smb_tier_history_ids = fields.Many2many(
        "smb.loyalty.tier.history", string="Tier History", compute="_compute_smb_tier_history_ids")
    smb_is_commercial = fields.Boolean(
        "Is a Customer Account", compute="_compute_smb_is_commercial", search="_search_smb_is_commercial",
        help="A company, or a person not attached to one: the entity whose tier its contacts share.")

    # Churn risk and value, per company, of the commercial partner (copied to
    # its contacts); written by smb.churn.run's nightly scoring only.
    # internal users only: a portal customer must not read their own risk score over RPC
    smb_churn_score = fields.Float(
        "Churn Risk", company_dependent=True, readonly=True, copy=False, digits=(3, 2), groups="base.group_user",
        help="Probability (0-1) of no order within the company's churn horizon.")
    smb_churn_band = fields.Selection(
        vocabulary.BANDS, "Churn Risk Band",
        company_dependent=True, readonly=True, copy=False, groups="base.group_user")
    smb_clv = fields.Float(
        "Predicted Value (12 months)", company_dependent=True, readonly=True, copy=False, aggregator="sum",
        groups="base.group_user",
        help="Expected spend over the next 12 months, in the company currency.")
    smb_next_order_date = fields.Date(
        "Expected Next Order", company_dependent=True, readonly=True, copy=False, groups="base.group_user")
    smb_churn_reasons = fields.Char(
        "Churn Risk Reasons (data)", company_dependent=True, readonly=True, copy=False, groups="base.group_user",
        help="What moves this customer's risk most, as the scoring wrote it (JSON): see lib/churn.py reasons().")
    smb_churn_explanation = fields.Text(
        "Why This Risk", compute="_compute_smb_churn_explanation", groups="base.group_user")

    @api.depends("smb_churn_reasons")
    @api.depends_context("company", "lang")
    def _compute_smb_churn_explanation(self):
        for partner in self:
            partner.smb_churn_explanation = partner._smb_churn_sentences(partner.smb_churn_reasons)

    def _smb_churn_sentences(self, reasons):
        """The scoring's reasons as sentences in the reader's language: stored
        as codes and numbers, so they are translated when read, not when scored."""
        try:
            reasons = json.loads(reasons or "[]")
        except ValueError:
            return False
        _ = self.env._

        def last_order(days, gap=None):
            if not days:
                return _("Ordered today")
            if gap:  # the usual gap, with separate strings so that each one reads right in every language
                if days == 1:
                    return (_("Last order yesterday, usually every day") if gap == 1
                            else _("Last order yesterday, usually every %(gap)s days", gap=gap))
                return (_("Last order %(days)s days ago, usually every day", days=days) if gap == 1
                        else _("Last order %(days)s days ago, usually every %(gap)s days", days=days, gap=gap))
            return _("Last order yesterday") if days == 1 else _("Last order %(days)s days ago", days=days)

        facts = {
            "recency": last_order,
            "frequency": lambda count: (
                _("1 order so far") if count == 1 else _("%(count)s orders so far", count=count)),
            "recent": lambda count: (
                _("No order in the last 90 days") if not count
                else _("1 order in the last 90 days") if count == 1
                else _("%(count)s orders in the last 90 days", count=count)),
            "value": lambda amount: _("%(amount)s spent so far",
                                      amount=format_amount(self.env, amount, self.env.company.currency_id)),
            "tenure": lambda days: (
                _("Customer since today") if not days
                else _("Customer for 1 day") if days == 1
                else _("Customer for %(days)s days", days=days)),
            "emails": lambda count: (
                _("No journey email opened or clicked in the last 90 days") if not count
                else _("1 journey email opened or clicked in the last 90 days") if count == 1
                else _("%(count)s journey emails opened or clicked in the last 90 days", count=count)),
            "carts": lambda count: (
                _("No abandoned cart in the last 90 days") if not count
                else _("1 abandoned cart in the last 90 days") if count == 1
                else _("%(count)s abandoned carts in the last 90 days", count=count)),
        }
        lines = []
        for sign, reason, *values in reasons:
            if reason in facts:
                fact = facts[reason](*values)
                lines.append(_("Raises the risk: %(fact)s", fact=fact) if sign == "+"
                             else _("Lowers the risk: %(fact)s", fact=fact))
        return "\n".join(lines) or False

    def _compute_smb_tier_currency_id(self):
        self.smb_tier_currency_id = self.env.company.currency_id

    @api.depends("smb_tier_id", "smb_trailing_spend", "smb_tier_grace_since")
    @api.depends_context("company")
    def _compute_smb_tier_progress(self):
        tiers = self.env["smb.loyalty.tier"].search([("company_id", "=", self.env.company.id)])
        ranked, __ = tiers._ranked()
        for partner in self:
            following = tiers_lib.next_tier(ranked, partner.smb_tier_id.id or None)
            following = tiers.browse(following.id) if following else tiers.browse()
            partner.smb_tier_next_id = following
            partner.smb_tier_missing_amount = (
                max(following.min_spend - partner.smb_trailing_spend, 0.0) if following else 0.0)
            partner.smb_tier_missing_orders = (
                max(following.min_orders - partner.smb_tier_order_count, 0) if following else 0)
            grace_since, tier = partner.smb_tier_grace_since, partner.smb_tier_id
            partner.smb_tier_grace_end = grace_since + timedelta(days=tier.grace_days) if grace_since and tier else False

    @api.depends_context("company")
    def _compute_smb_tier_history_ids(self):
        History = self.env["smb.loyalty.tier.history"]
        rows = History.search([
            ("partner_id", "in", self.commercial_partner_id.ids), ("company_id", "=", self.env.company.id)])
        for partner in self:
            partner.smb_tier_history_ids = rows.filtered(lambda r: r.partner_id == partner.commercial_partner_id)

    @api.depends("commercial_partner_id")
    def _compute_smb_is_commercial(self):
        for partner in self:
            partner.smb_is_commercial = partner.commercial_partner_id == partner

    def _search_smb_is_commercial(self, operator, value):
        if operator not in ("in", "not in"):
            return NotImplemented
        # the definition of res.partner._compute_commercial_partner
        domain = Domain("parent_id", "=", False) | Domain("is_company", "=", True)
        return domain if (operator == "in") == (True in value) else ~domain

    def _compute_smb_consent_confirmed(self):
        confirmed = set(self.with_context(active_test=False).search(
            [("id", "in", self.ids), ("smb_consent_confirmed", "=", True)]).ids)
        for partner in self:
            partner.smb_consent_confirmed = partner.id in confirmed

    def _search_smb_consent_confirmed(self, operator, value):
        if operator not in ("in", "not in"):
            return NotImplemented
        # sudo: consent lives in Email Marketing's lists, which sales staff and journeys' filters may not read
        Contact = self.env["mailing.contact"].sudo()
        contacts = Contact._search([
            ("email_normalized", "!=", False),
            ("subscription_ids", "any", [("smb_consent_state", "=", "confirmed"), ("opt_out", "=", False)]),
        ])
        emails = contacts.subselect(Contact._field_to_sql(contacts.table, "email_normalized", contacts))
        confirmed = Domain.custom(to_sql=lambda model, alias, query: SQL(
            "%s IN %s", model._field_to_sql(alias, "email_normalized", query), emails))
        if (operator == "in") == (True in value):
            return confirmed
        # a contact without an email has confirmed nothing
        return ~(confirmed & Domain("email_normalized", "!=", False))

    def _compute_smb_enrollment_count(self):
        counts = dict(self.env["smb.journey.enrollment"]._read_group(
            [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]))
        for partner in self:
            partner.smb_enrollment_count = counts.get(partner, 0)

    @api.depends_context("uid", "allowed_company_ids")
    def _compute_smb_active_journey_ids(self):
        """With the reader's rights: a salesperson sees the journeys of the
        customers their Sales rights show them."""
        rows = self.env["smb.journey.enrollment"]._read_group(
            [("partner_id", "child_of", self._origin.commercial_partner_id.ids), ("state", "=", "running")],
            ["partner_id"], ["journey_id:recordset"]) if self._origin else []
        for partner in self:
            journeys, origin = self.env["smb.journey"], partner._origin
            for contact, running in rows:
                if contact == origin or (origin.smb_is_commercial and contact.commercial_partner_id == origin):
                    journeys |= running
            partner.smb_active_journey_ids = journeys

    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        imported = self.env.context.get("import_file") or self.env.context.get("smb_journey_import")
        # tier copy and welcome journeys: in the events cron (see smb.journey.event);
        # a user's own contact waits for the user (res.users.create), unless it
        # has a company whose tier it shares (the cron never welcomes staff)
        deferred = self.env.context.get("smb_journey_defer_partner_trigger")
        self.env["smb.journey.event"]._enqueue(
            "partner_created", partners.filtered(lambda p: p.parent_id or (p.email and not deferred)),
            imported=imported)
        return partners

    def load(self, fields, data):
        """Contacts loaded (Odoo's import, an external import script) are
        imports: they enter only the journeys that take imported contacts."""
        return super(ResPartner, self.with_context(smb_journey_import=True)).load(fields, data)

    def write(self, vals):
        before = {p.id: p.commercial_partner_id for p in self} if {"parent_id", "is_company"} & set(vals) else {}
        res = super().write(vals)
        moved = self.filtered(lambda p: p.id in before and p.commercial_partner_id != before[p.id])
        if moved:
            former = self.browse().union(*(before[p.id] for p in moved))
            moved._smb_copy_commercial_tier(former - moved.commercial_partner_id)
        if vals.get("smb_journey_optout"):
            self.env["smb.journey.enrollment"].sudo().search([
                ("partner_id", "in", self.ids), ("state", "in", ("running", "error")),
            ])._exit("unsubscribed")
        return res

    def _smb_copy_commercial_tier(self, former=None):
        """Contacts share their commercial partner's tier and churn risk: copy
        its values, in every company at once. A partner that became its own
        commercial partner starts empty and has its tier recomputed (its churn
        risk comes with the next scoring), and the account it left
        (``former``) is recomputed too: its spend no longer counts its orders."""
        contacts = self.filtered(lambda p: p.commercial_partner_id != p)
        if contacts:
            self.flush_recordset(["commercial_partner_id"])
            self.env.cr.execute(SQL(
                """UPDATE res_partner p SET %s FROM res_partner c
                    WHERE c.id = p.commercial_partner_id AND p.id = ANY(%s)""",
                SQL(", ").join(SQL("%s = c.%s", SQL.identifier(col), SQL.identifier(col)) for col in SHARED_COLUMNS),
                contacts.ids,
            ))
            contacts.invalidate_recordset(list(SHARED_COLUMNS))
        detached = self - contacts
        if detached:
            # a contact become an account of its own starts from its own orders
            self.env.cr.execute(SQL(
                "UPDATE res_partner SET %s WHERE id = ANY(%s)",
                SQL(", ").join(SQL("%s = NULL", SQL.identifier(column)) for column in SHARED_COLUMNS),
                detached.ids,
            ))
            detached.invalidate_recordset(list(SHARED_COLUMNS))
        accounts = detached | (former or self.browse())
        if accounts and self.env["smb.loyalty.tier"].sudo().search_count([], limit=1):
            # sudo: tiers are derived data, recomputed whoever edits the contact
            self.env["smb.loyalty.tier"].sudo()._recompute_partners(accounts)

    def action_view_smb_enrollments(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("smb_journey.smb_journey_enrollment_action")
        action["domain"] = [("partner_id", "child_of", self.commercial_partner_id.ids)]
        action["context"] = {"default_partner_id": self[:1].id}
        return action

    def action_smb_clear_sunset(self):
        """Staff resume marketing journey emails for a customer marked Unengaged."""
        self.write({"smb_sunset_date": False})

    def action_smb_enroll(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Enrol in Journey"),
            "res_model": "smb.journey.enroll.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_partner_ids": self.ids},
        }

    @api.model
    def _get_frontend_writable_fields(self):
        """Customers set their own birthday in their account on the website."""
        return super()._get_frontend_writable_fields() | {"smb_birthday"}
