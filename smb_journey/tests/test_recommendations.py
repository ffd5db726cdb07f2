from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, freeze_time, new_test_user, tagged

from odoo.addons.mail.tests.common import MockEmail


@tagged("post_install", "-at_install")
class TestRecommendations(TransactionCase, MockEmail):
    """The nightly affinities and the products journey emails recommend, in a
    shop of its own: hand-computed scores with the library's defaults
    (decay 0.5, same order 0.5, bought before 0.1, shrinkage 10, beta 0.3)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shop = cls.env["res.company"].create({"name": "Camera Shop", "currency_id": cls.env.ref("base.USD").id})
        cls.env.user.company_ids |= cls.shop
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, allowed_company_ids=[cls.shop.id]))
        Template = cls.env["product.template"]
        cls.camera, cls.lens, cls.bag, cls.cup, cls.tripod, cls.strap, cls.hidden = Template.create([
            {"name": name, "type": "consu", "sale_ok": True, "is_published": published, "list_price": 10.0,
             "taxes_id": [Command.clear()]}
            for name, published in (("Camera", True), ("Lens", True), ("Camera Bag", True), ("Cup", True),
                                    ("Tripod", True), ("Strap", True), ("Prototype", False))
        ])
        cls.ann, cls.bob, cls.cid, cls.dan, cls.eve = cls.env["res.partner"].create([
            {"name": name, "email": f"{name.lower()}@example.com", "lang": "en_US"}
            for name in ("Ann", "Bob", "Cid", "Dan", "Eve")])
        # Ann and Bob: the camera, then the lens in their next order; Cid: the camera and the bag
        # together; Dan: a cup. Eve has bought nothing.
        cls.order(cls.ann, [cls.camera], "2026-01-05 10:00:00")
        cls.order(cls.ann, [cls.lens], "2026-02-01 10:00:00")
        cls.order(cls.bob, [cls.camera], "2026-01-10 10:00:00")
        cls.order(cls.bob, [cls.lens], "2026-03-01 10:00:00")
        cls.order(cls.cid, [cls.camera, cls.bag], "2026-02-10 10:00:00")
        cls.order(cls.dan, [cls.cup], "2026-02-15 10:00:00")

    @classmethod
    def order(cls, partner, templates, when, confirm=True):
        with freeze_time(when):
            order = cls.env["sale.order"].create({
                "partner_id": partner.id, "company_id": cls.shop.id,
                "order_line": [Command.create({"product_id": t.product_variant_id.id, "tax_ids": [Command.clear()]})
                               for t in templates],
            })
            if confirm:
                order.action_confirm()
        return order

    def run_cron(self):
        with self.enter_registry_test_mode():
            self.env.ref("smb_journey.ir_cron_product_affinity").method_direct_trigger()
        self.env.invalidate_all()
        return self.env["smb.product.affinity"].search([("company_id", "=", self.shop.id)])

    def rows(self, affinities):
        return {(row.product_tmpl_id, row.related_tmpl_id): (round(row.score, 4), row.customer_count)
                for row in affinities}

    def test_nightly_affinities_by_hand(self):
        rows = self.rows(self.run_cron())
        # 4 customers; buyers: camera 3, lens 2, bag 1, cup 1
        # camera -> lens: Ann and Bob bought it next (2): ((2 + 10 * 2/4) / (3 + 10)) / (2/4) ** 0.3
        self.assertEqual(rows[self.camera, self.lens], (round(7 / 13 / 0.5 ** 0.3, 4), 2))
        # camera -> bag: Cid, same order (0.5): ((0.5 + 10 * 1/4) / 13) / (1/4) ** 0.3
        self.assertEqual(rows[self.camera, self.bag], (round(3 / 13 / 0.25 ** 0.3, 4), 1))
        # lens -> camera: bought before by its 2 buyers (0.1 each): ((0.2 + 10 * 3/4) / 12) / (3/4) ** 0.3
        self.assertEqual(rows[self.lens, self.camera], (round(7.7 / 12 / 0.75 ** 0.3, 4), 2))
        # the best sellers, for every customer: share of customers who bought them
        self.assertEqual(rows[self.env["product.template"], self.camera], (0.75, 3))
        self.assertEqual(rows[self.env["product.template"], self.lens], (0.5, 2))
        # nothing with the cup: Dan bought nothing else
        self.assertFalse([key for key in rows if self.cup in key and key[0]])
        # the next night replaces the rows rather than adding to them
        self.assertEqual(len(self.run_cron()), len(rows))
        # the product form's list, for Journey Users: best first
        self.assertEqual(self.camera.smb_affinity_ids.related_tmpl_id[:2], self.lens | self.bag)

    def test_the_product_form_tells_a_product_bought_alone_from_a_shop_not_learnt_yet(self):
        self.assertFalse(self.cup.smb_affinity_learnt, "before the nightly job: nothing read yet")
        self.run_cron()
        self.assertFalse(self.cup.smb_affinity_ids)
        self.assertTrue(self.cup.smb_affinity_learnt, "read: the cup's buyer bought nothing else")
        other = self.env["res.company"].create({"name": "Other Camera Shop"})
        self.env.user.company_ids |= other
        self.assertFalse(self.cup.with_company(other).smb_affinity_learnt, "per company")

    def test_emails_recommend_accessories_then_affinities_then_best_sellers(self):
        self.run_cron()
        self.camera.accessory_product_ids = self.tripod.product_variant_id
        recommend = self.env["smb.product.affinity"]._recommend
        # Eve's cart holds a camera: the accessory the admin set, then what camera buyers bought
        self.assertEqual(recommend(self.shop, {1: (self.eve.id, self.camera.ids)}, 3)[1],
                         (self.tripod | self.lens | self.bag).product_variant_id)
        # Ann owns the camera and the lens: never them again; the tripod, the bag, then a best seller
        self.assertEqual(recommend(self.shop, {1: (self.ann.id, ())}, 3)[1],
                         (self.tripod | self.bag | self.cup).product_variant_id)
        # unpublished products are never recommended, products no longer sold neither
        self.bag.is_published = False
        self.lens.sale_ok = False
        self.assertEqual(recommend(self.shop, {1: (self.eve.id, self.camera.ids)}, 3)[1],
                         (self.tripod | self.cup).product_variant_id)
        # nothing bought: the best sellers
        self.assertEqual(recommend(self.shop, {1: (self.eve.id, ())}, 2)[1],
                         (self.camera | self.cup).product_variant_id)

    def test_latest_products_weigh_most(self):
        self.run_cron()
        # Dan buys a camera after his cup: what camera buyers bought comes first
        self.order(self.dan, [self.camera], "2026-03-10 10:00:00")
        self.assertEqual(
            self.env["smb.product.affinity"]._recommend(self.shop, {1: (self.dan.id, ())}, 2)[1],
            (self.lens | self.bag).product_variant_id)

    def test_a_shop_without_sales_recommends_its_categories(self):
        category = self.env["product.public.category"].create({"name": "Photo"})
        (self.camera | self.strap).public_categ_ids = category
        # no nightly run yet: no affinity, no best seller; the strap shares the camera's shop category
        self.assertEqual(
            self.env["smb.product.affinity"]._recommend(self.shop, {1: (self.eve.id, self.camera.ids)}, 3)[1],
            self.strap.product_variant_id)

    def test_journey_email_shows_the_recommendations_with_few_queries(self):
        self.lens.default_code = "LNS-50"
        self.run_cron()
        journey = self.env["smb.journey"].create({
            "name": "Ideas", "trigger": "manual", "step_ids": [Command.create({
                "name": "Ideas", "step_type": "email", "subject": "Ideas", "recommendation_count": 2,
                "body_html": '<p>Hi</p><p data-smb-for="product in recommendations">{{ product.name }}</p>'})],
        })
        journey.action_start()
        step = journey.step_ids
        enrollments = journey.enroll(self.ann | self.bob | self.cid | self.dan | self.eve)
        # a batch costs the same few queries whatever its size
        counts = []
        for batch in (enrollments[:2], enrollments):
            self.env.invalidate_all()
            start = self.env.cr.sql_log_count
            self.assertEqual(len(batch._recommended_products(2)), len(batch))
            counts.append(self.env.cr.sql_log_count - start)
        self.assertEqual(counts[0], counts[1])
        self.assertLessEqual(counts[1], 15)
        with self.mock_mail_gateway(), self.enter_registry_test_mode():
            self.env.ref("smb_journey.ir_cron_journey_engine").method_direct_trigger()
        self.env.invalidate_all()
        mails = self.env["mail.mail"].search([("mailing_id", "=", step.mailing_id.id)])
        self.assertEqual(len(mails), 5)

        def body(partner):
            return next(mail.body_html for mail in mails if partner.email in (mail.email_to or mail.recipient_ids.email))

        # Dan bought a cup: the best sellers he does not own
        self.assertIn("Camera", body(self.dan))
        self.assertIn("Lens", body(self.dan))
        self.assertNotIn("LNS-50", body(self.dan), "named as in the shop: the internal reference is for the staff")
        # Cid bought the camera and the bag: the lens that camera buyers buy next
        self.assertIn("Lens", body(self.cid))
        self.assertNotIn("Camera Bag", body(self.cid))

    def test_access(self):
        self.run_cron()
        user = new_test_user(self.env, "journey_user", groups="smb_journey.group_journey_user",
                             company_id=self.shop.id, company_ids=[Command.set(self.shop.ids)])
        self.assertTrue(self.camera.with_user(user).smb_affinity_ids)
        with self.assertRaises(AccessError):
            self.env["smb.product.affinity"].with_user(user).compute_affinities(self.shop)
        salesman = new_test_user(self.env, "salesman", groups="sales_team.group_sale_salesman",
                                 company_id=self.shop.id, company_ids=[Command.set(self.shop.ids)])
        with self.assertRaises(AccessError):
            self.env["smb.product.affinity"].with_user(salesman).search([])
        # the product form's Sales tab shows the list to Journey Users only
        for who, shown in ((user, True), (salesman, False)):
            arch = self.env["product.template"].with_user(who).get_views([(False, "form")])["views"]["form"]["arch"]
            self.assertEqual("smb_affinity_ids" in arch, shown)
