"""ORM-free logic of smb_journey.

Nothing in this package imports Odoo: it is tested with plain pytest from the
repository's ``tests/`` folder, and imported by the addon's models.
"""
