import { Component, markRaw, onWillStart, useExternalListener, useRef, useState } from "@odoo/owl";
import { ConfirmationDialog } from "@web/core/confirmation_dialog/confirmation_dialog";
import { Dropdown } from "@web/core/dropdown/dropdown";
import { DropdownItem } from "@web/core/dropdown/dropdown_item";
import { _t } from "@web/core/l10n/translation";
import { RPCError } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";
import { useDraggable } from "@web/core/utils/draggable";
import { useService } from "@web/core/utils/hooks";
import { CallbackRecorder } from "@web/search/action_hook";
import { formatMonetary } from "@web/views/fields/formatters";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";
import { JourneyDiagramDeleteDialog } from "./journey_diagram_delete_dialog";
import { JourneyStepPanel } from "./journey_step_panel";

const STEP_MODEL = "smb.journey.step";
const ZOOM_MIN = 0.4;
const ZOOM_MAX = 1.5;
// the server's refusals shown as they are written (a step with customers waiting, ...)
const USER_ERRORS = [
    "odoo.exceptions.UserError",
    "odoo.exceptions.ValidationError",
    "odoo.exceptions.AccessError",
];

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
 * One path of the journey: its steps top to bottom, with a "+" between them;
 * a step with outlets (a condition's yes and no, ...) splits into one path
 * per outlet (rendered by this same component), which join again before the
 * step that follows it.
 */
export class JourneyDiagramFlow extends Component {
    static template = "smb_journey.JourneyDiagramFlow";
    static components = { Dropdown, DropdownItem };
    static props = {
        nodes: Array,
        diagram: Object,
    };
}
JourneyDiagramFlow.components = { ...JourneyDiagramFlow.components, JourneyDiagramFlow };

/**
 * Draws a journey's steps (``step_ids`` of the form) as a flow chart with
 * each step's live numbers, and edits it for Journey Managers: a "+" on
 * every link and outlet adds a step of a type read from the server's
 * registry, a step is dragged onto another "+" to move it (or moved with
 * the keyboard), deleted, and opened in a panel beside the chart. Every
 * change goes through the server (``smb.journey.step.diagram_*``), then the
 * journey is read again.
 */
export class JourneyDiagram extends Component {
    static template = "smb_journey.JourneyDiagram";
    static components = { JourneyDiagramFlow, JourneyStepPanel, Dropdown, DropdownItem };
    static props = { ...standardWidgetProps };

    setup() {
        this.action = useService("action");
        this.dialog = useService("dialog");
        this.notification = useService("notification");
        this.orm = useService("orm");
        this.chartRef = useRef("chart");
        this.canvasRef = useRef("canvas");
        this.state = useState({ panel: null, zoom: 1, busy: false });
        this.stepTypes = [];
        this.isManager = false;
        this.justDragged = false;
        onWillStart(async () => {
            [this.stepTypes, this.isManager] = await Promise.all([
                this.orm.call(STEP_MODEL, "diagram_step_types", []),
                user.hasGroup("smb_journey.group_journey_manager"),
            ]);
        });
        this.setupDrag();
        useExternalListener(window, "resize", () => {
            if (this.state.panel) {
                this.state.panel.aside = this.asideRect();
            }
        });
    }

    // ------------------------------------------------------------------
    // What is drawn
    // ------------------------------------------------------------------

    get canEdit() {
        return this.isManager && !this.props.readonly;
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

    get triggerOptions() {
        return this.props.record.fields.trigger?.selection || [];
    }

    get canChangeTrigger() {
        return this.canEdit && this.props.record.data.state === "draft";
    }

    get zoomPercent() {
        return `${Math.round(this.state.zoom * 100)}%`;
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
        } else {
            add(_t("Processed"), data.processed_count || 0);
        }
        if (data.skipped_count) {
            add(_t("Skipped"), data.skipped_count, "text-warning");
        }
        if (data.error_count) {
            add(_t("Errors"), data.error_count, "text-danger");
        }
        const rule = data.step_type === "condition";
        const saved = Boolean(step.resId);
        return {
            icon: info.icon || "fa-circle",
            typeLabel: info.type || selectionLabel(step, "step_type"),
            summary: info.summary || "",
            rule,
            problem: info.problem || "",
            badges: info.badges || [],
            flags: [
                info.messages ? "o_smb_jd_messages" : "",
                (info.outlets || []).length ? "o_smb_jd_outlets" : "",
                saved ? "o_smb_jd_clickable" : "",
                saved && this.canEdit ? "o_smb_jd_movable" : "",
                this.state.panel?.stepId === step.resId ? "o_smb_jd_selected" : "",
                info.problem ? "o_smb_jd_problem" : "",
            ].join(" "),
            stats,
            saved,
            title: saved
                ? this.canEdit
                    ? _t("Open this step (Enter). Drag it onto a + to move it, or Alt+Up/Down.")
                    : _t("Open this step")
                : _t("Save the journey to open this step"),
        };
    }

    // ------------------------------------------------------------------
    // Changes: each one saves the journey, asks the server, reads it again
    // ------------------------------------------------------------------

    async mutate(call) {
        if (this.state.busy) {
            return false;
        }
        const record = this.props.record;
        if ((record.isNew || record.dirty) && !(await record.save())) {
            return false;
        }
        this.state.busy = true;
        try {
            let result;
            try {
                result = await call();
            } catch (error) {
                if (error instanceof RPCError && USER_ERRORS.includes(error.data?.name)) {
                    this.notification.add(error.data.message, {
                        title: _t("This cannot be done"),
                        type: "danger",
                    });
                    return false;
                }
                throw error;
            }
            if (result?.journey_id && result.journey_id !== record.resId) {
                // the change went to another journey (a new version of a running one)
                await this.action.doAction({
                    type: "ir.actions.act_window",
                    res_model: "smb.journey",
                    res_id: result.journey_id,
                    views: [[false, "form"]],
                });
                return false;
            }
            await record.load();
            return result || true;
        } finally {
            this.state.busy = false;
        }
    }

    async insert(zone, stepType) {
        const result = await this.mutate(() =>
            this.orm.call(STEP_MODEL, "diagram_insert", [this.props.record.resId, stepType], {
                after_id: zone.after || false,
                parent_id: zone.parent || false,
                outlet: zone.outlet || false,
            })
        );
        if (result?.step_id) {
            await this.openPanel(result.step_id);
        }
    }

    async move(stepId, zone) {
        await this.mutate(() =>
            this.orm.call(STEP_MODEL, "diagram_move", [[stepId]], {
                after_id: zone.after || false,
                parent_id: zone.parent || false,
                outlet: zone.outlet || false,
            })
        );
        this.focusStep(stepId);
    }

    async moveStep(stepId, direction) {
        await this.mutate(() => this.orm.call(STEP_MODEL, "diagram_move_step", [[stepId], direction]));
        this.focusStep(stepId);
    }

    /** Delete a step: asked first; a branching step asks what becomes of its outlets' steps. */
    async remove(node) {
        const step = node.step;
        const withSteps = node.outlets.filter((outlet) => outlet.nodes.length);
        const count = (nodes) => nodes.reduce((total, n) => total + 1 + n.outlets.reduce((t, o) => t + count(o.nodes), 0), 0);
        const choice = await new Promise((resolve) => {
            if (withSteps.length) {
                this.dialog.add(
                    JourneyDiagramDeleteDialog,
                    {
                        stepName: step.data.name || "",
                        total: withSteps.reduce((t, o) => t + count(o.nodes), 0),
                        outlets: withSteps.map((o) => ({ key: o.key, label: o.label, count: count(o.nodes) })),
                        choose: resolve,
                    },
                    { onClose: () => resolve(null) }
                );
            } else {
                this.dialog.add(
                    ConfirmationDialog,
                    {
                        title: _t("Delete this step?"),
                        body: _t("“%s” is removed from the journey.", step.data.name || ""),
                        confirmLabel: _t("Delete"),
                        confirmClass: "btn-danger",
                        confirm: () => resolve({ keep: false }),
                        cancel: () => resolve(null),
                    },
                    { onClose: () => resolve(null) }
                );
            }
        });
        if (!choice) {
            return;
        }
        if (this.state.panel?.stepId === step.resId) {
            this.state.panel = null;
        }
        await this.mutate(() =>
            this.orm.call(STEP_MODEL, "diagram_delete", [[step.resId]], { keep_outlet: choice.keep || false })
        );
    }

    selectTrigger(key) {
        this.props.record.update({ trigger: key });
    }

    // ------------------------------------------------------------------
    // The panel beside the chart
    // ------------------------------------------------------------------

    /** Leave the step open in the panel: saved if edited; false when it cannot be. */
    async leavePanel() {
        if (!this.state.panel) {
            return true;
        }
        const callbacks = this.state.panel.beforeLeave.callbacks;
        const results = await Promise.all(callbacks.map((callback) => callback()));
        return !results.includes(false);
    }

    async openPanel(stepId) {
        if (!stepId || this.justDragged) {
            return;
        }
        if (this.state.panel?.stepId === stepId) {
            return;
        }
        if (!(await this.leavePanel())) {
            return;
        }
        const record = this.props.record;
        if (this.canEdit && (record.isNew || record.dirty) && !(await record.save())) {
            return;
        }
        // the form registers its callbacks there: not reactive, or each one draws the chart again
        this.state.panel = { stepId, beforeLeave: markRaw(new CallbackRecorder()), aside: this.asideRect() };
    }

    /**
     * Where the form's chatter stands beside the sheet (wide screens): the
     * panel takes its place while open, and the chart keeps the sheet's whole
     * width. Null when the chatter is below: the panel then stands beside the
     * chart, inside the sheet.
     */
    asideRect() {
        const chatter = this.canvasRef.el
            ?.closest(".o_form_view")
            ?.querySelector(".o-mail-Form-chatter.o-aside");
        if (!chatter) {
            return null;
        }
        const { left, top, width, height } = chatter.getBoundingClientRect();
        return { left, top, width, height };
    }

    async closePanel() {
        if (await this.leavePanel()) {
            const stepId = this.state.panel?.stepId;
            this.state.panel = null;
            this.focusStep(stepId);
        }
    }

    async onPanelSaved(stepId) {
        await this.props.record.load();
        // saved on a journey with customers inside: the change went into a new
        // version, whose copy of the step is the one the diagram now shows and
        // the one to go on editing (the panel would show the retired step)
        const panel = this.state.panel;
        if (panel?.stepId === stepId && !this.steps.some((s) => s.resId === stepId)) {
            const copy = this.steps.find((s) => s.data.origin_id?.id === stepId);
            this.state.panel = copy
                ? { ...panel, stepId: copy.resId, beforeLeave: markRaw(new CallbackRecorder()) }
                : null;
        }
    }

    async openFullPage() {
        const stepId = this.state.panel?.stepId;
        if (!stepId || !(await this.leavePanel())) {
            return;
        }
        this.state.panel = null;
        await this.action.doAction({
            type: "ir.actions.act_window",
            res_model: STEP_MODEL,
            res_id: stepId,
            views: [[false, "form"]],
            context: { smb_journey_from_journey: true },
        });
    }

    // ------------------------------------------------------------------
    // Zoom
    // ------------------------------------------------------------------

    zoomBy(factor) {
        this.state.zoom = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, Math.round(this.state.zoom * factor * 100) / 100));
    }

    zoomReset() {
        this.state.zoom = 1;
    }

    /** The whole chart in the width available (never above 100%). */
    zoomFit() {
        const chart = this.chartRef.el;
        const canvas = this.canvasRef.el;
        if (!chart || !canvas) {
            return;
        }
        const natural = chart.scrollWidth / this.state.zoom;
        const room = canvas.clientWidth - 16;
        this.state.zoom = Math.max(ZOOM_MIN, Math.min(1, Math.floor((room / natural) * 100) / 100));
    }

    // ------------------------------------------------------------------
    // Keyboard: arrows move the focus, Enter opens, Delete removes, Alt+arrows move
    // ------------------------------------------------------------------

    nodeElements() {
        return [...(this.chartRef.el?.querySelectorAll(".o_smb_jd_box[data-step-id]") || [])];
    }

    focusStep(stepId) {
        if (!stepId) {
            return;
        }
        // after the chart is drawn again
        setTimeout(() => {
            this.chartRef.el?.querySelector(`.o_smb_jd_box[data-step-id="${stepId}"]`)?.focus();
        });
    }

    onNodeClick(ev, node) {
        if (!ev.target.closest(".o_smb_jd_menu")) {
            this.openPanel(node.step.resId);
        }
    }

    onNodeKeydown(ev, node) {
        if (ev.target !== ev.currentTarget) {
            return; // on the step's menu button
        }
        const step = node.step;
        const key = ev.key;
        if (ev.altKey && (key === "ArrowUp" || key === "ArrowDown")) {
            if (this.canEdit) {
                this.moveStep(step.resId, key === "ArrowUp" ? "up" : "down");
            }
        } else if (key === "Enter" || key === " ") {
            this.openPanel(step.resId);
        } else if (key === "Delete" || key === "Backspace") {
            if (this.canEdit) {
                this.remove(node);
            }
        } else if (key.startsWith("Arrow")) {
            this.focusNext(ev.currentTarget, key);
        } else {
            return;
        }
        ev.preventDefault();
        ev.stopPropagation();
    }

    /** Up/Down: the previous/next step in run order; Left/Right: the nearest step on that side. */
    focusNext(current, key) {
        const nodes = this.nodeElements();
        const index = nodes.indexOf(current);
        let target;
        if (key === "ArrowUp" || key === "ArrowDown") {
            target = nodes[index + (key === "ArrowUp" ? -1 : 1)];
        } else {
            const from = current.getBoundingClientRect();
            const cx = from.left + from.width / 2;
            const cy = from.top + from.height / 2;
            let best = Infinity;
            for (const el of nodes) {
                const rect = el.getBoundingClientRect();
                const dx = rect.left + rect.width / 2 - cx;
                const dy = rect.top + rect.height / 2 - cy;
                if ((key === "ArrowLeft" ? -dx : dx) <= 10) {
                    continue;
                }
                const distance = Math.abs(dx) + 2 * Math.abs(dy);
                if (distance < best) {
                    best = distance;
                    target = el;
                }
            }
        }
        target?.focus();
        target?.scrollIntoView({ block: "nearest", inline: "nearest" });
    }

    // ------------------------------------------------------------------
    // Drag and drop onto a "+"
    // ------------------------------------------------------------------

    setupDrag() {
        const zoneAt = (x, y, excluded) => {
            for (const zone of this.chartRef.el.querySelectorAll(".o_smb_jd_zone")) {
                if (excluded.has(zone)) {
                    continue;
                }
                const rect = zone.getBoundingClientRect();
                if (x >= rect.left - 24 && x <= rect.right + 24 && y >= rect.top - 4 && y <= rect.bottom + 4) {
                    return zone;
                }
            }
            return null;
        };
        let excluded = new Set();
        let hovered = null;
        const hover = (zone) => {
            hovered?.classList.remove("o_smb_jd_zone_hover");
            hovered = zone;
            hovered?.classList.add("o_smb_jd_zone_hover");
        };
        this.dragState = useDraggable({
            ref: this.chartRef,
            elements: ".o_smb_jd_box.o_smb_jd_movable",
            ignore: ".dropdown, .o-dropdown, button",
            enable: () => this.canEdit && !this.state.busy,
            onDragStart: ({ element, addClass, addStyle }) => {
                // the zones of the step itself and of its own outlets take nothing
                const node = element.closest(".o_smb_jd_node");
                excluded = new Set(node.querySelectorAll(".o_smb_jd_zone"));
                // nor do the links just before and after it (it is already there)
                for (const link of [node.previousElementSibling, node.nextElementSibling]) {
                    if (link?.classList.contains("o_smb_jd_zone")) {
                        excluded.add(link);
                    }
                }
                addStyle(node, { minHeight: `${element.offsetHeight}px` });
                addClass(this.chartRef.el, "o_smb_jd_dragging");
            },
            onDrag: ({ x, y }) => hover(zoneAt(x, y, excluded)),
            onDrop: ({ element, x, y }) => {
                const zone = zoneAt(x, y, excluded);
                if (zone) {
                    this.move(Number(element.dataset.stepId), {
                        after: Number(zone.dataset.after) || false,
                        parent: Number(zone.dataset.parent) || false,
                        outlet: zone.dataset.outlet || false,
                    });
                }
            },
            onDragEnd: () => {
                hover(null);
                // the click that ends a drag does not open the step
                this.justDragged = true;
                setTimeout(() => (this.justDragged = false));
            },
        });
    }
}

registry.category("view_widgets").add("smb_journey_diagram", {
    component: JourneyDiagram,
    fieldDependencies: [
        { name: "trigger", type: "selection" },
        { name: "trigger_icon", type: "char" },
        { name: "state", type: "selection" },
    ],
});
