import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("smb_journey_start_tour", {
    steps: () => [
        {
            content: "Open the shipped abandoned-cart journey",
            trigger: ".o_kanban_record:contains('Abandoned Cart Recovery')",
            run: "click",
        },
        {
            content: "Start it",
            trigger: ".o_form_view button[name='action_start']",
            run: "click",
        },
        {
            content: "It runs: it can now be paused",
            trigger: ".o_form_view button[name='action_pause']",
        },
        {
            content: "Its steps are listed with their numbers",
            trigger: ".o_form_view .o_field_widget[name='step_ids']",
        },
    ],
});

registry.category("web_tour.tours").add("smb_journey_enroll_tour", {
    steps: () => [
        {
            content: "Open the action menu of the customer",
            trigger: ".o_form_view .o_cp_action_menus button",
            run: "click",
        },
        {
            content: "Enrol in journey",
            trigger: ".o-dropdown--menu .o-dropdown-item:contains('Enrol in journey')",
            run: "click",
        },
        {
            content: "Pick the journey",
            trigger: ".modal .o_field_widget[name='journey_id'] input",
            run: "edit Tour journey",
        },
        {
            trigger: ".o-autocomplete--dropdown-menu .dropdown-item:contains('Tour journey')",
            run: "click",
        },
        {
            content: "Enrol",
            trigger: ".modal button[name='action_enroll']",
            run: "click",
        },
        {
            content: "The dialog closes on success",
            trigger: "body:not(:has(.modal))",
        },
    ],
});
