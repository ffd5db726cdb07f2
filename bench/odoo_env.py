"""Load Odoo 19 in a script: configuration, registry, environments."""

import contextlib
import os
import threading

ODOO_SRC = os.environ.get("ODOO_SRC", "/opt/odoo19")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_addons_path():
    return f"{ODOO_SRC}/addons,{REPO}"


def odoo_args(db, db_host="127.0.0.1", db_port=5432, db_user="odoo", addons_path=None, log_level="warn"):
    """odoo-bin options shared by the install command and the in-process registry."""
    return [
        "-d", db, "--db_host", db_host, "--db_port", str(db_port), "--db_user", db_user,
        "--addons-path", addons_path or default_addons_path(), f"--log-level={log_level}",
        "--http-interface=127.0.0.1",
    ]


def load_registry(db, **kwargs):
    """Parse Odoo's configuration for ``db`` and return its registry."""
    import odoo  # noqa: F401, PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.service import server  # noqa: PLC0415
    from odoo.tools import config  # noqa: PLC0415

    # Odoo's own composer still calls a deprecated progress API: keep the output readable
    config.parse_config([*odoo_args(db, **kwargs), "--log-handler=py.warnings:ERROR"], setup_logging=True)
    threading.current_thread().dbname = db
    server.load_server_wide_modules()
    return Registry(db)


@contextlib.contextmanager
def environment(registry, commit=False):
    """A superuser environment on a new cursor of ``registry``; rolled back
    unless ``commit``."""
    from odoo import api  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        try:
            yield env
        except BaseException:
            cr.rollback()
            raise
        if commit:
            cr.commit()
        else:
            cr.rollback()
