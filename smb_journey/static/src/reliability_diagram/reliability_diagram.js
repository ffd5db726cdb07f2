import { Component } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

// the drawing, in SVG units (it scales to the width of its box)
const WIDTH = 480;
const HEIGHT = 340;
const MARGIN = { left: 60, right: 16, top: 14, bottom: 50 };
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT = HEIGHT - MARGIN.top - MARGIN.bottom;
const TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1];
const RADIUS_MIN = 3;
const RADIUS_MAX = 12;

function percent(value) {
    return `${Math.round(100 * value)} %`;
}

/**
 * A reliability diagram: per bin of predicted churn probability, the mean
 * prediction (x) against the share of customers who really placed no order
 * (y), a point sized by the customers in the bin; the diagonal is a perfectly
 * calibrated model. The field (``smb.churn.run.reliability_chart``) holds
 * ``{series: [{key, label, ece, bins: [[predicted, observed, count], ...]}]}``:
 * the validation of the model and, once a run a horizon ago exists, the check
 * of its predictions. The server computes the bins; this draws them.
 */
export class ReliabilityDiagram extends Component {
    static template = "smb_journey.ReliabilityDiagram";
    static props = { ...standardFieldProps };

    width = WIDTH;
    height = HEIGHT;
    margin = MARGIN;
    plotWidth = PLOT_WIDTH;
    plotHeight = PLOT_HEIGHT;

    get series() {
        const value = this.props.record.data[this.props.name];
        return (value && value.series) || [];
    }

    x(p) {
        return MARGIN.left + p * PLOT_WIDTH;
    }

    y(rate) {
        return MARGIN.top + (1 - rate) * PLOT_HEIGHT;
    }

    get ticks() {
        return TICKS.map((value) => ({ value, label: percent(value), x: this.x(value), y: this.y(value) }));
    }

    get diagonal() {
        return `M ${this.x(0)} ${this.y(0)} L ${this.x(1)} ${this.y(1)}`;
    }

    get drawn() {
        const largest = Math.max(1, ...this.series.flatMap((s) => s.bins.map((bin) => bin[2])));
        return this.series.map((serie) => {
            const points = serie.bins.map(([predicted, observed, count], index) => ({
                index,
                cx: this.x(predicted),
                cy: this.y(observed),
                r: RADIUS_MIN + (RADIUS_MAX - RADIUS_MIN) * Math.sqrt(count / largest),
                title: _t("Predicted %(predicted)s, observed %(observed)s, %(count)s customers", {
                    predicted: percent(predicted),
                    observed: percent(observed),
                    count,
                }),
            }));
            return {
                ...serie,
                points,
                path: points.map((p, i) => `${i ? "L" : "M"} ${p.cx} ${p.cy}`).join(" "),
                eceLabel:
                    typeof serie.ece === "number"
                        ? _t("calibration error %(ece)s", { ece: serie.ece.toFixed(3) })
                        : "",
            };
        });
    }
}

export const reliabilityDiagram = {
    component: ReliabilityDiagram,
    displayName: _t("Reliability Diagram"),
    supportedTypes: ["json"],
};

registry.category("fields").add("smb_reliability_diagram", reliabilityDiagram);
