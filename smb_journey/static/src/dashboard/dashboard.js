import { Component, onWillStart, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { KeepLast } from "@web/core/utils/concurrency";
import { useService } from "@web/core/utils/hooks";
import { formatInteger, formatMonetary } from "@web/views/fields/formatters";
import { useSetupAction } from "@web/search/action_hook";
import { Layout } from "@web/search/layout";
import { DashboardChart } from "./dashboard_chart";
import { JourneyFunnel } from "./journey_funnel";

/**
 * The owner's dashboard of the journeys (client action ``smb_journey.dashboard``):
 * cards, revenue over time, a journey's funnel, experiments, tier moves and
 * customers at risk, all from ``smb.journey.get_dashboard_data(period, journey)``.
 * Every block opens the list, graph or pivot view behind its numbers.
 */
export class JourneyDashboard extends Component {
    static template = "smb_journey.JourneyDashboard";
    static components = { Layout, DashboardChart, JourneyFunnel };
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.keepLast = new KeepLast();
        // back from a block's analysis (breadcrumbs), the dashboard shows what it showed
        const restored = this.props.state || {};
        this.state = useState({
            period: restored.period || 30,
            journeyId: restored.journeyId || false,
            metric: restored.metric || "revenue",
            data: null,
            loading: false,
        });
        useSetupAction({
            getLocalState: () => ({
                period: this.state.period,
                journeyId: this.state.journeyId,
                metric: this.state.metric,
            }),
        });
        onWillStart(() => this.load());
    }

    async load() {
        this.state.loading = true;
        try {
            this.state.data = await this.keepLast.add(
                this.orm.call("smb.journey", "get_dashboard_data", [
                    this.state.period,
                    this.state.journeyId,
                ])
            );
            this.state.journeyId = this.state.data.funnel?.journey_id || false;
        } finally {
            this.state.loading = false;
        }
    }

    get currencyId() {
        return this.state.data.currency_id;
    }

    get periodLabels() {
        return { 7: _t("7 days"), 30: _t("30 days"), 90: _t("90 days") };
    }

    get periodTitle() {
        const { date_from, date_to } = this.state.data;
        return _t("%(from)s to %(to)s, compared with the %(days)s days before", {
            from: date_from,
            to: date_to,
            days: this.state.data.period,
        });
    }

    get kpis() {
        return this.state.data.kpis.map((kpi) => ({
            ...kpi,
            display: this.format(kpi.value, kpi.monetary),
            previousDisplay: this.format(kpi.previous, kpi.monetary),
            trend: this.trend(kpi.value, kpi.previous),
        }));
    }

    get chartEmpty() {
        return !this.state.data.chart.datasets.length;
    }

    get experimentsEmpty() {
        const { splits, holdouts } = this.state.data.experiments;
        return !splits.length && !holdouts.length;
    }

    get tierMax() {
        return Math.max(1, ...this.state.data.tiers.rows.map((row) => Math.max(row.upgrades, row.downgrades)));
    }

    format(value, monetary = false) {
        return monetary
            ? formatMonetary(value || 0, { currencyId: this.currencyId })
            : formatInteger(value || 0);
    }

    money(value) {
        return this.format(value, true);
    }

    /** How ``value`` compares with ``previous``: a label and its direction. */
    trend(value, previous) {
        if (!previous) {
            return value
                ? { label: _t("new"), direction: "up" }
                : { label: "", direction: "flat" };
        }
        const change = (100 * (value - previous)) / Math.abs(previous);
        const rounded = Math.round(change * 10) / 10;
        return {
            label: `${rounded > 0 ? "+" : ""}${rounded.toFixed(1)} %`,
            direction: rounded > 0 ? "up" : rounded < 0 ? "down" : "flat",
        };
    }

    riskPercent(score) {
        return `${Math.round((score || 0) * 100)} %`;
    }

    async setPeriod(period) {
        if (period !== this.state.period) {
            this.state.period = period;
            await this.load();
        }
    }

    async setJourney(ev) {
        this.state.journeyId = parseInt(ev.target.value) || false;
        await this.load();
    }

    setMetric(metric) {
        this.state.metric = metric;
    }

    open(link) {
        if (link) {
            return this.action.doAction(link);
        }
    }

    openRecord(resModel, resId) {
        return this.action.doAction({
            type: "ir.actions.act_window",
            res_model: resModel,
            res_id: resId,
            views: [[false, "form"]],
        });
    }

    openJourney(journeyId) {
        return this.openRecord("smb.journey", journeyId);
    }

    openFunnelStage(stage) {
        const links = this.state.data.funnel.links;
        const link = stage === "entered" ? links.entered : stage === "converted" ? links.converted : links.steps;
        return this.open(link);
    }

    openStep(stepId) {
        return this.action.doAction({
            type: "ir.actions.act_window",
            res_model: "smb.journey.step",
            res_id: stepId,
            views: [[false, "form"]],
            target: "new",
            context: { smb_journey_from_journey: true },
        });
    }
}

registry.category("actions").add("smb_journey.dashboard", JourneyDashboard);
