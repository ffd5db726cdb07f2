import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("smb_journey_test_run_tour", {
    steps: () => [
        {
            content: "Open the test run",
            trigger: ".o_form_view .o_form_statusbar button[name='action_open_test_run']",
            run: "click",
        },
        {
            content: "Pick the contact",
            trigger: ".modal .o_field_widget[name='partner_id'] input",
            run: "edit Tour Tester",
        },
        {
            content: "Choose them",
            trigger: ".o-autocomplete--dropdown-item:contains('Tour Tester')",
            run: "click",
        },
        {
            content: "Their latest order is taken",
            trigger: ".modal .o_field_widget[name='record_ref'] input:value(S0)",
        },
        {
            content: "Run the test",
            trigger: ".modal button[name='action_run']",
            run: "click",
        },
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
        {
            content: "Close the test run",
            trigger: ".modal .modal-footer button:contains('Close')",
            run: "click",
        },
        {
            content: "Open the forecast",
            trigger: ".o_form_view:not(:has(.modal)) .o_form_statusbar button[name='action_open_forecast']",
            run: "click",
        },
        {
            content: "Customers entering in the next 30 days",
            trigger: ".modal .o_smb_forecast_windows tr[data-days='30'] .o_smb_forecast_entrants:contains('3')",
        },
        {
            content: "Messages a day",
            trigger: ".modal .o_smb_forecast_sentence:contains('messages a day')",
        },
        {
            content: "Close the forecast",
            trigger: ".modal .modal-footer button:contains('Close')",
            run: "click",
        },
        {
            content: "Back on the journey",
            trigger: ".o_form_view:not(:has(.modal))",
        },
    ],
});
