"""From 19.0.1.0.0: the numbers and owners that changed meaning.

- conversions become rows of smb.journey.conversion, re-derived with the new
  rules (only emails really sent before the order, once per order across
  journeys), and the step log's conversion columns follow them;
- journeys and conditions run with their author's field access: the last
  user who wrote them is taken as the author;
- the shipped abandoned-cart journey ends only with its own cart;
- journeys of OdooBot go to the company's journeys responsible (or admin);
- the steps' technical mailings leave Email Marketing's lists;
- the queued journey emails get the line the customer's chatter shows.
"""

from markupsafe import Markup

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    Journey = env["smb.journey"].with_context(active_test=False)

    cart = env.ref("smb_journey.journey_abandoned_cart", raise_if_not_found=False)
    if cart and cart.goal == "order_confirmed":
        cart.goal_scope = "record"

    root = env.ref("base.user_root")
    for journey in Journey.search([("user_id", "in", (False, root.id))]):
        journey.user_id = journey.company_id.smb_journey_user_id or env.ref("base.user_admin")

    cr.execute("""
        UPDATE smb_journey SET filter_user_id = write_uid
         WHERE filter_user_id IS NULL AND write_uid IS NOT NULL AND write_uid != %s
    """, [SUPERUSER_ID])
    cr.execute("""
        UPDATE smb_journey_step SET filter_user_id = write_uid
         WHERE filter_user_id IS NULL AND step_type = 'condition' AND write_uid IS NOT NULL AND write_uid != %s
    """, [SUPERUSER_ID])
    env.invalidate_all()

    steps = env["smb.journey.step"].with_context(active_test=False).search([("step_type", "=", "email")])
    steps._sync_mailing()

    # the orders the old rules credited, credited again by the new ones
    cr.execute("SELECT DISTINCT order_id FROM smb_journey_log WHERE order_id IS NOT NULL")
    orders = env["sale.order"].browse([row[0] for row in cr.fetchall()]).exists()
    env["smb.journey.conversion"]._credit_orders(orders)
    Log = env["smb.journey.log"]
    logs = Log.search([("outcome", "=", "sent")])
    for fname in ("converted", "order_id", "revenue"):
        env.add_to_compute(Log._fields[fname], logs)
    logs.flush_recordset()

    mails = env["mail.mail"].search([
        ("state", "=", "outgoing"), ("mailing_id", "in", steps.mailing_id.ids)])
    for mail in mails.filtered(lambda m: not m.body):
        mail.body = Markup("<p>%s <strong>%s</strong></p>") % (
            env._("Journey email queued:"), mail.subject or "")
