from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import format_date, formatLang

from odoo.addons.smb_journey.lib import sandbox
from odoo.addons.smb_journey.tools.registry import Provider


class SmbJourneyStep(models.Model):
    """What a message template can read: named providers (``customer``,
    ``order``, ``lead``, ``tier``...), each declared once in
    ``_context_providers()`` with a builder ``_context_<name>`` and a sample
    ``_sample_<name>``. A render builds only the names its template uses; the
    save check gives None for a name this journey never fills (an order in a
    welcome email), so an unguarded use is refused when the email is saved."""

    _inherit = "smb.journey.step"

    coupon_program_id = fields.Many2one(
        "loyalty.program", "Coupon Program", check_company=True,
        domain="[('program_type', 'in', ('coupons', 'promo_code', 'gift_card', 'next_order_coupons'))]",
        help="A personal coupon of this program is generated for each customer and given "
        "to the email as {{ coupon.code }}.",
    )
    recommendation_count = fields.Integer(
        "Recommended Products", default=3,
        help="How many related products the email gets as {{ recommendations }}.",
    )
    placeholders_html = fields.Html(
        "Placeholders", compute="_compute_placeholders_html", sanitize=False,
        help="The names this step's templates may use, from the providers' declarations.")

    @api.depends("journey_id.trigger", "coupon_source_program_id")
    def _compute_placeholders_html(self):
        providers = self._context_providers()
        for step in self:
            available = step._available_names() if step.journey_id else set()
            rows = Markup()
            for name, provider in providers.items():
                if provider.many:
                    names = Markup("<code>%s</code> %s ") % (name, self.env._("(a list), each with")) + Markup(
                        ", ").join(Markup("<code>%s</code>") % f for f in provider.fields)
                else:
                    names = Markup(", ").join(
                        Markup("<code>%s</code>") % (f"{name}.{f}" if f else name) for f in (provider.fields or ("",)))
                note = Markup("") if name in available else Markup(' <span class="text-muted">(%s)</span>') % (
                    self.env._("not in this journey: use it inside data-smb-if=\"%s\"", name))
                rows += Markup("<tr><td>%s</td><td>%s%s</td></tr>") % (names, provider.label, note)
            step.placeholders_html = Markup(
                '<table class="table table-sm o_smb_journey_placeholders"><thead><tr><th>%s</th><th>%s</th></tr>'
                "</thead><tbody>%s</tbody></table>") % (self.env._("Placeholder"), self.env._("Value"), rows)

    @api.model
    def _diagram_depends(self):
        return super()._diagram_depends() + ["coupon_program_id"]

    def _diagram_badges(self):
        badges = super()._diagram_badges()
        if self.coupon_program_id:
            badges.append(("fa-ticket", self.env._("Includes a personal coupon")))
        return badges

    @api.model
    def _context_providers(self):
        """{name: Provider}: the names templates read. Extend with super()."""
        _ = self.env._
        order_labels = {
            "name": _("Reference"), "date": _("Date"), "url": _("Link"), "review_url": _("Review link"),
            "line_count": _("Number of lines"), "amount_untaxed": _("Untaxed amount"), "amount_tax": _("Taxes"),
            "amount_total": _("Total"),
            "lines": {
                "name": _("Product"), "description": _("Description"), "quantity": _("Quantity"),
                "price_unit": _("Unit price"), "subtotal": _("Subtotal"), "total": _("Total"),
                "image_url": _("Product image"), "product_url": _("Product link"),
            },
        }
        return {
            "customer": Provider(_("The customer"), always=True, fields=(
                "name", "first_name", "email", "city", "country", "company_name"), labels={
                "name": _("Name"), "first_name": _("First name"), "email": _("Email"), "city": _("City"),
                "country": _("Country"), "company_name": _("Company name")}),
            "company": Provider(_("Your company"), always=True, fields=(
                "name", "email", "phone", "website", "logo_url", "address"), labels={
                "name": _("Name"), "email": _("Email"), "phone": _("Phone"), "website": _("Website"),
                "logo_url": _("Logo"), "address": _("Address")}),
            "shop_url": Provider(_("The shop's address"), always=True),
            "unsubscribe_url": Provider(_("The customer's unsubscribe link"), always=True),
            "view_url": Provider(_("The email in a browser"), always=True),
            "order": Provider(_(
                "The triggering order; each of its lines has name, description, quantity, price_unit, subtotal, "
                "total, image_url, product_url"), fields=(
                "name", "date", "url", "review_url", "lines", "line_count", "amount_untaxed", "amount_tax",
                "amount_total"), labels=order_labels),
            "cart": Provider(_("The abandoned cart: the order's values, its url reopens the cart"), fields=(
                "name", "date", "url", "review_url", "lines", "line_count", "amount_untaxed", "amount_tax",
                "amount_total"), labels=order_labels),
            "coupon": Provider(_(
                "A personal coupon of the step's program, or the one a coupon step gave the customer before"),
                requires="coupon_source_program_id",
                               fields=("code", "description", "expires"), labels={
                "code": _("Code"), "description": _("Reward"), "expires": _("Expiration date")}),
            "tier": Provider(_("The customer's loyalty tier"), always=True, fields=(
                "name", "benefits", "since", "spend", "order_count", "grace_until", "next_name", "to_next",
                "orders_to_next", "reward_code", "reward_description", "reward_expires"), labels={
                "name": _("Tier"), "benefits": _("Benefits"), "since": _("Member since"), "spend": _("Spend"),
                "order_count": _("Orders"), "grace_until": _("Kept until"), "next_name": _("Next tier"),
                "to_next": _("Spend to the next tier"), "orders_to_next": _("Orders to the next tier"),
                "reward_code": _("Reward code"), "reward_description": _("Reward"),
                "reward_expires": _("Reward expiration")}),
            "recommendations": Provider(_(
                "Products the customer has not bought, related to the order or to what they bought; "
                "e.g. data-smb-for=\"product in recommendations\""), always=True, many=True, fields=(
                "name", "price", "url", "image_url"), labels={
                "name": _("Product"), "price": _("Price"), "url": _("Product link"), "image_url": _("Product image")}),
        }

    def _available_names(self):
        """The provider names this step's renders fill."""
        self.ensure_one()
        provided = set(self.journey_id._trigger().context)
        return {
            name for name, provider in self._context_providers().items()
            if provider.always or name in provided or (provider.requires and self[provider.requires])
        }

    def _referenced_names(self):
        """Context names the step's templates use in any language, so costly
        ones are computed only when shown."""
        names = set()
        for lang, __ in self.env["res.lang"].get_installed():
            step = self.with_context(lang=lang)
            for source in step._template_sources():
                try:
                    names |= sandbox.referenced_names(source)
                except sandbox.TemplateError:
                    continue  # reported when the email is rendered
        return names


    def _sample_context(self):
        """What a render of this step can read, with sample values: every
        provider's name, None for what this journey never fills, so a save
        check refuses an unguarded use."""
        self.ensure_one()
        available = self._available_names()
        return {
            name: getattr(self, f"_sample_{name}")() if name in available else None
            for name in self._context_providers()
        }

    def _prepare_render_contexts(self, enrollments):
        """Curated plain-data context per enrollment: only values, never
        records, and only the names the step's templates use."""
        self.ensure_one()
        used = self._referenced_names()
        available = self._available_names()
        langs = enrollments._render_langs()
        envs = {lang: self.with_context(lang=lang).env for lang in set(langs.values())}
        values = {}
        for name in self._context_providers():
            if name in available and (name in used or name == "customer"):
                try:
                    values[name] = getattr(self, f"_context_{name}")(
                        enrollments, {e.id: envs[langs[e.id]] for e in enrollments})
                except AccessError:
                    if not self.env.context.get("smb_journey_preview"):
                        raise
                    # a preview by a user who may not read these (sales lines for the
                    # recommendations): the sample shows where the values go
                    values[name] = {}
        return {
            enrollment.id: {
                name: (values[name].get(enrollment.id) if name in values else None)
                for name in self._context_providers()
            }
            for enrollment in enrollments
        }

    # ------------------------------------------------------------
    # PROVIDERS: _context_<name>(enrollments, envs) -> {enrollment id: value}
    # (envs: {enrollment id: env in the customer's language}); _sample_<name>()
    # ------------------------------------------------------------

    def _base_url(self):
        return self.journey_id.get_base_url()

    def _context_customer(self, enrollments, envs):
        result = {}
        for enrollment in enrollments:
            partner = enrollment.partner_id
            result[enrollment.id] = {
                "name": partner.name or "",
                "first_name": (partner.name or "").split(" ")[0] if not partner.is_company else partner.name,
                "email": partner.email or "",
                "city": partner.city or "",
                "country": partner.country_id.name or "",
                "company_name": partner.commercial_company_name or "",
            }
        return result

    def _sample_customer(self):
        _ = self.env._
        return {"name": "Ann Smith", "first_name": "Ann", "email": "ann@example.com", "city": _("Brussels"),
                "country": _("Belgium"), "company_name": ""}

    def _context_company(self, enrollments, envs):
        # the same for every customer of the step (the render only reads it)
        value = _company_context(self.journey_id.company_id, self._base_url())
        return dict.fromkeys(enrollments.ids, value)

    def _sample_company(self):
        return _company_context(self.journey_id.company_id, self._base_url())

    def _context_shop_url(self, enrollments, envs):
        return dict.fromkeys(enrollments.ids, _links_context(self._base_url())["shop_url"])

    def _sample_shop_url(self):
        return _links_context(self._base_url())["shop_url"]

    # mass_mailing turns these two into the recipient's own links when the email leaves
    def _context_unsubscribe_url(self, enrollments, envs):
        return dict.fromkeys(enrollments.ids, self._sample_unsubscribe_url())

    def _sample_unsubscribe_url(self):
        return _links_context(self._base_url())["unsubscribe_url"]

    def _context_view_url(self, enrollments, envs):
        return dict.fromkeys(enrollments.ids, self._sample_view_url())

    def _sample_view_url(self):
        return _links_context(self._base_url())["view_url"]

    def _context_order(self, enrollments, envs, cart=False):
        base_url = self._base_url()
        if not self.env.context.get("smb_journey_preview"):
            for order in enrollments.order_id.filtered(lambda o: not o.access_token):
                order._portal_ensure_token()
        return {
            e.id: _order_context(envs[e.id], e.order_id, base_url, cart=cart)
            for e in enrollments if e.order_id
        }

    def _sample_order(self):
        env, base_url = self.env, self._base_url()
        company = self.journey_id.company_id
        _ = env._

        def money(amount):
            return _money(env, amount, company.currency_id)

        line = {
            "name": _("Espresso Cup"), "description": _("Espresso Cup, white"), "quantity": "2",
            "price_unit": money(12.0), "subtotal": money(24.0), "total": money(27.6),
            "image_url": f"{base_url}/web/static/img/placeholder.png", "product_url": f"{base_url}/shop",
        }
        return {
            "name": "S00042", "date": format_date(env, fields.Date.today()), "url": f"{base_url}/my/orders",
            "review_url": f"{base_url}/my/orders", "lines": [line], "line_count": 1,
            "amount_untaxed": money(24.0), "amount_tax": money(3.6), "amount_total": money(27.6),
        }

    def _context_cart(self, enrollments, envs):
        # the cart link opens the cart itself when the journey is about abandoned carts
        return self._context_order(enrollments, envs, cart=self.journey_id.trigger == "cart_abandoned")

    _sample_cart = _sample_order

    def _context_coupon(self, enrollments, envs):
        if self.env.context.get("smb_journey_preview"):
            # a preview or a test email issues no coupon: a sample code shows where it goes
            return dict.fromkeys(enrollments.ids, self._sample_coupon())
        return self._issue_coupons(enrollments)

    def _sample_coupon(self):
        return _sample_coupon(self.coupon_source_program_id)

    def _context_tier(self, enrollments, envs):
        # sudo: the tier values are read for the customer's own email
        return self.env["smb.loyalty.tier"].sudo()._render_contexts(enrollments, self.journey_id.company_id)

    def _sample_tier(self):
        env = self.env
        money = lambda amount: _money(env, amount, self.journey_id.company_id.currency_id)  # noqa: E731
        _ = env._
        return {
            "name": _("Gold"), "benefits": "", "since": format_date(env, fields.Date.today()),
            "spend": money(1500.0), "order_count": 3,
            "grace_until": "", "next_name": "", "to_next": "", "orders_to_next": 0,
            "reward_code": _("GOLD-SAMPLE"), "reward_description": _("15% off"), "reward_expires": "",
        }

    def _context_recommendations(self, enrollments, envs):
        if not self.recommendation_count:
            return {e.id: [] for e in enrollments}
        base_url = self._base_url()
        products = enrollments._recommended_products(self.recommendation_count)
        return {
            e.id: [_product_context(envs[e.id], product, base_url) for product in products.get(e.id, [])]
            for e in enrollments
        }

    def _sample_recommendations(self):
        base_url = self._base_url()
        return [{
            "name": self.env._("Teapot"), "price": _money(self.env, 30.0, self.journey_id.company_id.currency_id),
            "url": f"{base_url}/shop", "image_url": f"{base_url}/web/static/img/placeholder.png",
        }]

    def _issue_coupons(self, enrollments):
        """One personal coupon of the step's program per enrollment, through
        Odoo's loyalty machinery: {enrollment id: its template value}."""
        return self._coupon_values(enrollments, self._issue_coupon_cards(enrollments))

    def _issue_coupon_cards(self, enrollments):
        """The ``loyalty.card`` of each enrollment (in their order): one
        batched create of personal coupons of the step's program."""
        program = self.coupon_program_id.sudo()  # sudo: issuing a coupon is part of the step
        return self.env["loyalty.card"].sudo().create([{
            "program_id": program.id,
            "partner_id": enrollment.partner_id.id,
            "points": 1 if program.program_type != "gift_card" else 0,
        } for enrollment in enrollments])

    def _coupon_values(self, enrollments, cards):
        """{enrollment id: the template value of its card} (``cards`` in the
        enrollments' order; an empty card gives no value)."""
        result = {}
        langs = enrollments._render_langs()
        for enrollment, card in zip(enrollments, cards):
            if not card:
                continue
            env = self.with_context(lang=langs[enrollment.id]).env
            card = card.with_env(env).sudo()  # sudo: the customer's own coupon, for their email
            result[enrollment.id] = {
                "code": card.code,
                "description": card.program_id.reward_ids[:1].description or card.program_id.name,
                "expires": format_date(env, card.expiration_date) if card.expiration_date else "",
            }
        return result




