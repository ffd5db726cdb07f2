from ast import literal_eval

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain

from odoo.addons.smb_journey.tools import contained

# server action types of this addon
JOURNEY_STATES = ("smb_journey_enroll", "smb_journey_exit")


class IrActionsServer(models.Model):
    """Enrol in a journey, remove from a journey: server action types, so that
    automation rules, scheduled actions and the Actions menu make the
    customers of the records they act on enter or leave a journey."""

    _inherit = "ir.actions.server"

    state = fields.Selection(
        selection_add=[("smb_journey_enroll", "Enrol in a journey"), ("smb_journey_exit", "Remove from a journey")],
        ondelete={"smb_journey_enroll": "cascade", "smb_journey_exit": "cascade"},
    )
    smb_journey_id = fields.Many2one(
        "smb.journey", "Journey", ondelete="restrict", index="btree_not_null",
        groups="smb_journey.group_journey_manager",
        help="Enrol: the journey must be running when the action runs; if it is not, nobody enters, the journey "
        "shows the problem and the business flow that ran the action goes on.")
    smb_journey_exit_all = fields.Boolean(
        "From Every Journey", groups="smb_journey.group_journey_manager",
        help="Remove the customers from every journey of the companies of the user running the action.")
    smb_journey_filter = fields.Char(
        "Apply On", default="[]", groups="smb_journey.group_journey_manager",
        help="Only the records matching this filter enter or leave. A scheduled action is given no records: it "
        "acts on every record matching this filter.")

    def _name_depends(self):
        return [*super()._name_depends(), "smb_journey_id", "smb_journey_exit_all"]

    def _generate_action_name(self):
        self.ensure_one()
        if self.state == "smb_journey_exit" and self.smb_journey_exit_all:
            return self.env._("Remove from every journey")
        if self.state == "smb_journey_enroll" and self.smb_journey_id:
            return self.env._("Enrol in %(journey)s", journey=self.smb_journey_id.name)
        if self.state == "smb_journey_exit" and self.smb_journey_id:
            return self.env._("Remove from %(journey)s", journey=self.smb_journey_id.name)
        return super()._generate_action_name()

    @api.depends("state")
    def _compute_available_model_ids(self):
        super()._compute_available_model_ids()
        journey_actions = self.filtered(lambda a: a.state in JOURNEY_STATES)
        if journey_actions:
            customer_models = self.env["ir.model"].search([
                ("transient", "=", False),
                "|", ("model", "=", "res.partner"),
                ("field_id", "any", [("name", "=", "partner_id"), ("ttype", "=", "many2one"),
                                     ("relation", "=", "res.partner")]),
            ])
            for action in journey_actions:
                # _origin: on a form being edited, the models are new records
                action.available_model_ids = action.available_model_ids._origin & customer_models

    @api.constrains("state", "model_id", "smb_journey_id", "smb_journey_exit_all", "smb_journey_filter")
    def _check_smb_journey(self):
        """Who may make an action enrol or remove customers (a Journey Manager:
        the action runs for whoever triggers it, see _run_action_smb_journey_enroll_multi),
        on which records (contacts, or records with a customer), into which journey."""
        actions = self.filtered(lambda a: a.state in JOURNEY_STATES)
        if not actions:
            return
        user = self.env.user  # constraints run as superuser: the user saving
        if user.id != SUPERUSER_ID and not user.has_group("smb_journey.group_journey_manager"):
            raise ValidationError(self.env._(
                "Only Journey Managers can make an action enrol customers in a journey or remove them."))
        for action in actions:
            if not action._smb_journey_has_customer(action.model_id.model):
                raise ValidationError(self.env._(
                    "The action %(action)s cannot enrol or remove the records of %(model)s: they have no "
                    "customer (no Customer field pointing to a contact).",
                    action=action.name, model=action.model_id.name))
            journey = action.smb_journey_id
            if journey and user.id != SUPERUSER_ID and journey.company_id not in user.company_ids:
                raise ValidationError(self.env._(
                    "The journey %(journey)s belongs to %(company)s, a company you do not work in.",
                    journey=journey.name, company=journey.company_id.name))
            if action.smb_journey_filter and action.model_id:
                self.env["smb.journey"]._validate_filter(
                    action.smb_journey_filter, action.model_id.model,
                    self.env._("Action %(action)s, filter %(field)s", action=action.name,
                               field=self._fields["smb_journey_filter"].string))

    # ------------------------------------------------------------
    # RUNNERS (see ir.actions.server._get_runner)
    # ------------------------------------------------------------

    def _run_action_smb_journey_enroll_multi(self, eval_context=None):
        """Enrol the customers of the records acted on; never raises.

        Runs in the business flow that triggered it (an order confirmation, a
        stage change), as the user who triggered it, once Odoo checked they may
        run it (``_can_execute_action_on_records``): the enrolment itself is
        the journey's bookkeeping, done as superuser under their name, like
        ``enroll()`` from the enrol wizard. A journey that fails (not running,
        a broken filter, a company the user does not work in) is flagged and
        its responsible told; the flow goes on."""
        if self._smb_journey_skip():
            return False
        journey = self.smb_journey_id
        if not journey:
            return False
        with journey._isolated():
            self._smb_journey_enroll(journey, self._smb_journey_records(eval_context))
        return False

    def _run_action_smb_journey_exit_multi(self, eval_context=None):
        """End the running enrollments of the customers of the records acted
        on, in the action's journey or in every journey; never raises."""
        if self._smb_journey_skip():
            return False
        if not self.smb_journey_exit_all:
            journey = self.smb_journey_id
            if not journey:
                return False
            with journey._isolated():
                partners = self._smb_journey_partners(self._smb_journey_records(eval_context), journey)
                if partners:
                    self._smb_journey_check_company(journey)
                    journey.exit(partners, reason="manual")
            return False
        with contained(self.env, f"Server action {self.id} ({self.name})") as ok:
            records = self._smb_journey_records(eval_context)
        if not ok:
            return False
        customers = self.env["res.partner"].union(*(
            record if record._name == "res.partner" else record.partner_id for record in records))
        domain = Domain("enrollment_ids", "any", [
            ("partner_id", "in", customers.ids), ("state", "in", ("running", "error"))])
        if self.env.uid != SUPERUSER_ID:
            domain &= Domain("company_id", "in", self.env.user.company_ids.ids)
        # sudo (the runner's): every journey of the user's companies, with or without Journey rights
        for journey in self.env["smb.journey"].with_context(active_test=False).search(domain):
            with journey._isolated():
                journey.exit(self._smb_journey_partners(records, journey), reason="manual")
        return False

    # ------------------------------------------------------------
    # PRIVATE
    # ------------------------------------------------------------

    @api.model
    def _smb_journey_has_customer(self, model):
        """Whether ``model``'s records are contacts or have a customer (``partner_id``)."""
        if not model or model not in self.env or self.env[model]._transient:
            return False
        field = self.env[model]._fields.get("partner_id")
        return model == "res.partner" or bool(field and field.type == "many2one" and field.comodel_name == "res.partner")

    def _smb_journey_skip(self):
        """Not on a form being edited (an onchange rule), nor on the extra
        writes of a recompute (see mail's _is_recompute)."""
        return bool(self.env.context.get("onchange_self")) or self._is_recompute()

    def _smb_journey_records(self, eval_context):
        """The records acted on that match the action's filter, as superuser.

        An automation rule or the Actions menu gives its records (Odoo checked
        the user may run the action on them); a scheduled action gives none and
        takes every record matching the filter that its user sees."""
        self.ensure_one()
        model = self.model_id.model
        domain = Domain(literal_eval(self.smb_journey_filter or "[]"))
        given = (eval_context or {}).get("records") or (eval_context or {}).get("record")
        if given:
            ids = given.ids
            if not domain.is_true():
                # archived ones too: a rule may remove a contact from its journeys when it is archived
                ids = self.env[model].with_context(active_test=False).search(Domain("id", "in", ids) & domain).ids
            return self.env[model].browse(ids)
        if self.env.context.get("active_ids") or self.env.context.get("active_id"):
            return self.env[model]  # records of another model: none of this action's
        # the scheduled action's user: their record rules say which records they act on
        return self.env[model].browse(self.env(su=False)[model].search(domain).ids)

    def _smb_journey_enroll(self, journey, records):
        pairs = self._smb_journey_customers(records, journey)
        if not pairs:
            return
        self._smb_journey_check_company(journey)
        if journey.state != "running":
            raise UserError(self.env._(
                "Journey %(journey)s is not running: the action %(action)s enrolled nobody. Start the journey, or "
                "deactivate the automation rule or scheduled action that runs it.", journey=journey.name, action=self.name))
        if records._name == "crm.lead":
            # the enrollment keeps its lead (the lead's smart button, the activity's note)
            journey.env["smb.journey.enrollment"]._check_journey_user()
            # one set-based entry for every lead (not one per lead: a mass stage change runs this)
            journey._enroll_pairs(pairs, manual=True)
        elif records._name in ("res.partner", journey.record_model):
            # contacts, or the journey's triggering model: the record enters with its customer
            journey.enroll(records.browse([record.id for __, record in pairs]))
        else:
            journey.enroll(self.env["res.partner"].union(*(partner for partner, __ in pairs)))

    @api.model
    def _smb_journey_customers(self, records, journey):
        """``(customer, record)`` for each of ``records`` with a customer: a
        contact is its own customer. A record of another company than the
        journey's (an order, a lead, a company's contact) is left out."""
        pairs = []
        for record in records:
            partner = record if record._name == "res.partner" else record.partner_id
            company = record.company_id if "company_id" in record._fields else None
            if partner and (not company or company == journey.company_id):
                pairs.append((partner, record))
        return pairs

    @api.model
    def _smb_journey_partners(self, records, journey):
        return self.env["res.partner"].union(*(p for p, __ in self._smb_journey_customers(records, journey)))

    def _smb_journey_check_company(self, journey):
        """The user running the action works in the journey's company."""
        user = self.env.user
        if user.id != SUPERUSER_ID and journey.company_id not in user.company_ids:
            raise UserError(self.env._(
                "The action %(action)s ran for %(user)s, who does not work in %(company)s: nobody entered or "
                "left the journey.", action=self.name, user=user.name, company=journey.company_id.name))
