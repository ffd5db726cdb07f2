import { MAIN_PLUGINS as MAIN_EDITOR_PLUGINS } from "@html_editor/plugin_sets";
import { MassMailingIframe } from "@mass_mailing/iframe/mass_mailing_iframe";
import {
    MassMailingHtmlField,
    massMailingHtmlField,
} from "@mass_mailing/fields/html_field/mass_mailing_html_field";
import { ThemeModel } from "@mass_mailing/themes/theme_service";
import { Component, onWillStart, toRaw } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { SmbJourneyPlaceholderPlugin } from "./placeholder_plugin";

export const JOURNEY_SNIPPETS = "smb_journey.email_designer_snippets";
export const JOURNEY_THEMES = "smb_journey.email_designer_themes";

/** The themes a new journey email can start from (the journey one first), without Email Marketing's favourites. */
export class SmbJourneyThemeSelector extends Component {
    static template = "mass_mailing.ThemeSelector";
    static props = { config: { type: Object } };

    setup() {
        this.themeModel = new ThemeModel({ orm: useService("orm") });
        this.favoriteTemplates = [];
        onWillStart(() => this.themeModel.load(JOURNEY_THEMES));
    }

    get themes() {
        return this.themeModel.getThemes();
    }

    onSelectTheme(themeOptions) {
        this.props.config.setThemeHTML(themeOptions.html);
    }

    onSelectFavorite() {}

    onRemoveFavorite() {}
}

/** Email Marketing's editor frame, with the journey blocks and the placeholder picker in its builder. */
export class SmbJourneyEmailIframe extends MassMailingIframe {
    static template = "smb_journey.EmailIframe";

    getBuilderProps() {
        return { ...super.getBuilderProps(), snippetsName: JOURNEY_SNIPPETS };
    }
}

/**
 * The body of a journey email step in Email Marketing's drag-and-drop editor:
 * `body_arch` is edited, `body_html` (styles inlined) is written with it, as
 * on a mailing. Its placeholders come from the step's journey.
 */
export class SmbJourneyEmailHtmlField extends MassMailingHtmlField {
    static components = {
        ...MassMailingHtmlField.components,
        MassMailingIframe: SmbJourneyEmailIframe,
        ThemeSelector: SmbJourneyThemeSelector,
    };

    setup() {
        super.setup();
        this.orm = useService("orm");
        this.placeholders = {};
        // a new step already has the journey template: the themes are offered until one is picked
        this.themePicked = false;
        if (this.props.record.isNew && !this.props.readonly) {
            this.state.showThemeSelector = true;
        }
    }

    updateThemeSelector(props = this.props) {
        super.updateThemeSelector(props);
        if (props.record.isNew && !props.readonly && !this.themePicked) {
            toRaw(this.state).showThemeSelector = true;
            toRaw(this.state).showCodeView = false;
        }
    }

    /** What the placeholder picker lists for this step's journey (and coupon program). */
    getPlaceholders() {
        const data = this.props.record.data;
        const journeyId = data.journey_id?.id || false;
        const couponProgramId = data.coupon_program_id?.id || false;
        if (!journeyId) {
            return Promise.resolve({ groups: [], loops: [] });
        }
        const key = `${journeyId}-${couponProgramId}`;
        if (!this.placeholders[key]) {
            this.placeholders[key] = this.orm.call("smb.journey.step", "get_email_placeholders", [
                journeyId,
                couponProgramId,
            ]);
        }
        return this.placeholders[key];
    }

    getConfig() {
        const config = super.getConfig();
        config.smbJourney = { getPlaceholders: () => this.getPlaceholders() };
        return config;
    }

    getSimpleEditorConfig() {
        const config = super.getSimpleEditorConfig();
        config.Plugins = [...MAIN_EDITOR_PLUGINS, SmbJourneyPlaceholderPlugin];
        return config;
    }

    getThemeSelectorConfig() {
        return {
            // as Email Marketing does: the inline body is made again once the editor has the theme
            setThemeHTML: (html) => {
                this.themePicked = true;
                return this.mutex.exec(() =>
                    this.props.record
                        .update({ [this.props.name]: html, [this.props.inlineField]: "" })
                        .catch(() => {})
                );
            },
            filterTemplates: false,
            mailingModelId: false,
            mailingModelName: "",
        };
    }
}

export const smbJourneyEmailHtmlField = {
    ...massMailingHtmlField,
    component: SmbJourneyEmailHtmlField,
};

registry.category("fields").add("smb_journey_email_html", smbJourneyEmailHtmlField);