def _company_context(company, base_url):
    return {
        "name": company.name,
        "email": company.email or "",
        "phone": company.phone or "",
        "website": company.website or base_url,
        "logo_url": f"{base_url}/logo.png?company={company.id}",
        "address": ", ".join(filter(None, [company.street, company.zip, company.city, company.country_id.name])),
    }


def _links_context(base_url):
    # mass_mailing turns the last two into the recipient's own links when the email leaves
    return {
        "shop_url": f"{base_url}/shop",
        "unsubscribe_url": f"{base_url}/unsubscribe_from_list",
        "view_url": f"{base_url}/view",
    }


def _sample_coupon(program):
    return {
        "code": program.env._("SAMPLE-CODE"),
        "description": program.reward_ids[:1].description or program.name,
        "expires": "",
    }


def _money(env, amount, currency):
    return formatLang(env, amount, currency_obj=currency)


def _product_context(env, product, base_url):
    product = product.with_env(env)
    return {
        # as the shop names it: the internal reference ([FURN_7777]) is for the staff
        "name": product.with_context(display_default_code=False).display_name,
        "price": _money(env, product.list_price, product.currency_id),
        "url": f"{base_url}{product.website_url or '/shop'}",
        "image_url": f"{base_url}/web/image/product.product/{product.id}/image_256",
    }


