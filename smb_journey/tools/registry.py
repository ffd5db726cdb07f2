"""Declarations of what a journey is made of: triggers, step types,
conditions, goals and template-context providers.

Each kind is one declaration in one place, returned by a registry method
that an extension module extends with ``super()`` (OCA automation_oca's
``_trigger_types()``, Odoo loyalty's ``_program_type_default_values()``):

- ``smb.journey._trigger_types()`` -> {key: Trigger}
- ``smb.journey._goal_types()`` -> {key: Goal}
- ``smb.journey.step._step_types()`` -> {key: StepType}
- ``smb.journey.step._condition_types()`` -> {key: Condition}
- ``smb.journey.step._context_providers()`` -> {name: Provider}

Selections, views (through computed flags) and the diagram read them; the
engine dispatches to methods named after the key (``_run_<step type>``,
``_scan_<trigger>``, ...). DEVELOPERS.md has the recipe.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Trigger:
    """What makes a customer enter a journey.

    :param label: the trigger as the admin reads it in the journey form
    :param model: model of the triggering record (an order, a lead, ...), or
        False when the customer alone enters
    :param fires: how it fires: ``event`` (a business flow writes a shop
        event, see smb.journey.event, whose handler calls ``_fire_trigger``),
        ``scan`` (the engine cron calls ``smb.journey._scan_<key>()`` on the
        running journeys of this trigger at every pass) or ``api`` (by hand,
        a server action or code)
    :param params: the journey fields that configure this trigger only; the
        form shows them for this trigger (``trigger_params``)
    :param record_filter: the journey's "Triggering Record Filter" applies
    :param entry: what makes entry exactly-once, in words (the entry key)
    :param context: names of the template-context providers this trigger
        fills (see :class:`Provider`)
    :param reasons: [(code, label)] exit reasons of its own
    :param icon: Font Awesome icon of the diagram's start box
    :param help: one line on when it fires
    Conventions, when the method exists on ``smb.journey``:
    ``_trigger_domain_<key>()`` narrows the triggering records with the
    trigger's parameters; ``_exit_reasons_<key>(enrollments)`` returns
    {enrollment: (state, reason)} for those the triggering record ends.
    """

    label: str
    model: str | bool = False
    fires: str = "event"
    params: tuple = ()
    record_filter: bool = True
    entry: str = "once per triggering record"
    context: tuple = ()
    reasons: tuple = ()
    icon: str = "fa-play"
    help: str = ""


@dataclass(frozen=True)
class StepType:
    """A kind of step. ``smb.journey.step._run_<key>(enrollments)`` runs it
    and returns a StepResult per enrollment; optional ``_check_<key>()``
    refuses to start a journey with this step unfinished,
    ``_describe_<key>()`` is the one-line summary the diagram shows.

    :param outlets: ((code, label), ...) the branches leaving the step
        (a condition's yes/no); a StepResult names the outlet taken, and the
        steps placed on it run next, then the journey goes on after the step
    :param mailing_type: ``mail``/``sms`` when the step sends messages
        tracked by a technical ``mailing.mailing`` (traces, opens, clicks,
        bounces, statistics); False otherwise. Such a step passes the message
        gates first (``smb.journey.step._hold_messages``: holdout, quiet
        hours, frequency cap)
    :param reasons: [(code, label)] log reasons of its own (an outlet taken,
        a message skipped); added to tools/vocabulary.py's REASONS
    :param treatment: what the step does reaches the customer without being
        a message (a salesperson's call, a coupon, another system acting on
        them): a holdout's control group skips it too. Steps that send
        messages are treatment whatever this says.
    """

    label: str
    icon: str = "fa-circle"
    outlets: tuple = ()
    mailing_type: str | bool = False
    reasons: tuple = ()
    treatment: bool = False
    help: str = ""

    @property
    def gated(self):
        """The engine asks the gates (``smb.journey.step._hold_messages``) first."""
        return bool(self.mailing_type) or self.treatment


@dataclass(frozen=True)
class Condition:
    """A yes/no question about an enrollment, asked by condition steps.
    ``smb.journey.step._condition_<key>(enrollments)`` returns the ids of the
    enrollments for which the answer is yes.

    :param filter_model: the model its filter reads (``record``: the
        journey's triggering record model), False when it has no filter
    """

    label: str
    filter_model: str | bool = False


@dataclass(frozen=True)
class Goal:
    """What completes an enrollment. ``smb.journey._goal_<key>(enrollments)``
    returns the ids of those that reached it; the engine asks before every
    step, and business events (an order confirmed) ask at once."""

    label: str


@dataclass(frozen=True)
class Provider:
    """A name templates use (``{{ order.name }}``). Its values are built only
    when a template of the step uses the name:
    ``smb.journey.step._context_<name>(enrollments, envs)`` returns
    {enrollment id: plain value}, ``_sample_<name>()`` a sample for the save
    check and previews.

    :param always: every journey has it (the customer, the company)
    :param requires: when not ``always``: the step field that makes it
        available (a coupon program), else a trigger must list it in its
        ``context``
    :param fields: the keys of its value (of each item when ``many``)
    :param many: its value is a list (``data-smb-for="product in recommendations"``)
    :param labels: {field: label} as the email editor's placeholder picker
        lists them (``lines``: {field: label} of each line); a field without
        one is shown by its name
    """

    label: str
    always: bool = False
    requires: str = ""
    fields: tuple = field(default_factory=tuple)
    many: bool = False
    labels: dict = field(default_factory=dict, hash=False, compare=False)
