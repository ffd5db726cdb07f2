import { Component, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";

/** The list of placeholders the picker offers, searchable. */
export class PlaceholderPopover extends Component {
    static template = "smb_journey.PlaceholderPopover";
    static props = {
        groups: { type: Array },
        lists: { type: Array },
        close: { type: Function },
        select: { type: Function },
    };

    setup() {
        this.state = useState({ search: "" });
    }

    get groups() {
        const search = this.state.search.trim().toLowerCase();
        if (!search) {
            return this.props.groups;
        }
        const matches = (text) => text.toLowerCase().includes(search);
        return this.props.groups
            .map((group) => ({
                ...group,
                items: matches(group.label)
                    ? group.items
                    : group.items.filter((item) => matches(item.label) || matches(item.expr)),
            }))
            .filter((group) => group.items.length);
    }

    /** Where the values of the lists (cart lines, recommendations) are offered. */
    get listsHint() {
        return _t(
            "Lists (%(lists)s) come with the Journey blocks; their values are offered inside them.",
            { lists: this.props.lists.map((list) => list.expr).join(", ") }
        );
    }

    onKeydown(ev) {
        if (ev.key === "Escape") {
            ev.preventDefault();
            this.props.close();
        } else if (ev.key === "Enter") {
            ev.preventDefault();
            const first = this.groups[0]?.items[0];
            if (first) {
                this.props.select(first);
            }
        }
    }
}
