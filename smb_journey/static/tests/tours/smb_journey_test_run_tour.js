import { registry } from "@web/core/registry";

/** Open the journey's Test Run and pick the contact to walk through it. */
export function openTestRun(partnerName) {
    return [
        {
            content: "Open the test run",
            trigger: ".o_form_view .o_form_statusbar button[name='action_open_test_run']",
            run: "click",
        },
        {
            content: "Pick the contact",
            trigger: ".modal .o_field_widget[name='partner_id'] input",
            run: `edit ${partnerName}`,
        },
        {
            content: "Choose them",
            trigger: `.o-autocomplete--dropdown-item:contains('${partnerName}')`,
            run: "click",
        },
        {
            trigger: `.modal .o_field_widget[name='partner_id'] input:value(${partnerName})`,
        },
    ];
}

/** Run the test: the timeline ends (completed, or where the contact would stop). */
export function runTest() {
    return [
        {
            content: "Run the test",
            trigger: ".modal button[name='action_run']",
            run: "click",
        },
        {
            content: "The timeline is drawn to its end",
            trigger: ".modal .o_smb_test_run_row[data-kind='end']",
        },
    ];
}

/** Close the test run or the forecast: back on the journey. */
export function closeDialog(content) {
    return [
        {
            content,
            trigger: ".modal .modal-footer button:contains('Close')",
            run: "click",
        },
        {
            content: "Back on the journey",
            trigger: "body:not(:has(.modal)) .o_form_view",
        },
    ];
}

/** Open the journey's Forecast. */
export function openForecast() {
    return [
        {
            content: "Open the forecast",
            trigger: "body:not(:has(.modal)) .o_form_view .o_form_statusbar button[name='action_open_forecast']",
            run: "click",
        },
        {
            content: "The forecast is computed",
            trigger: ".modal .o_smb_forecast_result",
        },
    ];
}

registry.category("web_tour.tours").add("smb_journey_test_run_tour", {
    steps: () => [
        ...openTestRun("Tour Tester"),
        {
            content: "Their latest order is taken",
            trigger: ".modal .o_field_widget[name='record_ref'] input:value(S0)",
        },
        ...runTest(),
        {
            content: "The first email is rendered for the contact",
            trigger: ".modal .o_smb_test_run_row[data-kind='step'] .o_smb_test_run_subject:contains('Thanks Tour')",
        },
        {
            content: "The wait says until when",
            trigger: ".modal .o_smb_test_run_until:contains('would continue on')",
        },
        {
            content: "The email's body is shown",
            trigger: ".modal iframe.o_smb_test_run_email",
        },
        {
            content: "The journey ends",
            trigger: ".modal .o_smb_test_run_row[data-kind='end']:contains('Completed')",
        },
        ...closeDialog("Close the test run"),
        ...openForecast(),
        {
            content: "Customers entering in the next 30 days",
            trigger: ".modal .o_smb_forecast_windows tr[data-days='30'] .o_smb_forecast_entrants:contains('3')",
        },
        {
            content: "Messages a day",
            trigger: ".modal .o_smb_forecast_sentence:contains('messages a day')",
        },
        ...closeDialog("Close the forecast"),
    ],
});
