"""The README's screenshots, taken by tours in headless Chromium.

Not part of the test suite (tagged ``-standard``): ``scripts/screenshots.sh``
runs them on a fresh demo database, whose customers went through the journeys,
and writes ``docs/screenshots/<name>.png``. Each shot is a tour that opens a
screen and waits until its content is there; the picture is taken when the tour
ends, on the page where it ended.
"""

import base64
import os
import unittest
from pathlib import Path
from unittest.mock import patch

from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser

SHOTS_DIR = Path(os.environ.get("SMBJ_SCREENSHOTS_DIR") or Path(__file__).resolve().parents[2] / "docs" / "screenshots")


@tagged("-standard", "-at_install", "post_install", "smb_journey_screenshots")
class TestReadmeScreenshots(HttpCase):
    browser_size = "1440x900"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not cls.env.ref("smb_journey.demo_user_sally", raise_if_not_found=False):
            raise unittest.SkipTest("the README's screenshots are taken on the demo database (scripts/screenshots.sh)")

    def shoot(self, name, url, tour, login="admin"):
        """Run ``tour`` from ``url`` and save what the browser shows at its end as ``name``.png."""
        original = ChromeBrowser._wait_code_ok

        def wait_then_shoot(browser, code, timeout, error_checker=None):
            original(browser, code, timeout, error_checker=error_checker)
            png = browser._websocket_request("Page.captureScreenshot", params={"format": "png"}, timeout=30)
            SHOTS_DIR.mkdir(parents=True, exist_ok=True)
            (SHOTS_DIR / f"{name}.png").write_bytes(base64.b64decode(png["data"]))

        with patch.object(ChromeBrowser, "_wait_code_ok", wait_then_shoot):
            self.start_tour(url, tour, login=login)

    def journey_url(self, xmlid):
        return f"/odoo/action-smb_journey.smb_journey_action/{self.env.ref(xmlid).id}"

    def test_journeys(self):
        self.shoot("journeys", "/odoo/action-smb_journey.smb_journey_action", "smb_journey_shot_journeys")

    def test_journey_diagram(self):
        self.shoot("journey_diagram", self.journey_url("smb_journey.journey_abandoned_cart"),
                   "smb_journey_shot_journey_diagram")

    def test_customer_salesperson(self):
        partner = self.env.ref("smb_journey.demo_partner_emma")
        self.shoot("customer_salesperson", f"/odoo/contacts/{partner.id}", "smb_journey_shot_customer",
                   login="sally")

    def test_dashboard(self):
        self.shoot("dashboard", "/odoo/action-smb_journey.smb_journey_dashboard_action", "smb_journey_shot_dashboard")

    def test_gallery(self):
        self.shoot("gallery", "/odoo/action-smb_journey.smb_journey_action", "smb_journey_shot_gallery")

    def test_diagram_editor(self):
        self.shoot("diagram_editor", self.journey_url("smb_journey.journey_reengagement"),
                   "smb_journey_shot_diagram_editor")

    def test_email_editor(self):
        step = self.env.ref("smb_journey.journey_welcome_step_email_1")
        self.shoot("email_editor", f"/odoo/smb.journey.step/{step.id}", "smb_journey_shot_email_editor")

    def test_email_preview(self):
        step = self.env.ref("smb_journey.journey_welcome_step_email_1")
        self.shoot("email_preview", f"/odoo/smb.journey.step/{step.id}", "smb_journey_shot_email_preview")

    def test_test_run(self):
        self.shoot("test_run", self.journey_url("smb_journey.journey_welcome"), "smb_journey_shot_test_run")

    def test_forecast(self):
        self.shoot("forecast", self.journey_url("smb_journey.journey_abandoned_cart"), "smb_journey_shot_forecast")

    def test_versions(self):
        # the welcome series has customers inside: rewording its second email makes version 2
        self.env.ref("smb_journey.journey_welcome_step_email_2").subject = "Our best sellers, picked for you"
        self.shoot("versions", self.journey_url("smb_journey.journey_welcome"), "smb_journey_shot_versions")

    def test_settings(self):
        self.shoot("settings", "/odoo/action-smb_journey.smb_journey_settings_action", "smb_journey_shot_settings")

    def test_my_customers(self):
        self.shoot("my_customers", "/odoo/action-smb_journey.res_partner_action_smb_my_customers",
                   "smb_journey_shot_my_customers", login="sally")
