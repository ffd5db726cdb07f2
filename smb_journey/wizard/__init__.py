from . import smb_journey_enroll_wizard
