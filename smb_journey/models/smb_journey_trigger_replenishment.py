from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, formatLang

from odoo.addons.smb_journey.models.smb_journey_step_context import _money, _product_context
from odoo.addons.smb_journey.tools.registry import Provider, Trigger


class SmbJourney(models.Model):
    _inherit = "smb.journey"

    replenish_days_before = fields.Integer(
        "Days Before the Expected Order", default=7,
        help="The customer enters this many days before the date the nightly scoring expects their next order "
        "(Expected Next Order on the contact), once per expected date.")

    @api.model
    def _trigger_types(self):
        _ = self.env._
        return super()._trigger_types() | {
            "replenishment": Trigger(
                _("Time to restock"), fires="scan", params=("replenish_days_before",), record_filter=False,
                context=("usual_products",), icon="fa-refresh", entry=_("once per expected order date"),
                help=_("The customer's expected next order (from the nightly scoring) is this many days away.")),
        }

    @api.constrains("replenish_days_before")
    def _check_replenish_days_before(self):
        if any(j.replenish_days_before < 0 for j in self):
            raise ValidationError(self.env._("The days before the expected order cannot be negative."))

    def _scan_replenishment(self):
        """Enrol the customers whose expected next order date (written by the
        nightly scoring, per company) is at most ``replenish_days_before``
        days away and not past.

        The dates move only when the day changes or a scoring run writes
        them: a pass in the same day as the previous one, with no run of
        the company since, reads nothing else (one indexed count). Otherwise
        one query over the customer accounts of the company."""
        now = fields.Datetime.now()
        if self.scanned_at and self.scanned_at.date() == now.date() and not self.env["smb.churn.run"].sudo(
                ).search_count([("company_id", "=", self.company_id.id), ("state", "=", "done"),
                  # a run still committing when the last pass read is seen by the passes of the next hour
                  ("write_date", ">=", self.scanned_at - timedelta(hours=1))],
                limit=1):
            return
        today = now.date()
        self.env["res.partner"].flush_model(["smb_next_order_date", "commercial_partner_id", "email", "company_id"])
        rows = self.env.execute_query(SQL(
            """
            SELECT p.id, p.smb_next_order_date->>%(key)s
              FROM res_partner p
             WHERE p.active AND p.id = p.commercial_partner_id
               AND p.email IS NOT NULL AND p.email != ''
               AND (p.company_id IS NULL OR p.company_id = %(company)s)
               AND p.smb_next_order_date->>%(key)s BETWEEN %(today)s AND %(until)s
               AND NOT EXISTS (
                   SELECT 1 FROM smb_journey_enrollment en
                    WHERE en.journey_id = %(journey)s AND en.partner_id = p.id
                      AND en.entry_key = 'replenishment:' || (p.smb_next_order_date->>%(key)s))
            """,
            key=str(self.company_id.id), company=self.company_id.id, journey=self.id, today=fields.Date.to_string(today),
            until=fields.Date.to_string(today + timedelta(days=self.replenish_days_before)),
        ))
        # one recordset, so that reading them is one query per field, not one per customer
        partners = {p.id: p for p in self.env["res.partner"].browse(dict.fromkeys(r[0] for r in rows))}
        self._enroll_pairs([(partners[partner_id], None, f"replenishment:{date}") for partner_id, date in rows])


class SmbJourneyStep(models.Model):
    """The ``usual_products`` template name, filled for the inactivity and
    restock triggers (their declarations list it)."""

    _inherit = "smb.journey.step"

    @api.model
    def _context_providers(self):
        return super()._context_providers() | {
            "usual_products": Provider(
                self.env._("What the customer buys most often, most frequent first (the step's Recommended "
                           "Products sets how many); each has quantity, the quantity they last ordered"),
                many=True, fields=("name", "price", "url", "image_url", "quantity"), labels={
                    "name": self.env._("Product"), "price": self.env._("Price"), "url": self.env._("Product link"),
                    "image_url": self.env._("Product image"), "quantity": self.env._("Quantity last ordered")}),
        }

    def _context_usual_products(self, enrollments, envs):
        """One grouped read of the confirmed order lines of the customers'
        accounts with the journey's company: per product, in how many orders
        and the latest line (its quantity)."""
        limit = self.recommendation_count or 3
        accounts = enrollments.commercial_partner_id
        Line = self.env["sale.order.line"].sudo()  # sudo: the customer's own purchases, for their own email
        domain = [
            ("order_id.state", "=", "sale"), ("order_id.company_id", "=", self.journey_id.company_id.id),
            ("order_partner_id", "child_of", accounts.ids), ("display_type", "=", False),
            ("is_downpayment", "=", False), ("reward_id", "=", False),
            ("product_id.sale_ok", "=", True), ("product_id.active", "=", True),
        ]
        if "is_delivery" in Line._fields:
            domain.append(("is_delivery", "=", False))
        stats = defaultdict(dict)  # account -> product -> [orders, last line id]
        for partner, product, orders, last_line in Line._read_group(
                domain, ["order_partner_id", "product_id"], ["order_id:count_distinct", "id:max"]):
            account = partner.commercial_partner_id.id
            before = stats[account].get(product, (0, 0))
            stats[account][product] = (before[0] + orders, max(before[1], last_line))
        quantities = dict(Line.browse([last for by_product in stats.values() for __, last in by_product.values()])
                          .mapped(lambda line: (line.id, line.product_uom_qty)))
        base_url = self._base_url()
        result = {}
        for enrollment in enrollments:
            env = envs[enrollment.id]
            ranked = sorted(stats[enrollment.commercial_partner_id.id].items(),
                            key=lambda item: (-item[1][0], -item[1][1]))[:limit]
            result[enrollment.id] = [
                dict(_product_context(env, product, base_url), quantity=formatLang(
                    env, quantities[last], digits=0 if quantities[last].is_integer() else 2))
                for product, (__, last) in ranked
            ]
        return result

    def _sample_usual_products(self):
        base_url = self._base_url()
        return [{
            "name": "Coffee Beans 1 kg", "price": _money(self.env, 18.0, self.journey_id.company_id.currency_id),
            "url": f"{base_url}/shop", "image_url": f"{base_url}/web/static/img/placeholder.png",
            "quantity": "2",
        }]
