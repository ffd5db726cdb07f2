from . import consent
from . import portal
