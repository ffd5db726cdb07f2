import { registry } from "@web/core/registry";

// An admin opens a journey email, adds a Journey block and a placeholder in
// Email Marketing's editor, saves, and reads the rendered preview.
registry.category("web_tour.tours").add("smb_journey_email_editor_tour", {
    steps: () => [
        {
            content: "The email opens in the editor, with samples instead of template code",
            trigger: '[name="body_arch"] :iframe .o_mail_wrapper_td [data-smb-out="customer.first_name"]',
        },
        {
            content: "The Journey blocks are in the blocks panel",
            trigger: '.o_snippet[name="Journey"] button',
            run: "click",
        },
        {
            content: "Pick the customer greeting block",
            trigger: ":iframe .o_snippet_preview_wrap:has(.s_smb_greeting)",
            run: "click",
        },
        {
            content: "Wait for the block to be dropped",
            trigger: "body:not(:has(.o_we_ongoing_insertion))",
        },
        {
            content: "The block is in the email",
            trigger: '[name="body_arch"] :iframe .o_mail_wrapper_td .s_smb_greeting',
        },
        {
            content: "Place the cursor at the end of the greeting's text",
            trigger: '[name="body_arch"] :iframe .s_smb_greeting p',
            run() {
                this.anchor.click();
                const doc = this.anchor.ownerDocument;
                doc.defaultView.focus();
                this.anchor.closest("[contenteditable='true']")?.focus();
                const range = doc.createRange();
                range.selectNodeContents(this.anchor);
                range.collapse(false);
                doc.getSelection().removeAllRanges();
                doc.getSelection().addRange(range);
            },
        },
        {
            content: "Type / for the commands",
            trigger: '[name="body_arch"] :iframe .s_smb_greeting p',
            async run() {
                await new Promise((resolve) => setTimeout(resolve, 300));
                this.anchor.ownerDocument.execCommand("insertText", false, "/");
            },
        },
        {
            content: "Open the placeholder picker from the / commands",
            trigger: '.o-we-command:has(.o-we-command-name:contains("Placeholder"))',
            run() {
                this.anchor.click();
            },
        },
        {
            content: "Search a value",
            trigger: ".o_smb_placeholder_popover input.o_smb_placeholder_search",
            run() {
                this.anchor.value = "tier";
                this.anchor.dispatchEvent(new Event("input", { bubbles: true }));
            },
        },
        {
            content: "Pick the customer's loyalty tier",
            trigger: '.o_smb_placeholder_popover .o_smb_placeholder_item[data-expr="tier.name"]',
            run() {
                this.anchor.click();
            },
        },
        {
            content: "The placeholder shows its sample",
            trigger: '[name="body_arch"] :iframe .s_smb_greeting p [data-smb-out="tier.name"]:contains("Gold")',
        },
        {
            content: "Save",
            trigger: ".o_form_button_save:enabled",
            run() {
                this.anchor.click();
            },
        },
        {
            content: "Saved",
            trigger: ".o_form_saved",
        },
        {
            content: "Read the preview",
            trigger: '.o_notebook_headers a[name="email_preview"]',
            run() {
                this.anchor.click();
            },
        },
        {
            content: "The preview shows the customer's values, not template code",
            trigger: '.o_smb_journey_email_preview :iframe body:contains("Hi Tour,"):not(:contains("{{"))',
        },
    ],
});
