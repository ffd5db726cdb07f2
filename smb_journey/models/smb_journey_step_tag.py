from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Command

from odoo.addons.smb_journey.tools.registry import StepType

from .smb_journey_step import StepResult


class SmbJourneyStep(models.Model):
    """The tag step: adds contact tags to the customer, or removes them, so
    sales staff and other journeys' filters see what the customer did (an
    engaged reader, a coupon sent)."""

    _inherit = "smb.journey.step"

    tag_action = fields.Selection(
        [("add", "Add the tags"), ("remove", "Remove the tags")], "Tag Action", default="add")
    tag_ids = fields.Many2many(
        "res.partner.category", "smb_journey_step_partner_category_rel", "step_id", "category_id", "Contact Tags",
        help="The contact tags added to, or removed from, the customer.")

    @api.model
    def _step_types(self):
        _ = self.env._
        return super()._step_types() | {
            "tag": StepType(_("Tag the customer"), icon="fa-tags",
                            reasons=(("tagged", _("Tags added")), ("untagged", _("Tags removed"))),
                            help=_("Adds contact tags to the customer, or removes them.")),
        }

    @api.model
    def _diagram_depends(self):
        return super()._diagram_depends() + ["tag_action", "tag_ids"]

    def _check_tag(self):
        if not self.tag_ids:
            raise UserError(self.env._("Tag step %s needs the tags to add or remove.", self.name))

    def _describe_tag(self):
        names = ", ".join(self.tag_ids.mapped("name"))
        if not names:
            return ""
        if self.tag_action == "remove":
            return self.env._("Remove %(tags)s", tags=names)
        return self.env._("Add %(tags)s", tags=names)

    def _run_tag(self, enrollments):
        """One write for the whole batch: the tags linked to (or unlinked
        from) every customer of the batch at once."""
        command = Command.unlink if self.tag_action == "remove" else Command.link
        # sudo: the engine tags the journey's customers whatever the Contacts
        # rights of the user the scheduled action runs as
        enrollments.partner_id.sudo().write({"category_id": [command(tag.id) for tag in self.tag_ids]})
        names = ", ".join(self.tag_ids.mapped("name"))
        reason = "untagged" if self.tag_action == "remove" else "tagged"
        return [StepResult(enrollment, "done", reason, message=names) for enrollment in enrollments]
