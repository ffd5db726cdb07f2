from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError

CATEGORIES = [
    ("welcome", "Welcome"),
    ("recovery", "Cart and browse recovery"),
    ("post_purchase", "After the purchase"),
    ("retention", "Retention and win-back"),
    ("loyalty", "Loyalty"),
    ("sales", "Sales"),
    ("experiment", "Experiments"),
    ("custom", "Saved from your journeys"),
]


class SmbJourneyTemplate(models.Model):
    """A starting point in the template gallery (Journeys > New from Template):
    a one-line description, the benefit a shop can expect, and what it copies,
    either a journey (a shipped one, or any journey saved as a template: the
    journey as it is when the template is used) or a builder, a method
    ``_build_<builder>()`` that returns the journey to create as a spec (see
    ``_create_from_spec``). Using a template creates a draft journey the admin
    reviews and starts; the template and its source are left unchanged.

    Companies: a template copying a journey belongs to that journey's company
    (the journey's steps point to the company's coupons, tiers, websites); a
    builder's template is shared by every company and builds the journey in
    the company the user works in."""

    _name = "smb.journey.template"
    _description = "Journey Template"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10)
    description = fields.Char(
        "One-Line Description", required=True, translate=True, help="What the journey does, in one line.")
    benefit = fields.Char(
        "Expected Benefit", translate=True, help="What the shop can expect from it, in one line.")
    category = fields.Selection(CATEGORIES, required=True, default="welcome")
    icon = fields.Char(default="fa-magic", help="Font Awesome icon of the gallery card, e.g. fa-shopping-cart.")
    source_journey_id = fields.Many2one(
        "smb.journey", "Copies Journey", ondelete="cascade", index="btree_not_null",
        help="Using the template copies this journey as it is then, with its steps and emails, in draft.")
    builder = fields.Char(
        help="Technical: the template builds its journey with the method _build_<builder> (when it copies "
        "no journey).")
    company_id = fields.Many2one(
        "res.company", compute="_compute_company_id", store=True, index=True,
        help="The company of the journey it copies; empty: every company (a builder's template).")
    trigger_label = fields.Char("Trigger", compute="_compute_summary")
    trigger_icon = fields.Char(compute="_compute_summary")
    step_count = fields.Integer("Steps", compute="_compute_summary")

    _source_or_builder = models.Constraint(
        "CHECK (source_journey_id IS NOT NULL OR builder IS NOT NULL)",
        "A journey template copies a journey or has a builder.",
    )

    @api.depends("source_journey_id.company_id")
    def _compute_company_id(self):
        for template in self:
            template.company_id = template.source_journey_id.company_id

    @api.depends("source_journey_id", "builder")
    def _compute_summary(self):
        Journey = self.env["smb.journey"]
        triggers = Journey._trigger_types()
        for template in self:
            if template.source_journey_id:
                # sudo: the summary of a template the user may read, whoever wrote its journey's steps
                source = template.source_journey_id.sudo()
                trigger, step_count = source.trigger, len(source.step_ids)
            else:
                spec = template._spec()
                trigger, step_count = spec["journey"].get("trigger"), _count_steps(spec["steps"])
            declaration = triggers.get(trigger)
            template.trigger_label = declaration.label if declaration else trigger
            template.trigger_icon = declaration.icon if declaration else "fa-bolt"
            template.step_count = step_count

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_use(self):
        """Create the template's journey in draft and open it."""
        self.ensure_one()
        self.env["smb.journey"].check_access("create")
        company = self.source_journey_id.company_id or self.env.company
        if not (company.smb_journey_email_from or company.email_formatted or self.env.user.email_formatted):
            raise UserError(self.env._(
                "Journey emails need a sender: set the email address of %(company)s, or the Sender in "
                "Settings › Journeys, then use the template again.", company=company.name))
        if self.source_journey_id:
            journey = self.source_journey_id._copy_journey({
                "name": self.name, "active": True, "user_id": self.env["smb.journey"]._default_user_id().id})
        else:
            journey = self._create_from_spec(self._spec())
        journey.message_post(body=self.env._(
            "Created from the template %(template)s, in draft: review its emails, then start it.",
            template=self.name))
        return {
            "type": "ir.actions.act_window",
            "res_model": "smb.journey",
            "res_id": journey.id,
            "views": [(False, "form")],
            "target": "current",
        }

    # ------------------------------------------------------------
    # BUILDERS: a journey from a spec
    # ------------------------------------------------------------

    def _spec(self):
        """{'journey': vals, 'steps': [step vals, with 'children': {outlet: [...]}]} of a builder's template."""
        self.ensure_one()
        method = getattr(self, f"_build_{self.builder}", None)
        if not self.builder or method is None:
            raise UserError(self.env._("Template %s has nothing to build.", self.name))
        return method()

    @api.model
    def _create_from_spec(self, spec):
        """Create the journey of ``spec`` in the current company, in draft;
        its steps level by level, each placed on its parent's outlet."""
        journey = self.env["smb.journey"].create(dict(spec["journey"], state="draft"))
        Step = self.env["smb.journey.step"]
        level = [(False, False, vals) for vals in spec["steps"]]
        while level:
            vals_list = []
            for parent, outlet, vals in level:
                own = {key: value for key, value in vals.items() if key != "children"}
                vals_list.append(dict(own, journey_id=journey.id, parent_id=parent and parent.id,
                                      **({"branch": outlet} if outlet else {})))
            steps = Step.create([dict(vals, sequence=10 * (i + 1)) for i, vals in enumerate(vals_list)])
            level = [
                (step, outlet, child)
                for step, (__, __, vals) in zip(steps, level)
                for outlet, children in vals.get("children", {}).items()
                for child in children
            ]
        return journey

    @api.model
    def _email(self, name, subject, paragraphs, button=None, preview=None, **vals):
        """Vals of an email step whose body is the shipped emails' simple layout:
        paragraphs (with placeholders), then a button (label, url)."""
        cell = "margin:0 0 16px 0;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:24px;color:#374151;"
        body = Markup("").join(Markup('<p style="%s">%s</p>') % (cell, Markup(p)) for p in paragraphs)
        if button:
            label, url = button
            body += Markup(
                '<p style="margin:24px 0;text-align:center;"><a href="%s" '
                'style="display:inline-block;padding:14px 32px;font-family:Arial,Helvetica,sans-serif;'
                'font-size:16px;font-weight:bold;color:#ffffff;'
                'background-color:#714B67;text-decoration:none;border-radius:6px;">%s</a></p>') % (url, label)
        html = Markup(
            '<div style="margin:0 auto;max-width:600px;padding:24px 32px;background-color:#ffffff;">%s</div>') % body
        return dict(vals, name=name, step_type="email", subject=subject, preview_text=preview, body_html=html)

    def _build_first_order_anniversary(self):
        _ = self.env._
        return {
            "journey": {
                "name": _("First-Purchase Anniversary"),
                "description": _("A year after their first order, customers get a thank-you for being with the "
                                 "shop and an invitation to come back, then a reminder ten days later unless "
                                 "they ordered. Once a year."),
                "trigger": "customer_date", "date_source": "anniversary", "date_hour": 10.0,
                "reentry": "always", "goal": "order_confirmed", "conversion_window_days": 14,
            },
            "steps": [
                self._email(
                    _("A year together"), _("{{ customer.first_name }}, it has been a year!"),
                    [_("Hi {{ customer.first_name }},"),
                     _("A year ago you placed your first order with {{ company.name }}. Thank you for your "
                       "trust since then!"),
                     _("We would love to see you again: have a look at what is new in the shop.")],
                    button=(_("See what is new"), "{{ shop_url }}"),
                    preview=_("Thank you for a year with us.")),
                {"name": _("Wait 10 days"), "step_type": "wait", "wait_amount": 10, "wait_unit": "days"},
                self._email(
                    _("Anniversary reminder"), _("Still celebrating, {{ customer.first_name }}?"),
                    [_("Hi {{ customer.first_name }},"),
                     _("Our anniversary thank-you still stands: we have new products we think you will like.")],
                    button=(_("Visit the shop"), "{{ shop_url }}")),
            ],
        }

    def _build_ab_welcome_offer(self):
        _ = self.env._
        return {
            "journey": {
                "name": _("A/B Test: Welcome Offer"),
                "description": _("New contacts get one of two first emails, a product story or an offer; the "
                                 "split compares their clicks and keeps the winner, and a 10 % holdout tells "
                                 "what the email adds at all."),
                "trigger": "partner_created", "reentry": "once", "holdout_percent": 10,
                "audience_domain": "[('email', '!=', False), ('supplier_rank', '=', 0), ('type', '=', 'contact'), "
                                   "('user_ids', 'not any', [('share', '=', False)])]",
            },
            "steps": [{
                "name": _("Story or offer?"), "step_type": "split", "split_count": 2,
                "split_weight_a": 50, "split_weight_b": 50, "split_metric": "click",
                "split_promotion": "recipients", "split_promote_recipients": 500,
                "children": {
                    "a": [self._email(
                        _("Variant A: our story"), _("Welcome, {{ customer.first_name }}: the story behind the shop"),
                        [_("Hi {{ customer.first_name }},"),
                         _("Welcome to {{ company.name }}! Here is why we started, and what we care about in "
                           "every product we sell.")],
                        button=(_("Discover the shop"), "{{ shop_url }}"))],
                    "b": [self._email(
                        _("Variant B: the best sellers"), _("Welcome, {{ customer.first_name }}: our best sellers"),
                        [_("Hi {{ customer.first_name }},"),
                         _("Welcome to {{ company.name }}! Our customers' favourites are a good place to start.")],
                        button=(_("See the best sellers"), "{{ shop_url }}"))],
                },
            }],
        }

    def _build_win_back_nudge(self):
        _ = self.env._
        program = self.env.ref("smb_journey.loyalty_program_win_back", raise_if_not_found=False)
        # sudo: only the program's company is read, to use it in its own company only
        if program and program.sudo().company_id not in (self.env.company, self.env["res.company"]):
            program = None
        if program:
            gift = self._email(
                _("Your coupon"), _("A gift for you, {{ customer.first_name }}"),
                [_("Hi {{ customer.first_name }},"),
                 _("Here is {{ coupon.description }} on your next order: use the code "
                   "<strong>{{ coupon.code }}</strong> at checkout.")],
                button=(_("Shop now"), "{{ shop_url }}"), coupon_program_id=program.id)
        else:
            gift = self._email(
                _("Last nudge"), _("Still here for you, {{ customer.first_name }}"),
                [_("Hi {{ customer.first_name }},"),
                 _("We would be glad to see you back: our new products are waiting for you.")],
                button=(_("Shop now"), "{{ shop_url }}"))
        return {
            "journey": {
                "name": _("Win-Back Nudge"),
                "description": _("Customers with no order for 120 days get a we-miss-you email; those who click "
                                 "in it within five days get a call from their salesperson, the others a last "
                                 "email with an incentive. Ends when they order."),
                # the trigger enters a customer once per lapse (per last order)
                "trigger": "no_order", "no_order_days": 120, "goal": "order_confirmed", "reentry": "always",
                "conversion_window_days": 14,
            },
            "steps": [
                self._email(
                    _("We miss you"), _("We miss you, {{ customer.first_name }}"),
                    [_("Hi {{ customer.first_name }},"),
                     _("It has been a while since your last order. Have a look at what is new in the shop.")],
                    button=(_("See what is new"), "{{ shop_url }}")),
                {
                    "name": _("Clicked within 5 days?"), "step_type": "wait_event", "event_type": "clicked",
                    "event_timeout_amount": 5, "event_timeout_unit": "days",
                    "children": {
                        "happened": [{
                            "name": _("Call the customer"), "step_type": "activity",
                            "activity_summary": _("Interested again: call the customer"), "activity_days": 1,
                        }],
                        "timeout": [gift],
                    },
                },
            ],
        }

    def _build_best_time_tips(self):
        _ = self.env._
        return {
            "journey": {
                "name": _("Tips at Their Best Time"),
                "description": _("A tip or a piece of news, sent to each customer at the hour they usually read "
                                 "their email (learnt from their opens). Enrol customers by hand or from a "
                                 "scheduled action, as often as you have news."),
                "trigger": "manual", "reentry": "always",
            },
            "steps": [
                {"name": _("Wait for their best time"), "step_type": "wait", "wait_mode": "best_time"},
                self._email(
                    _("The tip"), _("{{ customer.first_name }}, a tip from {{ company.name }}"),
                    [_("Hi {{ customer.first_name }},"),
                     _("Write your tip or news here: one idea, one picture, one link.")],
                    button=(_("Read more"), "{{ shop_url }}")),
            ],
        }


def _count_steps(steps):
    return sum(1 + sum(_count_steps(children) for children in step.get("children", {}).values()) for step in steps)
