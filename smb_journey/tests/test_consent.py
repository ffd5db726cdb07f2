import re
from urllib.parse import urlsplit

from odoo import Command, fields
from odoo.tests import tagged

from .common import ConsentCase


@tagged("post_install", "-at_install")
class TestConsent(ConsentCase):
    """Double opt-in: joining a list that asks for it queues one email with a
    signed link; the link records the consent; journeys that require consent
    take only the addresses that gave it."""

    def find_subscription(self, email, mailing_list):
        return self.env["mailing.subscription"].search(
            [("list_id", "=", mailing_list.id), ("contact_id.email", "=", email)])

    def website_subscribe(self, email, mailing_list):
        return self.make_jsonrpc_request("/website_mass_mailing/subscribe", {
            "list_id": mailing_list.id, "value": email, "subscription_type": "email"})

    def test_website_subscription_queues_one_confirmation_email(self):
        cron = self.env.ref("smb_journey.ir_cron_consent_requests")
        self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).unlink()
        self.assertEqual(self.website_subscribe("eve@example.com", self.optin_list)["toast_type"], "success")
        subscription = self.find_subscription("eve@example.com", self.optin_list)
        self.assertEqual((subscription.smb_consent_state, subscription.smb_consent_source), ("pending", "website"))
        self.assertFalse(self.confirmation_mails(subscription), "the visitor's request only wakes the cron")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]))

        self.send_confirmations()
        mail = self.confirmation_mails(subscription)
        self.assertEqual(len(mail), 1)
        self.assertEqual((mail.state, mail.email_to), ("outgoing", "eve@example.com"))
        self.assertIn(subscription.smb_confirmation_url, mail.body_html)
        self.assertIn("Newsletter", mail.subject)
        self.assertTrue(subscription.smb_confirmation_sent)
        # subscribing again, and the cron running again, send nothing more
        self.website_subscribe("eve@example.com", self.optin_list)
        self.send_confirmations()
        self.assertEqual(self.confirmation_mails(self.find_subscription("eve@example.com", self.optin_list)), mail)

    def test_list_without_double_optin_sends_nothing(self):
        self.website_subscribe("eve@example.com", self.plain_list)
        by_hand = self.subscribe("fred@example.com", self.plain_list)
        subscriptions = self.find_subscription("eve@example.com", self.plain_list) | by_hand
        self.assertEqual(subscriptions.mapped("smb_consent_state"), [False, False])
        # ticking the box later does not ask those who subscribed before
        self.plain_list.smb_double_optin = True
        self.send_confirmations()
        self.assertFalse(self.confirmation_mails(subscriptions))
        self.assertEqual(subscriptions.mapped("smb_consent_state"), [False, False])

    def test_every_way_of_joining_a_list_asks_once(self):
        Contact = self.env["mailing.contact"]
        by_hand = self.subscribe("hal@example.com", self.optin_list)  # the contact form's subscription list
        added = Contact.create({"name": "Ida", "email": "ida@example.com"})
        self.optin_list.write({"contact_ids": [Command.link(added.id)]})  # "Add to list" on contacts
        moved = Contact.create({
            "name": "Jon", "email": "jon@example.com", "list_ids": [Command.link(self.plain_list.id)]})
        moved.write({"list_ids": [Command.link(self.optin_list.id)]})
        self.env["mailing.contact.import"].create({
            "mailing_list_ids": [Command.link(self.optin_list.id)], "contact_list": "Kim <kim@example.com>",
        }).action_import()
        subscriptions = self.env["mailing.subscription"].search([("list_id", "=", self.optin_list.id)])
        self.assertEqual(len(subscriptions), 4)
        self.assertEqual(
            sorted((s.contact_id.email, s.smb_consent_state, s.smb_consent_source) for s in subscriptions),
            [("hal@example.com", "pending", "manual"), ("ida@example.com", "pending", "manual"),
             ("jon@example.com", "pending", "manual"), ("kim@example.com", "pending", "import")])
        self.assertFalse(moved.subscription_ids.filtered(lambda s: s.list_id == self.plain_list).smb_consent_state)
        self.send_confirmations()
        self.send_confirmations()
        mails = self.confirmation_mails(subscriptions)
        self.assertEqual(sorted(mails.mapped("email_to")),
                         ["hal@example.com", "ida@example.com", "jon@example.com", "kim@example.com"])
        self.assertFalse(self.confirmation_mails(moved.subscription_ids - subscriptions))
        self.assertEqual(by_hand.smb_consent_state, "pending", "still waiting for the contact's click")
        # a duplicated list keeps its subscribers' consent and asks nobody again
        by_hand._smb_confirm_consent("192.0.2.1")
        duplicate = self.optin_list.copy()
        self.send_confirmations()
        self.assertFalse(self.confirmation_mails(duplicate.subscription_ids))
        self.assertEqual(sorted(duplicate.subscription_ids.mapped("smb_consent_state")),
                         ["confirmed", "pending", "pending", "pending"])

    def test_mailings_wait_for_the_confirmation(self):
        earlier = self.subscribe("old@example.com", self.env["mailing.list"].create({"name": "Earlier"}))
        earlier.list_id.smb_double_optin = True  # subscribers from before are not asked, and still mailed
        confirmed = self.subscribe("dan@example.com", earlier.list_id)
        confirmed._smb_confirm_consent("192.0.2.1")
        waiting = self.subscribe("eve@example.com", earlier.list_id)
        elsewhere = self.subscribe("fay@example.com", earlier.list_id)
        elsewhere.contact_id.list_ids |= self.plain_list
        mailing = self.env["mailing.mailing"].create({
            "subject": "News", "mailing_model_id": self.env["ir.model"]._get_id("mailing.list"),
            "contact_list_ids": [Command.set(earlier.list_id.ids)],
        })
        self.assertEqual((earlier | confirmed | waiting).mapped("smb_consent_state"), [False, "confirmed", "pending"])
        self.assertEqual(mailing._get_opt_out_list(), {"eve@example.com", "fay@example.com"})
        mailing.contact_list_ids |= self.plain_list
        self.assertEqual(mailing._get_opt_out_list(), {"eve@example.com"}, "Fay joined the other list without one")

    def test_import_starts_pending_and_gets_the_email(self):
        result = self.env["mailing.contact"].load(["name", "email", "list_ids/.id"], [
            ["Ivy", "ivy@example.com", str(self.optin_list.id)],
            ["Joe", "joe@example.com", str(self.plain_list.id)],
        ])
        self.assertFalse(result["messages"])
        ivy = self.find_subscription("ivy@example.com", self.optin_list)
        joe = self.find_subscription("joe@example.com", self.plain_list)
        self.assertEqual((ivy.smb_consent_state, ivy.smb_consent_source), ("pending", "import"))
        self.assertFalse(joe.smb_consent_state)
        self.send_confirmations()
        self.assertEqual(self.confirmation_mails(ivy | joe).mapped("email_to"), ["ivy@example.com"])

    def test_confirmation_link_records_consent(self):
        subscription = self.subscribe("dan@example.com", self.optin_list)
        path = urlsplit(subscription.smb_confirmation_url).path
        self.assertRegex(path, rf"^/smb_journey/confirm/{subscription.id}/[0-9a-f]{{64}}$")
        before = fields.Datetime.now().replace(microsecond=0)
        # opening the link (what a mail scanner does too) confirms nothing: it asks
        response = self.url_open(path)
        self.assertEqual(response.status_code, 200)
        self.assertIn("Confirm my subscription", response.text)
        self.env.invalidate_all()
        self.assertEqual(subscription.smb_consent_state, "pending")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', response.text).group(1)
        response = self.url_open(path, data={"csrf_token": csrf})
        self.assertEqual(response.status_code, 200)
        self.assertIn("is confirmed", response.text)
        self.env.invalidate_all()
        self.assertEqual(subscription.smb_consent_state, "confirmed")
        self.assertEqual(subscription.smb_consent_ip, "127.0.0.1")
        self.assertEqual(subscription.smb_consent_source, "manual", "how the contact joined is kept")
        given = subscription.smb_consent_date
        self.assertTrue(before <= given <= fields.Datetime.now())
        # opening it again is harmless: the first consent stays on record
        response = self.url_open(path)
        self.assertEqual(response.status_code, 200)
        self.assertIn("is confirmed", response.text)
        self.env.invalidate_all()
        self.assertEqual((subscription.smb_consent_state, subscription.smb_consent_date), ("confirmed", given))

    def test_forged_link_is_refused(self):
        subscription = self.subscribe("dan@example.com", self.optin_list)
        other = self.subscribe("eve@example.com", self.optin_list)
        other_token = urlsplit(other.smb_confirmation_url).path.rsplit("/", 1)[1]
        for path in (f"/smb_journey/confirm/{subscription.id}/{other_token}",
                     f"/smb_journey/confirm/{subscription.id}/{'0' * 64}",
                     f"/smb_journey/confirm/{subscription.id}/x",
                     f"/smb_journey/confirm/{other.id + 1000}/{other_token}"):
            response = self.url_open(path)
            self.assertEqual(response.status_code, 403, path)
            self.assertIn("This link is not valid", response.text)
            self.assertNotIn("Traceback", response.text)
        self.env.invalidate_all()
        self.assertEqual((subscription | other).mapped("smb_consent_state"), ["pending", "pending"])

    def test_consent_required_journey_takes_only_confirmed_contacts(self):
        Partner = self.env["res.partner"]
        self.subscribe("dan@example.com", self.optin_list)._smb_confirm_consent("192.0.2.1")
        self.subscribe("eve@example.com", self.optin_list)  # waiting for her click
        self.subscribe(self.customer.email, self.plain_list)  # a list without double opt-in
        dan = Partner.create({"name": "Dan", "email": "Dan <DAN@example.com>"})  # the address matters, not its case
        eve = Partner.create({"name": "Eve", "email": "eve@example.com"})
        nobody = Partner.create({"name": "No Email"})
        people = dan | eve | self.customer | nobody
        self.assertEqual(people.mapped("smb_consent_confirmed"), [True, False, False, False])
        self.assertEqual(Partner.search([("id", "in", people.ids), ("smb_consent_confirmed", "=", False)]),
                         eve | self.customer | nobody)

        # one query, as without consent
        self.env.invalidate_all()
        with self.count_queries() as with_consent:
            self.assertEqual(self.journey._audience(people), dan)
        self.journey.consent_required = False
        self.env.invalidate_all()
        with self.count_queries() as without:
            self.assertEqual(self.journey._audience(people), people)
        self.assertEqual(with_consent["n"], without["n"])
        self.journey.consent_required = True

        self.assertEqual(self.journey.enroll(people).partner_id, dan)
        # the new-contact trigger: only an address that confirmed enters
        welcome = self.env["smb.journey"].create({
            "name": "Consented welcome", "trigger": "partner_created", "consent_required": True,
            "step_ids": [(0, 0, {"name": "Hi", "step_type": "email", "subject": "Hi", "body_html": "<p>Hi</p>"})],
        })
        welcome.action_start()
        Partner.create([{"name": "Dan again", "email": "dan@example.com"},
                        {"name": "Eve again", "email": "eve@example.com"}])
        self.process_events()
        self.assertEqual(welcome.enrollment_ids.partner_id.mapped("name"), ["Dan again"])

        # unsubscribing from the list withdraws the consent: Dan leaves before the first email
        self.find_subscription("dan@example.com", self.optin_list).opt_out = True
        self.run_engine()
        enrollment = self.journey.enrollment_ids
        self.assertEqual((enrollment.state, enrollment.exit_reason), ("exited", "left_audience"))
        self.assertFalse(self.mails(self.step_hello))
