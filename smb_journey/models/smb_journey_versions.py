from odoo import api, fields, models
from odoo.tools import SQL

from .smb_journey_step_version import VERSIONING
from .smb_journey_version import INSIDE


class SmbJourney(models.Model):
    """A journey's versions (smb_journey_version.py): the current one that
    customers enter, the retired ones that customers inside finish. The
    journey's numbers are the sum over its versions; its steps (``step_ids``)
    are the current version's."""

    _inherit = "smb.journey"

    version_id = fields.Many2one(
        "smb.journey.version", "Current Version", readonly=True, copy=False,
        index="btree_not_null", ondelete="set null",
        help="The version of the steps that customers entering the journey take.")
    version_ids = fields.One2many("smb.journey.version", "journey_id", "Versions", readonly=True)
    version_number = fields.Integer(related="version_id.number", string="Version")
    version_count = fields.Integer("Number of Versions", compute="_compute_version_counts")
    version_next_number = fields.Integer("Next Version", compute="_compute_version_counts")
    version_inside_count = fields.Integer(
        "Inside the Current Version", compute="_compute_version_counts",
        help="Customers inside the current version (waiting on a step or in error): a change to the steps "
        "makes a new version, and they finish this one.")
    version_older_inside_count = fields.Integer(
        "Inside Older Versions", compute="_compute_version_counts",
        help="Customers still finishing a retired version of the steps.")

    def _compute_version_counts(self):
        versions = dict(self.env["smb.journey.version"]._read_group(
            [("journey_id", "in", self.ids)], ["journey_id"], ["__count"]))
        inside = {}
        # sudo: the journey's own totals, also for sales staff who see only their customers' enrollments
        for journey, version, count in self.env["smb.journey.enrollment"].sudo()._read_group(
                [("journey_id", "in", self.ids), ("state", "in", INSIDE)], ["journey_id", "version_id"], ["__count"]):
            current = version == journey.version_id
            inside[journey.id, current] = inside.get((journey.id, current), 0) + count
        for journey in self:
            journey.version_count = versions.get(journey, 0)
            journey.version_next_number = journey.version_number + 1
            journey.version_inside_count = inside.get((journey.id, True), 0)
            journey.version_older_inside_count = inside.get((journey.id, False), 0)

    @api.model
    def _reason_selection(self):
        return super()._reason_selection() + [("version_moved", self.env._("Moved to another version"))]

    def _statistics_scope(self):
        # the whole journey: every version's steps, the retired ones' (archived) too
        return "journey_id", lambda journey: journey.with_context(active_test=False).step_ids

    @api.model_create_multi
    def create(self, vals_list):
        journeys = super().create(vals_list)
        journeys._current_version()
        return journeys

    def copy_data(self, default=None):
        """A duplicate starts from the current version's steps only."""
        return super(SmbJourney, self.with_context(active_test=True)).copy_data(default)

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_view_versions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("smb_journey.smb_journey_version_action")
        action["domain"] = [("journey_id", "=", self.id)]
        action["context"] = {"default_journey_id": self.id}
        return action

    def action_open_version_move(self):
        """Move the customers of the most recent retired version that still has some."""
        self.ensure_one()
        inside = self.version_ids._customers_inside()
        retired = self.version_ids.filtered(lambda v: v.state == "retired" and inside.get(v.id))
        return (retired[:1] or self.version_ids.filtered(lambda v: v.state == "retired")[:1]).action_move_customers()

    # ------------------------------------------------------------
    # VERSIONING (see smb_journey_step_version.py)
    # ------------------------------------------------------------

    def _current_version(self):
        """Give version 1 to the journeys that have no version yet."""
        missing = self.filtered(lambda j: not j.version_id)
        if missing:
            versions = self.env["smb.journey.version"].sudo().create([  # sudo: a journey's own bookkeeping
                {"journey_id": journey.id, "number": 1} for journey in missing])
            for journey, version in zip(missing, versions):
                journey.sudo().with_context(tracking_disable=True).version_id = version
        return self.version_id

    def _customers_inside_current(self):
        """Customers inside this journey's current version (waiting or in error)."""
        self.ensure_one()
        return self.version_id._customers_inside().get(self.version_id.id, 0) if self.version_id else 0

    def _lock_for_versioning(self):
        """Lock the journey's row until the end of the transaction, waiting
        for another edit of its steps to end: two users saving at once make
        one version, the second one's save applying to it. (Under Odoo's
        repeatable read, the second save then fails with a serialization
        error and Odoo runs it again, from a snapshot that has the new
        version.) NO KEY: customers keep entering meanwhile."""
        self.env.execute_query(SQL(
            "SELECT id FROM smb_journey WHERE id IN %s FOR NO KEY UPDATE", tuple(self.ids)))
        self.invalidate_recordset(["version_id"])

    def _fork_if_customers_inside(self, summary):
        """{step of the current version: its copy} after forking, when
        customers are inside the current version; {} otherwise."""
        self.ensure_one()
        if not self._customers_inside_current():
            return {}
        self._lock_for_versioning()
        if not self._customers_inside_current():
            return {}
        return self._fork_version(summary)

    def _fork_version(self, summary):
        """Retire the current version, copy its steps into a new current
        version and archive them; returns {old step: copy}. The journey is
        locked (``_lock_for_versioning``)."""
        self.ensure_one()
        old = self.version_id
        now = fields.Datetime.now()
        Version = self.env["smb.journey.version"]
        inside = self._customers_inside_current()
        old.write({"state": "retired", "date_end": now})
        old.flush_recordset(["state"])  # the one current version per journey is an index
        number = max(self.with_context(active_test=False).version_ids.mapped("number") or [0]) + 1
        new = Version.create({"journey_id": self.id, "number": number, "date_start": now,
                              "change_summary": (summary or "")[:200]})
        steps = old.step_ids
        mapping = steps._copy_to_version(new)
        steps.with_context(**{VERSIONING: True}).write({"active": False})
        self.version_id = new
        if inside == 1:
            body = self.env._(
                "Version %(new)s of the steps created (%(change)s). The customer inside version %(old)s "
                "finishes it; customers who enter from now on take version %(new)s.",
                new=new.number, old=old.number, change=summary or "")
        else:
            body = self.env._(
                "Version %(new)s of the steps created (%(change)s). The %(count)s customers inside version "
                "%(old)s finish it; customers who enter from now on take version %(new)s.",
                new=new.number, old=old.number, count=inside, change=summary or "")
        self.message_post(body=body)
        return mapping
