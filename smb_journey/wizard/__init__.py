from . import smb_journey_enroll_wizard
from . import smb_journey_step_preview
from . import base_partner_merge
from . import mailing_contact_import
from . import smb_journey_test_run
from . import smb_journey_forecast
from . import smb_journey_version_move
from . import smb_journey_version_move_line
