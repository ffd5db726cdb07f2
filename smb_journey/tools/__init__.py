from .contained import contained

__all__ = ["contained"]
