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
            content: "Its steps are also listed, in their own tab",
            trigger: ".o_notebook .nav-link:contains('Steps')",
            run: "click",
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

/** From the home menu or any app: open the Journeys app. */
export function openJourneysApp() {
    return [
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            content: "Open the Journeys app",
            trigger: ".o_app[data-menu-xmlid='smb_journey.smb_journey_menu_root']",
            run: "click",
        },
    ];
}

registry.category("web_tour.tours").add("smb_journey_salesperson_tour", {
    steps: () => [
        ...openJourneysApp(),
        {
            content: "The journeys are listed with their numbers",
            trigger: ".o_kanban_record:contains('Sales Tour Journey'):contains('Sent')",
            run: "click",
        },
        {
            content: "The journey opens with its statistics",
            trigger: ".o_form_view .oe_stat_button:contains('Sent')",
        },
        {
            content: "Look at the diagram",
            trigger: ".o_notebook .nav-link:contains('Diagram')",
            run: "click",
        },
        {
            content: "Each step shows its live numbers",
            trigger: ".o_smb_journey_diagram .o_smb_jd_box .o_smb_jd_stat:contains('Sent')",
        },
        {
            content: "Open the customers in this journey",
            trigger: ".oe_stat_button[name='action_view_enrollments']",
            run: "click",
        },
        {
            content: "Their own customer is listed",
            trigger: ".o_list_view .o_data_row:contains('Tour Own Customer')",
        },
        {
            content: "Another salesperson's customer is not",
            trigger: ".o_list_view:not(:has(.o_data_row:contains('Tour Other Customer')))",
        },
        {
            trigger: ".o_list_view .o_data_row:contains('Tour Own Customer') .o_data_cell:first",
            run: "click",
        },
        {
            content: "The enrollment's step log tells what the email did",
            trigger: ".o_form_view .o_field_widget[name='log_ids'] .o_data_row:contains('Hello tour')",
        },
        {
            content: "Reporting is in their menu",
            trigger: ".o_main_navbar .o_menu_sections [data-menu-xmlid='smb_journey.smb_journey_menu_reporting']",
            run: "click",
        },
        {
            trigger: ".dropdown-item[data-menu-xmlid='smb_journey.smb_journey_log_menu']",
            run: "click",
        },
        {
            content: "The step log opens",
            trigger: ".o_pivot_view, .o_graph_view, .o_list_view",
        },
    ],
});

registry.category("web_tour.tours").add("smb_journey_branch_tour", {
    steps: () => [
        {
            content: "Name the new journey",
            trigger: ".o_form_view .oe_title .o_field_widget[name='name'] input",
            run: "edit Tour win-back",
        },
        {
            content: "Steps can also be added from a list, in the Steps tab",
            trigger: ".o_notebook .nav-link:contains('Steps')",
            run: "click",
        },
        {
            content: "Add a first step",
            trigger: ".o_field_widget[name='step_ids'] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            trigger: ".modal .oe_title .o_field_widget[name='name'] input",
            run: "edit Valuable customer?",
        },
        {
            content: "It is a condition",
            trigger: ".modal .o_field_widget[name='step_type'] input[data-value='condition']",
            run: "click",
        },
        {
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "Add a step inside the condition, before the journey was ever saved",
            trigger: ".o_field_widget[name='step_ids'] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            trigger: ".modal .oe_title .o_field_widget[name='name'] input",
            run: "edit Call them",
        },
        {
            trigger: ".modal .o_field_widget[name='step_type'] input[data-value='activity']",
            run: "click",
        },
        {
            content: "The condition can be picked",
            trigger: ".modal .o_field_widget[name='parent_id'] input",
            run: "edit Valuable",
        },
        {
            trigger: ".o-autocomplete--dropdown-menu .dropdown-item:contains('Valuable customer?')",
            run: "click",
        },
        {
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "Both steps are saved",
            trigger: ".o_form_view:not(:has(.o_form_button_save:visible)) .o_field_widget[name='step_ids'] .o_data_row:contains('Call them')",
        },
    ],
});
