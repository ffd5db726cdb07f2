import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("smb_journey_timing_settings_tour", {
    steps: () => [
        {
            content: "Turn the quiet hours on",
            trigger: ".o_field_widget[name='smb_quiet_hours'] input",
            run: "click",
        },
        {
            content: "From 22:00",
            trigger: ".o_field_widget[name='smb_quiet_start'] input",
            run: "edit 22:00",
        },
        {
            content: "Turn the frequency cap on",
            trigger: ".o_field_widget[name='smb_frequency_cap'] input",
            run: "click",
        },
        {
            content: "Save the settings (the page reloads)",
            trigger: ".o_control_panel button.o_form_button_save",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Open the frequency cap's rules",
            trigger: ".o_setting_box:has(.o_field_widget[name='smb_frequency_cap'] input:checked) button:contains('Frequency Caps')",
            run: "click",
        },
        {
            content: "The shipped rules are listed",
            trigger: ".o_list_view .o_data_row:contains('1 per 16 h')",
        },
    ],
});
