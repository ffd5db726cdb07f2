import itertools

from lxml import html as lxml_html

from odoo.exceptions import AccessError
from odoo.tests import Form, HttpCase, new_test_user, tagged

from odoo.addons.smb_journey.lib import email_arch, sandbox

from .common import JourneyCase


def snippet(env, name):
    """A journey block as the editor drops it."""
    return env["ir.qweb"]._render(f"smb_journey.{name}", {})


def text(body):
    return " ".join(lxml_html.fromstring(f"<div>{body}</div>").text_content().split())


@tagged("post_install", "-at_install")
class TestEmailEditor(JourneyCase):
    """Journey emails edited in Email Marketing's editor: blocks and
    placeholders show samples while edited and render the customer's values."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cart_journey = cls.env.ref("smb_journey.journey_abandoned_cart")
        cls.cart_step = cls.env.ref("smb_journey.journey_abandoned_cart_step_email_1")
        cls.order_journey = cls.env["smb.journey"].create({"name": "Thanks", "trigger": "order_confirmed"})
        cls.coupons = cls.env.ref("smb_journey.loyalty_program_cart_recovery")
        cls.keys = itertools.count()

    def render_for(self, step, enrollment_vals):
        enrollment = self.env["smb.journey.enrollment"].create(dict({
            "journey_id": step.journey_id.id, "partner_id": self.customer.id,
            "company_id": step.journey_id.company_id.id, "entry_key": f"test-{next(self.keys)}",
        }, **enrollment_vals))
        context = step.with_context(smb_journey_preview=True)._prepare_render_contexts(enrollment)[enrollment.id]
        return sandbox.render(step.body_html, context)

    def test_cart_and_order_blocks_repeat_their_lines(self):
        teapot = self.env["product.product"].create({"name": "Teapot", "list_price": 30.0, "type": "consu"})
        order = self.make_order(self.customer, qty=3)
        order.order_line = [(0, 0, {"product_id": teapot.id, "product_uom_qty": 1})]
        for journey, block, url in ((self.cart_journey, "s_smb_cart_lines", "/shop/cart?id="),
                                    (self.order_journey, "s_smb_order_lines", "/my/orders/")):
            step = self.env["smb.journey.step"].create({
                "journey_id": journey.id, "name": "Lines", "step_type": "email", "subject": "Your order",
                "body_html": snippet(self.env, block)})
            body = self.render_for(step, {"order_id": order.id})
            self.assertIn("Espresso Cup", body)
            self.assertIn("Teapot", body, "one row per line: the loop needs no code view")
            self.assertEqual(body.count(f"/web/image/product.product/{teapot.id}/image_128"), 1)
            self.assertIn(f"/web/image/product.product/{self.product.id}/image_128", body,
                          "the image's data-smb-src became its src")
            self.assertIn(url, body, "the button's data-smb-href became its href")
            self.assertNotIn("data-smb-", body)
            self.assertNotIn("placeholder.png", body, "the editor's sample image is not sent")
            self.assertNotIn("o_smb_placeholder", body)
            self.assertIn(order.amount_total and "Total", body)
            self.assertNotIn("{{", body)

    def test_placeholders_show_samples_in_the_editor_and_values_when_sent(self):
        arch = snippet(self.env, "s_smb_greeting")
        self.assertIn('data-smb-out="customer.first_name"', arch)
        self.assertNotIn("{{", arch, "the editor shows no template code")
        body = sandbox.render(arch, {"customer": {"first_name": "Bob"}, "company": {"name": "Tea & Co"}})
        self.assertEqual(text(body), "Hi Bob, Thank you for being a customer of Tea & Co.")
        # an unknown or broken expression is refused when saved, with its name
        with self.assertRefused("custmer"):
            self.step_hello.body_html = '<p><span data-smb-out="custmer.first_name">Ann</span></p>'
        with self.assertRefused("Invalid placeholder"):
            self.step_hello.body_html = '<p><a href="/" data-smb-href="x }}{{ y">x</a></p>'

    def test_blocks_the_journey_cannot_fill_show_nothing(self):
        welcome = self.env["smb.journey.step"].create({
            "journey_id": self.journey.id, "name": "Blocks", "step_type": "email", "subject": "Hi",
            "body_html": snippet(self.env, "s_smb_greeting") + snippet(self.env, "s_smb_cart_lines")
            + snippet(self.env, "s_smb_coupon") + snippet(self.env, "s_smb_tier"),
        })
        body = self.render_for(welcome, {})
        self.assertIn("Ann", body)
        self.assertNotIn("Your cart", body, "no cart in a welcome journey: the guarded block is left out")
        self.assertNotIn("Your personal code", body)

    def test_new_email_step_starts_from_the_journey_template(self):
        with Form(self.env["smb.journey.step"].with_context(default_journey_id=self.journey.id)) as form:
            form.name = "New email"
            form.subject = "Hello"
            self.assertIn("o_journey_theme", form.body_arch)
        step = form.record
        self.assertIn('data-smb-out="customer.first_name"', step.body_html)
        self.assertEqual(text(self.render_for(step, {}))[:9], "Hi Ann, T")
        self.assertIn("unsubscribe_from_list", self.render_for(step, {}), "the template has its unsubscribe link")
        # other types get no body; created by code, an email without a body gets none either
        wait = self.env["smb.journey.step"].create({
            "journey_id": self.journey.id, "name": "Wait", "step_type": "wait", "wait_amount": 1})
        self.assertFalse(wait.body_html)

    def test_older_emails_open_in_the_editor_and_render_the_same(self):
        """Shipped emails were written with {{ }} in text and attributes: their
        editor arch shows samples, and renders what the email renders."""
        steps = self.env["smb.journey.step"].search([("step_type", "=", "email"), ("journey_id.trigger", "!=", False)])
        shipped = steps.filtered(lambda s: s.get_external_id()[s.id].startswith("smb_journey."))
        self.assertGreater(len(shipped), 10)
        for step in shipped:
            self.assertIn("o_journey_theme", step.body_arch, step.name)
            self.assertNotIn("{{ customer.first_name }}", step.body_arch, step.name)
            self.assertNotIn('src="{{', step.body_arch, step.name)
            sample = step._sample_context()
            self.assertEqual(text(sandbox.render(step.body_arch, sample)), text(sandbox.render(step.body_html, sample)),
                             step.name)
        cart_arch = self.cart_step.body_arch
        self.assertIn('data-smb-src="line.image_url"', cart_arch)
        self.assertIn(email_arch.SAMPLE_IMAGE, cart_arch, "a sample image instead of a broken one")
        self.assertIn('data-smb-href="cart.url"', cart_arch)
        # what the editor writes replaces the arch; a body written alone keeps its arch
        self.cart_step.write({"body_arch": "<div class='o_layout'><p>New</p></div>", "body_html": "<p>New</p>"})
        self.assertEqual(self.cart_step.body_arch, '<div class="o_layout"><p>New</p></div>')

    def test_placeholder_list_follows_the_trigger(self):
        Step = self.env["smb.journey.step"]

        def exprs(placeholders):
            return {item["expr"] for group in placeholders["groups"] for item in group["items"]}

        welcome = Step.get_email_placeholders(self.journey.id)
        self.assertTrue({"customer.first_name", "customer.name", "tier.name", "company.name",
                         "unsubscribe_url"} <= exprs(welcome))
        self.assertFalse({"cart.amount_total", "order.name", "coupon.code", "lead.name"} & exprs(welcome))
        first_name = next(item for group in welcome["groups"] for item in group["items"]
                          if item["expr"] == "customer.first_name")
        self.assertEqual((first_name["label"], first_name["sample"]), ("First name", "Ann"))
        self.assertEqual({loop["expr"]: loop["var"] for loop in welcome["loops"]}, {"recommendations": "product"})

        cart = Step.get_email_placeholders(self.cart_journey.id, self.coupons.id)
        self.assertTrue({"cart.amount_total", "order.name", "coupon.code"} <= exprs(cart))
        lines = next(loop for loop in cart["loops"] if loop["expr"] == "cart.lines")
        self.assertIn({"expr": "line.name", "label": "Product", "sample": "Espresso Cup", "kind": "text"},
                      lines["items"])
        self.assertIn("cart.url", {i["expr"] for i in exprs_items(cart) if i["kind"] == "url"})

        lead_journey = self.env["smb.journey"].create({"name": "Leads", "trigger": "lead_created"})
        self.assertIn("lead.name", exprs(Step.get_email_placeholders(lead_journey.id)))
        tier_names = {i["expr"] for i in exprs_items(Step.get_email_placeholders(self.journey.id))
                      if i["expr"].startswith("tier.")}
        self.assertIn("tier.to_next", tier_names)

    def test_preview_renders_for_a_recent_customer_having_the_trigger_record(self):
        other = self.env["res.partner"].create({"name": "Bob Stone", "email": "bob@example.com"})
        self.make_order(self.customer)
        cart = self.make_order(other, qty=5)
        step = self.cart_step
        step.invalidate_recordset()
        self.assertEqual(step.email_preview_partner_id, other, "the latest cart's customer")
        self.assertFalse(step.email_preview_error)
        self.assertIn("Bob, you left something", step.email_preview_subject)
        self.assertIn("Hi Bob,", step.email_preview_html)
        self.assertIn(f"/shop/cart?id={cart.id}", step.email_preview_html)
        self.assertNotIn("{{", step.email_preview_html)
        # the dialog starts with the same customer, and renders for another one
        action = step.action_email_preview_other()
        preview = Form(self.env[action["res_model"]].with_context(action["context"])).save()
        self.assertEqual(preview.partner_id, other)
        preview.partner_id = self.customer
        self.assertIn("Hi Ann,", preview.body_html)

    def test_preview_does_not_read_what_the_user_cannot(self):
        other_company = self.env["res.company"].create({"name": "Other shop"})
        hidden = self.env["res.partner"].create({
            "name": "Hidden Customer", "email": "hidden@example.com", "company_id": other_company.id})
        manager = new_test_user(self.env, "journey_previewer", groups="smb_journey.group_journey_manager",
                                company_id=self.env.company.id, company_ids=self.env.company.ids)
        step = self.cart_step.with_user(manager)
        with self.assertRaises(AccessError):
            step._render_preview(hidden.with_user(manager))
        preview = self.env["smb.journey.step.preview"].with_user(manager).create({
            "step_id": step.id, "partner_id": hidden.id})
        self.assertFalse(preview.body_html)
        self.assertIn("not allowed", preview.error)
        # the default customer is one they can see, never the hidden one's cart
        self.make_order(hidden, company_id=other_company.id, website=False)
        self.assertNotEqual(step._preview_default_partner(), hidden)
        # without Sales rights, the cart and the recommendations (read from sales lines) show samples
        self.make_order(self.customer)
        self.cart_step.write({"recommendation_count": 3, "body_html": snippet(self.env, "s_smb_cart_lines")
                              + snippet(self.env, "s_smb_recommendations")})
        self.assertFalse(self.env["sale.order.line"].with_user(manager).has_access("read"))
        step.invalidate_recordset()
        self.assertFalse(step.email_preview_error)
        self.assertIn("Espresso Cup", step.email_preview_html, "the sample cart")
        self.assertIn("Teapot", step.email_preview_html, "the sample recommendation")

    def test_broken_template_preview_shows_a_readable_error(self):
        step = self.step_hello
        # a value that breaks only for some customers (a division by zero) passes the save check
        step.body_html = "<p>{{ 1 // (customer.name | length - 5) }}</p>"
        bobby = self.env["res.partner"].create({"name": "Bobby", "email": "bobby@example.com"})
        self.journey.action_start()
        self.journey.enroll(bobby)
        step.invalidate_recordset()
        self.assertEqual(step.email_preview_partner_id, bobby)
        self.assertFalse(step.email_preview_html)
        self.assertTrue(step.email_preview_error)
        self.assertNotIn("Traceback", step.email_preview_error)
        preview = self.env["smb.journey.step.preview"].create({"step_id": step.id, "partner_id": bobby.id})
        self.assertEqual(preview.error, step.email_preview_error)
        self.assertIn("division", preview.error)


def exprs_items(placeholders):
    return [item for group in placeholders["groups"] for item in group["items"]]


@tagged("post_install", "-at_install")
class TestEmailEditorUi(HttpCase):

    def test_admin_edits_a_journey_email_with_blocks_and_placeholders(self):
        step = self.env.ref("smb_journey.journey_abandoned_cart_step_email_1")
        customer = self.env["res.partner"].create({"name": "Tour Reader", "email": "reader@example.com"})
        product = self.env["product.product"].create({"name": "Tour teapot", "type": "consu", "list_price": 30})
        self.env["sale.order"].create({
            "partner_id": customer.id, "order_line": [(0, 0, {"product_id": product.id})]})
        self.start_tour(f"/odoo/action-smb_journey.smb_journey_step_action/{step.id}", "smb_journey_email_editor_tour",
                        login="admin")
        self.assertIn("s_smb_greeting", step.body_arch)
        self.assertIn('data-smb-out="tier.name"', step.body_html, "the inline body is written with the arch")
        self.assertIn("Tour", step.email_preview_html)
