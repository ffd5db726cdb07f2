import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("smb_journey_webhook_tour", {
    steps: () => [
        {
            content: "A Journey Manager sees the webhook's secret, to copy it to the receiver",
            trigger: ".o_form_view .o_field_widget[name='secret']",
        },
        {
            content: "Send a test call",
            trigger: ".o_form_view button[name='action_send_test']",
            run: "click",
        },
        {
            content: "The receiver's answer is shown",
            trigger: ".o_notification:contains('HTTP 200: ok')",
        },
        {
            content: "Open the dead calls",
            trigger: ".o_form_view button[name='action_view_deliveries']:contains('Dead')",
            run: "click",
        },
        {
            content: "The dead call is listed",
            trigger: ".o_list_view .o_data_row:contains('Dead') td[name='partner_id']",
            run: "click",
        },
        {
            content: "Retry it",
            trigger: ".o_form_view button[name='action_retry']",
            run: "click",
        },
        {
            content: "It is pending again",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Pending')",
        },
    ],
});
