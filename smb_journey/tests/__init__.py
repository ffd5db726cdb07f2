from . import test_engine
from . import test_triggers
from . import test_delivery
from . import test_abandoned_cart
from . import test_security
from . import test_concurrency
from . import test_ui
from . import test_loyalty_tiers
