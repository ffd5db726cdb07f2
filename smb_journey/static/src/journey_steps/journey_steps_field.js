import { registry } from "@web/core/registry";
import { X2ManyField, x2ManyField } from "@web/views/fields/x2many/x2many_field";

/**
 * The journey's steps. Adding a step first saves the journey, so the step
 * dialog can already pick a condition of this journey as the branch it sits
 * in (a condition that only exists in the unsaved form cannot be referenced).
 */
export class JourneyStepsField extends X2ManyField {
    async onAdd(params = {}) {
        const record = this.props.record;
        if (record.isNew || record.dirty) {
            if (!(await record.save())) {
                return;
            }
        }
        const context = { ...(params.context || {}), default_journey_id: record.resId };
        return super.onAdd({ ...params, context });
    }
}

registry.category("fields").add("smb_journey_steps", {
    ...x2ManyField,
    component: JourneyStepsField,
});
