import { MassMailingBuilder } from "@mass_mailing/builder/mass_mailing_builder";
import { SmbJourneyPlaceholderPlugin } from "@smb_journey/email_editor/placeholder_plugin";
import { registry } from "@web/core/registry";

/** Email Marketing's builder, with the journey placeholder picker. */
export class SmbJourneyEmailBuilder extends MassMailingBuilder {
    get builderProps() {
        const builderProps = super.builderProps;
        builderProps.Plugins = [...builderProps.Plugins, SmbJourneyPlaceholderPlugin];
        return builderProps;
    }
}

registry.category("lazy_components").add("smb_journey.EmailBuilder", SmbJourneyEmailBuilder);
