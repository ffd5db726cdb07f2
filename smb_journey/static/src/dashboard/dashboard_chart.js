import { Component, onWillStart, onWillUnmount, useEffect, useRef } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { cookie } from "@web/core/browser/cookie";
import { getColor } from "@web/core/colors/colors";
import { formatMonetary } from "@web/views/fields/formatters";

/**
 * A stacked bar chart of the journeys' revenue (or conversions) per day or
 * week, drawn with Chart.js loaded as the graph view loads it.
 */
export class DashboardChart extends Component {
    static template = "smb_journey.DashboardChart";
    static props = {
        labels: Array,
        datasets: Array,
        metric: String, // "revenue" or "conversions"
        currencyId: { type: Number, optional: true },
    };

    setup() {
        this.canvasRef = useRef("canvas");
        this.chart = null;
        onWillStart(() => loadBundle("web.chartjs_lib"));
        useEffect(
            () => this.renderChart(),
            () => [this.props.labels, this.props.datasets, this.props.metric]
        );
        onWillUnmount(() => this.chart?.destroy());
    }

    get config() {
        const { labels, datasets, metric, currencyId } = this.props;
        const colorScheme = cookie.get("color_scheme");
        const money = metric === "revenue";
        const format = (value) => (money ? formatMonetary(value, { currencyId }) : String(value));
        return {
            type: "bar",
            data: {
                labels,
                datasets: datasets.map((dataset, index) => ({
                    label: dataset.name,
                    data: dataset[metric],
                    backgroundColor: getColor(index, colorScheme, datasets.length),
                    borderRadius: 3,
                    maxBarThickness: 36,
                })),
            },
            options: {
                maintainAspectRatio: false,
                animation: false,
                interaction: { mode: "index", intersect: false },
                scales: {
                    x: { stacked: true, grid: { display: false } },
                    y: {
                        stacked: true,
                        beginAtZero: true,
                        ticks: { precision: 0, callback: (value) => format(value) },
                    },
                },
                plugins: {
                    legend: { position: "bottom", labels: { boxWidth: 12, usePointStyle: true } },
                    tooltip: {
                        callbacks: {
                            label: (item) => `${item.dataset.label}: ${format(item.raw)}`,
                        },
                        filter: (item) => item.raw !== 0,
                    },
                },
            },
        };
    }

    renderChart() {
        this.chart?.destroy();
        if (this.canvasRef.el) {
            this.chart = new Chart(this.canvasRef.el, this.config);
        }
    }
}
