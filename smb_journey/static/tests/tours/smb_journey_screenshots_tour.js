/** The README's screenshots (tests/test_screenshots.py): each tour opens a
 * screen and ends once its content is shown; the picture is taken then. */
import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");
// the last step waits for the page to settle (no request in flight, fonts and charts drawn)
const settle = { trigger: "body:not(:has(.o_loading_indicator))", run: () => new Promise((r) => setTimeout(r, 800)) };

tours.add("smb_journey_shot_journeys", {
    steps: () => [{ trigger: ".o_kanban_record:contains(Abandoned), .o_data_row:contains(Abandoned)" }, settle],
});

tours.add("smb_journey_shot_journey_diagram", {
    steps: () => [
        { trigger: ".o_notebook .nav-link:contains(Diagram)", run: "click" },
        { trigger: ".o_smb_journey_diagram .o_smb_jd_box" },
        settle,
    ],
});

tours.add("smb_journey_shot_customer", {
    steps: () => [
        { trigger: ".o_form_view .o_field_widget[name=smb_tier_id]" },
        { trigger: ".o_notebook .nav-link:contains(Loyalty)", run: "click" },
        { trigger: ".o_notebook .tab-pane.active" },
        settle,
    ],
});
