from datetime import timedelta

import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, format_amount, format_datetime, mute_logger

from odoo.addons.smb_journey.lib import experiments
from odoo.addons.smb_journey.tools import vocabulary
from odoo.addons.smb_journey.tools.registry import StepType

from .smb_journey_step import StepResult

VARIANTS = ("a", "b", "c", "d")
# what the split's log says: the variant drawn at random, or the winner taken after promotion
VARIANT_REASONS = tuple(f"variant_{key}" for key in VARIANTS)
WINNER_REASON = "split_winner"
# the hash's salt: a split and a holdout of the same journey draw independently
SALT = "split"


class SmbJourneyStep(models.Model):
    """The A/B split: each customer goes down one of 2 to 4 variants, drawn by
    a stable hash of the split and the customer (lib/experiments.py) against
    the variants' weights; the variants' messages are compared on the metric
    the admin picks, and a winner, promoted by hand or automatically after a
    number of recipients or days, is what every later customer takes."""

    _inherit = "smb.journey.step"

    split_count = fields.Integer("Variants", default=2, help="How many variants customers are split into (2 to 4).")
    split_weight_a = fields.Integer("Weight A (%)", default=50)
    split_weight_b = fields.Integer("Weight B (%)", default=50)
    split_weight_c = fields.Integer("Weight C (%)", default=0)
    split_weight_d = fields.Integer("Weight D (%)", default=0)
    split_metric = fields.Selection(
        [("open", "Open rate"), ("click", "Click rate"), ("conversion", "Conversion rate"),
         ("revenue", "Revenue per recipient")],
        "Winning Metric", default="click",
        help="What makes a variant the best: the share of its recipients who opened, clicked or bought "
        "(an order credited to one of its emails), or the revenue credited per recipient.")
    split_promotion = fields.Selection(
        [("manual", "By hand"), ("recipients", "After a number of recipients"), ("days", "After a number of days")],
        "Promote the Winner", default="manual", required=True,
        help="By hand: a Journey Manager picks the winner. Automatically: once the test has enough recipients "
        "(all variants together) or has run for enough days, the leading variant on the winning metric becomes "
        "the winner, significant or not (the journey's chatter says which); customers who reach the split "
        "afterwards all take it.")
    split_promote_recipients = fields.Integer("Recipients Before Promotion", default=1000)
    split_promote_days = fields.Integer("Days Before Promotion", default=7)
    split_winner = fields.Selection(
        [(key, f"Variant {key.upper()}") for key in VARIANTS], "Winner", readonly=True, copy=False,
        help="Every customer reaching the split takes this variant.")
    split_promoted_at = fields.Datetime("Winner Since", readonly=True, copy=False)
    split_started_at = fields.Datetime(
        "Test Started On", readonly=True, copy=False,
        help="When the first customer reached the split: a promotion after a number of days counts from then.")
    journey_state = fields.Selection(related="journey_id.state", string="Journey Status")
    split_results_html = fields.Html("Test Results", compute="_compute_split_results_html", sanitize=False)

    @api.model
    def _step_types(self):
        _ = self.env._
        return super()._step_types() | {
            "split": StepType(
                _("A/B split"), icon="fa-random",
                outlets=tuple((key, _("Variant %s", key.upper())) for key in VARIANTS),
                reasons=tuple((f"variant_{key}", _("Variant %s", key.upper())) for key in VARIANTS)
                + ((WINNER_REASON, _("Winner of the A/B test")),),
                help=_("Sends each customer down one of 2 to 4 variants, the same one every time; "
                       "compares them and keeps the winner.")),
        }

    # ------------------------------------------------------------
    # COMPUTES, CONSTRAINTS
    # ------------------------------------------------------------

    @api.depends(lambda self: self._diagram_depends())
    def _compute_diagram_info(self):
        """A split shows only its variants, with their weights (or the winner)."""
        super()._compute_diagram_info()
        for step in self.filtered(lambda s: s.step_type == "split"):
            labels = dict(step._type().outlets)
            outlets = [
                {"key": key, "label": labels[key] + (
                    f" · {weight}%" if not step.split_winner else " ★" if key == step.split_winner else " · 0%")}
                for key, weight in step._split_weights()
            ]
            step.diagram_info = dict(step.diagram_info, outlets=outlets)

    @api.model
    def _diagram_depends(self):
        return super()._diagram_depends() + [
            "split_count", "split_weight_a", "split_weight_b", "split_weight_c", "split_weight_d",
            "split_metric", "split_winner"]

    def _compute_split_results_html(self):
        splits = self.filtered(lambda s: s.step_type == "split" and s.id)
        (self - splits).split_results_html = False
        reports = splits._split_reports()
        for step in splits:
            step.split_results_html = self.env["ir.qweb"]._render(
                "smb_journey.split_results", {"report": reports[step.id]})

    @api.constrains("step_type", "split_count", "split_weight_a", "split_weight_b", "split_weight_c",
                    "split_weight_d", "split_promote_recipients", "split_promote_days")
    def _check_split_weights(self):
        for step in self.filtered(lambda s: s.step_type == "split"):
            if not 2 <= step.split_count <= len(VARIANTS):
                raise ValidationError(self.env._("Step %s: an A/B split has 2 to 4 variants.", step.name))
            weights = [weight for __, weight in step._split_weights()]
            if min(weights) < 1 or sum(weights) != 100:
                raise ValidationError(self.env._(
                    "Step %(step)s: each variant needs a weight of at least 1 %% and the weights must add up to "
                    "100 %% (they add up to %(total)s %%).", step=step.name, total=sum(weights)))
            if step.split_promote_recipients < 1 or step.split_promote_days < 1:
                raise ValidationError(self.env._(
                    "Step %s: the promotion needs at least one recipient or one day.", step.name))

    @api.onchange("split_count")
    def _onchange_split_count(self):
        """Equal weights for the variants chosen (the first ones get the remainder)."""
        count = min(max(self.split_count or 2, 2), len(VARIANTS))
        for index, key in enumerate(VARIANTS):
            share = 100 // count + (1 if index < 100 % count else 0) if index < count else 0
            self[f"split_weight_{key}"] = share

    def _check_split(self):
        """Refuse to start with a step placed on a variant the split does not have."""
        keys = dict(self._split_weights())
        lost = self.child_ids.filtered(lambda s: s.branch not in keys)
        if lost:
            raise UserError(self.env._(
                "Step %(step)s is placed on a variant that the A/B split %(split)s does not have (it has "
                "%(count)s variants): move it or add variants.", step=lost[0].name, split=self.name,
                count=self.split_count))

    def _describe_split(self):
        if self.split_winner:
            return self.env._("Winner: Variant %s", self.split_winner.upper())
        metric = dict(self._fields["split_metric"]._description_selection(self.env)).get(self.split_metric, "")
        weights = " / ".join(f"{key.upper()} {weight}%" for key, weight in self._split_weights())
        return self.env._("%(weights)s, on %(metric)s", weights=weights, metric=vocabulary.inline_label(self.env, metric))

    # ------------------------------------------------------------
    # VERSIONS (smb_journey_step_version.py)
    # ------------------------------------------------------------

    @api.model
    def _version_free_fields(self):
        """How the test is judged and what it found change no customer's
        path by themselves: applied to the current version in place."""
        return super()._version_free_fields() | {
            "split_metric", "split_promotion", "split_promote_recipients", "split_promote_days",
            "split_winner", "split_promoted_at", "split_started_at"}

    def _version_carried_values(self):
        """A new version of the journey keeps what the test learnt: its
        winner (every customer reaching the split keeps taking it) and when
        it started (a promotion after a number of days still counts from
        then). The variants' numbers are each version's own: the new
        version's messages may differ."""
        values = super()._version_carried_values()
        if self.step_type == "split":
            values.update(split_winner=self.split_winner, split_promoted_at=self.split_promoted_at,
                          split_started_at=self.split_started_at)
        return values

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_split_promote(self):
        """A Journey Manager makes a variant (``split_variant`` in the
        context) the winner: every customer reaching the split from now on
        takes it. Replaces an earlier winner."""
        self.ensure_one()
        self.check_access("write")
        variant = self.env.context.get("split_variant")
        if self.step_type != "split" or variant not in dict(self._split_weights()):
            raise UserError(self.env._("Pick one of the split's variants."))
        report = self._split_reports()[self.id]
        self.write({"split_winner": variant, "split_promoted_at": fields.Datetime.now()})
        self._split_announce(variant, report, auto=False)

    # ------------------------------------------------------------
    # EXECUTION
    # ------------------------------------------------------------

    def _run_split(self, enrollments):
        if not self.split_started_at:
            self._split_mark_started()
        winner = self.split_winner or self._split_auto_promote()
        if winner:
            return [StepResult(e, "done", WINNER_REASON, outlet=winner) for e in enrollments]
        weights = self._split_weights()
        return [
            StepResult(enrollment, "done", f"variant_{variant}", outlet=variant)
            for enrollment in enrollments
            for variant in [experiments.assign(weights, SALT, self.id, enrollment.partner_id.id)]
        ]

    def _split_weights(self):
        """[(variant, weight)] of the split's variants, in order."""
        self.ensure_one()
        count = min(max(self.split_count, 2), len(VARIANTS))
        return [(key, self[f"split_weight_{key}"]) for key in VARIANTS[:count]]

    def _split_auto_promote(self):
        """The variant promoted now if the automatic promotion is due (else
        False): the leader on the winning metric. Once, even when two workers
        run the split at the same time: the step's row is locked (SKIP
        LOCKED) and updated only while it has no winner; a worker that finds
        it locked, or changed since its snapshot, goes on as if the other
        worker's promotion had come just after it (its customers are drawn
        at random, as they would have been a moment earlier)."""
        if self.split_promotion == "manual" or not self._split_promotion_due():
            return False
        # due: only now the full report (every variant's messages and their traces)
        report = self._split_reports()[self.id]
        leader = report["verdict"].leader
        if not leader:
            return False  # a tie (or no data): the test goes on
        self.flush_recordset(["split_winner", "split_promoted_at"])
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False), mute_logger("odoo.sql_db"):
                cr.execute(SQL(
                    """UPDATE smb_journey_step SET split_winner = %(winner)s, split_promoted_at = %(now)s
                        WHERE id IN (SELECT id FROM smb_journey_step WHERE id = %(id)s AND split_winner IS NULL
                                     FOR NO KEY UPDATE SKIP LOCKED)
                       RETURNING id""",
                    winner=leader, now=fields.Datetime.now(), id=self.id), log_exceptions=False)
                promoted = bool(cr.fetchall())
        except psycopg2.errors.SerializationFailure:
            promoted = False  # promoted by a worker that committed after our snapshot
        self.invalidate_recordset(["split_winner", "split_promoted_at", "diagram_info"])
        if not promoted:
            return False
        self._split_announce(leader, report, auto=True)
        return leader

    def _split_mark_started(self):
        """Note when the test started, once: when the first customer reaches
        the split, or when the first one did before this date was kept. Like
        the promotion, a worker that finds the row locked by another leaves
        it to that one."""
        self.env["smb.journey.log"].flush_model(["step_id", "outcome", "date"])
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False), mute_logger("odoo.sql_db"):
                cr.execute(SQL(
                    """UPDATE smb_journey_step
                          SET split_started_at = COALESCE((SELECT MIN(date) FROM smb_journey_log
                                                            WHERE step_id = %(id)s AND outcome = 'done'), %(now)s)
                        WHERE id IN (SELECT id FROM smb_journey_step WHERE id = %(id)s AND split_started_at IS NULL
                                     FOR NO KEY UPDATE SKIP LOCKED)""",
                    id=self.id, now=fields.Datetime.now()), log_exceptions=False)
        except psycopg2.errors.SerializationFailure:
            pass  # noted by a worker that committed after our snapshot
        self.invalidate_recordset(["split_started_at"])

    def _split_promotion_due(self):
        """Whether the automatic promotion is due, without the report: the
        engine asks at every batch that reaches the split. After a number of
        days: the date the test started (no query). After a number of
        recipients: the customers sent one of the variants' messages, in one
        count on the log's step index (before a winner, every customer under
        a variant was drawn into it, as the report's recipients are)."""
        if self.split_promotion == "days":
            return bool(self.split_started_at) and fields.Datetime.now() >= self.split_started_at + timedelta(
                days=self.split_promote_days)
        branch_ids = [step_id for ids in self._split_branch_steps().values() for step_id in ids]
        if not branch_ids:
            return False
        self.env["smb.journey.log"].flush_model(["step_id", "outcome", "enrollment_id"])
        [(recipients,)] = self.env.execute_query(SQL(
            "SELECT COUNT(DISTINCT enrollment_id) FROM smb_journey_log WHERE step_id = ANY(%s) AND outcome = 'sent'",
            branch_ids))
        return recipients >= self.split_promote_recipients

    def _split_announce(self, variant, report, auto):
        """Say in the journey's chatter which variant won, with the numbers and the test."""
        _ = self.env._
        if auto:
            why = _("automatically, after %(count)s recipients", count=report["recipients"]) \
                if self.split_promotion == "recipients" else \
                _("automatically, after %(days)s days", days=self.split_promote_days)
        else:
            why = _("by %(user)s", user=self.env.user.name)
        numbers = "; ".join(
            f"{row['label']}: {row['metric_value']} ({_('%s recipients', row['recipients'])})"
            for row in report["rows"])
        # sudo: the engine (or a Journey Manager) reports on the journey it runs
        self.journey_id.sudo().message_post(body=_(
            "A/B split %(step)s: Variant %(variant)s is the winner (%(why)s); every customer reaching the split "
            "now takes it. %(metric)s: %(numbers)s. %(verdict)s",
            step=self.name, variant=variant.upper(), why=why, metric=report["metric"], numbers=numbers,
            verdict=report["verdict_text"]))

    # ------------------------------------------------------------
    # STATISTICS: per variant, the messages of the steps placed under it
    # ------------------------------------------------------------

    def _split_branch_steps(self):
        """{variant: ids of the steps placed under it, at any depth}."""
        self.ensure_one()
        steps = self._version_steps()
        children = {}
        for step in steps:
            children.setdefault(step.parent_id.id, []).append(step)
        result = {}
        for key, __ in self._split_weights():
            todo = [s for s in children.get(self.id, []) if s.branch == key]
            found = []
            while todo:
                step = todo.pop()
                found.append(step.id)
                todo += children.get(step.id, [])
            result[key] = found
        return result

    def _split_numbers(self):
        """{step id: {variant: numbers}} of these splits, in two queries:
        ``took`` (customers drawn into the variant while the test ran, a
        holdout's control group left out),
        ``winner_took`` (customers who took it as the winner), and over the
        test's recipients (customers drawn into the variant who were sent
        one of its messages): ``recipients``, ``opened``, ``clicked``,
        ``converted`` (at least one message opened / clicked / credited with
        an order) and ``revenue`` / ``squares`` (the sum and the sum of
        squares of the revenue credited per recipient)."""
        numbers = {step.id: {key: dict.fromkeys(
            ("took", "winner_took", "recipients", "opened", "clicked", "converted", "revenue", "squares"), 0)
            for key, __ in step._split_weights()} for step in self}
        started = {}
        if not self.ids:
            return numbers, started
        Log = self.env["smb.journey.log"].sudo()  # sudo: a split's totals, also for sales staff
        # a holdout's control group walks through the split but is sent nothing: not the test's customers
        groups = Log._read_group([("step_id", "in", self.ids), ("outcome", "=", "done"),
                                  ("enrollment_id.held_out", "!=", True)],
                                 ["step_id", "reason"], ["__count", "date:min"])
        for step, reason, count, first in groups:
            started[step.id] = min(filter(None, (started.get(step.id), first)))
            if reason == WINNER_REASON and step.split_winner in numbers[step.id]:
                numbers[step.id][step.split_winner]["winner_took"] += count
            elif reason in VARIANT_REASONS and reason[-1] in numbers[step.id]:
                numbers[step.id][reason[-1]]["took"] += count
        split_ids, reasons, branch_ids = [], [], []
        for step in self:
            for key, ids in step._split_branch_steps().items():
                split_ids += [step.id] * len(ids)
                reasons += [f"variant_{key}"] * len(ids)
                branch_ids += ids
        if not branch_ids:
            return numbers, started
        Log.flush_model()
        self.env["mailing.trace"].flush_model(["open_datetime", "smb_machine_open", "links_click_datetime"])
        rows = self.env.execute_query(SQL(
            """
            SELECT r.split_id, r.variant, COUNT(*), COUNT(*) FILTER (WHERE r.opened), COUNT(*) FILTER (WHERE r.clicked),
                   COUNT(*) FILTER (WHERE r.converted), COALESCE(SUM(r.revenue), 0),
                   COALESCE(SUM(r.revenue * r.revenue), 0)
              FROM (
                SELECT s.step_id AS split_id, s.reason AS variant, s.enrollment_id,
                       -- a person's open (mailing.trace._smb_human_open_domain) or a click
                       BOOL_OR((t.open_datetime IS NOT NULL AND NOT COALESCE(t.smb_machine_open, FALSE))
                               OR t.links_click_datetime IS NOT NULL) AS opened,
                       BOOL_OR(t.links_click_datetime IS NOT NULL) AS clicked,
                       BOOL_OR(m.converted) AS converted,
                       SUM(COALESCE(m.revenue, 0)) AS revenue
                  FROM smb_journey_log s
                  JOIN unnest(%(splits)s::int[], %(reasons)s::varchar[], %(steps)s::int[])
                       AS d(split_id, reason, step_id)
                    ON d.split_id = s.step_id AND d.reason = s.reason
                  JOIN smb_journey_log m ON m.enrollment_id = s.enrollment_id AND m.step_id = d.step_id
                                        AND m.outcome = 'sent'
                  LEFT JOIN mailing_trace t ON t.id = m.mailing_trace_id
                 WHERE s.step_id = ANY(%(split_ids)s) AND s.outcome = 'done'
                 GROUP BY s.step_id, s.reason, s.enrollment_id
              ) r
             GROUP BY r.split_id, r.variant
            """,
            splits=split_ids, reasons=reasons, steps=branch_ids, split_ids=self.ids))
        for split_id, reason, recipients, opened, clicked, converted, revenue, squares in rows:
            numbers[split_id][reason[-1]].update(
                recipients=recipients, opened=opened, clicked=clicked, converted=converted,
                revenue=float(revenue), squares=float(squares))
        return numbers, started

    def _split_reports(self):
        """{step id: what the results table shows}: per variant its numbers,
        the metric, the leader's confidence against it, and the verdict."""
        numbers, started = self._split_numbers()
        _ = self.env._
        reports = {}
        successes_of = {"open": "opened", "click": "clicked", "conversion": "converted", "revenue": "converted"}
        for step in self:
            metric = step.split_metric or "click"
            variants = [
                experiments.Variant(key, n["recipients"], n[successes_of[metric]], n["revenue"], n["squares"])
                for key, n in numbers[step.id].items()]
            verdict = experiments.compare(variants, metric)
            confidence = {c.key: c for c in verdict.comparisons}
            currency = step.journey_id.currency_id or self.env.company.currency_id

            def show(variant, metric=metric, currency=currency):
                value = variant.value(metric)
                return format_amount(self.env, value, currency) if metric == "revenue" else f"{value * 100:.1f} %"

            rows = []
            for (key, weight), variant in zip(step._split_weights(), variants):
                n = numbers[step.id][key]
                recipients = n["recipients"]

                def rate(count, recipients=recipients):
                    return f"{100.0 * count / recipients:.1f} %" if recipients else "-"

                comparison = confidence.get(key)
                rows.append({
                    "key": key,
                    "label": _("Variant %s", key.upper()),
                    "weight": f"{weight} %",
                    "winner": key == step.split_winner,
                    "leader": key == verdict.leader,
                    "took": n["took"] + n["winner_took"],
                    "winner_took": n["winner_took"],
                    "recipients": recipients,
                    "open_rate": rate(n["opened"]),
                    "click_rate": rate(n["clicked"]),
                    "converted": n["converted"],
                    "conversion_rate": rate(n["converted"]),
                    "revenue": format_amount(self.env, n["revenue"], currency),
                    "revenue_per_recipient": format_amount(
                        self.env, n["revenue"] / recipients, currency) if recipients else "-",
                    "metric_value": show(variant),
                    "confidence": (_("leader") if key == verdict.leader else
                                   f"{comparison.confidence * 100:.1f} %" if comparison else "-"),
                })
            metric_label = dict(self._fields["split_metric"]._description_selection(self.env)).get(metric, "")
            reports[step.id] = {
                "name": step.name if step.active else _(
                    "%(step)s (version %(number)s)", step=step.name, number=step.version_id.number),
                "metric": metric_label,
                "rows": rows,
                "recipients": sum(n["recipients"] for n in numbers[step.id].values()),
                "started": started.get(step.id),
                "verdict": verdict,
                "verdict_text": step._split_verdict_text(verdict, metric_label),
                "significant": verdict.status == experiments.SIGNIFICANT,
                "winner": step.split_winner and _("Variant %s", step.split_winner.upper()),
                "promoted_at": step.split_promoted_at and format_datetime(self.env, step.split_promoted_at),
                "test": _("Welch's test (normal approximation)") if metric == "revenue"
                else _("two-proportion z-test (pooled)"),
            }
        return reports

    def _split_verdict_text(self, verdict, metric):
        _ = self.env._
        if verdict.status == experiments.NOT_ENOUGH:
            return _("Not enough data yet: each variant needs at least %(units)s recipients, and at least "
                     "%(expected)s expected successes at the variants' common rate, before a difference can "
                     "be told from chance.", units=experiments.MIN_UNITS, expected=experiments.MIN_EXPECTED)
        if not verdict.leader:
            return _("No variant leads on %s: the test goes on.", vocabulary.inline_label(self.env, metric))
        weakest = min(c.confidence for c in verdict.comparisons)
        if verdict.status == experiments.SIGNIFICANT:
            return _("Variant %(variant)s leads on %(metric)s with %(confidence)s confidence: significant at the "
                     "5 %% level.", variant=verdict.leader.upper(), metric=vocabulary.inline_label(self.env, metric),
                     confidence=f"{weakest * 100:.1f} %")
        return _("Variant %(variant)s leads on %(metric)s, but not significantly yet (confidence %(confidence)s, "
                 "95 %% needed): the difference may still be chance.", variant=verdict.leader.upper(),
                 metric=vocabulary.inline_label(self.env, metric), confidence=f"{weakest * 100:.1f} %")
