import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("smb_journey_template_tour", {
    steps: () => [
        {
            content: "Open the template gallery from the journeys",
            trigger: ".o_control_panel button.o_smb_journey_from_template",
            run: "click",
        },
        {
            content: "Each template says what it does and what it brings",
            trigger: ".o_smb_journey_template_kanban .o_kanban_record:contains('Happy Birthday'):contains('20%')",
        },
        {
            content: "Use the birthday template",
            trigger: ".o_smb_journey_template_kanban .o_kanban_record:contains('Happy Birthday') button[name='action_use']",
            run: "click",
        },
        {
            content: "The new journey opens, in draft",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Draft')",
        },
        {
            content: "It is the copy, named after the template",
            trigger: ".o_breadcrumb .active:contains('Happy Birthday')",
        },
    ],
});
