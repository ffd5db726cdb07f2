from odoo import api, models
from odoo.tools import format_amount

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
        shipped draft: a journey the admin started or edited is theirs."""
        journey = self.env.ref("smb_journey.journey_post_purchase", raise_if_not_found=False)
        steps = self.env["smb.journey.step"].browse(filter(None, (
            self.env["ir.model.data"]._xmlid_to_res_id(f"smb_journey.{name}", raise_if_not_found=False)
            for name in POST_PURCHASE_REVIEW_STEPS)))
        if not journey or len(steps) != 2:
            return False
        if journey.state != "draft" or journey.enrollment_ids:
            journey.message_post(body=self.env._(
                "Inventory is installed: the journey Review Request After Delivery can ask for reviews a few days "
                "after each delivery. This journey already runs, so its own review request was left in place: "
                "remove its review step before starting the other one, or customers get two requests."))
            return False
        last_wait = self.env.ref("smb_journey.journey_post_purchase_step_wait_2", raise_if_not_found=False)
        steps.unlink()
        if last_wait:
            last_wait.write({"name": self.env._("Wait 14 days"), "wait_amount": 14})
        journey.description = self.env._(
            "Thanks customers for each confirmed order with its summary and suggests related products after "
            "two weeks. The review request goes out after the delivery (journey Review Request After Delivery).")
        return True
