from . import smb_journey_step
from . import smb_journey_enrollment
from . import smb_journey
from . import phone_blacklist
from . import mail_mail
from . import smb_journey_frequency_rule
from . import smb_journey_step_test_run
