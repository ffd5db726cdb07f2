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

registry.category("web_tour.tours").add("smb_journey_tier_tour", {
    steps: () => [
        {
            content: "The customer's tier is a badge on the contact",
            trigger: ".o_form_view .o_field_widget[name='smb_tier_id'] .badge:contains('Gold')",
        },
        {
            content: "Open the Loyalty tab",
            trigger: ".o_notebook .nav-link:contains('Loyalty')",
            run: "click",
        },
        {
            content: "The trailing spend is shown",
            trigger: ".o_field_widget[name='smb_trailing_spend']:contains('1,800.00')",
        },
        {
            content: "The tier history lists the change to Gold",
            trigger: ".o_field_widget[name='smb_tier_history_ids'] .o_data_row:contains('Gold')",
        },
    ],
});

registry.category("web_tour.tours").add("smb_journey_tier_report_tour", {
    steps: () => [
        {
            content: "The tiers are listed with their customers",
            trigger: ".o_list_view .o_data_row:contains('Gold')",
        },
        {
            content: "Recompute every customer's tier now",
            trigger: ".o_list_view button[name='action_recompute']",
            run: "click",
        },
        {
            content: "A notification says how many changed",
            trigger: ".o_notification:contains('Tiers recomputed')",
        },
    ],
});

registry.category("web_tour.tours").add("smb_journey_churn_tour", {
    steps: () => [
        {
            content: "Score the customers now",
            trigger: ".o_list_view button[name='action_score_now']",
            run: "click",
        },
        {
            content: "The run opens with the model it used and why",
            trigger: ".o_form_view .o_field_widget[name='model_kind']:contains('Statistical (fallback)')",
        },
        {
            trigger: ".o_form_view .o_field_widget[name='model_reason']:contains('history')",
        },
    ],
});

registry.category("web_tour.tours").add("smb_journey_churn_contact_tour", {
    steps: () => [
        {
            content: "Open the Loyalty & Risk tab",
            trigger: ".o_notebook .nav-link:contains('Risk')",
            run: "click",
        },
        {
            content: "The churn band is shown",
            trigger: ".o_field_widget[name='smb_churn_band'] .badge:contains('High')",
        },
        {
            content: "And the predicted value",
            trigger: ".o_field_widget[name='smb_clv']",
        },
        {
            content: "And why: what raises the risk, in words",
            trigger: ".o_field_widget[name='smb_churn_explanation']:contains('Last order 120 days ago, usually every 30 days')",
        },
    ],
});
