from odoo import models
from odoo.tools import SQL


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _update_foreign_keys(self, src_partners, dst_partner):
        """Merge the journeys of duplicates before Odoo moves their rows.

        An enrollment is unique per (journey, customer, entry): two duplicates
        both in the welcome series would collide when Odoo re-points the
        first one's enrollments to the kept contact. For each such pair the
        kept contact's enrollment goes on (no second welcome); the duplicate's
        is kept for the history and statistics (its emails were really sent),
        ended as "Contact merged" if it was still running, and re-keyed so it
        no longer collides. The tiers of the kept contact are then recomputed
        from the orders it now holds.
        """
        Enrollment = self.env["smb.journey.enrollment"].sudo()
        Enrollment.flush_model()
        colliding = Enrollment.browse([row[0] for row in self.env.execute_query(SQL(
            """
            SELECT s.id
              FROM smb_journey_enrollment s
              JOIN smb_journey_enrollment d ON d.journey_id = s.journey_id AND d.entry_key = s.entry_key
             WHERE s.partner_id = ANY(%s) AND d.partner_id = %s
            UNION
            -- two duplicates that are both merged into the kept contact collide with each other too
            SELECT s.id
              FROM smb_journey_enrollment s
              JOIN smb_journey_enrollment o ON o.journey_id = s.journey_id AND o.entry_key = s.entry_key
                                           AND o.partner_id = ANY(%s) AND o.id < s.id
             WHERE s.partner_id = ANY(%s)
            """,
            src_partners.ids, dst_partner.id, src_partners.ids, src_partners.ids,
        ))])
        if colliding:
            colliding.filtered(lambda e: e.state in ("running", "error"))._log_and_end("exited", "merged")
            self.env.cr.execute(SQL(
                "UPDATE smb_journey_enrollment SET entry_key = entry_key || '/merged-' || id WHERE id = ANY(%s)",
                colliding.ids,
            ))
            Enrollment.invalidate_model(["entry_key"])
        res = super()._update_foreign_keys(src_partners, dst_partner)
        # sudo: tiers are derived data, recomputed whoever merges the contacts
        accounts = dst_partner.commercial_partner_id
        if self.env["smb.loyalty.tier"].sudo().search_count([], limit=1):
            self.env["smb.loyalty.tier"].sudo()._recompute_partners(accounts)
        return res
