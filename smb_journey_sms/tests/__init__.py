from . import test_sms_step
