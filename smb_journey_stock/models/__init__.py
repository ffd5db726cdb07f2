from . import smb_journey_event
from . import smb_journey_trigger_order_delivered
from . import smb_journey_trigger_back_in_stock
from . import smb_journey_step_context
from . import stock_picking
from . import product_product
from . import smb_journey_forecast