def _order_context(env, order, base_url, cart=False):
    order = order.with_env(env)
    # a preview reads without writing: an order without a token yet links to the portal page
    portal_url = order.get_portal_url() if order.access_token else order.access_url
    url = (
        f"{base_url}/shop/cart?id={order.id}" + (f"&access_token={order.access_token}" if order.access_token else "")
        if cart else f"{base_url}{portal_url}"
    )
    lines = []
    for line in order.order_line.filtered(lambda l: not l.display_type and l.product_id):
        lines.append({
            "name": line.product_id.display_name,
            "description": line.name or "",
            "quantity": formatLang(env, line.product_uom_qty, digits=0 if line.product_uom_qty.is_integer() else 2),
            "price_unit": _money(env, line.price_unit, order.currency_id),
            "subtotal": _money(env, line.price_subtotal, order.currency_id),
            "total": _money(env, line.price_total, order.currency_id),
            "image_url": f"{base_url}/web/image/product.product/{line.product_id.id}/image_128",
            "product_url": f"{base_url}{line.product_id.website_url or '/shop'}",
        })
    return {
        "name": order.name,
        "date": format_date(env, order.date_order),
        "url": url,
        "review_url": f"{base_url}{portal_url}#discussion",
        "lines": lines,
        "line_count": len(lines),
        "amount_untaxed": _money(env, order.amount_untaxed, order.currency_id),
        "amount_tax": _money(env, order.amount_tax, order.currency_id),
        "amount_total": _money(env, order.amount_total, order.currency_id),
    }
