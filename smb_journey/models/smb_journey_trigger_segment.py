from datetime import timedelta

import psycopg2.errors
from odoo import api, fields, models
from odoo.addons.smb_journey.models.res_partner import SHARED_COLUMNS
from odoo.addons.smb_journey.tools.registry import Trigger
from odoo.fields import Domain
from odoo.tools import SQL

# a customer written by a transaction still open when the last pass ran has a
# write_date older than that pass: read back this far (re-reading is harmless,
# the members table tells who really joined or left)
CHANGE_MARGIN = timedelta(minutes=10)
# related records (orders, tags) change without the customer's write_date:
# a full pass this often catches them
FULL_PASS_EVERY = timedelta(days=1)


class SmbJourney(models.Model):
    _inherit = "smb.journey"

    segment_domain = fields.Char(
        "Segment", default="[]",
        help="Customers enter when they start matching this filter. Checked at every pass of the engine on the "
        "customers whose data changed, and in full once a day (for filters on their orders, tags or other "
        "records, which change without the customer's own data changing).")
    segment_exit = fields.Boolean(
        "Exit When They Leave",
        help="A customer who stops matching the segment leaves the journey (reason: left the segment).")
    segment_new_only = fields.Boolean(
        "Only Customers Who Join Later",
        help="Customers already in the segment when the journey starts do not enter; only those who join it "
        "afterwards do.")
    segment_full_at = fields.Datetime(
        "Segment Fully Evaluated On", copy=False, readonly=True,
        help="Technical: last pass that evaluated the segment on every customer rather than on those changed.")

    @api.model
    def _trigger_types(self):
        _ = self.env._
        return super()._trigger_types() | {"segment": Trigger(
            _("Customer segment"), fires="scan", record_filter=False, icon="fa-filter",
            params=("segment_domain", "segment_exit", "segment_new_only"),
            entry=_("when they start matching, then as the re-entry policy says"),
            reasons=(("left_segment", _("Left the segment")),),
            help=_("A customer starts matching a filter: checked on changed customers at every pass, and on "
                   "everyone once a day."))}

    @api.constrains("segment_domain")
    def _check_segment_domain(self):
        for journey in self:
            self._validate_filter(
                journey.segment_domain, "res.partner",
                self.env._("Journey %(journey)s, filter %(field)s", journey=journey.name,
                           field=journey._fields["segment_domain"].string),
                company=journey.company_id)

    @api.model
    def _owned_fields(self):
        return super()._owned_fields() + ["segment_domain"]

    # ------------------------------------------------------------
    # SCANNER
    # ------------------------------------------------------------

    def _scan_segment(self):
        """Enter the customers who started matching since the last pass, and
        exit (when the journey says so) those who stopped.

        Only customers whose data changed are evaluated (one search: changed
        and matching), except on a full pass. Who matched before is the
        members table: a customer already in the segment who edits their
        phone number does not enter again. Returns the new enrollments."""
        self.ensure_one()
        now = fields.Datetime.now()
        full = self._segment_full_pass_due(now)
        Partner = self.env["res.partner"]
        scope = None if full else Partner.sudo().with_context(active_test=False)._search(  # sudo: which rows changed
            Domain("write_date", ">", self.scanned_at - CHANGE_MARGIN))
        matching = set(self._segment_matching(None if full else Domain("id", "any", scope)).ids)
        members = self._segment_members(scope)
        joined = [pid for pid in matching if pid not in members]
        left = [pid for pid in members if pid not in matching]
        self._segment_update_members(joined, left, now)
        if full:
            self.segment_full_at = now
        if left and self.segment_exit:
            self.env["smb.journey.enrollment"].search([
                ("journey_id", "=", self.id), ("state", "in", ("running", "error")), ("partner_id", "in", left),
            ])._exit("left_segment")
        if not joined or (self.segment_new_only and not self.scanned_at):
            return self.env["smb.journey.enrollment"]
        return self._enroll_pairs([(partner, None) for partner in Partner.browse(sorted(joined))])

    def _segment_full_pass_due(self, now):
        """Evaluate everyone: the first pass, once a day, and after a nightly
        tier or churn recompute when the filter reads what it writes (those
        raw UPDATEs leave write_date alone on purpose)."""
        if not self.scanned_at or not self.segment_full_at or now >= self.segment_full_at + FULL_PASS_EVERY:
            return True
        if not self._segment_reads_insights():
            return False
        company = self.company_id
        if company.smb_tiers_computed_at and company.smb_tiers_computed_at >= self.scanned_at:
            return True
        # sudo: whether the company's scoring ran, not what it found
        return bool(self.env["smb.churn.run"].sudo().search_count(
            [("company_id", "=", company.id), ("date", ">=", self.scanned_at)], limit=1))

    def _segment_reads_insights(self):
        """Whether the filter names a tier or churn value (on the customer or
        through a relation: ``parent_id.smb_tier_id``)."""
        names = set(SHARED_COLUMNS)
        return any(names & set(c.field_expr.split(".")) for c in self._parsed("segment_domain").iter_conditions())

    def _segment_matching(self, scope=None):
        """Customers of the journey's company matching the segment, among
        ``scope`` (a partner domain) when given; with the author's field
        access (see _search_as_owner)."""
        domain = Domain([("active", "=", True), ("company_id", "in", (False, self.company_id.id))])
        if scope is not None:
            domain &= scope
        return self._search_as_owner(
            "res.partner", domain & self._parsed("segment_domain"),
            what=self.env._("The filter %s", self._fields["segment_domain"].string))

    def _segment_members(self, scope=None):
        """Ids of the customers who matched at the last pass, among ``scope``."""
        where = SQL("m.journey_id = %s", self.id)
        if scope is not None:
            where = SQL("%s AND m.partner_id IN %s", where, scope.subselect())
        return {pid for pid, in self.env.execute_query(SQL(
            "SELECT m.partner_id FROM smb_journey_segment_member m WHERE %s", where))}

    def _segment_update_members(self, joined, left, now):
        """One statement per direction. A concurrent pass that wrote the same
        rows first (two engine workers) makes ours a no-op, not a failure."""
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                if left:
                    cr.execute(SQL(
                        "DELETE FROM smb_journey_segment_member WHERE journey_id = %s AND partner_id = ANY(%s)",
                        self.id, left), log_exceptions=False)
                if joined:
                    cr.execute(SQL(
                        """INSERT INTO smb_journey_segment_member (journey_id, partner_id, since)
                           SELECT %s, unnest(%s::int[]), %s
                           ON CONFLICT (journey_id, partner_id) DO NOTHING""",
                        self.id, joined, now), log_exceptions=False)
        except psycopg2.errors.SerializationFailure:
            pass  # the other worker's pass recorded the same change
        self.env["smb.journey.segment.member"].invalidate_model()

    # ------------------------------------------------------------
    # EXIT: asked by the engine before every step
    # ------------------------------------------------------------

    def _exit_reasons_segment(self, enrollments):
        """Customers who no longer match leave before their next step, even
        when the change (an order, a tag) did not touch their own data."""
        if not self.segment_exit:
            return {}
        matching = set(self._segment_matching(Domain("id", "in", enrollments.partner_id.ids)).ids)
        return {e: ("exited", "left_segment") for e in enrollments if e.partner_id.id not in matching}
