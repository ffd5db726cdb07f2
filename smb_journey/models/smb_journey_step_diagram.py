from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_duration

from odoo.addons.smb_journey.tools import vocabulary

# an automatic name longer than this is cut (a long filter in words)
NAME_MAX = 80


class SmbJourneyStep(models.Model):
    """Editing a journey on its diagram: insert a step at a place (after a
    step, on an outlet of a branching step, at the top), move it, delete it,
    all through the ordinary ORM ``create``/``write``/``unlink`` of steps;
    each call returns the journey (and step) the diagram reloads. Waits,
    splits and conditions name themselves after their settings while
    ``name_auto`` is set."""

    _inherit = "smb.journey.step"

    name = fields.Char(compute="_compute_name", store=True, readonly=False, precompute=True)
    name_auto = fields.Boolean(
        "Automatic Name",
        help="The name follows the step's settings (\"Wait 3 days\", \"A/B split 50/50\"); "
        "writing a name by hand turns it off.")
    diagram_summary = fields.Char(
        "What It Does", compute="_compute_diagram_summary",
        help="The step's settings in words, as the diagram shows them.")

    # ------------------------------------------------------------
    # COMPUTES
    # ------------------------------------------------------------

    @api.depends(lambda self: self._auto_name_depends())
    def _compute_name(self):
        for step in self:
            if step.name_auto or not step.name:
                step.name = step._auto_name()

    @api.model
    def _auto_name_depends(self):
        return ["name_auto"] + [fname for fname in self._diagram_depends() if fname != "name"]

    @api.depends(lambda self: self._diagram_depends())
    def _compute_diagram_summary(self):
        for step in self:
            step.diagram_summary = step._diagram_rule() if step.step_type == "condition" else (
                step.diagram_info or {}).get("summary") or ""

    @api.depends(lambda self: self._diagram_depends())
    def _compute_diagram_info(self):
        """A condition shows its rule in words; a step that cannot run yet says why."""
        super()._compute_diagram_info()
        for step in self:
            info = dict(step.diagram_info)
            if step.step_type == "condition":
                info["summary"] = step._diagram_rule()
            info["problem"] = step._diagram_problem() if step.id else ""
            step.diagram_info = info

    @api.onchange("name")
    def _onchange_name_auto(self):
        """A name typed by hand (other than the one the settings give) is kept."""
        if self.name_auto and self.name != self._auto_name():
            self.name_auto = False

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    def write(self, vals):
        res = super().write(vals)
        if "name" in vals and not vals.get("name_auto"):
            # written by hand: it is no longer the settings' name
            hand = self.filtered(lambda s: s.name_auto and s.name != s._auto_name())
            if hand:
                hand.name_auto = False
        return res

    # ------------------------------------------------------------
    # DIAGRAM API (called by the journey form's diagram)
    # ------------------------------------------------------------

    @api.model
    def diagram_step_types(self):
        """The step types the diagram offers, from the registry, in its order."""
        return [
            {"key": key, "label": step_type.label, "icon": step_type.icon, "help": step_type.help,
             "branches": bool(step_type.outlets)}
            for key, step_type in self._step_types().items()
        ]

    @api.model
    def diagram_insert(self, journey_id, step_type, after_id=False, parent_id=False, outlet=False):
        """Add a step of ``step_type`` to the journey: right after the step
        ``after_id`` (on its path), else first on the ``outlet`` of the step
        ``parent_id``, else first of the journey. It gets sensible defaults
        (``_diagram_defaults_<type>``) so it can run as it is where it can.
        Returns {'journey_id', 'step_id'}: what the diagram reloads."""
        journey = self.env["smb.journey"].browse(journey_id).exists()
        if not journey:
            raise UserError(self.env._("This journey no longer exists."))
        journey.check_access("write")
        if step_type not in self._step_types():
            raise UserError(self.env._("Unknown step type: %s", step_type))
        after, parent = self._diagram_fork(
            journey, self.env._("Step added on the diagram"), self.browse(after_id), self.browse(parent_id))
        parent, branch, siblings, index = self._diagram_place(journey, after.id, parent.id, outlet)
        sequence = self._diagram_make_room(siblings, index)
        vals = {
            "journey_id": journey.id,
            "step_type": step_type,
            "sequence": sequence,
            "parent_id": parent.id,
            **({"branch": branch} if parent else {}),
        }
        new = self.new(dict(vals))
        if hasattr(new, f"_auto_name_{step_type}"):
            vals["name_auto"] = True
        else:
            vals["name"] = self._type_of(step_type).label
        vals.update(getattr(new, f"_diagram_defaults_{step_type}", dict)())
        if vals.get("name"):
            # two emails on a condition's outlets are told apart on the diagram and in the test run
            taken = set(journey.step_ids.mapped("name"))
            number, name = 1, vals["name"]
            while name in taken:
                number += 1
                name = f"{vals['name']} {number}"
            vals["name"] = name
        step = self.create(vals)
        return {"journey_id": step.journey_id.id, "step_id": step.id}

    def diagram_move(self, after_id=False, parent_id=False, outlet=False):
        """Move this step (with the steps on its outlets) to a place named as
        in :meth:`diagram_insert`."""
        self.ensure_one()
        self.check_access("write")
        if after_id == self.id:
            return self._diagram_result()
        # the diagram may hold steps of a version retired since it loaded
        step, after, parent = (self.browse(x)._live_counterpart(strict=True) for x in (self.id, after_id, parent_id))
        if step != self:
            return step.diagram_move(after_id=after.id, parent_id=parent.id, outlet=outlet)
        if not self._diagram_moves(after, parent, outlet):
            return self._diagram_result()
        step, after, parent = self._diagram_fork(self.journey_id, self.env._("Step %s moved", self.name),
                                                 self, after, parent)
        if step != self:  # copied into a new version: move the copy
            return step.diagram_move(after_id=after.id, parent_id=parent.id, outlet=outlet)
        parent, branch, siblings, index = self._diagram_place(
            self.journey_id, after_id, parent_id, outlet, moving=self)
        ancestor = parent
        while ancestor:
            if ancestor == self:
                raise UserError(self.env._("A step cannot move onto one of its own outlets."))
            ancestor = ancestor.parent_id
        sequence = self._diagram_make_room(siblings, index)
        vals = {"sequence": sequence, "parent_id": parent.id}
        if parent:
            vals["branch"] = branch
        changed = {k: v for k, v in vals.items() if (self[k].id if k == "parent_id" else self[k]) != v}
        if changed:
            self.write(changed)
        return self._diagram_result()

    def diagram_move_step(self, direction):
        """Move this step one place up or down (``direction``: 'up'/'down')
        on its path; past the first or last step of an outlet, it leaves the
        outlet and goes before or after the branching step."""
        self.ensure_one()
        siblings = self._siblings()
        index = list(siblings).index(self)
        if direction == "up":
            if index >= 2:
                return self.diagram_move(after_id=siblings[index - 2].id)
            if index == 1:
                return self.diagram_move(parent_id=self.parent_id.id, outlet=self.branch)
            if self.parent_id:
                before = self.parent_id._siblings()
                position = list(before).index(self.parent_id)
                if position:
                    return self.diagram_move(after_id=before[position - 1].id)
                return self.diagram_move(parent_id=self.parent_id.parent_id.id, outlet=self.parent_id.branch)
        elif direction == "down":
            if index + 1 < len(siblings):
                return self.diagram_move(after_id=siblings[index + 1].id)
            if self.parent_id:
                return self.diagram_move(after_id=self.parent_id.id)
        return self._diagram_result()

    def diagram_delete(self, keep_outlet=False):
        """Delete this step and the steps on its outlets, except those on
        ``keep_outlet``, which take its place. A step with customers waiting
        on it is refused (``_unlink_except_waiting``)."""
        self.ensure_one()
        self.check_access("unlink")
        journey = self.journey_id
        # customers inside keep this step in their version: the deletion happens in a new one
        step = self._diagram_fork(journey, self.env._("Step %s deleted", self.name), self)[0]
        if step != self:
            return step.diagram_delete(keep_outlet=keep_outlet)
        kept = self.child_ids.filtered(lambda s: s.branch == keep_outlet).sorted(
            lambda s: (s.sequence, s.id)) if keep_outlet else self.browse()
        doomed = self.search([("id", "child_of", self.id)])
        if kept:
            doomed -= self.search([("id", "child_of", kept.ids)])
        # refused before anything moves (also raised by the unlink itself)
        doomed._unlink_except_waiting()
        if kept:
            siblings = list(self._siblings())
            index = siblings.index(self)
            for position, step in enumerate(siblings[:index] + list(kept) + siblings[index + 1:], 1):
                vals = {"sequence": position * 10} if step.sequence != position * 10 else {}
                if step in kept:
                    vals["parent_id"] = self.parent_id.id
                    if self.parent_id:
                        vals["branch"] = self.branch
                if vals:
                    step.write(vals)
        doomed.unlink()
        return {"journey_id": journey.id, "step_id": False}

    # ------------------------------------------------------------
    # PRIVATE: places and sequences
    # ------------------------------------------------------------

    def _diagram_result(self):
        return {"journey_id": self.journey_id.id, "step_id": self.id}

    @api.model
    def _diagram_fork(self, journey, summary, *steps):
        """``steps`` (empty ones allowed) as the edit will write them: in the
        journey's current version, copied into a new version first when
        customers are inside (the versions' copy-on-write), so that places
        are computed among the steps that are written."""
        live = [step._live_counterpart(strict=True) if step else step for step in steps]
        mapping = journey._fork_if_customers_inside(summary)
        return [mapping.get(step, step) if step else step for step in live]

    def _diagram_moves(self, after, parent, outlet):
        """Whether placing this step after ``after`` (else first on
        ``outlet`` of ``parent``, else first) changes where it is."""
        siblings = self._siblings()
        index = list(siblings).index(self)
        if after:
            return after.parent_id != self.parent_id or after.branch != self.branch or \
                index == 0 or siblings[index - 1] != after
        return index != 0 or self.parent_id != parent or (parent and self.branch != outlet)

    @api.model
    def _type_of(self, step_type):
        return self._step_types()[step_type]

    @api.model
    def _diagram_place(self, journey, after_id=False, parent_id=False, outlet=False, moving=None):
        """(parent, branch, siblings, index): where a step goes, among the
        steps of that path (ordered, without ``moving``) at ``index``."""
        moving = moving or self.browse()
        if after_id:
            after = self.browse(after_id)
            if after.journey_id != journey:
                raise UserError(self.env._("That place is not in this journey."))
            siblings = after._siblings() - moving
            return after.parent_id, after.branch, siblings, list(siblings).index(after) + 1
        if parent_id:
            parent = self.browse(parent_id)
            if parent.journey_id != journey or outlet not in dict(parent._type().outlets):
                raise UserError(self.env._("That place is not in this journey."))
            siblings = parent.child_ids.filtered(lambda s: s.branch == outlet).sorted(lambda s: (s.sequence, s.id))
            return parent, outlet, siblings - moving, 0
        siblings = journey.step_ids.filtered(lambda s: not s.parent_id).sorted(lambda s: (s.sequence, s.id))
        return self.browse(), False, siblings - moving, 0

    @api.model
    def _diagram_make_room(self, siblings, index):
        """A sequence that puts a step at ``index`` among ``siblings``; when
        there is no room between two neighbours, the path is renumbered."""
        before = siblings[index - 1].sequence if index > 0 else 0
        if index >= len(siblings):
            return before + 10
        after = siblings[index].sequence
        if after - before > 1:
            return (before + after) // 2
        for position, step in enumerate(siblings):
            sequence = (position + (2 if position >= index else 1)) * 10
            if step.sequence != sequence:
                step.sequence = sequence
        return (index + 1) * 10

    # ------------------------------------------------------------
    # PRIVATE: automatic names, rules, defaults
    # ------------------------------------------------------------

    def _auto_name(self):
        """The name the settings give (``_auto_name_<type>``), else the type's label."""
        self.ensure_one()
        auto = getattr(self, f"_auto_name_{self.step_type}", None)
        name = (auto() if auto else "") or self._type().label or self.env._("Step")
        return name if len(name) <= NAME_MAX else name[:NAME_MAX - 1].rstrip() + "…"

    def _auto_name_wait(self):
        if self.wait_mode == "best_time":
            return self.env._("Wait until the customer's best time")
        if self.wait_mode == "until":
            hour = format_duration(self.wait_hour or 0)
            if self.wait_weekday:
                day = dict(self._fields["wait_weekday"]._description_selection(self.env)).get(self.wait_weekday)
                return self.env._("Wait until %(day)s %(hour)s", day=day, hour=hour)
            return self.env._("Wait until %(hour)s", hour=hour)
        return self.env._("Wait %(delay)s", delay=self._delay_words(self.wait_amount, "wait_unit"))

    def _inline(self, label):
        """A label inside a sentence, lowered as the user's language does (not in German)."""
        return vocabulary.inline_label(self.env, label)

    def _auto_name_wait_event(self):
        event = dict(self._fields["event_type"]._description_selection(self.env)).get(self.event_type, "")
        return self.env._("Wait until the customer %(event)s (%(delay)s at most)", event=self._inline(event),
                          delay=self._delay_words(self.event_timeout_amount, "event_timeout_unit"))

    def _auto_name_split(self):
        weights = self._split_weights()
        if self.split_winner:
            return self.env._("A/B split (winner: %s)", self.split_winner.upper())
        return self.env._("%(variants)s split %(weights)s", variants="/".join(key.upper() for key, __ in weights),
                          weights="/".join(str(weight) for __, weight in weights))

    def _auto_name_condition(self):
        return self.env._("If %(rule)s", rule=self._inline(self._diagram_rule(generic=True)))

    def _diagram_rule(self, generic=False):
        """A condition's question in words: "Customer's country is Belgium",
        "Opened 'Welcome'" (the journey's email it looks at; ``generic``:
        "opened the previous message", as names do not follow other steps)."""
        self.ensure_one()
        label = dict(self._condition_type_selection()).get(self.condition_type, "")
        if self.condition_type in ("opened", "clicked") and not generic and self.journey_id:
            message = self._diagram_last_message()
            if message:
                if self.condition_type == "opened":
                    return self.env._("Opened '%s'", message.name)
                return self.env._("Clicked in '%s'", message.name)
        if self.condition_model and self.condition_domain in (False, "", "[]") and not generic:
            # a condition added on the diagram starts without a rule: say what it does until it has one
            return self.env._("No rule yet: every customer goes to 'If yes'")
        if self.condition_model and self.condition_domain and self.condition_domain != "[]":
            try:
                described = self.env["smb.journey"]._describe_filter(self.condition_model, self.condition_domain)
            except Exception:  # noqa: BLE001 - a half-written filter, being edited
                described = ""
            if described:
                if self.condition_model == "res.partner":
                    return self.env._("Customer's %(rule)s", rule=self._inline(described))
                record = self.env["ir.model"]._get(self.condition_model).name
                return self.env._("%(record)s's %(rule)s", record=record, rule=self._inline(described))
        return label

    def _diagram_last_message(self):
        """The last step sending messages on the way to this one (the one
        whose open a condition looks at), searched back along its path and
        up through the branching steps it sits in."""
        self.ensure_one()
        preceding = self._preceding_steps()
        step = self
        while step:
            parent, branch = step.parent_id, step.branch
            earlier = preceding.filtered(
                lambda s, parent=parent, branch=branch: s.parent_id == parent and (not parent or s.branch == branch))
            for candidate in earlier.sorted(lambda s: (s.sequence, s.id if isinstance(s.id, int) else 0), reverse=True):
                if candidate.sends_messages:
                    return candidate
            step = parent
        return self.browse()

    def _diagram_problem(self):
        """Why this step cannot run yet (what Start would refuse), or ''."""
        try:
            self._check_runnable()
        except UserError as e:
            return e.args[0]
        return ""

    def _diagram_defaults_email(self):
        """An email added on the diagram can go as it is: a subject and a short body."""
        company = self.journey_id.company_id.name or self.env.company.name
        return {
            "name": self.env._("New email"),
            "subject": self.env._("News from {{ company.name }}"),
            "body_html": Markup("<p>%s</p><p>%s</p><p>%s<br/>%s</p>") % (
                self.env._("Hello {{ customer.first_name }},"),
                self.env._("We have something for you: write your message here."),
                self.env._("See you soon,"), company),
        }

    def _diagram_defaults_condition(self):
        """After an email, the usual question is whether it was opened."""
        return {"condition_type": "opened"} if self._diagram_message_before() else {}

    def _diagram_defaults_wait_event(self):
        return {"event_type": "opened" if self._diagram_message_before() else "ordered"}

    def _diagram_defaults_activity(self):
        return {"name": self.env._("Call the customer"), "activity_summary": self.env._("Call the customer")}

    def _diagram_message_before(self):
        return self._preceding_steps().filtered("sends_messages")
