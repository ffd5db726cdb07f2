import { Component } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { formatMonetary } from "@web/views/fields/formatters";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";

function selectionLabel(record, fieldName) {
    const value = record.data[fieldName];
    const selection = record.fields[fieldName]?.selection || [];
    return selection.find(([key]) => key === value)?.[1] || value || "";
}

function bySequence(a, b) {
    return (
        a.data.sequence - b.data.sequence ||
        (a.resId || Number.MAX_SAFE_INTEGER) - (b.resId || Number.MAX_SAFE_INTEGER)
    );
}

/**
 * One path of the journey: its steps top to bottom; a step with outlets (a
 * condition's yes and no, ...) splits into one path per outlet (rendered by
 * this same component), which join again before the step that follows it.
 */
export class JourneyDiagramFlow extends Component {
    static template = "smb_journey.JourneyDiagramFlow";
    static props = {
        nodes: Array,
        describe: Function,
        open: Function,
    };
}
JourneyDiagramFlow.components = { JourneyDiagramFlow };

/**
 * Draws a journey's steps (``step_ids`` of the form, as currently edited) as
 * a flow chart with each step's live numbers. ``<widget name="smb_journey_diagram"/>``
 * in a form of ``smb.journey`` whose ``step_ids`` list holds the fields read here.
 */
export class JourneyDiagram extends Component {
    static template = "smb_journey.JourneyDiagram";
    static components = { JourneyDiagramFlow };
    static props = { ...standardWidgetProps };

    setup() {
        this.action = useService("action");
        this.describe = this.describe.bind(this);
        this.open = this.open.bind(this);
    }

    get steps() {
        return this.props.record.data.step_ids?.records || [];
    }

    get triggerLabel() {
        return selectionLabel(this.props.record, "trigger");
    }

    get triggerIcon() {
        return this.props.record.data.trigger_icon || "fa-play";
    }

    /** The steps as a tree: [{step, outlets: [{key, label, nodes}]}], in run order. */
    get tree() {
        const steps = this.steps;
        const byId = new Map(steps.filter((s) => s.resId).map((s) => [s.resId, s]));
        const outletsOf = (step) => step.data.diagram_info?.outlets || [];
        const children = new Map();
        const roots = [];
        for (const step of steps) {
            const parent = byId.get(step.data.parent_id?.id);
            if (parent && parent !== step && outletsOf(parent).length) {
                if (!children.has(parent.resId)) {
                    children.set(parent.resId, []);
                }
                children.get(parent.resId).push(step);
            } else {
                roots.push(step);
            }
        }
        const seen = new Set();
        const build = (list) =>
            list
                .filter((step) => !seen.has(step.id))
                .sort(bySequence)
                .map((step) => {
                    seen.add(step.id);
                    const inside = children.get(step.resId) || [];
                    const outlets = outletsOf(step);
                    return {
                        step,
                        outlets: outlets.map((outlet, index) => ({
                            ...outlet,
                            // a step on an outlet the step no longer has shows on its first one
                            nodes: build(
                                inside.filter(
                                    (s) =>
                                        s.data.branch === outlet.key ||
                                        (index === 0 && !outlets.some((o) => o.key === s.data.branch))
                                )
                            ),
                        })),
                    };
                });
        const tree = build(roots);
        // a step whose chain of parents loops (not saved yet) still shows up
        const orphans = steps.filter((s) => !seen.has(s.id));
        return orphans.length ? tree.concat(build(orphans)) : tree;
    }

    /** What a step's box shows: icon, type, summary (all from the server) and its numbers. */
    describe(step) {
        const data = step.data;
        const info = data.diagram_info || {};
        const stats = [];
        const add = (label, value, cls = "") => stats.push({ label, value, cls });
        if (data.waiting_count) {
            add(_t("Waiting"), data.waiting_count, "text-info");
        }
        if (info.messages) {
            if (data.queued_count) {
                add(_t("Queued"), data.queued_count, "text-muted");
            }
            add(_t("Sent"), data.sent_count || 0);
            if (info.opens) {
                add(_t("Opened"), `${data.opened_count || 0} (${Math.round(data.open_rate || 0)}%)`);
                if (data.machine_opened_count) {
                    add(_t("Machine opens"), data.machine_opened_count, "text-muted");
                }
            }
            add(_t("Clicked"), `${data.clicked_count || 0} (${Math.round(data.click_rate || 0)}%)`);
            add(_t("Conversions"), data.converted_count || 0);
            add(
                _t("Revenue"),
                formatMonetary(data.revenue || 0, { currencyId: data.currency_id?.id }),
                "fw-bold"
            );
        }
        if (data.skipped_count) {
            add(_t("Skipped"), data.skipped_count, "text-warning");
        }
        if (data.error_count) {
            add(_t("Errors"), data.error_count, "text-danger");
        }
        return {
            icon: info.icon || "fa-circle",
            typeLabel: info.type || selectionLabel(step, "step_type"),
            summary: info.summary || "",
            badges: info.badges || [],
            flags: `${info.messages ? "o_smb_jd_messages" : ""} ${
                (info.outlets || []).length ? "o_smb_jd_outlets" : ""
            }`,
            stats,
            clickable: Boolean(step.resId),
        };
    }

    /** Open a saved step in a dialog; the journey is saved first if edited. */
    async open(step) {
        if (!step.resId) {
            return;
        }
        const record = this.props.record;
        if (record.isInEdition && record.dirty && !(await record.save())) {
            return;
        }
        await this.action.doAction(
            {
                type: "ir.actions.act_window",
                res_model: "smb.journey.step",
                res_id: step.resId,
                views: [[false, "form"]],
                target: "new",
                context: { smb_journey_from_journey: true },
            },
            {
                props: { preventEdit: this.props.readonly },
                onClose: () => record.load(),
            }
        );
    }
}

registry.category("view_widgets").add("smb_journey_diagram", {
    component: JourneyDiagram,
    fieldDependencies: [
        { name: "trigger", type: "selection" },
        { name: "trigger_icon", type: "char" },
    ],
});
