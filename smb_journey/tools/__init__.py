from .contained import contained
from . import registry, vocabulary

__all__ = ["contained", "registry", "vocabulary"]
