{
    "name": "Customer Journeys - SMS",
    "version": "19.0.1.0.0",
    "category": "Marketing/Automation",
    "summary": "A 'Send SMS' journey step, through Odoo's SMS queue and SMS Marketing's tracking",
    "description": "Bridge between Customer Journeys and SMS Marketing: a 'Send SMS' step whose text is a "
    "template like a journey email's, queued in Odoo's SMS queue (sent through IAP), with shortened and "
    "tracked links, an opt-out link that blacklists the number and ends the customer's journeys, phone "
    "blacklist and journey opt-out respected, and the step's sent, delivered and clicked numbers.",
    "author": "smb_journey contributors",
    "website": "https://github.com/smb-journey/smb_journey",
    "license": "LGPL-3",
    "depends": ["smb_journey", "mass_mailing_sms"],
    "data": [
        "views/smb_journey_step_views.xml",
    ],
    "demo": ["demo/smb_journey_sms_demo.xml"],
    "auto_install": True,
    "installable": True,
}
