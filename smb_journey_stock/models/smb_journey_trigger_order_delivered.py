from odoo import api, models
from odoo.tools import SQL, format_amount

from odoo.addons.smb_journey.tools.registry import Trigger

# the post-purchase journey's review request, which deliveries take over
POST_PURCHASE_REVIEW_STEPS = ("journey_post_purchase_step_wait_1", "journey_post_purchase_step_email_2")


class SmbJourney(models.Model):
    _inherit = "smb.journey"

    @api.model
    def _trigger_types(self):
        _ = self.env._
        return super()._trigger_types() | {"order_delivered": Trigger(
            _("Order delivered"), model="sale.order", context=("order", "cart"), icon="fa-truck",
            entry=_("once per order, when its last delivery is done"),
            help=_("The last delivery of a confirmed sale order is validated: the customer has everything "
                   "they ordered."))}

    def _exit_reasons_order_delivered(self, enrollments):
        return {e: ("exited", "cancelled") for e in enrollments if e.order_id.state == "cancel"}

    def _entry_reason_order_delivered(self, enrollment, record):
        return self.env._(
            "their order %(order)s (%(amount)s) was delivered.", order=record.name,
            amount=format_amount(self.env, record.amount_total, record.currency_id))

    @api.model
    def _stock_hand_over_review_request(self):
        """With Inventory, the review request waits for the delivery (journey
        "Review Request After Delivery"): the shipped post-purchase journey
        keeps its thank-you and its related products, two weeks after the
        order as before, and no longer asks for a review a week after the
        order, which may not have arrived yet. Only while it is still the
        shipped draft: a journey the admin started is theirs, and is only
        told about the new journey."""
        journey = self.env.ref("smb_journey.journey_post_purchase", raise_if_not_found=False)
        steps = self.env["smb.journey.step"].browse(filter(None, (
            self.env["ir.model.data"]._xmlid_to_res_id(f"smb_journey.{name}", raise_if_not_found=False)
            for name in POST_PURCHASE_REVIEW_STEPS)))
        if not journey or len(steps) != 2 or steps.journey_id != journey:
            return False  # not shipped as such, or already handed over
        if journey.state != "draft" or journey.enrollment_ids:
            journey.message_post(body=self.env._(
                "Inventory is installed: the journey Review Request After Delivery can ask for reviews a few days "
                "after each delivery. This journey already runs, so its own review request was left in place: "
                "remove its review step before starting the other one, or customers get two requests."))
            return False
        last_wait = self.env.ref("smb_journey.journey_post_purchase_step_wait_2", raise_if_not_found=False)
        # moved into an archived journey, not deleted: an update of
        # smb_journey recreates the shipped records that no longer exist, and
        # would bring the review back. In SQL: steps refuse to move because
        # customers may wait on them; this draft journey has nobody inside.
        holder = self.create({
            "name": self.env._("Review Request After Order (replaced)"),
            "active": False,
            "trigger": "order_confirmed",
            "company_id": journey.company_id.id,
            "description": self.env._(
                "The review request the Post-Purchase Follow-up journey sent a week after the order, before "
                "Inventory was installed, kept here so that nothing is lost. The journey Review Request After "
                "Delivery asks for reviews now."),
        })
        self.env["smb.journey.step"].flush_model()
        self.env.execute_query(SQL(
            "UPDATE smb_journey_step SET journey_id = %s, version_id = %s WHERE id = ANY(%s)",
            holder.id, holder.version_id.id, steps.ids))
        steps.invalidate_recordset(["journey_id", "version_id"])
        journey.invalidate_recordset(["step_ids"])
        steps._sync_mailing()
        if last_wait:
            last_wait.write({"name": self.env._("Wait 14 days"), "wait_amount": 14})
        journey.description = self.env._(
            "Thanks customers for each confirmed order with its summary and suggests related products after "
            "two weeks. The review request goes out after the delivery (journey Review Request After Delivery).")
        return True
