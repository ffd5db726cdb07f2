from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from odoo.addons.smb_journey.tools.registry import Trigger

# a pass reads back this far before the previous one: rows committed a little
# after their timestamp (a long checkout, a slow mail queue) are still seen;
# the entry key keeps a customer seen twice from entering twice
SCAN_MARGIN = timedelta(hours=1)


class SmbJourney(models.Model):
    _inherit = "smb.journey"

    no_order_days = fields.Integer(
        "No Order For (days)", default=90,
        help="The customer enters when this many days have passed since their last confirmed order with this "
        "company (any contact of their account), once per last order: ordering again and lapsing again makes "
        "them enter again.")

    @api.model
    def _trigger_types(self):
        _ = self.env._
        return super()._trigger_types() | {
            "no_order": Trigger(
                _("No order for a while"), fires="scan", params=("no_order_days",), record_filter=False,
                context=("usual_products",), icon="fa-hourglass-half",
                entry=_("once per last order: ordering again and lapsing again enters again"),
                help=_("A customer's last confirmed order is this many days old: the engine's pass after that "
                       "moment makes them enter.")),
        }

    @api.constrains("no_order_days")
    def _check_no_order_days(self):
        if any(j.no_order_days < 1 for j in self):
            raise ValidationError(self.env._("The number of days without an order must be at least 1."))

    def _inactivity_window(self, days):
        """(lo, hi]: when the moments at which customers lapse may have
        fallen since the previous pass, shifted back by ``days`` (what the
        scanners compare with the orders' or emails' own dates). The first
        pass of a journey reaches back one period before it started:
        customers who lapsed in those days enter too, those who lapsed long
        ago are the win-back's business, not a sudden burst of emails."""
        self.ensure_one()
        now = fields.Datetime.now()
        lo = self.scanned_at - SCAN_MARGIN if self.scanned_at else self.date_start - timedelta(days=days)
        return lo - timedelta(days=days), now - timedelta(days=days)

    def _scan_no_order(self):
        """Enrol customers whose last confirmed order of the journey's company
        turned ``no_order_days`` old since the previous pass.

        One query, bounded by the bookmark: the orders dated inside the
        window (an index range on ``date_order``), kept when no later
        confirmed order of the same account exists and the customer did not
        enter for it yet. An idle pass reads an hour of orders of N days ago."""
        lo, hi = self._inactivity_window(self.no_order_days)
        self.env["sale.order"].flush_model(["state", "company_id", "date_order", "partner_id"])
        self.env["res.partner"].flush_model(["commercial_partner_id", "email"])
        rows = self.env.execute_query(SQL(
            """
            SELECT o.partner_id, o.id
              FROM sale_order o
              JOIN res_partner p ON p.id = o.partner_id
             WHERE o.state = 'sale' AND o.company_id = %(company)s
               AND o.date_order > %(lo)s AND o.date_order <= %(hi)s
               AND p.email IS NOT NULL AND p.email != ''
               AND NOT EXISTS (
                   SELECT 1 FROM sale_order later
                     JOIN res_partner lp ON lp.id = later.partner_id
                    WHERE lp.commercial_partner_id = p.commercial_partner_id
                      AND later.company_id = o.company_id AND later.state = 'sale'
                      AND (later.date_order, later.id) > (o.date_order, o.id))
               -- entered already (a pass before, within the margin): the unique entry index answers
               AND NOT EXISTS (
                   SELECT 1 FROM smb_journey_enrollment en
                    WHERE en.journey_id = %(journey)s AND en.partner_id = o.partner_id
                      AND en.entry_key = 'no_order:sale.order,' || o.id)
            """,
            company=self.company_id.id, lo=lo, hi=hi, journey=self.id,
        ))
        # one recordset, so that reading them is one query per field, not one per customer
        partners = {p.id: p for p in self.env["res.partner"].browse(dict.fromkeys(r[0] for r in rows))}
        self._enroll_pairs([(partners[partner_id], None, f"no_order:sale.order,{order_id}")
                            for partner_id, order_id in rows])
