from odoo import api, fields, models
from odoo.addons.base.models.ir_model import MODULE_UNINSTALL_FLAG
from odoo.exceptions import UserError
from odoo.tools import SQL

# context key: the versioning itself creates, copies and archives steps
VERSIONING = "smb_journey_versioning"


class SmbJourneyStep(models.Model):
    """Steps belong to a version of their journey (smb_journey_version.py).

    Copy-on-write, inside the ORM so that every way of editing steps (the
    journey form, the step list, the diagram, a server action, a script)
    goes through it: when a step is created, changed or deleted in a way
    that changes what customers go through, and customers are inside the
    journey's current version, the journey forks: its steps are copied into
    a new current version (placement remapped, emails and their templates
    copied with their translations, what the step learnt carried over:
    ``_version_carried_values``), the old steps are archived for the
    customers who finish them and for their statistics, and the edit is
    applied to the copy. A step of a retired version that is written or
    deleted stands for its copy in the current version
    (``_live_counterpart``): a form opened before the fork saves into the
    new version instead of failing.

    What never makes a version: the fields of ``_version_free_fields`` (a
    step's name, what the engine keeps on it, how an A/B test is judged)
    and writes that change nothing. Steps are archived by versions only."""

    _inherit = "smb.journey.step"

    active = fields.Boolean(
        default=True, readonly=True,
        help="Archived: a step of a retired version of the journey, kept for the customers finishing that "
        "version and for its statistics.")
    version_id = fields.Many2one(
        "smb.journey.version", "Version", index=True, readonly=True, copy=False, ondelete="cascade",
        check_company=True)
    origin_id = fields.Many2one(
        "smb.journey.step", "Copied From", index="btree_not_null", readonly=True, copy=False, ondelete="set null",
        help="The step of the previous version this step is the copy of.")

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        if self.env.context.get(VERSIONING):
            return super().create(vals_list)
        if any("active" in vals and not vals["active"] for vals in vals_list):
            raise UserError(self.env._("Steps are archived by the journey's versions only: delete the step instead."))
        Journey = self.env["smb.journey"]
        default_journey = self.env.context.get("default_journey_id")
        journeys = Journey.browse({vals.get("journey_id") or default_journey for vals in vals_list} - {False, None})
        journeys._current_version()
        for journey in journeys:
            # a step added where customers are inside: a new version, the step goes into it
            journey._fork_if_customers_inside(self.env._(
                "Step %s added", ", ".join(vals.get("name") or "" for vals in vals_list)))
        for vals in vals_list:
            journey = Journey.browse(vals.get("journey_id") or default_journey)
            vals["version_id"] = journey.version_id.id
            if vals.get("parent_id"):
                # placed after a step of a form opened before a fork: its copy
                vals["parent_id"] = self.browse(vals["parent_id"])._live_counterpart().id or vals["parent_id"]
        return super().create(vals_list)

    def write(self, vals):
        if self.env.context.get(VERSIONING) or not self:
            return super().write(vals)
        if {"active", "version_id", "origin_id"} & set(vals):
            raise UserError(self.env._(
                "Steps are archived by the journey's versions only: a change to the steps of a journey with "
                "customers inside makes a new version, and the old steps are kept for those customers."))
        versioned = set(vals) - self._version_free_fields()
        if not versioned:
            return super().write(vals)
        live = self._live_counterpart(strict=True)
        if vals.get("parent_id"):
            vals = dict(vals, parent_id=self.browse(vals["parent_id"])._live_counterpart(strict=True).id)
        if live._behaviour_changed_by({fname: vals[fname] for fname in versioned}):
            live = live._fork_for_edit(self.env._("Step %s changed", ", ".join(live.mapped("name"))))
        return super(SmbJourneyStep, live).write(vals)

    def unlink(self):
        if self.env.context.get(VERSIONING) or self.env.context.get(MODULE_UNINSTALL_FLAG) or not self:
            return super().unlink()
        # a step already gone from the current version (deleted in another form) is left to its version
        live = self._live_counterpart()
        live = live._fork_for_edit(self.env._("Step %s deleted", ", ".join(live.mapped("name"))))
        return super(SmbJourneyStep, live).unlink()

    def _update_field_translations(self, field_name, translations, digest=None, source_lang=""):
        """The translation dialog writes past ``write()``: a translated email
        changes what customers receive like its source does."""
        steps = self
        if not self.env.context.get(VERSIONING) and field_name not in self._version_free_fields():
            steps = self._live_counterpart(strict=True)
            steps = steps._fork_for_edit(self.env._("Step %s translated", ", ".join(steps.mapped("name"))))
        return super(SmbJourneyStep, steps)._update_field_translations(
            field_name, translations, digest=digest, source_lang=source_lang)

    # ------------------------------------------------------------
    # VERSIONS
    # ------------------------------------------------------------

    def _live_counterpart(self, strict=False):
        """These steps as their journey's current version has them: a step of
        the current version itself, a step of a retired version its copy
        there (followed through the versions). A step the current version no
        longer has is left out, or refused with ``strict``."""
        result = self.browse()
        by_version = self.grouped(lambda s: s.journey_id.version_id)
        for version, steps in by_version.items():
            mapping = steps._counterparts(version)
            missing = steps.filtered(lambda s, mapping=mapping: s not in mapping)
            if missing and strict:
                raise UserError(self.env._(
                    "Step %(step)s is no longer in the current version of %(journey)s (version %(number)s): it "
                    "was deleted there. Reload the journey to see its current steps.",
                    step=missing[0].name, journey=missing[0].journey_id.name, number=version.number))
            result |= self.browse().union(*(mapping[s] for s in steps if s in mapping))
        return result

    def _counterparts(self, version):
        """{step: its copy in ``version``}, following the copies version
        after version (a query per version in between); a step of
        ``version`` maps to itself, one deleted on the way is missing."""
        mapping = {step: step for step in self if step.version_id == version or not step.version_id}
        chains = {step.id: step for step in self if step not in mapping}
        Step = self.with_context(active_test=False)
        while chains:
            following = {}
            for copy in Step.search([("origin_id", "in", list(chains))]):
                original = chains[copy.origin_id.id]
                if copy.version_id == version:
                    mapping[original] = copy
                elif copy.version_id.number < version.number:
                    following[copy.id] = original
            chains = following
        return mapping

    def _behaviour_changed_by(self, vals):
        """Whether writing ``vals`` changes any of these steps (a form saves
        fields it did not change, the diagram rewrites a placement it kept)."""
        for fname, value in vals.items():
            field = self._fields[fname]
            if field.type == "one2many":
                return True
            if field.type == "many2many":
                ids = _command_set_ids(value)
                if ids is None or any(set(step[fname].ids) != ids for step in self):
                    return True
                continue
            for step in self:
                new = field.convert_to_cache(value, step, validate=False)
                old = field.convert_to_cache(step[fname], step, validate=False)
                if field.type == "float":
                    if abs((new or 0.0) - (old or 0.0)) > 1e-9:
                        return True
                elif (new or False) != (old or False):
                    return True
        return False

    def _fork_for_edit(self, summary):
        """These (current) steps, or their copies in a new version when
        customers are inside their journey's current version: the journey
        is locked first, so that two users editing at once make one version."""
        result = self.browse()
        for journey, steps in self.grouped("journey_id").items():
            mapping = journey._fork_if_customers_inside(summary)
            result |= self.browse().union(*(mapping.get(step, step) for step in steps))
        return result

    def _copy_to_version(self, version):
        """Copy these steps (a whole version's) into ``version``; returns
        {step: copy}. Placements are remapped to the copies, each email keeps
        its content in every language, the copies get their own tracking
        mailings (an old email's statistics stay with its version)."""
        mapping = {}
        levels = {}
        for step in self:
            levels.setdefault(step.depth, []).append(step)
        # sudo: copies of steps the user may edit, keeping their filters' authors (a step's create
        # makes the creating user the author otherwise)
        Step = self.sudo().with_context(**{VERSIONING: True})
        for depth in sorted(levels):
            originals = self.browse().union(*levels[depth])
            vals_list = []
            for step in originals:
                vals = step.copy_data({
                    "journey_id": version.journey_id.id,
                    "version_id": version.id,
                    "origin_id": step.id,
                    "parent_id": mapping[step.parent_id].id if step.parent_id else False,
                })[0]
                vals.update(step._version_carried_values())
                vals_list.append(vals)
            copies = Step.create(vals_list)
            mapping.update(zip(originals, copies.with_env(self.env)))
        self._copy_translations_to(mapping)
        return mapping

    def _copy_translations_to(self, mapping):
        """Every language of the translated fields, as stored, in one statement."""
        fnames = [name for name, field in self._fields.items() if field.translate and field.store and field.copy]
        if not fnames or not mapping:
            return
        self.flush_model(fnames)
        pairs = SQL(", ").join(SQL("(%s, %s)", copy.id, step.id) for step, copy in mapping.items())
        columns = SQL(", ").join(SQL.identifier(name) for name in fnames)
        values = SQL(", ").join(SQL.identifier("old", name) for name in fnames)
        self.env.execute_query(SQL(
            """UPDATE smb_journey_step new SET (%s) = (SELECT %s FROM smb_journey_step old WHERE old.id = m.old_id)
                 FROM (VALUES %s) m(new_id, old_id)
                WHERE new.id = m.new_id""",
            columns, values, pairs))
        self.browse([copy.id for copy in mapping.values()]).invalidate_recordset(fnames)

    def _version_steps(self):
        """The steps of this step's version: its journey's steps, or, for a
        step of a retired version, that version's (archived) steps, so that
        the customers finishing it walk the steps they entered."""
        self.ensure_one()
        if not self.active and self.version_id:
            return self.version_id.step_ids
        return self.journey_id.with_context(active_test=True).step_ids


def _command_set_ids(value):
    """The ids a many2many value sets: a list of ids, or [Command.set(ids)]; None otherwise."""
    if isinstance(value, models.BaseModel):
        return set(value.ids)
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, int) for v in value):
            return set(value)
        if len(value) == 1 and isinstance(value[0], (list, tuple)) and value[0][0] == 6:
            return set(value[0][2])
    return None
