import { isHtmlContentSupported } from "@html_editor/core/selection_plugin";
import { Plugin } from "@html_editor/plugin";
import { closestElement } from "@html_editor/utils/dom_traversal";
import { withSequence } from "@html_editor/utils/resource";
import { _t } from "@web/core/l10n/translation";
import { PlaceholderPopover } from "./placeholder_popover";

const SAMPLE_IMAGE = "/web/static/img/placeholder.png";
const LOOP_RE = /^\s*([A-Za-z_]\w*)\s+in\s+([A-Za-z_][\w.]*)\s*$/;

/**
 * The placeholder picker of journey emails: lists the values this journey's
 * trigger fills (read from the server, see smb.journey.step
 * get_email_placeholders) and inserts one where the cursor is, showing a
 * sample value: `<span data-smb-out="customer.first_name">Ann</span>`, a link
 * with data-smb-href, an image with data-smb-src. Inside a repeated element
 * (data-smb-for="line in cart.lines") the list's item values are offered too.
 *
 * The editor's config gives `smbJourney.getPlaceholders()` (a promise).
 */
export class SmbJourneyPlaceholderPlugin extends Plugin {
    static id = "smbJourneyPlaceholder";
    static dependencies = ["overlay", "selection", "history", "dom"];
    resources = {
        user_commands: [
            {
                id: "smbJourneyPlaceholder",
                title: _t("Placeholder"),
                description: _t("Insert a value of the customer, cart, order, coupon..."),
                icon: "fa-user-circle-o",
                run: () => this.open(),
                isAvailable: isHtmlContentSupported,
            },
        ],
        powerbox_categories: withSequence(5, { id: "smb_journey", name: _t("Journey") }),
        powerbox_items: { categoryId: "smb_journey", commandId: "smbJourneyPlaceholder" },
        power_buttons: { commandId: "smbJourneyPlaceholder" },
        toolbar_groups: withSequence(45, { id: "smb_journey", namespaces: ["compact", "expanded"] }),
        toolbar_items: {
            id: "smbJourneyPlaceholder",
            groupId: "smb_journey",
            commandId: "smbJourneyPlaceholder",
        },
    };

    setup() {
        this.popover = this.dependencies.overlay.createOverlay(PlaceholderPopover, {
            hasAutofocus: true,
            className: "popover",
        });
    }

    /** The repeated element around the cursor: {var, expr} or null. */
    currentLoop() {
        const selection = this.dependencies.selection.getEditableSelection();
        let el = closestElement(selection.anchorNode, "[data-smb-for]");
        while (el) {
            const match = LOOP_RE.exec(el.dataset.smbFor || "");
            if (match) {
                return { var: match[1], expr: match[2] };
            }
            el = closestElement(el.parentElement, "[data-smb-for]");
        }
        return null;
    }

    async open() {
        const getPlaceholders = this.config.smbJourney?.getPlaceholders;
        const placeholders = getPlaceholders ? await getPlaceholders() : { groups: [], loops: [] };
        const loop = this.currentLoop();
        const groups = [];
        if (loop) {
            for (const list of placeholders.loops) {
                if (list.expr === loop.expr) {
                    const prefix = new RegExp(`^${list.var}\\.`);
                    groups.push({
                        name: `loop_${list.expr}`,
                        label: _t("Each item of %s", list.expr),
                        items: list.items.map((item) => ({
                            ...item,
                            expr: item.expr.replace(prefix, `${loop.var}.`),
                        })),
                    });
                }
            }
        }
        groups.push(...placeholders.groups);
        this.popover.open({
            props: {
                groups,
                lists: loop ? [] : placeholders.loops,
                close: () => this.close(),
                select: (item) => this.insert(item),
            },
        });
    }

    close() {
        this.popover.close();
        this.dependencies.selection.focusEditable();
    }

    /** Insert a placeholder showing its sample value. */
    insert(item) {
        this.close();
        const doc = this.document;
        let el;
        if (item.kind === "image") {
            el = doc.createElement("img");
            el.setAttribute("src", item.sample || SAMPLE_IMAGE);
            el.setAttribute("alt", item.label);
            el.setAttribute("data-smb-src", item.expr);
            el.style.maxWidth = "100%";
        } else if (item.kind === "url") {
            el = doc.createElement("a");
            el.setAttribute("href", item.sample || "#");
            el.setAttribute("data-smb-href", item.expr);
            el.textContent = item.label;
        } else {
            el = doc.createElement("span");
            el.className = "o_smb_placeholder o-contenteditable-false";
            el.setAttribute("data-smb-out", item.expr);
            el.setAttribute("contenteditable", "false");
            el.textContent = item.sample || item.label;
        }
        this.dependencies.dom.insert(el);
        this.dependencies.history.addStep();
    }
}
