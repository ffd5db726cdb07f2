import { Component, useChildSubEnv } from "@odoo/owl";
import { getDefaultConfig, View } from "@web/views/view";

let nextPanelId = 1;

/**
 * A journey step's own form, beside the diagram: the form view of
 * ``smb.journey.step`` as a form dialog shows it (its buttons in the
 * panel's footer), without hiding the chart. Saving reads the journey again;
 * "Open full page" is for large forms such as an email body.
 */
export class JourneyStepPanel extends Component {
    static template = "smb_journey.JourneyStepPanel";
    static components = { View };
    static props = {
        stepId: Number,
        readonly: Boolean,
        beforeLeave: Object,
        info: Object,
        aside: { type: [Object, { value: null }], optional: true },
        close: Function,
        openFullPage: Function,
        onSaved: Function,
    };

    get style() {
        const aside = this.props.aside;
        return aside
            ? `left: ${aside.left}px; top: ${aside.top}px; width: ${aside.width}px; height: ${aside.height}px;`
            : "";
    }

    setup() {
        this.panelId = `o_smb_jd_panel_${nextPanelId++}`;
        // a form shown like in a dialog: its buttons go to this panel's footer,
        // and it is not the journey's action (its breadcrumbs, views, title)
        useChildSubEnv({
            config: getDefaultConfig(),
            inDialog: true,
            dialogId: this.panelId,
            dialogData: { close: () => this.props.close(), dismiss: () => this.props.close(), isActive: true },
        });
        this.viewProps = {
            type: "form",
            views: [[false, "form"]],
            resModel: "smb.journey.step",
            resId: this.props.stepId,
            context: { smb_journey_from_journey: true, smb_journey_diagram_panel: true },
            display: { controlPanel: false },
            buttonTemplate: "smb_journey.JourneyStepPanel.buttons",
            readonly: this.props.readonly,
            preventCreate: true,
            preventEdit: this.props.readonly,
            className: "o_smb_jd_panel_form",
            saveRecord: async (record) => {
                const saved = await record.save();
                if (saved) {
                    await this.props.onSaved(record.resId);
                }
                return saved;
            },
            discardRecord: async (record) => {
                await record.discard();
            },
            __beforeLeave__: this.props.beforeLeave,
        };
    }
}
