from datetime import date

from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal


class SmbJourneyCustomerPortal(CustomerPortal):
    """The birthday in the customer's account details: optional, a real
    date in the past, saved on their contact."""

    def _parse_form_data(self, form_data):
        raw = form_data.pop("smb_birthday", None)
        address_values, extra_form_data = super()._parse_form_data(form_data)
        if raw is not None:
            raw = raw.strip()
            try:
                birthday = date.fromisoformat(raw) if raw else False
            except ValueError:
                birthday = None
            if birthday is None or (birthday and not date(1900, 1, 1) <= birthday <= date.today()):
                extra_form_data["smb_birthday_invalid"] = raw
            else:
                address_values["smb_birthday"] = birthday
        return address_values, extra_form_data

    def _validate_address_values(self, address_values, partner_sudo, *args, **kwargs):
        invalid_fields, missing_fields, error_messages = super()._validate_address_values(
            address_values, partner_sudo, *args, **kwargs)
        if kwargs.get("smb_birthday_invalid"):
            invalid_fields.add("smb_birthday")
            error_messages.append(request.env._("Please enter your birthday as a date in the past."))
        return invalid_fields, missing_fields, error_messages
