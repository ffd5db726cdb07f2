import { registry } from "@web/core/registry";

export const DIAGRAM = ".o_smb_journey_diagram";

/** Click the "+" of a link of the diagram, then a step type in its menu. */
export function addStep(zone, stepType, content) {
    return [
        {
            content,
            trigger: `${DIAGRAM}:not(.o_smb_jd_busy) ${zone} .o_smb_jd_add`,
            run: "click",
        },
        {
            trigger: `.o_smb_jd_add_menu .o_smb_jd_add_item[data-step-type='${stepType}']`,
            run: "click",
        },
    ];
}

/** Choose on the diagram what makes customers enter (a journey in draft). */
export function chooseTrigger(trigger, label) {
    return [
        {
            content: "Choose what makes customers enter, on the diagram",
            trigger: `${DIAGRAM} .o_smb_jd_start_editable`,
            run: "click",
        },
        {
            trigger: `.o_smb_jd_trigger_option[data-trigger='${trigger}']`,
            run: "click",
        },
        {
            trigger: `${DIAGRAM} .o_smb_jd_trigger:contains('${label}')`,
        },
    ];
}

/** Open a step of the diagram in the panel beside it. */
export function openStep(box, content = "Open the step beside the diagram") {
    return [
        {
            content,
            trigger: `${DIAGRAM}:not(.o_smb_jd_busy) ${box}`,
            run: "click",
        },
        {
            trigger: `${DIAGRAM} ${box}.o_smb_jd_selected`,
        },
        {
            trigger: `${DIAGRAM} .o_smb_jd_panel .o_form_view`,
        },
    ];
}

/**
 * Write a field of the step open in the panel and save the step; ``saved``
 * is a selector inside the diagram that shows the change once saved (the
 * diagram is read again after a save).
 */
export function editInPanel(fieldName, value, saved, content = "Edit the step in the panel") {
    return [
        {
            content,
            trigger: `${DIAGRAM} .o_smb_jd_panel .o_field_widget[name='${fieldName}'] input`,
            run: `edit ${value} && press Tab`,
        },
        {
            content: "Save the step",
            trigger: `${DIAGRAM} .o_smb_jd_panel .o_form_button_save`,
            run: "click",
        },
        {
            content: "Saved: the diagram shows the change",
            trigger: `${DIAGRAM}:not(.o_smb_jd_busy) ${saved}`,
        },
    ];
}

/** Close the panel beside the diagram. */
export function closePanel() {
    return [
        {
            content: "Close the panel",
            trigger: `${DIAGRAM} .o_smb_jd_panel_close`,
            run: "click",
        },
        {
            trigger: `${DIAGRAM}:not(:has(.o_smb_jd_panel))`,
        },
    ];
}

/**
 * Build a journey by clicking on its diagram: a New contact trigger, a wait,
 * a condition with an email on each of its outlets, an A/B split where they
 * join. The journey is in draft and has a name.
 */
export function buildOnDiagram() {
    return [
        {
            content: "The diagram is the journey's first tab",
            trigger: ".o_notebook .nav-link.active:contains('Diagram')",
        },
        ...chooseTrigger("partner_created", "New contact"),
        ...addStep("> .o_smb_jd_layout .o_smb_jd_chart > .o_smb_jd_zone", "wait", "Add a wait at the start"),
        {
            content: "The new wait opens beside the diagram",
            trigger: `${DIAGRAM} .o_smb_jd_panel .o_field_widget[name='wait_amount'] input`,
            run: "edit 2 && press Tab",
        },
        {
            content: "What it does is said as it is edited",
            trigger: `${DIAGRAM} .o_smb_jd_panel .o_field_widget[name='diagram_summary']:contains('For 2 days')`,
        },
        {
            trigger: `${DIAGRAM} .o_smb_jd_panel .o_form_button_save`,
            run: "click",
        },
        {
            content: "Saved: the wait named itself after its settings",
            trigger: `${DIAGRAM} .o_smb_jd_box.o_smb_jd_wait .o_smb_jd_name:contains('Wait 2 days')`,
        },
        ...addStep(
            ".o_smb_jd_node:has(> .o_smb_jd_box.o_smb_jd_wait) + .o_smb_jd_zone",
            "condition",
            "Add a condition after the wait"
        ),
        {
            content: "The condition shows its yes and no outlets",
            trigger: `${DIAGRAM} .o_smb_jd_box.o_smb_jd_condition.o_smb_jd_selected`,
        },
        ...addStep(".o_smb_jd_branch_yes > .o_smb_jd_zone", "email", "An email for those who match"),
        {
            trigger: `${DIAGRAM} .o_smb_jd_branch_yes .o_smb_jd_box.o_smb_jd_email`,
        },
        ...addStep(".o_smb_jd_branch_no > .o_smb_jd_zone", "email", "Another for the others"),
        {
            trigger: `${DIAGRAM} .o_smb_jd_branch_no .o_smb_jd_box.o_smb_jd_email`,
        },
        {
            content: "A new email can go as it is: a subject and a body",
            trigger: `${DIAGRAM} .o_smb_jd_panel .o_field_widget[name='subject'] input:value(News from)`,
        },
        {
            content: "A button of the step works in the panel: Preview",
            trigger: `${DIAGRAM} .o_smb_jd_panel button[name='action_preview']`,
            run: "click",
        },
        {
            trigger: ".modal .modal-title:contains('Email Preview')",
        },
        {
            content: "Close the preview",
            trigger: ".modal .modal-footer button:contains('Close')",
            run: "click",
        },
        {
            trigger: `body:not(:has(.modal-title:contains('Email Preview'))) ${DIAGRAM} .o_smb_jd_panel .o_form_view`,
        },
        ...addStep(
            ".o_smb_jd_chart > .o_smb_jd_flow > .o_smb_jd_node:has(> .o_smb_jd_box.o_smb_jd_condition) + .o_smb_jd_zone",
            "split",
            "Add an A/B split where both outlets join"
        ),
        {
            content: "The split names itself and shows its variants",
            trigger: `${DIAGRAM} .o_smb_jd_box.o_smb_jd_split .o_smb_jd_name:contains('A/B split 50/50')`,
        },
        {
            trigger: `${DIAGRAM} .o_smb_jd_branch_a .o_smb_jd_branch_label:contains('Variant A')`,
        },
    ];
}

registry.category("web_tour.tours").add("smb_journey_diagram_build", {
    steps: () => [...buildOnDiagram(), ...closePanel()],
});

registry.category("web_tour.tours").add("smb_journey_diagram_read_only", {
    steps: () => [
        {
            content: "The diagram shows the steps with their numbers",
            trigger: `${DIAGRAM} .o_smb_jd_box:contains('Hello diagram') .o_smb_jd_stat:contains('Sent')`,
        },
        {
            content: "Nothing to add, move or delete for a Journey User",
            trigger: `${DIAGRAM}.o_smb_jd_readonly:not(:has(.o_smb_jd_add)):not(:has(.o_smb_jd_menu)):not(:has(.o_smb_jd_movable))`,
        },
        {
            content: "A step opens to be read",
            trigger: `${DIAGRAM} .o_smb_jd_box:contains('Hello diagram')`,
            run: "click",
        },
        {
            trigger: `${DIAGRAM} .o_smb_jd_panel .o_field_widget[name='subject']:contains('Hi')`,
        },
        {
            content: "Read-only: no save button, no editable input",
            trigger: `${DIAGRAM} .o_smb_jd_panel:not(:has(.o_form_button_save)):not(:has(.o_field_widget[name='subject'] input))`,
        },
    ],
});
