import { registry } from "@web/core/registry";

/** Customers are inside: the form says which version a change to the steps makes. */
export function versionBanner(next) {
    return [
        {
            content: "A customer is inside: the form says what a change to the steps does",
            trigger: `.o_smb_journey_version_banner:contains('Changes to its steps create version ${next}')`,
        },
    ];
}

/** After the change: the customers inside finish the older version, the journey shows the new one. */
export function olderVersionFinishing(number) {
    return [
        {
            content: "The customer inside now finishes the older version",
            trigger: ".o_form_view:not(:has(.o_form_button_save:visible)) .alert:contains('1 customer is finishing an older version')",
        },
        {
            content: "The stat button shows the version",
            trigger: `.o_form_view button[name='action_view_versions']:contains('v${number}')`,
        },
    ];
}

/** The Versions tab lists version ``current`` as current, ``retired`` as retired. */
export function readVersions(current, retired) {
    return [
        {
            content: "Open the Versions tab",
            trigger: ".o_notebook .nav-link:contains('Versions')",
            run: "click",
        },
        {
            content: `Version ${current} is current`,
            trigger: `.o_field_widget[name='version_ids'] .o_data_row:contains('Version ${current}'):contains('Current')`,
        },
        {
            content: `Version ${retired} is retired`,
            trigger: `.o_field_widget[name='version_ids'] .o_data_row:contains('Version ${retired}'):contains('Retired')`,
        },
    ];
}

registry.category("web_tour.tours").add("smb_journey_versions_tour", {
    steps: () => [
        ...versionBanner(2),
        {
            content: "The Steps tab lists the steps (the Diagram tab comes first)",
            trigger: ".o_notebook .nav-link:contains('Steps')",
            run: "click",
        },
        {
            content: "Open the last email of the running journey",
            trigger: ".o_field_widget[name='step_ids'] .o_data_row:contains('Follow-up') td.o_data_cell[name='name']",
            run: "click",
        },
        {
            content: "Reword its subject",
            trigger: ".modal .o_field_widget[name='subject'] input",
            run: "edit Follow-up, reworded",
        },
        {
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "Save the journey",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        ...olderVersionFinishing(2),
        ...readVersions(2, 1),
        {
            content: "Version 1's customer is still inside: move them",
            trigger: ".o_field_widget[name='version_ids'] .o_data_row:contains('Version 1'):contains('Retired') button[name='action_move_customers']",
            run: "click",
        },
        {
            content: "The preview says where the customer goes",
            trigger: ".modal .o_field_widget[name='line_ids'] .o_data_row:contains('Tour Versions'):contains('Follow-up'):contains('The copy of their step')",
        },
        {
            trigger: ".modal .o_smb_journey_move_summary:contains('1 customer moves to version 2')",
        },
        {
            content: "Move",
            trigger: ".modal button[name='action_move']",
            run: "click",
        },
        {
            content: "The dialog closes on success",
            trigger: "body:not(:has(.modal))",
        },
    ],
});
