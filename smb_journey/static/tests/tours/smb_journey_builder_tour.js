import { registry } from "@web/core/registry";
import { openJourneysApp } from "./smb_journey_tour";
import { buildOnDiagram, closePanel, DIAGRAM, editInPanel, openStep } from "./smb_journey_diagram_tour";
import { closeDialog, openForecast, openTestRun, runTest } from "./smb_journey_test_run_tour";
import { olderVersionFinishing, readVersions, versionBanner } from "./smb_journey_versions_tour";

const YES_EMAIL = ".o_smb_jd_branch_yes .o_smb_jd_box.o_smb_jd_email";
const TIMELINE = ".modal .o_smb_test_run_row";

/**
 * A journey from scratch, as a shop owner builds it: named, then made only on
 * its diagram, tested with one contact, forecast, started; a customer enters
 * it, then the journey is edited into a second version.
 */
registry.category("web_tour.tours").add("smb_journey_builder", {
    steps: () => [
        ...openJourneysApp(),
        {
            content: "The app opens on the owner's dashboard: go to the journeys",
            trigger: ".o_menu_sections [data-menu-xmlid='smb_journey.smb_journey_menu']",
            run: "click",
        },
        {
            content: "Create a journey",
            trigger: ".o_control_panel .o-kanban-button-new",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".o_form_view .o_field_widget[name='name'] input",
            run: "edit Builder Welcome",
        },
        ...buildOnDiagram(),
        ...openStep(YES_EMAIL, "Open the email of those who match"),
        ...editInPanel(
            "subject",
            "Welcome {{ customer.first_name }}",
            `${YES_EMAIL} .o_smb_jd_summary:contains('Welcome')`,
            "Write its subject"
        ),
        ...closePanel(),
        {
            content: "The journey is saved: every step was added through it",
            trigger: ".o_control_panel .o_form_status_indicator:not(:has(.o_form_status_indicator_buttons:not(.invisible)))",
        },

        // Test it with one contact: time is simulated, nothing is sent
        ...openTestRun("Erin Builder"),
        ...runTest(),
        {
            content: "The wait is skipped: the timeline says when it would go on",
            trigger: `${TIMELINE}[data-kind='step']:contains('Wait 2 days') .o_smb_test_run_until:contains('would continue on')`,
        },
        {
            content: "The condition takes its yes outlet for her",
            trigger: `${TIMELINE}[data-kind='step'] .o_smb_test_run_outlet:contains('If yes')`,
        },
        {
            content: "The email of that outlet, rendered for her",
            trigger: `${TIMELINE}[data-kind='step'] .o_smb_test_run_subject:contains('Welcome Erin')`,
        },
        {
            content: "The other outlet's email is not on her way",
            trigger: `.modal .o_smb_test_run_timeline:not(:contains('News from'))`,
        },
        {
            content: "The A/B split gives her a variant",
            trigger: `${TIMELINE}[data-kind='step']:contains('A/B split') .o_smb_test_run_outlet:contains('Variant')`,
        },
        {
            content: "One message on her way",
            trigger: ".modal .o_smb_test_run_summary:contains('1 message;')",
        },
        {
            content: "She completes the journey",
            trigger: `${TIMELINE}[data-kind='end']:contains('Completed')`,
        },
        ...closeDialog("Close the test run"),

        // What it would send
        ...openForecast(),
        {
            content: "Each customer gets one message (one email on either outlet)",
            trigger: ".modal .o_smb_forecast_per_entrant strong:contains('≈ 1.0')",
        },
        {
            content: "Customers entering in the next 30 days, counted from the contacts created lately",
            trigger: ".modal .o_smb_forecast_windows tr[data-days='30'] .o_smb_forecast_entrants:contains('≈')",
        },
        {
            trigger: ".modal .o_smb_forecast_windows tr[data-days='30']:contains('new contacts with an email address')",
        },
        {
            content: "The condition's share of each outlet: no filter yet, everybody says yes",
            trigger: ".modal .o_smb_forecast_outlets tr:contains('If customer matches a filter'):contains('If yes 100 %')",
        },
        {
            trigger: ".modal .o_smb_forecast_sentence:contains('messages a day')",
        },
        ...closeDialog("Close the forecast"),

        // Start it, and a customer enters
        {
            content: "Start the journey",
            trigger: ".o_form_view .o_form_statusbar button[name='action_start']",
            run: "click",
        },
        {
            content: "It runs",
            trigger: ".o_form_view .o_form_statusbar button[name='action_pause']",
        },
        {
            content: "Enrol a customer by hand",
            trigger: ".o_form_view .o_form_statusbar button[name='action_open_enroll_wizard']",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='partner_ids'] input",
            run: "edit Erin Builder",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains('Erin Builder')",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='partner_ids'] .o_tag:contains('Erin Builder')",
        },
        {
            content: "Enrol",
            trigger: ".modal button[name='action_enroll']",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        ...versionBanner(2),

        // Edit the running journey on its diagram: version 2
        ...openStep(YES_EMAIL, "Open the email again"),
        ...editInPanel(
            "subject",
            "Welcome aboard {{ customer.first_name }}",
            `${YES_EMAIL} .o_smb_jd_summary:contains('Welcome aboard')`,
            "Reword its subject"
        ),
        {
            content: "The panel goes on with the step of version 2, as saved",
            trigger: `${DIAGRAM} ${YES_EMAIL}.o_smb_jd_selected`,
        },
        {
            trigger: `${DIAGRAM} .o_smb_jd_panel .o_field_widget[name='subject'] input:value(Welcome aboard)`,
        },
        ...closePanel(),
        {
            content: "The diagram shows the new subject",
            trigger: `${DIAGRAM} ${YES_EMAIL} .o_smb_jd_summary:contains('Welcome aboard')`,
        },
        ...olderVersionFinishing(2),
        ...readVersions(2, 1),
        {
            content: "Version 1 keeps its customer",
            trigger: ".o_field_widget[name='version_ids'] .o_data_row:contains('Version 1') td[name='running_count']:contains('1')",
        },
    ],
});
