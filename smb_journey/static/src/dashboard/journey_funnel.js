import { Component } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { formatMonetary } from "@web/views/fields/formatters";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";

/** "12.5 %" of ``part`` in ``whole``, or "" when there is no whole. */
export function percent(part, whole) {
    return whole ? `${((100 * part) / whole).toFixed(1)} %` : "";
}

/**
 * A journey's funnel: its stages (entered, sent, opened, clicked, converted)
 * as bars sized by the largest, each with its share of the stage before;
 * then each message step's own numbers. The numbers come from the server
 * (the journey's statistics, or the dashboard over a period); this draws them.
 */
export class JourneyFunnel extends Component {
    static template = "smb_journey.JourneyFunnel";
    static props = {
        stages: Array,
        steps: Array,
        currencyId: { type: Number, optional: true },
        revenue: { type: Number, optional: true },
        revenuePerRecipient: { type: Number, optional: true },
        recipients: { type: Number, optional: true },
        onStageClick: { type: Function, optional: true },
        onStepClick: { type: Function, optional: true },
    };

    get bars() {
        const max = Math.max(1, ...this.props.stages.map((stage) => stage.value));
        return this.props.stages.map((stage, index) => {
            const before = this.props.stages[index - 1];
            // opens, clicks and orders per message sent (as the open and click rates count)
            const base = ["opened", "clicked", "converted"].includes(stage.key)
                ? this.props.stages.find((s) => s.key === "sent")
                : before;
            return {
                ...stage,
                width: Math.max(stage.value ? 2 : 0, (100 * stage.value) / max),
                rate: base && base.key !== "entered" ? percent(stage.value, base.value) : "",
                rateOf: base?.label || "",
            };
        });
    }

    get hasOpens() {
        return this.props.steps.some((step) => step.opens);
    }

    get rows() {
        return this.props.steps.map((step) => ({
            ...step,
            openRate: percent(step.opened, step.sent),
            clickRate: percent(step.clicked, step.sent),
            openWidth: step.sent ? (100 * step.opened) / step.sent : 0,
            clickWidth: step.sent ? (100 * step.clicked) / step.sent : 0,
        }));
    }

    money(value) {
        return formatMonetary(value || 0, { currencyId: this.props.currencyId });
    }

    stageTitle(bar) {
        return bar.rate ? _t("%(rate)s of %(stage)s", { rate: bar.rate, stage: bar.rateOf }) : bar.label;
    }
}

/**
 * ``<widget name="smb_journey_funnel"/>`` in the journey form (Performance
 * tab): the funnel of the journey's statistics fields and of the message
 * steps of its ``step_ids`` list, as the form holds them.
 */
export class JourneyFunnelWidget extends Component {
    static template = "smb_journey.JourneyFunnelWidget";
    static components = { JourneyFunnel };
    static props = { ...standardWidgetProps };

    get data() {
        return this.props.record.data;
    }

    get steps() {
        const records = this.data.step_ids?.records || [];
        return records
            .filter((step) => step.data.diagram_info?.messages)
            .sort((a, b) => a.data.sequence - b.data.sequence || (a.resId || 0) - (b.resId || 0))
            .map((step) => ({
                id: step.resId,
                name: step.data.name,
                opens: Boolean(step.data.diagram_info?.opens),
                sent: step.data.sent_count || 0,
                delivered: step.data.delivered_count || 0,
                opened: step.data.opened_count || 0,
                clicked: step.data.clicked_count || 0,
                converted: step.data.converted_count || 0,
                revenue: step.data.revenue || 0,
                recipients: step.data.recipient_count || 0,
                revenue_per_recipient: step.data.revenue_per_recipient || 0,
            }));
    }

    get stages() {
        const data = this.data;
        const stages = [
            { key: "entered", label: _t("Entered"), value: data.enrollment_count || 0 },
            { key: "sent", label: _t("Sent"), value: data.sent_count || 0 },
        ];
        if (this.steps.some((step) => step.opens)) {
            stages.push({ key: "opened", label: _t("Opened"), value: data.opened_count || 0 });
        }
        stages.push(
            { key: "clicked", label: _t("Clicked"), value: data.clicked_count || 0 },
            { key: "converted", label: _t("Converted"), value: data.converted_count || 0 }
        );
        return stages;
    }
}

registry.category("view_widgets").add("smb_journey_funnel", {
    component: JourneyFunnelWidget,
    fieldDependencies: [
        { name: "enrollment_count", type: "integer" },
        { name: "sent_count", type: "integer" },
        { name: "opened_count", type: "integer" },
        { name: "clicked_count", type: "integer" },
        { name: "converted_count", type: "integer" },
        { name: "revenue", type: "monetary" },
        { name: "recipient_count", type: "integer" },
        { name: "revenue_per_recipient", type: "monetary" },
        { name: "currency_id", type: "many2one", relation: "res.currency" },
    ],
});
