/** The README's screenshots (tests/test_screenshots.py): each tour opens a
 * screen and ends once its content is shown; the picture is taken then. */
import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");
// the last step waits for the page to settle (no request in flight, fonts and charts drawn)
const settle = { trigger: "body:not(:has(.o_loading_indicator))", run: () => new Promise((r) => setTimeout(r, 800)) };

tours.add("smb_journey_shot_journeys", {
    steps: () => [{ trigger: ".o_kanban_record:contains(Abandoned), .o_data_row:contains(Abandoned)" }, settle],
});

tours.add("smb_journey_shot_journey_diagram", {
    steps: () => [
        { trigger: ".o_notebook .nav-link:contains(Diagram)", run: "click" },
        { trigger: ".o_smb_journey_diagram .o_smb_jd_box" },
        settle,
    ],
});

tours.add("smb_journey_shot_customer", {
    steps: () => [
        { trigger: ".o_form_view .o_field_widget[name=smb_tier_id]" },
        { trigger: ".o_notebook .nav-link:contains(Loyalty)", run: "click" },
        { trigger: ".o_notebook .tab-pane.active" },
        settle,
    ],
});

tours.add("smb_journey_shot_gallery", {
    steps: () => [
        { trigger: ".o_control_panel button.o_smb_journey_from_template", run: "click" },
        { trigger: ".o_smb_journey_template_kanban .o_kanban_record:contains('Happy Birthday')" },
        settle,
    ],
});

tours.add("smb_journey_shot_diagram_editor", {
    steps: () => [
        { trigger: ".o_notebook .nav-link.active:contains(Diagram)" },
        { trigger: ".o_smb_journey_diagram .o_smb_jd_box.o_smb_jd_email", run: "click" },
        { trigger: ".o_smb_jd_panel .o_field_widget[name='subject']" },
        settle,
    ],
});

tours.add("smb_journey_shot_email_editor", {
    steps: () => [
        { trigger: '[name="body_arch"] :iframe .o_mail_wrapper_td [data-smb-out]' },
        { trigger: '.o_snippet[name="Journey"] button' },
        settle,
    ],
});

tours.add("smb_journey_shot_email_preview", {
    steps: () => [
        { trigger: '[name="body_arch"] :iframe .o_mail_wrapper_td' },
        { trigger: '.o_notebook_headers a[name="email_preview"]', run: "click" },
        { trigger: '.o_smb_journey_email_preview :iframe body:contains("Emma"):not(:contains("{{"))' },
        settle,
    ],
});

tours.add("smb_journey_shot_test_run", {
    steps: () => [
        { trigger: ".o_form_view .o_form_statusbar button[name='action_open_test_run']", run: "click" },
        { trigger: ".modal .o_field_widget[name='partner_id'] input", run: "edit Emma Thompson" },
        { trigger: ".o-autocomplete--dropdown-item:contains('Emma Thompson')", run: "click" },
        { trigger: ".modal button[name='action_run']", run: "click" },
        { trigger: ".modal .o_smb_test_run_row[data-kind='end']" },
        settle,
    ],
});

tours.add("smb_journey_shot_forecast", {
    steps: () => [
        { trigger: ".o_form_view .o_form_statusbar button[name='action_open_forecast']", run: "click" },
        { trigger: ".modal .o_smb_forecast_sentence" },
        settle,
    ],
});

tours.add("smb_journey_shot_versions", {
    steps: () => [
        { trigger: ".o_notebook .nav-link:contains(Versions)", run: "click" },
        { trigger: ".o_field_widget[name=version_ids] .o_data_row:eq(1)" },
        settle,
    ],
});

tours.add("smb_journey_shot_settings", {
    steps: () => [{ trigger: ".app_settings_block[data-key='smb_journey'] #smb_quiet_hours" }, settle],
});

tours.add("smb_journey_shot_my_customers", {
    steps: () => [{ trigger: ".o_data_row:contains(Emma), .o_kanban_record:contains(Emma)" }, settle],
});
