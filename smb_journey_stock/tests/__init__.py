from . import test_order_delivered
from . import test_back_in_stock
from . import test_concurrency
