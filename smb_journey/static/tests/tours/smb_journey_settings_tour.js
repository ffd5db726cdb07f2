import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("smb_journey_settings_tour", {
    steps: () => [
        {
            content: "Open the Journeys app's configuration",
            trigger: ".o_main_navbar .o_menu_sections [data-menu-xmlid='smb_journey.smb_journey_menu_config']",
            run: "click",
        },
        {
            content: "Open its settings",
            trigger: ".dropdown-item[data-menu-xmlid='smb_journey.smb_journey_settings_menu']",
            run: "click",
        },
        {
            content: "The Journeys section is shown, with its sending rules",
            trigger: ".app_settings_block[data-key='smb_journey'] #smb_quiet_hours",
        },
        {
            content: "Medium risk from 30 %",
            trigger: ".app_settings_block[data-key='smb_journey'] .o_field_widget[name='smb_churn_medium_threshold'] input",
            run: "edit 30",
        },
        {
            content: "New journeys end at the customer's next order",
            trigger: ".app_settings_block[data-key='smb_journey'] .o_field_widget[name='smb_default_goal_order'] input",
            run: "click",
        },
        {
            content: "Save the settings (the page reloads)",
            trigger: ".o_control_panel button.o_form_button_save",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The settings are saved, still in the Journeys section",
            trigger: ".app_settings_block[data-key='smb_journey'] .o_field_widget[name='smb_default_goal_order'] input:checked",
        },
    ],
});
