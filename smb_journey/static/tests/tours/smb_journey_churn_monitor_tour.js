import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("smb_journey_churn_monitor_tour", {
    steps: () => [
        {
            content: "The run warns that its check got worse",
            trigger: ".o_form_view .o_smb_churn_run_warning:contains('turned out worse than usual')",
        },
        {
            content: "The reliability diagram draws the validation's four bins",
            trigger: ".o_smb_reliability svg .o_smb_reliability_holdout circle:nth-of-type(4)",
        },
        {
            content: "and the check's three",
            trigger: ".o_smb_reliability svg .o_smb_reliability_backtest:has(circle:nth-of-type(3)):not(:has(circle:nth-of-type(4)))",
        },
        {
            content: "with the diagonal and both axes named",
            trigger: ".o_smb_reliability svg .o_smb_reliability_diagonal",
        },
        {
            trigger: ".o_smb_reliability svg text:contains('Predicted probability of no order')",
        },
        {
            content: "The legend names both series with their calibration error",
            trigger: ".o_smb_reliability_legend_holdout:contains('Validation on the latest observed window (300 customers)'):contains('0.030')",
        },
        {
            trigger: ".o_smb_reliability_legend_backtest:contains('against what followed'):contains('0.120')",
        },
        {
            content: "Open the check of past predictions",
            trigger: ".o_notebook .nav-link:contains('How Past Predictions Turned Out')",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name='backtest_auc']:contains('0.810')",
        },
        {
            content: "Back to the trend of the checks",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains('Prediction Quality')",
            run: "click",
        },
        {
            content: "A line graph of the checks over time",
            trigger: ".o_graph_view .o_graph_renderer canvas",
        },
        {
            content: "The runs' list",
            trigger: ".o_switch_view.o_list",
            run: "click",
        },
        {
            content: "The run that got worse is flagged",
            trigger: ".o_list_view .o_data_row.text-warning td[name='backtest_auc']:contains('0.810')",
        },
        {
            content: "A check without an AUC shows none, its revenue error all the same",
            trigger: ".o_list_view .o_data_row:not(.text-warning):has(td[name='backtest_revenue_error']:contains('4.0')) td[name='backtest_auc']:not(:contains('0'))",
        },
    ],
});
