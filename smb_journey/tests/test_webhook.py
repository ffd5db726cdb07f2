import json
import logging
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, freeze_time, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.smb_journey.lib import webhook

from . import test_concurrency
from .common import JourneyCase

T0 = datetime(2026, 3, 2, 9, 0)
N_CALLS = 12


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver: records each request, answers from ``answers``
    (status codes, 200 when empty; "drip": a byte of its answer every
    0.2 s)."""

    answers = []
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"path": self.path, "headers": dict(self.headers), "body": body})
        status = type(self).answers.pop(0) if type(self).answers else 200
        if status == "drip":
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"[:20]:
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.2)
            return
        text = b"ok" if status == 200 else b"server error: " + b"x" * 1000
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args):
        pass


@tagged("post_install", "-at_install")
class TestWebhook(JourneyCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = HTTPServer(("127.0.0.1", 0), Receiver)
        thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        thread.start()
        cls.addClassCleanup(cls.server.server_close)
        cls.addClassCleanup(cls.server.shutdown)
        cls.endpoint = cls.env["smb.journey.webhook"].create({
            "name": "Order desk",
            "url": f"http://localhost:{cls.server.server_address[1]}/hooks/journeys?source=odoo",
            "allowed_hosts": "localhost",
            "max_tries": 3,
        })
        cls.hook_journey = cls.env["smb.journey"].create({
            "name": "Tell the order desk",
            "trigger": "manual",
            "step_ids": [(0, 0, {"name": "Notify", "step_type": "webhook", "webhook_id": cls.endpoint.id})],
        })
        cls.hook_step = cls.hook_journey.step_ids
        cls.customer.phone = "+32 470 00 00 01"

    def setUp(self):
        super().setUp()
        Receiver.answers, Receiver.received = [], []

    def deliver_calls(self):
        """Run the delivery cron for real (its own cursor, like the scheduler)."""
        with self.enter_registry_test_mode():
            self.env.ref("smb_journey.ir_cron_webhook_delivery").method_direct_trigger()
        self.env.invalidate_all()

    def enrol(self):
        self.hook_journey.action_start()
        enrollment = self.hook_journey.enroll(self.customer)
        self.run_engine()
        return enrollment, self.env["smb.journey.webhook.delivery"].search([("enrollment_id", "=", enrollment.id)])

    def test_call_queued_by_the_engine_posted_signed_by_the_cron(self):
        with freeze_time(T0):
            enrollment, delivery = self.enrol()
            self.assertFalse(Receiver.received, "no network call in the engine's transaction")
            self.assertEqual(len(delivery), 1)
            self.assertEqual((delivery.state, delivery.tries, delivery.next_try_at), ("pending", 0, T0))
            self.assertEqual(enrollment.state, "completed", "the customer goes on without waiting for the call")
            self.assertEqual(enrollment.log_ids.reason, "webhook_queued")
            self.assertIn(self.env.ref("smb_journey.ir_cron_webhook_delivery"),
                          self.env["ir.cron.trigger"].search([]).cron_id, "the delivery cron is woken")
            self.deliver_calls()
        self.assertEqual(len(Receiver.received), 1)
        request = Receiver.received[0]
        headers, body = request["headers"], request["body"]
        self.assertEqual(request["path"], "/hooks/journeys?source=odoo")
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(headers["Host"], f"localhost:{self.server.server_address[1]}")
        self.assertEqual(headers["Idempotency-Key"], delivery.idempotency_key)
        timestamp = int((T0 - datetime(1970, 1, 1)).total_seconds())
        self.assertEqual(headers["X-Smb-Timestamp"], str(timestamp))
        self.assertTrue(webhook.verify(self.endpoint.secret, timestamp, body, headers["X-Smb-Signature"],
                                       now=timestamp), "signed with the endpoint's secret")
        payload = json.loads(body)
        self.assertEqual(payload, {
            "event": "journey.step",
            "id": delivery.idempotency_key,
            "created_at": "2026-03-02T09:00:00Z",
            "journey": {"id": self.hook_journey.id, "name": "Tell the order desk"},
            "step": {"id": self.hook_step.id, "name": "Notify"},
            "enrollment_id": enrollment.id,
            "customer": {"id": self.customer.id, "name": "Ann Smith", "email": "ann@example.com",
                         "phone": "+32 470 00 00 01"},
            "record": None,
            "company": {"id": self.company.id, "name": self.company.name},
        })
        self.assertEqual(
            (delivery.state, delivery.tries, delivery.last_status_code, delivery.last_response, delivery.date_done),
            ("done", 1, 200, "ok", T0))
        self.assertEqual((self.hook_step.webhook_done_count, self.endpoint.done_count), (1, 1))
        self.deliver_calls()
        self.assertEqual(len(Receiver.received), 1, "a delivered call is not made again")

    def test_payload_names_the_triggering_order(self):
        order = self.make_order(self.customer)
        order.action_confirm()
        self.process_events()
        self.hook_journey.trigger = "order_confirmed"
        self.hook_journey.action_start()
        enrollments = self.hook_journey.enroll(order)
        self.run_engine()
        delivery = self.env["smb.journey.webhook.delivery"].search([("enrollment_id", "in", enrollments.ids)])
        self.assertEqual(delivery.payload["record"], {"model": "sale.order", "id": order.id, "name": order.name})
        self.assertEqual(delivery.partner_id, self.customer)

    def test_failed_call_retried_with_backoff(self):
        Receiver.answers = [500, 200]
        with freeze_time(T0):
            __, delivery = self.enrol()
            self.deliver_calls()
            self.assertEqual((delivery.state, delivery.tries, delivery.last_status_code), ("pending", 1, 500))
            self.assertEqual(delivery.next_try_at, T0 + timedelta(minutes=1), "first retry after a minute")
            self.assertEqual(delivery.last_error, "HTTP 500")
            self.assertEqual(len(delivery.last_response), 500, "a short excerpt of the answer")
            self.assertTrue(delivery.last_response.startswith("server error: xxx"))
            retry = self.env["ir.cron.trigger"].search(
                [("cron_id", "=", self.env.ref("smb_journey.ir_cron_webhook_delivery").id)])
            self.assertIn(T0 + timedelta(minutes=1), retry.mapped("call_at"), "the cron is due with the retry")
        with freeze_time(T0 + timedelta(seconds=59)):
            self.deliver_calls()
            self.assertEqual(len(Receiver.received), 1, "not before the backoff")
        with freeze_time(T0 + timedelta(minutes=1)):
            self.deliver_calls()
        self.assertEqual(len(Receiver.received), 2)
        self.assertEqual((delivery.state, delivery.tries, delivery.last_status_code, delivery.last_error),
                         ("done", 2, 200, False))
        keys = {request["headers"]["Idempotency-Key"] for request in Receiver.received}
        self.assertEqual(keys, {delivery.idempotency_key}, "the retry carries the same key")

    def test_dead_after_max_tries_then_retried_by_hand(self):
        Receiver.answers = [503, 500, 502]
        with freeze_time(T0):
            __, delivery = self.enrol()
            self.deliver_calls()
        with freeze_time(T0 + timedelta(minutes=1)):
            self.deliver_calls()
            self.assertEqual((delivery.state, delivery.tries, delivery.next_try_at),
                             ("pending", 2, T0 + timedelta(minutes=3)), "then after 2 minutes")
        with freeze_time(T0 + timedelta(minutes=3)):
            self.deliver_calls()
        self.assertEqual((delivery.state, delivery.tries, delivery.last_status_code), ("dead", 3, 502))
        self.assertEqual((self.hook_step.webhook_dead_count, self.endpoint.dead_count), (1, 1))
        self.assertEqual((self.hook_journey.webhook_call_count, self.hook_journey.webhook_dead_count), (1, 1))
        with freeze_time(T0 + timedelta(hours=1)):
            self.deliver_calls()
            self.assertEqual(len(Receiver.received), 3, "a dead call is not tried again by itself")
            delivery.action_retry()
            self.assertEqual((delivery.state, delivery.tries), ("pending", 0))
            self.deliver_calls()
        self.assertEqual((delivery.state, delivery.tries, len(Receiver.received)), ("done", 1, 4))

    def test_call_not_repeated_when_its_answer_is_lost(self):
        """The worker dies after the POST, before recording the answer: the
        try was counted and committed before the call, so the call waits for
        its backoff (never POSTed again at once) and its tries run out."""
        Delivery = type(self.env["smb.journey.webhook.delivery"])
        with freeze_time(T0):
            __, delivery = self.enrol()
            with patch.object(Delivery, "_record_answer", side_effect=RuntimeError("worker killed")), \
                    mute_logger("odoo.addons.base.models.ir_cron"):
                self.deliver_calls()
            self.assertEqual(len(Receiver.received), 1)
            self.assertEqual((delivery.state, delivery.tries, delivery.last_try_at, delivery.next_try_at),
                             ("pending", 1, T0, T0 + timedelta(minutes=1)), "a failed try, retried after its backoff")
            self.assertIn("Interrupted", delivery.last_error)
            self.deliver_calls()
        with freeze_time(T0 + timedelta(seconds=59)):
            self.deliver_calls()
        self.assertEqual(len(Receiver.received), 1, "not POSTed again before its backoff")
        # the next tries die the same way: the call ends dead after its Tries, not retried for ever
        for minutes in (1, 3):
            with freeze_time(T0 + timedelta(minutes=minutes)), \
                    patch.object(Delivery, "_record_answer", side_effect=RuntimeError("worker killed")), \
                    mute_logger("odoo.addons.base.models.ir_cron"):
                self.deliver_calls()
        self.assertEqual((delivery.state, delivery.tries, len(Receiver.received)), ("pending", 3, 3))
        with freeze_time(T0 + timedelta(minutes=7)), \
                mute_logger("odoo.addons.smb_journey.models.smb_journey_webhook_delivery"):
            self.deliver_calls()
        self.assertEqual((delivery.state, delivery.tries, len(Receiver.received)), ("dead", 3, 3),
                         "its last try was interrupted: dead, without a fourth call")

    def test_calls_of_a_batch_recorded_one_by_one(self):
        """A failure on the second call of a batch keeps the first one's answer."""
        Delivery = type(self.env["smb.journey.webhook.delivery"])
        record_answer = Delivery._record_answer
        with freeze_time(T0):
            __, first = self.enrol()
            other = self.env["res.partner"].create({"name": "Bob Jones", "email": "bob@example.com"})
            second = self.hook_journey.enroll(other)
            self.run_engine()
            second = self.env["smb.journey.webhook.delivery"].search([("enrollment_id", "=", second.id)])

            def crash_on_second(delivery, response, refused=None):
                if delivery == second:
                    raise RuntimeError("database gone")
                return record_answer(delivery, response, refused=refused)

            with patch.object(Delivery, "_record_answer", crash_on_second), \
                    mute_logger("odoo.addons.base.models.ir_cron"):
                self.deliver_calls()
        self.assertEqual(len(Receiver.received), 2)
        self.assertEqual((first.state, first.tries), ("done", 1), "the first answer was committed")
        self.assertEqual((second.state, second.tries), ("pending", 1))

    def test_dripping_receiver_cut_at_the_timeout(self):
        self.endpoint.timeout = 1
        Receiver.answers = ["drip"]
        with freeze_time(T0):
            __, delivery = self.enrol()
        started = time.monotonic()
        with freeze_time(T0):
            self.deliver_calls()
        self.assertLess(time.monotonic() - started, 3, "the call lasts its timeout, not the receiver's pace")
        self.assertEqual((delivery.state, delivery.tries, delivery.last_status_code, delivery.last_error),
                         ("pending", 1, 0, "Timed out after 1 s"), "a failed try, retried")
        self.assertEqual(delivery.next_try_at, T0 + timedelta(minutes=1))

    def test_hung_dns_is_a_failed_try(self):
        release = threading.Event()
        self.addCleanup(release.set)

        def hung(*args, **kwargs):
            release.wait(10)
            raise OSError("gave up")

        self.endpoint.timeout = 1
        with freeze_time(T0):
            __, delivery = self.enrol()
            with patch.object(webhook.socket, "getaddrinfo", hung):
                self.deliver_calls()
        self.assertEqual((delivery.state, delivery.tries, delivery.last_error),
                         ("pending", 1, "Timed out after 1 s (DNS)"), "retried, not dead like a refused host")

    def test_only_managers_send_a_test_call(self):
        journey_user = new_test_user(self.env, "hook_tester", groups="smb_journey.group_journey_user")
        with self.assertRaises(AccessError):
            self.endpoint.with_user(journey_user).action_send_test()
        self.assertFalse(Receiver.received, "nothing was sent")
        manager = new_test_user(self.env, "hook_test_manager", groups="smb_journey.group_journey_manager")
        self.assertEqual(self.endpoint.with_user(manager).action_send_test()["params"]["type"], "success")
        self.assertEqual(len(Receiver.received), 1)

    def test_private_target_refused_unless_allowed(self):
        self.endpoint.allowed_hosts = "erp.lan"
        with freeze_time(T0):
            __, delivery = self.enrol()
            with mute_logger("odoo.addons.smb_journey.models.smb_journey_webhook_delivery"):
                self.deliver_calls()
        self.assertFalse(Receiver.received)
        self.assertEqual((delivery.state, delivery.tries, delivery.last_status_code), ("dead", 1, 0),
                         "a refused target is dead at once, not retried")
        self.assertIn("resolves to 127.0.0.1 (loopback address)", delivery.last_error)
        # the admin allows the host: the call goes
        self.endpoint.allowed_hosts = "erp.lan, localhost"
        delivery.action_retry()
        self.deliver_calls()
        self.assertEqual(delivery.state, "done")
        self.assertEqual(len(Receiver.received), 1)

    def test_timeout_and_connection_errors_retried(self):
        self.endpoint.url = "http://localhost:1/closed"
        with freeze_time(T0):
            __, delivery = self.enrol()
            self.deliver_calls()
        self.assertEqual((delivery.state, delivery.tries, delivery.last_status_code), ("pending", 1, 0))
        self.assertTrue(delivery.last_error.startswith("Connection failed"))
        with patch.object(webhook.requests.Session, "post", side_effect=webhook.requests.Timeout("slow")), \
                freeze_time(T0 + timedelta(minutes=1)):
            self.deliver_calls()
        self.assertEqual((delivery.state, delivery.tries, delivery.last_error),
                         ("pending", 2, "Timed out after 10 s"))
        with patch.object(webhook.requests.Session, "post", side_effect=ValueError("odd")), \
                freeze_time(T0 + timedelta(minutes=3)), \
                mute_logger("odoo.addons.smb_journey.models.smb_journey_webhook_delivery"):
            self.deliver_calls()
        self.assertEqual((delivery.state, delivery.tries, delivery.last_error),
                         ("dead", 3, "Unexpected error: ValueError"), "an odd failure counts as a failed try")

    def test_secret_never_logged_nor_sent(self):
        secret = self.endpoint.secret
        self.assertGreaterEqual(len(secret), 40, "a long random secret, made on create")
        Receiver.answers = [500]
        with freeze_time(T0), self.assertLogs(level=logging.DEBUG) as logs:
            logging.getLogger("odoo.addons.smb_journey").info("capture starts")
            __, delivery = self.enrol()
            self.deliver_calls()
        output = "\n".join(logs.output)
        self.assertIn("Webhook call %s to endpoint %s, try 1: 500" % (delivery.id, self.endpoint.id), output)
        self.assertNotIn(secret, output)
        request = Receiver.received[0]
        self.assertNotIn(secret, json.dumps(request["headers"]) + request["body"].decode())
        values = delivery.read([f for f in delivery._fields if f not in ("webhook_id",)])[0]
        self.assertNotIn(secret, json.dumps(values, default=str))

    def test_secret_and_url_only_for_journey_managers(self):
        journey_user = new_test_user(self.env, "hook_user", groups="smb_journey.group_journey_user")
        manager = new_test_user(self.env, "hook_manager", groups="smb_journey.group_journey_manager")
        self.assertEqual(self.endpoint.with_user(manager).secret, self.endpoint.secret)
        self.assertEqual(self.endpoint.with_user(journey_user).name, "Order desk")
        with self.assertRaises(AccessError):
            self.endpoint.with_user(journey_user).secret  # noqa: B018
        self.assertNotIn("secret", self.endpoint.with_user(journey_user).fields_get())
        with self.assertRaises(AccessError, msg="a URL may carry the receiver's token"):
            self.endpoint.with_user(journey_user).url  # noqa: B018
        old = self.endpoint.secret
        self.endpoint.with_user(manager).action_regenerate_secret()
        self.assertNotEqual(self.endpoint.secret, old)
        self.assertNotEqual(self.endpoint.copy().secret, self.endpoint.secret, "a copy has its own secret")

    def test_sales_staff_read_the_journey_not_the_webhook(self):
        seller = new_test_user(self.env, "hook_seller", groups="sales_team.group_sale_salesman")
        step = self.hook_step.with_user(seller)
        self.assertEqual(step.diagram_info["summary"], "Order desk", "the diagram names the webhook")
        self.assertNotIn("webhook_id", step.fields_get(), "not its URL")
        self.assertEqual(self.hook_journey.with_user(seller).webhook_call_count, 0)
        with self.assertRaises(AccessError):
            self.endpoint.with_user(seller).read(["url"])
        form = self.env["smb.journey.step"].with_user(seller).get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn('name="webhook_id"', form)

    def test_webhooks_and_calls_stay_in_their_company(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        other_manager = new_test_user(self.env, "hook_other", groups="smb_journey.group_journey_manager",
                                      company_id=other_company.id, company_ids=[(6, 0, other_company.ids)])
        with freeze_time(T0):
            __, delivery = self.enrol()
        self.assertFalse(self.env["smb.journey.webhook"].with_user(other_manager).search([]))
        self.assertFalse(self.env["smb.journey.webhook.delivery"].with_user(other_manager).search([]))
        theirs = self.env["smb.journey.webhook"].create({
            "name": "Theirs", "url": "https://example.com/in", "company_id": other_company.id})
        with self.assertRefused("company inconsistencies", exception=UserError):
            self.hook_step.webhook_id = theirs
            self.hook_step.flush_recordset()

    def test_send_test_shows_the_answer(self):
        action = self.endpoint.action_send_test()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(action["params"]["message"], "HTTP 200: ok")
        self.assertEqual(json.loads(Receiver.received[0]["body"])["event"], "test")
        self.assertFalse(self.env["smb.journey.webhook.delivery"].search([("webhook_id", "=", self.endpoint.id)]),
                         "a test is not recorded as a call")
        self.endpoint.allowed_hosts = False
        action = self.endpoint.action_send_test()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("loopback", action["params"]["message"])

    def test_url_checked_on_save(self):
        for url in ("ftp://example.com/x", "https://user:pw@example.com/x", "example.com/x"):
            with self.assertRefused("Webhook Order desk"):
                self.endpoint.url = url
                self.endpoint.flush_recordset()

    def test_step_needs_an_active_webhook(self):
        self.endpoint.active = False
        with self.assertRefused("needs an active webhook", exception=UserError):
            self.hook_journey.action_start()


class SlowReceiver(Receiver):
    """A receiver that takes its time, so two workers overlap."""

    lock = threading.Lock()

    def do_POST(self):
        time.sleep(0.05)
        with self.lock:
            super().do_POST()


@tagged("post_install", "-at_install")
class TestWebhookConcurrency(test_concurrency.ConcurrentCase):

    def setUp(self):
        super().setUp()
        SlowReceiver.answers, SlowReceiver.received = [], []
        server = ThreadingHTTPServer(("127.0.0.1", 0), SlowReceiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        with self.registry.cursor() as cr:
            env = self._env(cr)
            endpoint = env["smb.journey.webhook"].create({
                "name": "Parallel receiver", "url": f"http://localhost:{server.server_address[1]}/in",
                "allowed_hosts": "localhost",
            })
            partner = env["res.partner"].create({"name": "Parallel webhook customer"})
            deliveries = env["smb.journey.webhook.delivery"].create([{
                "webhook_id": endpoint.id, "company_id": endpoint.company_id.id, "partner_id": partner.id,
                "payload": {"n": i},
            } for i in range(N_CALLS)])
            self.endpoint_id, self.partner_id, self.keys = endpoint.id, partner.id, deliveries.mapped("idempotency_key")
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            env["smb.journey.webhook"].browse(self.endpoint_id).unlink()
            self._drop_records(env, "res.partner", [self.partner_id])

    def test_two_workers_never_post_the_same_call(self):
        def work(env):
            Delivery = env["smb.journey.webhook.delivery"]
            posted = 0
            while True:
                processed, __ = Delivery._deliver_batch(batch_size=3)
                env.cr.commit()
                if not processed:
                    return posted
                posted += processed

        posted = self._in_threads(work)
        self.assertEqual(sum(posted), N_CALLS)
        self.assertTrue(all(posted), f"both workers took a share: {posted}")
        received = [request["headers"]["Idempotency-Key"] for request in SlowReceiver.received]
        self.assertEqual(sorted(received), sorted(self.keys), "each call POSTed exactly once")
        self.assertEqual(self._count("smb.journey.webhook.delivery",
                                     [("webhook_id", "=", self.endpoint_id), ("state", "=", "done")]), N_CALLS)


@tagged("post_install", "-at_install")
class TestWebhookUi(HttpCase):

    def test_manager_tests_a_webhook_and_retries_a_dead_call(self):
        server = HTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        Receiver.answers, Receiver.received = [], []
        endpoint = self.env["smb.journey.webhook"].create({
            "name": "Tour receiver", "url": f"http://localhost:{server.server_address[1]}/in",
            "allowed_hosts": "localhost",
        })
        delivery = self.env["smb.journey.webhook.delivery"].create({
            "webhook_id": endpoint.id, "company_id": endpoint.company_id.id,
            "partner_id": self.env["res.partner"].create({"name": "Tour webhook customer"}).id,
            "payload": {"event": "journey.step"}, "state": "dead", "tries": 10, "last_status_code": 500,
        })
        manager = new_test_user(self.env, "hook_tour_manager", groups="smb_journey.group_journey_manager")
        self.start_tour(f"/odoo/action-smb_journey.smb_journey_webhook_action/{endpoint.id}",
                        "smb_journey_webhook_tour", login=manager.login)
        self.assertEqual(json.loads(Receiver.received[0]["body"])["event"], "test")
        self.assertEqual((delivery.state, delivery.tries), ("pending", 0))
