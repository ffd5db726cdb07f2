from odoo import api, fields, models

# the enrollment states of customers still inside a version (waiting on a step, or failed on one)
INSIDE = ("running", "error")


class SmbJourneyVersion(models.Model):
    """One version of a journey's steps. A journey has one current version:
    customers who enter take it. Editing the steps of a journey while
    customers are inside its current version copies the steps into a new
    current version and applies the edit to the copy (copy-on-write, see
    smb_journey_step_version.py); the old version is retired, its steps
    archived and kept, so that the customers inside finish it as it was and
    its statistics stay those of the emails it sent. A Journey Manager may
    move them to the current version (wizard/smb_journey_version_move.py)."""

    _name = "smb.journey.version"
    _inherit = ["smb.journey.statistics.mixin"]
    _description = "Journey Version"
    _order = "journey_id, number desc"
    _check_company_auto = True

    _unique_number = models.UniqueIndex("(journey_id, number)", "A journey numbers its versions once each.")
    # the lock taken before forking (smb.journey._lock_for_versioning) keeps it so
    _one_current = models.UniqueIndex(
        "(journey_id) WHERE state = 'current'", "A journey has one current version.")

    name = fields.Char(compute="_compute_name")
    journey_id = fields.Many2one(
        "smb.journey", required=True, index=True, ondelete="cascade", readonly=True, check_company=True)
    company_id = fields.Many2one(related="journey_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="journey_id.currency_id")
    number = fields.Integer(required=True, readonly=True)
    state = fields.Selection(
        [("current", "Current"), ("retired", "Retired")], required=True, default="current", readonly=True,
        help="Current: customers who enter the journey take this version. Retired: replaced by a newer version; "
        "the customers who entered it finish it unless they are moved.")
    date_start = fields.Datetime("Current Since", required=True, default=fields.Datetime.now, readonly=True)
    date_end = fields.Datetime("Retired On", readonly=True)
    current_number = fields.Integer(
        "Current Version", related="journey_id.version_id.number", help="The version customers entering take.")
    change_summary = fields.Char(
        "Created By The Change", readonly=True, help="The edit of the steps that made this version.")
    step_ids = fields.One2many(
        "smb.journey.step", "version_id", "Steps", readonly=True, context={"active_test": False})
    enrollment_ids = fields.One2many("smb.journey.enrollment", "version_id", "Enrollments", readonly=True)
    step_count = fields.Integer("Number of Steps", compute="_compute_step_count")
    enrollment_count = fields.Integer("Enrolled", compute="_compute_enrollment_stats")
    running_count = fields.Integer(
        "Inside", compute="_compute_enrollment_stats", help="Customers still in this version (waiting or in error).")
    completed_count = fields.Integer("Completed", compute="_compute_enrollment_stats")
    exited_count = fields.Integer("Exited", compute="_compute_enrollment_stats")

    @api.depends("number")
    def _compute_name(self):
        for version in self:
            version.name = self.env._("Version %s", version.number)

    def _compute_step_count(self):
        counts = dict(self.env["smb.journey.step"].with_context(active_test=False)._read_group(
            [("version_id", "in", self.ids)], ["version_id"], ["__count"]))
        for version in self:
            version.step_count = counts.get(version, 0)

    def _compute_enrollment_stats(self):
        counts = {
            (version.id, state): count
            # sudo: a version's own totals, also for sales staff who see only their customers' enrollments
            for version, state, count in self.env["smb.journey.enrollment"].sudo()._read_group(
                [("version_id", "in", self.ids)], ["version_id", "state"], ["__count"])
        }
        for version in self:
            def get(*states, version=version):
                return sum(counts.get((version.id, state), 0) for state in states)

            version.running_count = get(*INSIDE)
            version.completed_count = get("completed")
            version.exited_count = get("exited")
            version.enrollment_count = get("running", "error", "completed", "exited")

    def _statistics_scope(self):
        return "version_id", lambda version: version.step_ids

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_open(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "name": self.display_name,
        }

    def action_view_enrollments(self):
        self.ensure_one()
        action = self.journey_id.action_view_enrollments()
        action["domain"] = [("version_id", "=", self.id)]
        return action

    def action_move_customers(self):
        """The move wizard, from this (retired) version to the journey's current one."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Move Customers to Version %s", self.journey_id.version_id.number),
            "res_model": "smb.journey.version.move",
            "view_mode": "form",
            "target": "new",
            "context": {"default_journey_id": self.journey_id.id, "default_source_version_id": self.id},
        }

    # ------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------

    def _customers_inside(self):
        """{version id: customers inside} (waiting on a step or in error), in one query."""
        # sudo: counted for whoever edits the steps, whatever customers they may see
        return {version.id: count for version, count in self.env["smb.journey.enrollment"].sudo()._read_group(
            [("version_id", "in", self.ids), ("state", "in", INSIDE)], ["version_id"], ["__count"])}
