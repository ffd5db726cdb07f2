import logging
import time

from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.smb_journey.lib import recommend as recommend_lib

_logger = logging.getLogger(__name__)

# advisory lock namespace of a company's affinity computation (the second key is the company id)
AFFINITY_LOCK = 0x5B3D
# the shop's best sellers kept as the backoff of every customer
POPULAR_KEPT = 100


class SmbProductAffinity(models.Model):
    """What customers who bought a product bought with it or next, learnt
    every night from a company's confirmed orders (``lib/recommend.py``) and
    read by the journeys' ``{{ recommendations }}``. A row without a bought
    product is one of the shop's best sellers, the backoff of customers whose
    products say nothing yet. Derived data: the nightly job replaces a
    company's rows as a whole."""

    _name = "smb.product.affinity"
    _description = "Product Affinity"
    _order = "company_id, product_tmpl_id, score desc, id"
    _check_company_auto = True

    _company_product = models.Index("(company_id, product_tmpl_id)")

    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    product_tmpl_id = fields.Many2one(
        "product.template", "Bought", ondelete="cascade", readonly=True, check_company=True,
        help="Customers who bought this product... (empty: any customer, the shop's best sellers)")
    related_tmpl_id = fields.Many2one(
        "product.template", "Also Buy", required=True, ondelete="cascade", readonly=True, check_company=True,
        help="...also bought this one, in the same order or a later one.")
    score = fields.Float(
        "Affinity", digits=(6, 3), readonly=True,
        help="How much more likely than an average customer a buyer of the first product is to buy this "
             "one, with few buyers leaning on the product's popularity. For a best seller: the share of "
             "customers who bought it.")
    customer_count = fields.Integer(
        "Customers", readonly=True, help="Customers who bought both products (a best seller: who bought it).")

    # ------------------------------------------------------------
    # CRON / API
    # ------------------------------------------------------------

    @api.model
    def _cron_compute(self):
        """Nightly: learn every company's affinities, one company per committed step."""
        companies = self.env["sale.order"].sudo()._read_group([("state", "=", "sale")], ["company_id"])
        for (company,) in companies:
            self.compute_affinities(company)
            self.env["ir.cron"]._commit_progress(1)

    @api.model
    def compute_affinities(self, company=None):
        """Learn ``company``'s product affinities from its confirmed orders now
        and replace the stored ones. Returns what was stored, or False when
        another computation of the company was running."""
        company = company or self.env.company
        self.check_access("unlink")
        # sudo: derived data, rewritten as a whole for every user who reads it
        return self.sudo()._compute_company(company)

    # ------------------------------------------------------------
    # LEARNING
    # ------------------------------------------------------------

    def _compute_company(self, company):
        started = time.perf_counter()
        locked = self.env.execute_query(SQL(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", AFFINITY_LOCK, company.id))[0][0]
        if not locked:
            return False
        purchases = recommend_lib.Purchases.from_rows(self._purchase_rows(company=company))
        affinities = recommend_lib.learn(purchases)
        rows = [(item, related, score, both) for item, related, score, both in affinities.rows()]
        total = max(affinities.customers, 1)
        rows += [(None, int(item), float(buyers) / total, int(buyers))
                 for item, buyers in zip(affinities.popular[:POPULAR_KEPT], affinities.buyers[:POPULAR_KEPT],
                                         strict=True)]
        self.flush_model()
        self.env.execute_query(SQL("DELETE FROM smb_product_affinity WHERE company_id = %s", company.id))
        if rows:
            items, related, scores, counts = (list(column) for column in zip(*rows, strict=True))
            uid = self.env.uid
            self.env.execute_query(SQL(
                """
                INSERT INTO smb_product_affinity (company_id, product_tmpl_id, related_tmpl_id, score, customer_count,
                                                  create_uid, create_date, write_uid, write_date)
                SELECT %s, r.item, r.related, r.score, r.customers, %s, now() AT TIME ZONE 'UTC',
                       %s, now() AT TIME ZONE 'UTC'
                  FROM unnest(%s::int[], %s::int[], %s::float8[], %s::int[]) AS r(item, related, score, customers)
                """,
                company.id, uid, uid, items, related, scores, counts,
            ))
        self.invalidate_model()
        result = {"customers": affinities.customers, "products": len(affinities.items), "rows": len(rows),
                  "duration": time.perf_counter() - started}
        _logger.info("Product affinities of company %s: %s", company.id, result)
        return result

    @api.model
    def _purchase_rows(self, company=None, partner_ids=None):
        """``(commercial partner, product template, day)`` of the confirmed
        order lines of ``company`` (or of every company) or of the customers
        ``partner_ids`` (commercial partners), one row per product and day: a
        single set-based query. Sections, notes, down payments, rewards and
        delivery lines are not purchases of a product."""
        Line = self.env["sale.order.line"]
        Line.flush_model()
        self.env["sale.order"].flush_model(["state", "company_id", "partner_id", "date_order"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        conditions = [SQL("o.state = 'sale'"), SQL("l.display_type IS NULL"), SQL("l.is_downpayment IS NOT TRUE"),
                      SQL("l.reward_id IS NULL")]
        if "is_delivery" in Line._fields:
            conditions.append(SQL("l.is_delivery IS NOT TRUE"))
        if company:
            conditions.append(SQL("o.company_id = %s", company.id))
        if partner_ids is not None:
            conditions.append(SQL("p.commercial_partner_id = ANY(%s)", list(partner_ids)))
        return self.env.execute_query(SQL(
            """
            SELECT p.commercial_partner_id, pp.product_tmpl_id, (o.date_order::date - DATE '1970-01-01')
              FROM sale_order_line l
              JOIN sale_order o ON o.id = l.order_id
              JOIN res_partner p ON p.id = o.partner_id
              JOIN product_product pp ON pp.id = l.product_id
             WHERE %s
             GROUP BY 1, 2, 3
            """,
            SQL(" AND ").join(conditions),
        ))

    # ------------------------------------------------------------
    # RECOMMENDING
    # ------------------------------------------------------------

    @api.model
    def _recommend(self, company, requests, limit):
        """{key: up to ``limit`` products (``product.product``, best first)} for
        ``requests`` ({key: (commercial partner id, template ids of the order
        that triggered the email, or ())}): products the customer has not
        bought (nor has in that order), saleable and published: the admin's
        accessories and alternatives of the order's products (of what they
        bought before, without an order) first, then what the affinities of
        ``company`` rank first for their products (the order's and their
        latest ones weigh most), then the shop's best sellers, then products
        of the same shop categories (a shop without sales yet). A few queries
        for the whole batch."""
        if not requests or limit <= 0:
            return {key: self.env["product.product"] for key in requests}
        # the customers' purchases are read in SQL: the same right as reading their sales lines
        self.env["sale.order.line"].check_access("read")
        Template = self.env["product.template"]
        customers = {partner for partner, __ in requests.values()}
        purchases = recommend_lib.Purchases.from_rows(self._purchase_rows(partner_ids=customers))
        by_customer = recommend_lib.item_weights(purchases)
        weights, owned, stated = {}, {}, {}
        for key, (partner, trigger) in requests.items():
            mine = dict(by_customer.get(partner, {}))
            mine.update(dict.fromkeys(trigger, 1.0))
            weights[key], owned[key] = mine, set(mine)
            stated[key] = list(trigger) or sorted(mine, key=lambda item, mine=mine: -mine[item])
        # shop-wide derived data, read for the customer's own email whoever renders it (in SQL: a batch
        # reads thousands of rows, which the ORM would turn into records for nothing)
        self.flush_model()
        stored = self.env.execute_query(SQL(
            """
            SELECT product_tmpl_id, related_tmpl_id, score FROM smb_product_affinity
             WHERE company_id = %s AND (product_tmpl_id = ANY(%s) OR product_tmpl_id IS NULL)
             ORDER BY score DESC, id
            """, company.id, list({item for mine in weights.values() for item in mine})))
        affinities = recommend_lib.Affinities.from_rows(
            [row for row in stored if row[0]], popular=[related for item, related, __ in stored if not item])
        # the admin's stated intent: accessories and alternatives of the products the email is about
        bases = Template.browse({item for items in stated.values() for item in items})
        intent = {}
        for template in bases:
            intent[template.id] = template.accessory_product_ids | template.alternative_product_ids.product_variant_id
        candidates = (set(affinities.items.tolist()) | set(bases.accessory_product_ids.product_tmpl_id.ids)
                      | set(bases.alternative_product_ids.ids))
        allowed = set(Template.search([("id", "in", list(candidates)), *self._saleable_domain(company)]).ids)
        chosen = {}
        for key in requests:
            products = self.env["product.product"]
            for template_id in stated[key]:
                for product in intent.get(template_id, ()):
                    tmpl = product.product_tmpl_id.id
                    if tmpl in allowed and tmpl not in owned[key] and tmpl not in products.product_tmpl_id.ids:
                        products |= product
            chosen[key] = products[:limit]
        learned = recommend_lib.recommend(
            affinities, weights, {key: owned[key] | set(chosen[key].product_tmpl_id.ids) for key in requests},
            k=limit, allowed=allowed)
        # one recordset for every product named, so that their variants are read at once
        variant = {template.id: template.product_variant_id for template in Template.browse(
            {item for items in learned.values() for item in items})}
        result = {}
        by_categories = {}
        for key in requests:
            products = chosen[key].union(*(variant[item] for item in learned[key]))
            if len(products) < limit:
                # a shop without sales yet: products of the same shop categories
                categories = Template.browse(stated[key]).public_categ_ids
                if categories:
                    if categories not in by_categories:
                        by_categories[categories] = Template.search(
                            self._saleable_domain(company) + [("public_categ_ids", "in", categories.ids)],
                            limit=limit + 50)
                    taken = owned[key] | set(products.product_tmpl_id.ids)
                    products |= by_categories[categories].filtered(lambda t, taken=taken: t.id not in taken)[
                        :limit - len(products)].product_variant_id
            result[key] = products[:limit]
        return result

    @api.model
    def _saleable_domain(self, company):
        return [("sale_ok", "=", True), ("is_published", "=", True), ("company_id", "in", (False, company.id))]
