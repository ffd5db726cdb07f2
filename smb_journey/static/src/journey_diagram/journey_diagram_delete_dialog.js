import { Component } from "@odoo/owl";
import { Dialog } from "@web/core/dialog/dialog";

/**
 * Deleting a step that has steps on its outlets: delete them with it, or
 * keep the steps of one outlet, which take its place on the journey.
 */
export class JourneyDiagramDeleteDialog extends Component {
    static template = "smb_journey.JourneyDiagramDeleteDialog";
    static components = { Dialog };
    static props = {
        close: Function,
        stepName: String,
        total: Number,
        outlets: Array,
        choose: Function,
    };

    choose(keep) {
        this.props.choose({ keep });
        this.props.close();
    }
}
