from odoo import api, fields, models


class SmbJourney(models.Model):
    """New journeys start from their company's settings (Settings > Journeys >
    Defaults for New Journeys): quiet hours, goal, holdout, frequency cap
    policy, consent and attribution window. A default given in the context or
    set by a user (Odoo's "Set Default") still wins."""

    _inherit = "smb.journey"

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        company = self.env["res.company"].browse(res.get("company_id")).exists() or self.env.company
        explicit = {key[8:] for key in self.env.context if key.startswith("default_")}
        explicit |= set(self.env["ir.default"]._get_model_defaults(self._name))
        for fname, value in company._smb_journey_defaults().items():
            if fname in fields_list and fname not in explicit:
                res[fname] = value
        if res.get("holdout_percent") and "holdout_since" in fields_list and "holdout_since" not in explicit:
            # the report compares the customers who entered since the holdout was set
            res["holdout_since"] = fields.Datetime.now()
        return res
