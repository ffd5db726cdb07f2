"""From 19.0.1.1.0: the abandoned-cart scan's bookmark becomes every scanner's
(``cart_scanned_at`` -> ``scanned_at``), kept so the next scan reads only
what changed since the last one."""

from odoo.tools.sql import column_exists, rename_column


def migrate(cr, version):
    if column_exists(cr, "smb_journey", "cart_scanned_at") and not column_exists(cr, "smb_journey", "scanned_at"):
        rename_column(cr, "smb_journey", "cart_scanned_at", "scanned_at")
