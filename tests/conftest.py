"""ORM-free tests: import smb_journey/lib modules without importing Odoo."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "smb_journey", "lib"))
