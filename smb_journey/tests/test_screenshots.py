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
