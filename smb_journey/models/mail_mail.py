import logging

from odoo import api, models
from odoo.fields import Command
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# What the ORM does when it creates a journey email, per model: the modules
# whose ``create`` may run (their work is redone below or does not apply to a
# queued journey email), the stored computed fields filled below, the Python
# constraints that hold for such rows. Anything else (a module overriding
# ``create``, a new stored compute, a new constraint) and the ORM creates the
# emails, as before: nothing is ever skipped silently.
_KNOWN = {
    "mail.message": {
        # mail.message.create: email_from, message_id and reply_to are given;
        # no base64 image in the chatter line, no attachment, no tracking
        # value; it invalidates the document's cached messages (done below)
        "create": {"odoo.addons.mail.models.mail_message"},
        "computed": set(),
        "constraints": set(),
    },
    "mail.mail": {
        # mail.mail.create: no scheduled date, is_notification given, no attachment
        "create": {"odoo.addons.mail.models.mail_mail"},
        "computed": set(),
        # on mail_server_id, which a journey email leaves empty
        "constraints": {"_check_mail_server_id"},
    },
    "mailing.trace": {
        # mailing.trace.create copies mail_mail_id into mail_mail_id_int: done below
        "create": {"odoo.addons.mass_mailing.models.mailing_trace"},
        "computed": {"campaign_id"},  # related mass_mailing_id.campaign_id, filled below
        "constraints": set(),
    },
}


class MailMail(models.Model):
    _inherit = "mail.mail"

    @api.model
    def _smb_journey_queue(self, vals_list, trace_vals_list):
        """Queue journey emails: one ``mail.mail`` (with its ``mail.message``)
        and one ``mailing.trace`` per item, as the mass-mail composer creates
        them. Returns the trace ids, in order.

        The rows are inserted set-based, one ``INSERT ... SELECT FROM unnest``
        per table, when the ORM would add nothing to them (see ``_KNOWN``):
        creating them record by record costs about 1 ms an email, most of it
        caches and reverse one2many links the engine never reads. The values
        are the ORM's own: defaults from ``default_get``, columns converted by
        each field (the chatter line sanitized like any Html field).
        """
        if not vals_list:
            return []
        if not self._smb_journey_set_based_ok():
            mails = self.create([
                dict(vals, mailing_trace_ids=[Command.create(trace_vals)])
                for vals, trace_vals in zip(vals_list, trace_vals_list)
            ])
            return [mail.mailing_trace_ids[:1].id for mail in mails]
        Message = self.env["mail.message"]
        message_fields = {name for name, field in self._fields.items() if field.inherited}
        message_ids = _insert(Message, [
            {name: value for name, value in vals.items() if name in message_fields} for vals in vals_list])
        mail_ids = _insert(self, [
            dict({name: value for name, value in vals.items() if name not in message_fields},
                 mail_message_id=message_id)
            for vals, message_id in zip(vals_list, message_ids)])
        mailings = self.env["mailing.mailing"].browse({t["mass_mailing_id"] for t in trace_vals_list})
        campaigns = {mailing.id: mailing.campaign_id.id for mailing in mailings}
        trace_ids = _insert(self.env["mailing.trace"], [
            dict(trace_vals, mail_mail_id=mail_id, mail_mail_id_int=mail_id,
                 campaign_id=campaigns[trace_vals["mass_mailing_id"]])
            for trace_vals, mail_id in zip(trace_vals_list, mail_ids)])
        # what the ORM would have cached is read again from the database
        for model in (Message, self, self.env["mailing.trace"]):
            model.invalidate_model()
        for model, res_ids in _group_documents(vals_list).items():
            self.env[model].browse(res_ids).invalidate_recordset(["message_ids", "website_message_ids"])
        return trace_ids

    @api.model
    def _smb_journey_known(self):
        """``_KNOWN``, as a copy: a module whose override of these models does
        not apply to a queued journey email adds itself here (with super())."""
        return {model: {key: set(names) for key, names in known.items()} for model, known in _KNOWN.items()}

    @api.model
    def _smb_journey_set_based_ok(self):
        """True when creating journey emails through the ORM would add nothing
        that :meth:`_smb_journey_queue` does not do itself."""
        for model_name, known in self._smb_journey_known().items():
            model = self.env[model_name]
            overrides = {
                cls.__module__ for cls in type(model).__mro__
                if "create" in vars(cls) and not cls.__module__.startswith("odoo.orm")
                and cls.__module__ != __name__
            }
            computed = {
                name for name, field in model._fields.items()
                if field.store and field.column_type and field.compute and not field.inherited
            }
            constraints = {method.__name__ for method in model._constraint_methods}
            unknown = (overrides - known["create"], computed - known["computed"], constraints - known["constraints"])
            if any(unknown):
                _logger.info("Journey emails created through the ORM: %s has %s", model_name, unknown)
                return False
        return True


def _group_documents(vals_list):
    documents = {}
    for vals in vals_list:
        if vals.get("model") and vals.get("res_id"):
            documents.setdefault(vals["model"], []).append(vals["res_id"])
    return documents


def _insert(model, vals_list):
    """Insert one row per values (the same keys in every one) with the
    defaults, log columns and column conversion the ORM applies; returns the
    new ids, in order."""
    env = model.env
    given = set(vals_list[0])
    columns = [name for name, field in model._fields.items()
               if field.store and field.column_type and not field.inherited and name != "id"]
    defaults = model.with_context(
        {k: v for k, v in env.context.items() if not k.startswith("default_")}
    ).default_get([name for name in columns if name not in given])
    now = env.cr.now()
    constant = dict(defaults, create_uid=env.uid, write_uid=env.uid, create_date=now, write_date=now)
    names, arrays = [], []
    for name in columns:
        field = model._fields[name]
        if name in given:
            values = [vals[name] for vals in vals_list]
        elif name in constant:
            values = [constant[name]] * len(vals_list)
        else:
            continue
        converted = {}  # a value repeated across rows (a sender, a chatter line) is converted once
        column = []
        for value in values:
            key = (type(value), value)
            if key not in converted:
                converted[key] = field.convert_to_column_insert(value, model, {})
            column.append(converted[key])
        names.append(name)
        # str(): psycopg2 adapts a Markup (a str subclass) as it does a str, but say so
        arrays.append(([str(v) if isinstance(v, str) else v for v in column], field.column_type[1]))
    table = model._table
    ids = [row[0] for row in env.execute_query(SQL(
        "SELECT nextval(%s) FROM generate_series(1, %s)", f"{table}_id_seq", len(vals_list)))]
    env.cr.execute(SQL(
        "INSERT INTO %s (id, %s) SELECT * FROM unnest(%s::int4[], %s)",
        SQL.identifier(table),
        SQL(", ").join(SQL.identifier(name) for name in names),
        ids,
        SQL(", ").join(SQL("%s::%s[]", values, SQL(column_type)) for values, column_type in arrays),
    ))
    return ids
