from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain
from odoo.tools import SQL, format_amount

from odoo.addons.smb_journey.tools.registry import Trigger


class SmbJourney(models.Model):
    _inherit = "smb.journey"

    back_in_stock_cart_days = fields.Integer(
        "Carts of the Last (days)", default=30,
        help="Abandoned carts younger than this are looked at: their customers hear when a product of the cart "
        "that was sold out is available again. 0: only customers who asked to be told (\"notify me\").")
    back_in_stock_sold_out_ids = fields.Many2many(
        "product.product", "smb_journey_sold_out_product_rel", "journey_id", "product_id",
        "Sold Out at Last Scan", readonly=True, copy=False,
        help="Technical: the products of abandoned carts seen sold out by the last scan; one available again "
        "at the next scan is back in stock for the customers whose cart holds it.")

    @api.model
    def _trigger_types(self):
        _ = self.env._
        return super()._trigger_types() | {"back_in_stock": Trigger(
            _("Product back in stock"), model="product.product", fires="scan",
            params=("back_in_stock_cart_days",), context=("product",), icon="fa-cubes",
            entry=_("once per customer, product and return to stock (day)"),
            reasons=(("sold_out_again", _("Sold out again")),),
            help=_("A product a customer asked to be told about, or left sold out in an abandoned cart, has "
                   "stock again in the journey company's warehouses."))}

    @api.constrains("back_in_stock_cart_days")
    def _check_back_in_stock_cart_days(self):
        if any(j.back_in_stock_cart_days < 0 for j in self):
            raise ValidationError(self.env._("Delays cannot be negative."))

    # ------------------------------------------------------------
    # SCANNER
    # ------------------------------------------------------------

    def _scan_back_in_stock(self):
        """Enrol the customers waiting for a product that has stock again.

        Who waits: the customers subscribed to the product's "notify me"
        (website_sale_stock; they subscribed because it was sold out), and
        those whose recent abandoned cart holds a product the previous scan
        saw sold out (``back_in_stock_sold_out_ids``, the bookmark of this
        scanner). A handful of queries per pass, whatever the number of
        products: the stock of every candidate is one ``stock.quant`` group.
        Subscribers who enter are taken off the product's notification list,
        as Odoo's own "back in stock" email does once sent, so they get one
        email, not two.
        """
        self.ensure_one()
        company = self.company_id
        # sudo: the notification lists and carts of every customer, for the journey's own bookkeeping
        Product = self.env["product.product"].sudo().with_context(active_test=False)
        of_company = Domain("company_id", "in", (False, company.id)) & Domain("is_storable", "=", True)
        subscribed = Product.search(of_company & Domain("stock_notification_partner_ids", "!=", False))
        cart_pairs = self._back_in_stock_cart_pairs()
        in_carts = Product.browse({product.id for product, __ in cart_pairs})
        candidates = subscribed | in_carts
        if candidates:
            what = self.env._("The filter %s", self._fields["trigger_domain"].string)
            candidates = Product.browse(self._search_as_owner(
                "product.product", Domain("id", "in", candidates.ids) & of_company & Domain("active", "=", True)
                & self._parsed("trigger_domain"), what=what).ids)
        free = self._back_in_stock_free_qty(candidates)
        available = candidates.filtered(lambda p: free.get(p.id, 0.0) > 0)
        watched = self.back_in_stock_sold_out_ids
        key_date = fields.Datetime.now().date().isoformat()
        pairs = {(partner, product) for product in available & subscribed
                 for partner in product.stock_notification_partner_ids}
        back_ids = set((available & watched).ids)  # sold out at the last scan, available now
        pairs |= {(partner, product) for product, partner in cart_pairs if product.id in back_ids}
        if pairs:
            self._enroll_pairs([
                (partner, product.with_env(self.env), f"product.product,{product.id}:{key_date}")
                for partner, product in sorted(pairs, key=lambda pair: (pair[1].id, pair[0].id))])
            self._back_in_stock_unsubscribe(pairs, key_date)
        sold_out = (candidates - available) & in_carts
        if sold_out != watched:
            self.back_in_stock_sold_out_ids = sold_out

    def _back_in_stock_cart_pairs(self):
        """{(storable product, customer)} of the company's recent abandoned website carts."""
        if self.back_in_stock_cart_days <= 0:
            return set()
        since = fields.Datetime.now() - timedelta(days=self.back_in_stock_cart_days)
        # sudo: carts of every customer, read for the journey's own bookkeeping
        carts = self.env["sale.order"].sudo().search([
            ("is_abandoned_cart", "=", True), ("company_id", "=", self.company_id.id),
            ("date_order", ">=", since),
            ("partner_id.email", "!=", False),
        ])
        if not carts:
            return set()
        groups = self.env["sale.order.line"].sudo()._read_group(
            [("order_id", "in", carts.ids), ("product_id.is_storable", "=", True)],
            ["product_id", "order_partner_id"])
        return {(product, partner) for product, partner in groups}

    def _back_in_stock_free_qty(self, products):
        """{product id: quantity free to sell} in the journey company's own
        warehouses (another company's stock does not make it available here)."""
        if not products:
            return {}
        # sudo: stock levels, whoever runs the engine
        groups = self.env["stock.quant"].sudo()._read_group(
            [("product_id", "in", products.ids), ("location_id.usage", "=", "internal"),
             ("company_id", "=", self.company_id.id)],
            ["product_id"], ["quantity:sum", "reserved_quantity:sum"])
        return {product.id: quantity - reserved for product, quantity, reserved in groups}

    def _back_in_stock_unsubscribe(self, pairs, key_date):
        """Take off the notification lists the subscribers now in this
        journey for the product (entered now, or by a concurrent scan this
        transaction sees): Odoo's own email would be a second one."""
        Enrollment = self.env["smb.journey.enrollment"]
        Enrollment.flush_model()
        keys = {f"product.product,{product.id}:{key_date}": product.id for __, product in pairs}
        entered = Enrollment.sudo().search_fetch([
            ("journey_id", "=", self.id), ("entry_key", "in", list(keys)),
            ("partner_id", "in", list({partner.id for partner, __ in pairs})),
        ], ["partner_id", "entry_key"])
        if not entered:
            return
        products, partners = zip(*((keys[e.entry_key], e.partner_id.id) for e in entered))
        self.env.execute_query(SQL(
            """DELETE FROM stock_notification_product_partner_rel r
                USING unnest(%s::int[], %s::int[]) AS t(product_id, partner_id)
                WHERE r.product_product_id = t.product_id AND r.res_partner_id = t.partner_id""",
            list(products), list(partners)))
        self.env["product.product"].invalidate_model(["stock_notification_partner_ids"])

    # ------------------------------------------------------------
    # EXITS AND ACTIVITIES
    # ------------------------------------------------------------

    def _exit_reasons_back_in_stock(self, enrollments):
        """Sold out again before the next step: the email would promise what
        the shop cannot deliver."""
        products = self.env["product.product"].sudo().browse(set(enrollments.mapped("res_id")))
        free = self._back_in_stock_free_qty(products)
        return {e: ("exited", "sold_out_again") for e in enrollments if free.get(e.res_id, 0.0) <= 0}

    def _entry_reason_back_in_stock(self, enrollment, record):
        return self.env._(
            "%(product)s (%(price)s), which they were waiting for, is back in stock.",
            product=record.display_name, price=format_amount(self.env, record.list_price, record.currency_id))
