from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tools import SQL

from odoo.addons.smb_journey.models.smb_journey_version import INSIDE

# where a moved customer goes in the target version
SAME, FOLLOWING, END = "same", "following", "end"


class SmbJourneyVersionMove(models.TransientModel):
    """Move the customers finishing a retired version of a journey to its
    current version. The preview lists each customer's step in the old
    version and the step they continue at in the new one: the copy of their
    step (matched through the versions' copies), or, when the new version
    no longer has it, the nearest step after it that it has, or the end of
    the journey (they complete it)."""

    _name = "smb.journey.version.move"
    _description = "Move Customers to Another Version"

    journey_id = fields.Many2one("smb.journey", required=True, readonly=True, ondelete="cascade")
    source_version_id = fields.Many2one(
        "smb.journey.version", "From Version", required=True,
        domain="[('journey_id', '=', journey_id), ('state', '=', 'retired')]")
    target_version_id = fields.Many2one(
        "smb.journey.version", "To Version", compute="_compute_target_version_id", store=True, readonly=True)
    line_ids = fields.One2many(
        "smb.journey.version.move.line", "wizard_id", "Customers", compute="_compute_line_ids", store=True,
        readonly=False)
    summary = fields.Text(compute="_compute_summary")

    @api.depends("journey_id")
    def _compute_target_version_id(self):
        for wizard in self:
            wizard.target_version_id = wizard.journey_id.version_id

    @api.depends("source_version_id", "target_version_id")
    def _compute_line_ids(self):
        for wizard in self:
            commands = [Command.clear()]
            source, target = wizard.source_version_id, wizard.target_version_id
            if source and target and source != target:
                enrollments = self.env["smb.journey.enrollment"].search(
                    [("version_id", "=", source.id), ("state", "in", INSIDE)], order="id")
                destinations = wizard._destinations(enrollments.step_id, source, target)
                commands += [Command.create({
                    "enrollment_id": enrollment.id,
                    "from_step_id": enrollment.step_id.id,
                    "to_step_id": destinations.get(enrollment.step_id, (False, END))[0].id
                    if enrollment.step_id else False,
                    "destination": destinations.get(enrollment.step_id, (False, END))[1]
                    if enrollment.step_id else END,
                }) for enrollment in enrollments]
            wizard.line_ids = commands

    @api.depends("line_ids.destination", "line_ids.move")
    def _compute_summary(self):
        _ = self.env._
        for wizard in self:
            moving = wizard.line_ids.filtered("move")
            counts = {key: len(moving.filtered(lambda line, key=key: line.destination == key))
                      for key in (SAME, FOLLOWING, END)}
            if not wizard.line_ids:
                wizard.summary = _("Nobody is inside this version any more: there is no one to move.")
                continue
            parts = []
            if counts[SAME] == 1:
                parts.append(_("%(count)s continues at the copy of their step", count=1))
            elif counts[SAME]:
                parts.append(_("%(count)s continue at the copy of their step", count=counts[SAME]))
            if counts[FOLLOWING]:
                parts.append(_("%(count)s at the nearest following step (their step was deleted in version "
                               "%(target)s)", count=counts[FOLLOWING], target=wizard.target_version_id.number))
            if counts[END] == 1:
                parts.append(_("%(count)s completes the journey (nothing of what was left to them remains)",
                               count=1))
            elif counts[END]:
                parts.append(_("%(count)s complete the journey (nothing of what was left to them remains)",
                               count=counts[END]))
            if len(moving) == 1:
                summary = _("%(total)s customer moves to version %(target)s", total=len(moving),
                            target=wizard.target_version_id.number)
            else:
                summary = _("%(total)s customers move to version %(target)s", total=len(moving),
                            target=wizard.target_version_id.number)
            if parts:
                summary += ": " + "; ".join(parts)
            summary += "."
            kept = len(wizard.line_ids) - len(moving)
            if kept:
                if kept == 1:
                    summary += " " + _("%(count)s stays on version %(origin)s.", count=kept,
                                       origin=wizard.source_version_id.number)
                else:
                    summary += " " + _("%(count)s stay on version %(origin)s.", count=kept,
                                       origin=wizard.source_version_id.number)
            wizard.summary = summary

    @api.model
    def _destinations(self, steps, source, target):
        """{step of ``source``: (step of ``target``, SAME / FOLLOWING / END)}:
        the step's copy in ``target``, else the copy of the nearest step
        after it that ``target`` still has, else the end."""
        mapping = source.step_ids._counterparts(target)
        result = {}
        for step in steps:
            if step in mapping:
                result[step] = (mapping[step], SAME)
                continue
            following = step._next_step()
            while following and following not in mapping:
                following = following._next_step()
            result[step] = (mapping[following], FOLLOWING) if following else (self.env["smb.journey.step"], END)
        return result

    def action_move(self):
        """Move the customers ticked, each from the step they are on now (the
        engine may have moved them on since the preview)."""
        self.ensure_one()
        source, target = self.source_version_id, self.target_version_id
        if source == target or target.state != "current":
            raise UserError(self.env._("Customers move to the journey's current version."))
        enrollments = self.line_ids.filtered("move").enrollment_id.filtered(
            lambda e: e.version_id == source and e.state in INSIDE)
        if not enrollments:
            raise UserError(self.env._("Nobody to move: tick the customers to move."))
        # the engine's batches lock the enrollments they run: wait for them, then move
        enrollments.invalidate_recordset()
        self.env.execute_query(SQL(
            "SELECT id FROM smb_journey_enrollment WHERE id IN %s FOR NO KEY UPDATE", tuple(enrollments.ids)))
        enrollments = enrollments.filtered(lambda e: e.version_id == source and e.state in INSIDE)
        destinations = self._destinations(enrollments.step_id, source, target)
        _ = self.env._
        now = fields.Datetime.now()
        logs, moves, ended = [], {}, self.env["smb.journey.enrollment"]
        for enrollment in enrollments:
            step, destination = destinations.get(enrollment.step_id, (self.env["smb.journey.step"], END)) \
                if enrollment.step_id else (self.env["smb.journey.step"], END)
            logs.append({
                "enrollment_id": enrollment.id, "step_id": enrollment.step_id.id, "date": now,
                "outcome": "exited", "reason": "version_moved",
                "message": _("Moved from version %(origin)s to version %(target)s: %(step)s",
                             origin=source.number, target=target.number,
                             step=step.name if step else _("end of the journey"))[:250],
            })
            if destination == END:
                ended |= enrollment
            else:
                moves.setdefault(step, []).append(enrollment.id)
        # sudo: the step log is the engine's record; users may read it, not write it
        self.env["smb.journey.log"].sudo().create(logs)
        Enrollment = self.env["smb.journey.enrollment"]
        for step, ids in moves.items():
            Enrollment.browse(ids).write({"version_id": target.id, "step_id": step.id, "hold_reason": False})
        # nothing of what was left to them remains: they complete the version they were in
        ended._end("completed", "end")
        if len(enrollments) == 1:
            body = _("%(user)s moved %(count)s customer from version %(origin)s to version %(target)s.",
                     user=self.env.user.name, count=1, origin=source.number, target=target.number)
            message = _("%(count)s customer moved to version %(target)s.", count=1, target=target.number)
        else:
            body = _("%(user)s moved %(count)s customers from version %(origin)s to version %(target)s.",
                     user=self.env.user.name, count=len(enrollments), origin=source.number, target=target.number)
            message = _("%(count)s customers moved to version %(target)s.", count=len(enrollments),
                        target=target.number)
        self.journey_id.message_post(body=body)
        self.env.ref("smb_journey.ir_cron_journey_engine")._trigger()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
