from collections import defaultdict
from datetime import timedelta

import psycopg2.errors

from odoo import fields, models
from odoo.tools import SQL

from .smb_journey_step import POSTPONED, StepResult

# a batch that met another worker's send to the same customer tries again
# this much later, from a fresh snapshot
RETRY_AFTER = timedelta(minutes=1)

# the namespace of the customers' claims on their ledger rows:
# pg_try_advisory_xact_lock(LEDGER_LOCK, partner id) (see ``_lock_ledger``)
LEDGER_LOCK = 0x534D424A


class SmbJourneyStep(models.Model):
    """Message gate: the frequency cap, last of the gates so that only the
    messages really sent count.

    The count must hold under two engine workers sending to the same
    customer from different journeys. Each reads the customer's ledger row
    (smb.journey.frequency.rule) under a row lock, once it has claimed the
    customer (an advisory lock). The second does not wait for the first: a
    customer another worker claimed, or whose row it changed after this
    worker's snapshot (which REPEATABLE READ could not lock anyway), is
    busy, and those customers' messages are put back a minute, to be judged
    again from a fresh snapshot. The count read under the lock is therefore
    always current, and the send is appended in the same transaction."""

    _inherit = "smb.journey.step"

    def _hold_messages(self, enrollments):
        held = super()._hold_messages(enrollments)
        todo = [e for e in enrollments if e not in held]
        if not self._cap_counts() or not todo:
            return held
        limits = self._cap_limits()
        now = fields.Datetime.now()
        channel = self._type().mailing_type
        ledger, busy = self._lock_ledger(sorted({e.partner_id.id for e in todo}))
        policy = self.journey_id.cap_policy
        for enrollment in todo:
            partner_id = enrollment.partner_id.id
            if partner_id in busy:
                held[enrollment] = StepResult(enrollment, POSTPONED, "frequency_cap", due_at=now + RETRY_AFTER)
                continue
            sends = ledger[partner_id]
            room_at, rule = _room_at(sends, limits, now)
            if room_at <= now:
                # counted at once, so that a second enrollment of the customer in this
                # batch sees it (should the step then skip the first, the second has
                # waited for nothing: the safe side of the cap)
                sends.append((now, channel))
            elif policy == "skip":
                count, window = rule
                held[enrollment] = StepResult(enrollment, "skipped", "frequency_cap", message=self.env._(
                    "At most %(count)s within %(hours)s hours", count=count, hours=int(window.total_seconds() // 3600)))
            else:
                held[enrollment] = StepResult(enrollment, POSTPONED, "frequency_cap", due_at=room_at)
        return held

    def _messages_done(self, results):
        super()._messages_done(results)
        sent = defaultdict(int)
        for result in results:
            if result.outcome == "sent":
                sent[result.enrollment.partner_id.id] += 1
        if not sent or not self._cap_counts():
            return
        channel = self._type().mailing_type
        now = fields.Datetime.now()
        # a customer's row serves every company's rules: keep what the longest of them counts
        longest = timedelta(hours=self.env["smb.journey.frequency.rule"]._longest_window())
        partner_ids = sorted(sent)
        # the rows were locked by _hold_messages in this transaction
        self.env.cr.execute(SQL(
            """UPDATE smb_journey_send_ledger ledger
                  SET (sent_at, sent_via) = (
                        SELECT COALESCE(array_agg(moment ORDER BY moment, n), '{}'),
                               COALESCE(array_agg(via ORDER BY moment, n), '{}')
                          FROM unnest(ledger.sent_at || array_fill(%(now)s::timestamp, ARRAY[new.count]),
                                      ledger.sent_via || array_fill(%(channel)s::varchar, ARRAY[new.count]))
                               WITH ORDINALITY AS send(moment, via, n)
                         WHERE moment > %(since)s)
                 FROM unnest(%(partners)s::int[], %(counts)s::int[]) AS new(partner_id, count)
                WHERE ledger.partner_id = new.partner_id""",
            now=now, since=now - longest, channel=channel, partners=partner_ids,
            counts=[sent[p] for p in partner_ids]))

    def _cap_counts(self):
        """Whether this step's messages are counted by the cap (and held by
        its rules): those of a marketing journey (an order's follow-up is
        neither capped nor counted) of a company with the cap on. Every
        message counted is kept in the ledger, even when no rule holds its
        channel: a rule for all messages added later sees it."""
        self.ensure_one()
        journey = self.journey_id
        return bool(self._type().mailing_type and journey.marketing and journey.company_id.smb_frequency_cap)

    def _cap_limits(self):
        """[(max messages, window, channel counted)] capping this step's
        messages: the rules of its channel and those of all messages (none
        when the cap does not count it, see ``_cap_counts``)."""
        self.ensure_one()
        if not self._cap_counts():
            return []
        channel = self._type().mailing_type
        limits = self.env["smb.journey.frequency.rule"]._limits(self.journey_id.company_id, channel)
        return [(count, timedelta(hours=hours), counted) for count, hours, counted in limits]

    def _lock_ledger(self, partner_ids):
        """({partner id: [(send time, channel)]}, {partner ids that are busy}):
        the customers' ledger rows, created if missing and locked. A worker
        never waits for another's customers: the other holds them until its
        whole batch is committed (up to a batch of enrollments), and in
        REPEATABLE READ a row that transaction then changed could not be
        locked anyway. So each worker first claims its customers with a
        transaction-level advisory lock taken without waiting (every writer
        of the ledger does, so no two ever insert or lock the same row at
        once); the customers another worker claimed, and those whose row
        another worker changed after this worker's snapshot, are busy, and
        tried again a minute later."""
        cr = self.env.cr
        cr.execute(SQL(
            "SELECT partner_id FROM unnest(%s::int[]) partner_id WHERE pg_try_advisory_xact_lock(%s, partner_id)",
            partner_ids, LEDGER_LOCK))
        claimed = sorted(partner_id for partner_id, in cr.fetchall())
        busy = set(partner_ids) - set(claimed)
        if not claimed:
            return {}, busy
        insert = SQL(
            """INSERT INTO smb_journey_send_ledger (partner_id)
               SELECT partner_id FROM unnest(%s::int[]) partner_id ORDER BY partner_id
               ON CONFLICT DO NOTHING""", claimed)
        select = SQL(
            """SELECT partner_id, sent_at, sent_via FROM smb_journey_send_ledger
                WHERE partner_id = ANY(%s) ORDER BY partner_id FOR UPDATE NOWAIT""", claimed)
        try:
            with cr.savepoint(flush=False):
                cr.execute(insert, log_exceptions=False)
                cr.execute(select, log_exceptions=False)
                return ({pid: list(zip(sent_at, sent_via, strict=True)) for pid, sent_at, sent_via in cr.fetchall()},
                        busy)
        except (psycopg2.errors.TransactionRollbackError, psycopg2.errors.LockNotAvailable):
            pass
        # another worker sent to some of them since our snapshot: find which,
        # customer by customer (rare: two workers on the same customers at once)
        ledger = {}
        for partner_id in claimed:
            try:
                with cr.savepoint(flush=False):
                    cr.execute(SQL(
                        "INSERT INTO smb_journey_send_ledger (partner_id) VALUES (%s) ON CONFLICT DO NOTHING",
                        partner_id), log_exceptions=False)
                    cr.execute(SQL(
                        "SELECT sent_at, sent_via FROM smb_journey_send_ledger WHERE partner_id = %s FOR UPDATE NOWAIT",
                        partner_id), log_exceptions=False)
                    sent_at, sent_via = cr.fetchone()
                    ledger[partner_id] = list(zip(sent_at, sent_via, strict=True))
            except (psycopg2.errors.TransactionRollbackError, psycopg2.errors.LockNotAvailable):
                busy.add(partner_id)
        return ledger, busy


def _room_at(sends, limits, now):
    """(when, rule): when the customer may get one more message (``now`` if
    every rule has room, else when the send that fills the fullest rule
    leaves its window), and the rule (max messages, window) that decides it
    (``None`` without rules).
    ``sends`` are (time, channel); a rule counts those of its channel, or
    all of them when its channel is ``None``."""
    if not limits:
        return now, None
    room_at, rule = now, limits[0][:2]
    for count, window, counted in limits:
        recent = sorted(moment for moment, via in sends
                        if moment > now - window and counted in (None, via))
        # the oldest sends must leave until only count - 1 remain
        if len(recent) >= count and recent[len(recent) - count] + window > room_at:
            room_at, rule = recent[len(recent) - count] + window, (count, window)
    return room_at, rule
