from . import consent
from . import portal
from . import tracking
