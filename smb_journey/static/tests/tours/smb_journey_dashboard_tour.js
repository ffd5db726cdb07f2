import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("smb_journey_dashboard_tour", {
    steps: () => [
        {
            content: "The revenue card shows what the journeys earned over 30 days",
            trigger: ".o_smb_dashboard .o_smb_kpi[data-kpi='revenue'] .o_smb_kpi_value:contains('200.00')",
        },
        {
            content: "The conversions card counts the order",
            trigger: ".o_smb_kpi[data-kpi='conversions'] .o_smb_kpi_value:contains('1')",
        },
        {
            content: "Revenue per recipient: 200 over the two customers emailed",
            trigger: ".o_smb_kpi[data-kpi='revenue_per_recipient'] .o_smb_kpi_value:contains('100.00')",
        },
        {
            content: "Revenue by journey is drawn",
            trigger: ".o_smb_block_chart canvas",
        },
        {
            content: "The funnel of the best earner",
            trigger: ".o_smb_block_funnel .o_smb_funnel_steps tr:contains('Tour hello')",
        },
        {
            trigger: ".o_smb_block_funnel .o_smb_funnel_stage[data-stage='sent'] .o_smb_funnel_value:contains('2')",
        },
        {
            trigger: ".o_smb_block_funnel .o_smb_funnel_stage[data-stage='converted'] .o_smb_funnel_value:contains('1')",
        },
        {
            content: "The customer at risk is listed with their predicted value",
            trigger: ".o_smb_risk_table tr:contains('Risky Tour Customer'):contains('640.00')",
        },
        {
            content: "Tier moves are counted",
            trigger: ".o_smb_block_tiers .o_smb_upgrades:contains('1')",
        },
        {
            content: "Show conversions instead of revenue",
            trigger: ".o_smb_metric_conversions",
            run: "click",
        },
        {
            trigger: ".o_smb_metric_conversions.active",
        },
        {
            content: "Look at the last 7 days",
            trigger: ".o_smb_periods button[data-period='7']",
            run: "click",
        },
        {
            trigger: ".o_smb_periods button.active[data-period='7']",
        },
        {
            trigger: ".o_smb_kpi[data-kpi='revenue'] .o_smb_kpi_value:contains('200.00')",
        },
        {
            content: "Open the revenue behind the card",
            trigger: ".o_smb_kpi[data-kpi='revenue']",
            run: "click",
        },
        {
            content: "The conversions' graph opens",
            trigger: ".o_action_manager .o_graph_view",
        },
        {
            content: "Back to the dashboard",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains('Dashboard')",
            run: "click",
        },
        {
            content: "It shows the period and the chart it showed",
            trigger: ".o_smb_periods button.active[data-period='7']",
        },
        {
            trigger: ".o_smb_metric_conversions.active",
        },
        {
            content: "Open the messages behind the card",
            trigger: ".o_smb_kpi[data-kpi='sent']",
            run: "click",
        },
        {
            content: "The step log of the messages sent opens",
            trigger: ".o_action_manager .o_pivot_view th:contains('Dashboard Tour Journey')",
        },
        {
            trigger: ".o_breadcrumb .breadcrumb-item a:contains('Dashboard')",
            run: "click",
        },
        {
            content: "Click through to the journey",
            trigger: ".o_smb_journey_row:contains('Dashboard Tour Journey')",
            run: "click",
        },
        {
            content: "The journey opens",
            trigger: ".o_form_view .o_breadcrumb:contains('Dashboard Tour Journey')",
        },
        {
            content: "Its Performance tab",
            trigger: ".o_notebook .nav-link:contains('Performance')",
            run: "click",
        },
        {
            content: "draws its funnel from its statistics",
            trigger: ".o_smb_journey_funnel_widget .o_smb_funnel_stage[data-stage='converted'] .o_smb_funnel_value:contains('1')",
        },
        {
            content: "with its revenue per recipient",
            trigger: ".o_smb_journey_funnel_widget .o_smb_funnel_rpr:contains('100.00')",
        },
    ],
});

registry.category("web_tour.tours").add("smb_journey_my_customers_tour", {
    steps: () => [
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
        {
            content: "It opens on the journeys (the dashboard is the managers')",
            trigger: ".o_kanban_view .o_kanban_record:contains('Dashboard Tour Journey')",
        },
        {
            trigger: ".o_main_navbar:not(:has([data-menu-xmlid='smb_journey.smb_journey_dashboard_menu']))",
        },
        {
            content: "Open My Customers",
            trigger: ".o_main_navbar [data-menu-xmlid='smb_journey.smb_journey_my_customers_menu']",
            run: "click",
        },
        {
            content: "Their customer, with tier, risk, predicted value and journey",
            trigger: ".o_list_view .o_data_row:contains('Risky Tour Customer'):contains('Silver'):contains('High'):contains('640.00'):contains('Dashboard Tour Journey')",
        },
        {
            content: "A colleague's customer is not listed",
            trigger: ".o_list_view:not(:has(.o_data_row:contains('Colleague Tour Customer')))",
        },
        {
            content: "Switch to the cards",
            trigger: ".o_switch_view.o_kanban",
            run: "click",
        },
        {
            trigger: ".o_kanban_record:contains('Risky Tour Customer'):contains('Predicted value')",
            run: "click",
        },
        {
            content: "The customer opens",
            trigger: ".o_form_view .o_field_widget[name='smb_tier_id']:contains('Silver')",
        },
    ],
});

// the README's screenshot of the dashboard (tests/test_screenshots.py)
registry.category("web_tour.tours").add("smb_journey_shot_dashboard", {
    steps: () => [
        { trigger: ".o_smb_dashboard .o_smb_kpi[data-kpi='revenue']" },
        { trigger: ".o_smb_block_chart canvas, .o_smb_block_chart .o_smb_empty" },
        { trigger: ".o_smb_block_funnel .o_smb_funnel_stage" },
        {
            trigger: "body:not(:has(.o_loading_indicator))",
            run: () => new Promise((resolve) => setTimeout(resolve, 800)),
        },
    ],
});
