import { MassMailingBuilder } from "@mass_mailing/builder/mass_mailing_builder";
import { SmbJourneyPlaceholderPlugin } from "@smb_journey/email_editor/placeholder_plugin";
import { registry } from "@web/core/registry";

// Email Marketing's visibility filter is a domain on a mailing's recipients
// model: a journey email shows its blocks by data-smb-if instead
const MAILING_ONLY_PLUGINS = ["mass_mailing.SnippetVisibility"];

/** Email Marketing's builder, with the journey placeholder picker. */
export class SmbJourneyEmailBuilder extends MassMailingBuilder {
    get builderProps() {
        const builderProps = super.builderProps;
        builderProps.Plugins = [
            ...builderProps.Plugins.filter((P) => !MAILING_ONLY_PLUGINS.includes(P.id)),
            SmbJourneyPlaceholderPlugin,
        ];
        return builderProps;
    }
}

registry.category("lazy_components").add("smb_journey.EmailBuilder", SmbJourneyEmailBuilder);
