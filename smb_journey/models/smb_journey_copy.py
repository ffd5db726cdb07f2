from odoo import models


class SmbJourney(models.Model):
    """Deep copy of a journey: the journey, then its live steps level by level
    with the tree rebuilt (each copied step placed after the copy of its
    parent, on the same outlet), the steps' messages (subjects, bodies, texts,
    in every language) copied with them, and a tracking mailing of its own for
    every step that sends, so that editing the copy never changes the
    original. The copy is a draft: nothing runs until someone starts it.

    Used by Duplicate and by the template gallery (smb_journey_template.py)."""

    _inherit = "smb.journey"

    def copy_data(self, default=None):
        default = dict(default or {})
        # the steps are copied by _copy_journey, with their tree remapped
        default.setdefault("step_ids", [])
        vals_list = super().copy_data(default)
        if "name" not in default:
            for journey, vals in zip(self, vals_list):
                vals["name"] = self.env._("%(name)s (copy)", name=journey.name)
        return vals_list

    def copy(self, default=None):
        if default and "step_ids" in default:
            return super().copy(default)
        return self.browse([journey._copy_journey(default).id for journey in self])

    def _copy_journey(self, default=None):
        """Copy this journey and its live steps into a new draft journey; returns it.

        :param default: field values of the new journey (e.g. its name)
        """
        self.ensure_one()
        default = dict(default or {}, step_ids=[], state="draft")
        journey = super().copy(default)
        self.step_ids._copy_steps_into(journey)
        return journey

    def action_save_as_template(self):
        """Offer this journey in the template gallery: using the template
        copies the journey as it is then."""
        self.ensure_one()
        template = self.env["smb.journey.template"].create({
            "name": self.name,
            "source_journey_id": self.id,
            "description": (self.description or self.name).split("\n")[0][:200],
            "category": "custom",
            "sequence": 1000,
        })
        return {
            "type": "ir.actions.act_window",
            "res_model": "smb.journey.template",
            "res_id": template.id,
            "views": [(False, "form")],
            "target": "current",
        }


class SmbJourneyStep(models.Model):
    _inherit = "smb.journey.step"

    def _copy_steps_into(self, journey):
        """Copy these steps into ``journey``, parents before their children
        (one create per level of the tree); returns {original: copy}.
        Archived steps, and the steps placed under them, are left out."""
        live = self.filtered("active")
        copies = {}
        level = live.filtered(lambda step: not step.parent_id)
        while level:
            vals_list = level.copy_data({"journey_id": journey.id})
            for step, vals in zip(level, vals_list):
                vals["parent_id"] = copies[step.parent_id].id if step.parent_id else False
            new_steps = self.create(vals_list)
            for step, new_step in zip(level, new_steps):
                step.copy_translations(new_step)
                copies[step] = new_step
            level = live.filtered(lambda step: step.parent_id in copies and step not in copies)
        return copies
