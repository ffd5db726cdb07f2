"""Browse abandonment: an identified visitor looked at products on the
website and, hours later, has neither put them in a cart nor bought them.

website_sale already records product views (``website.track`` rows with a
``product_id``, one per product and visitor every 30 minutes). A *visit* is a
visitor's run of product views no more than ``VISIT_GAP`` apart (at most
``VISIT_SPAN`` long); it is abandoned once its last view is ``browse_hours``
old. The visit's first view is the enrollment's triggering record: its key
(``website.track,<id>``) makes entry once per visit, and the template name
``viewed_products`` rebuilds the visit from it in one query.

The trigger and the template name it fills are declared together here, so the
trigger is one file.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, format_datetime

from odoo.addons.smb_journey.models.smb_journey_step_context import _money, _product_context
from odoo.addons.smb_journey.tools.registry import Provider, Trigger

# views further apart than this start a new visit
VISIT_GAP = timedelta(minutes=30)
# a visit is read at most this long (a scan reads this far before its bound)
VISIT_SPAN = timedelta(days=1)
# a scan reads back this far before the previous one: a visitor who signs in
# later (their anonymous views move to their account) or gets an email
# address later still enters
SCAN_MARGIN = timedelta(days=1)


def _carted_sql(partner_id, product_id, since):
    """SQL: the customer's account put ``product_id`` in a cart, a quotation
    or an order at or after ``since`` (SQL expressions)."""
    return SQL(
        """EXISTS (SELECT 1 FROM sale_order_line l
                    JOIN sale_order o ON o.id = l.order_id
                    JOIN res_partner op ON op.id = o.partner_id
                    JOIN res_partner vp ON vp.id = %(partner)s
                   WHERE l.product_id = %(product)s AND o.state IN ('draft', 'sent', 'sale')
                     AND op.commercial_partner_id = vp.commercial_partner_id
                     AND l.create_date >= %(since)s)""",
        partner=partner_id, product=product_id, since=since,
    )


class SmbJourney(models.Model):
    _inherit = "smb.journey"

    browse_hours = fields.Float(
        "Abandoned After (hours)", default=2.0,
        help="A visit enters when its last product view is this old and the customer has put none of the "
        "products viewed in a cart nor bought them since.")

    @api.constrains("browse_hours", "trigger")
    def _check_browse_hours(self):
        if any(j.browse_hours <= 0 for j in self if j.trigger == "browse_abandoned"):
            raise ValidationError(self.env._("The browse abandonment delay must be positive."))

    @api.model
    def _trigger_types(self):
        _ = self.env._
        return super()._trigger_types() | {"browse_abandoned": Trigger(
            _("Products viewed, not bought"), model="website.track", fires="scan",
            params=("browse_hours", "website_id"), record_filter=False, context=("viewed_products",),
            reasons=(("browse_carted", _("Viewed products put in a cart")),), icon="fa-eye",
            entry=_("once per visit (product views no more than 30 minutes apart)"),
            help=_("A signed-in customer with an email address viewed products on the website and, after the "
                   "delay, has not put them in a cart nor bought them. Not while they are in an abandoned-cart "
                   "journey."))}

    def _scan_browse_abandoned(self):
        """Enrol the visits whose last view became ``browse_hours`` old since
        the last scan: one query over the product views of the company's
        websites, bounded by the previous scan."""
        self.ensure_one()
        now = fields.Datetime.now()
        delay = timedelta(hours=self.browse_hours)
        due = now - delay
        # visits that ended after this were not yet due at the previous scan
        # (the first: still fresh when the journey was started)
        lower = max(self.date_start, (self.scanned_at or self.date_start) - SCAN_MARGIN) - delay
        read_from = lower - VISIT_SPAN
        if self.website_id:
            websites = SQL("v.website_id = %s", self.website_id.id)
        else:
            websites = SQL("v.website_id IN (SELECT id FROM website WHERE company_id = %s)", self.company_id.id)
        self.env.flush_all()
        rows = self.env.execute_query(SQL(
            """
            WITH views AS (
                SELECT t.id, t.visitor_id, t.product_id, t.visit_datetime, v.partner_id,
                       t.visit_datetime - LAG(t.visit_datetime) OVER (
                           PARTITION BY t.visitor_id ORDER BY t.visit_datetime, t.id) AS gap
                  FROM website_track t
                  JOIN website_visitor v ON v.id = t.visitor_id
                 WHERE t.product_id IS NOT NULL AND v.partner_id IS NOT NULL AND %(websites)s
                   AND t.visit_datetime >= %(read_from)s AND t.visit_datetime <= %(now)s
            ), numbered AS (
                SELECT *, COUNT(*) FILTER (WHERE gap IS NULL OR gap > %(gap)s) OVER (
                           PARTITION BY visitor_id ORDER BY visit_datetime, id) AS visit
                  FROM views
            ), visits AS (
                SELECT partner_id, (ARRAY_AGG(id ORDER BY visit_datetime, id))[1] AS first_id,
                       MIN(visit_datetime) AS first_at, MAX(visit_datetime) AS last_at,
                       ARRAY_AGG(DISTINCT product_id) AS product_ids
                  FROM numbered
                 GROUP BY visitor_id, partner_id, visit
            )
            SELECT vi.partner_id, vi.first_id
              FROM visits vi
              JOIN res_partner p ON p.id = vi.partner_id
             WHERE vi.first_at >= %(read_from)s + %(gap)s  -- a visit begun before what was read is not cut
               AND vi.last_at > %(lower)s AND vi.last_at <= %(due)s
               AND p.email IS NOT NULL AND p.email != ''
               AND NOT EXISTS (SELECT 1 FROM smb_journey_enrollment e
                                WHERE e.journey_id = %(journey)s AND e.res_model = 'website.track'
                                  AND e.res_id = vi.first_id)
               AND NOT EXISTS (SELECT 1 FROM smb_journey_enrollment e
                                 JOIN smb_journey j ON j.id = e.journey_id
                                WHERE j.trigger = 'cart_abandoned' AND e.state = 'running'
                                  AND e.partner_id = vi.partner_id)
               AND EXISTS (SELECT 1 FROM unnest(vi.product_ids) AS viewed(product_id)
                            WHERE NOT %(carted)s)
             ORDER BY vi.first_id
            """,
            websites=websites, read_from=read_from, now=now, gap=VISIT_GAP, lower=lower, due=due,
            journey=self.id, carted=_carted_sql(SQL("vi.partner_id"), SQL("viewed.product_id"), SQL("vi.first_at")),
        ))
        partners = self.env["res.partner"].browse([partner_id for partner_id, __ in rows])
        tracks = self.env["website.track"].browse([first_id for __, first_id in rows])
        self._enroll_pairs(list(zip(partners, tracks)))

    @api.model
    def _browse_visit_products(self, first_track_ids):
        """{first view id: [product ids]}: the products of each visit, in the
        order first viewed, less those the customer put in a cart or bought
        since the visit began. One query for all the visits."""
        if not first_track_ids:
            return {}
        self.env.flush_all()
        rows = self.env.execute_query(SQL(
            """
            WITH firsts AS (
                SELECT f.id AS first_id, f.visitor_id, f.visit_datetime AS first_at, v.partner_id
                  FROM website_track f JOIN website_visitor v ON v.id = f.visitor_id
                 WHERE f.id = ANY(%(ids)s)
            ), views AS (
                SELECT fs.first_id, fs.partner_id, fs.first_at, t.id, t.product_id, t.visit_datetime,
                       t.visit_datetime - LAG(t.visit_datetime) OVER (
                           PARTITION BY fs.first_id ORDER BY t.visit_datetime, t.id) AS gap
                  FROM firsts fs
                  JOIN website_track t ON t.visitor_id = fs.visitor_id
                 WHERE t.product_id IS NOT NULL
                   AND t.visit_datetime >= fs.first_at AND t.visit_datetime < fs.first_at + %(span)s
                   AND (t.visit_datetime > fs.first_at OR t.id >= fs.first_id)
            ), cut AS (
                SELECT *, COUNT(*) FILTER (WHERE gap > %(gap)s) OVER (
                           PARTITION BY first_id ORDER BY visit_datetime, id) AS breaks
                  FROM views
            )
            SELECT first_id, product_id
              FROM cut
             WHERE breaks = 0 AND NOT %(carted)s
             GROUP BY first_id, product_id
             ORDER BY first_id, MIN(visit_datetime), product_id
            """,
            ids=list(first_track_ids), span=VISIT_SPAN, gap=VISIT_GAP,
            carted=_carted_sql(SQL("cut.partner_id"), SQL("cut.product_id"), SQL("cut.first_at")),
        ))
        result = {first_id: [] for first_id in first_track_ids}
        for first_id, product_id in rows:
            result[first_id].append(product_id)
        return result

    def _exit_reasons_browse_abandoned(self, enrollments):
        """The customer since put every product of the visit in a cart (or
        bought it): the cart journey or the order takes over."""
        visits = enrollments.filtered(lambda e: e.res_model == "website.track")
        left = self._browse_visit_products(set(visits.mapped("res_id")))
        return {e: ("exited", "browse_carted") for e in visits if not left.get(e.res_id)}

    def _entry_reason_browse_abandoned(self, enrollment, record):
        return self.env._(
            "they viewed %(product)s on the website on %(date)s and did not buy it.",
            product=record.product_id.display_name, date=format_datetime(self.env, record.visit_datetime))


class SmbJourneyStep(models.Model):
    _inherit = "smb.journey.step"

    @api.model
    def _context_providers(self):
        return super()._context_providers() | {"viewed_products": Provider(
            self.env._("The products viewed during the visit, less those since put in a cart or bought"),
            many=True, fields=("name", "price", "url", "image_url"), labels={
                "name": self.env._("Product"), "price": self.env._("Price"), "url": self.env._("Product link"),
                "image_url": self.env._("Product image")})}

    def _context_viewed_products(self, enrollments, envs):
        visits = enrollments.filtered(lambda e: e.res_model == "website.track")
        viewed = self.journey_id._browse_visit_products(set(visits.mapped("res_id")))
        # sudo: the customer's own views, for their email, whoever runs the engine;
        # a product no longer sold on the website since is left out
        on_sale = self.env["product.product"].sudo().search([
            ("id", "in", list({pid for ids in viewed.values() for pid in ids})),
            ("sale_ok", "=", True), ("is_published", "=", True)])
        by_id = {product.id: product for product in on_sale}
        base_url = self._base_url()
        return {
            e.id: [_product_context(envs[e.id], by_id[pid], base_url) for pid in viewed.get(e.res_id, [])
                   if pid in by_id]
            for e in visits
        }

    def _sample_viewed_products(self):
        base_url = self._base_url()
        return [{
            "name": self.env._("Espresso Cup"), "price": _money(self.env, 12.0, self.journey_id.company_id.currency_id),
            "url": f"{base_url}/shop", "image_url": f"{base_url}/web/static/img/placeholder.png",
        }]
