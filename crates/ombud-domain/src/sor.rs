//! DSA statements of reasons (SoR) for the EU Transparency Database, schema
//! v2: the submission format, every rule the database and its API
//! documentation state, batching, and how an Ombud decision becomes one
//! statement per restricted item.
//!
//! Source: the notes in `domain/dsa-statement-of-reasons.md`, read from the
//! Commission's `digital-services-act/transparency-database` (commit
//! `69e80a0`). Every enumeration here is copied from them with the
//! database's exact spelling; change them only from that source. Where the
//! notes say the validator is looser than the documentation
//! (`territorial_scope`), the stricter reading wins, so that what passes
//! here is accepted there.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::decision::Decision;
use crate::escalation::Escalation;
use crate::geo::{Country, Language};
use crate::partner::{PartnerKind, Slug};
use crate::subject::{Subject, SubjectKind};
use crate::validation::{self, Collector, Invalid};

/// Statements one `POST /api/v1/statements` may carry.
pub const MAX_BATCH: usize = 100;
const MAX_SHORT: usize = 500;
const MAX_EXPLANATION: usize = 2000;
const MAX_FACTS: usize = 5000;
const MAX_PUID: usize = 500;
/// Leaves room in the PUID for the escalation key, subject and time.
const MAX_PUID_PREFIX: usize = 100;
const FIRST_CONTENT_DATE: Date = date(2000, 1, 1);
const FIRST_APPLICATION_DATE: Date = date(2020, 1, 1);
const LAST_DATE: Date = date(2038, 1, 1);

/// The 30 codes `territorial_scope` accepts: the EU-27 plus Iceland,
/// Liechtenstein and Norway, sorted. Greece is `GR`, not `EL`.
pub const EEA: [&str; 30] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS",
    "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Whether the database accepts `country` in `territorial_scope`.
pub fn is_eea(country: &Country) -> bool {
    EEA.binary_search(&country.as_str()).is_ok()
}

/// Declares an enumeration of the schema: each variant with the exact
/// string the database expects, so the spelling is data in one place.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            /// Every value, in the order the spec lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The value as the database spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// How the visibility of the item was restricted (several may apply).
    DecisionVisibility {
        ContentRemoved => "DECISION_VISIBILITY_CONTENT_REMOVED",
        ContentDisabled => "DECISION_VISIBILITY_CONTENT_DISABLED",
        ContentDemoted => "DECISION_VISIBILITY_CONTENT_DEMOTED",
        ContentAgeRestricted => "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
        ContentInteractionRestricted => "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
        ContentLabelled => "DECISION_VISIBILITY_CONTENT_LABELLED",
        Other => "DECISION_VISIBILITY_OTHER",
    }
}

wire_enum! {
    /// How monetary payments were restricted.
    DecisionMonetary {
        Suspension => "DECISION_MONETARY_SUSPENSION",
        Termination => "DECISION_MONETARY_TERMINATION",
        Other => "DECISION_MONETARY_OTHER",
    }
}

wire_enum! {
    /// Suspension or termination of the provision of the service.
    DecisionProvision {
        PartialSuspension => "DECISION_PROVISION_PARTIAL_SUSPENSION",
        TotalSuspension => "DECISION_PROVISION_TOTAL_SUSPENSION",
        PartialTermination => "DECISION_PROVISION_PARTIAL_TERMINATION",
        TotalTermination => "DECISION_PROVISION_TOTAL_TERMINATION",
    }
}

wire_enum! {
    DecisionAccount {
        Suspended => "DECISION_ACCOUNT_SUSPENDED",
        Terminated => "DECISION_ACCOUNT_TERMINATED",
    }
}

wire_enum! {
    AccountType {
        Business => "ACCOUNT_TYPE_BUSINESS",
        Private => "ACCOUNT_TYPE_PRIVATE",
    }
}

wire_enum! {
    /// Illegal content, or content incompatible with the terms and conditions.
    DecisionGround {
        IllegalContent => "DECISION_GROUND_ILLEGAL_CONTENT",
        IncompatibleContent => "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    }
}

wire_enum! {
    ContentType {
        App => "CONTENT_TYPE_APP",
        Audio => "CONTENT_TYPE_AUDIO",
        Image => "CONTENT_TYPE_IMAGE",
        Product => "CONTENT_TYPE_PRODUCT",
        SyntheticMedia => "CONTENT_TYPE_SYNTHETIC_MEDIA",
        Text => "CONTENT_TYPE_TEXT",
        Video => "CONTENT_TYPE_VIDEO",
        Other => "CONTENT_TYPE_OTHER",
    }
}

wire_enum! {
    /// What set the decision off. Trusted flaggers' notices are Art. 16
    /// notices too but have their own value; reports that are not Art. 16
    /// notices (T&C-only reports, non-Art. 9 orders) are other notifications.
    SourceType {
        Article16 => "SOURCE_ARTICLE_16",
        TrustedFlagger => "SOURCE_TRUSTED_FLAGGER",
        OtherNotification => "SOURCE_TYPE_OTHER_NOTIFICATION",
        Voluntary => "SOURCE_VOLUNTARY",
    }
}

wire_enum! {
    /// How automated the decision itself was.
    AutomatedDecision {
        Fully => "AUTOMATED_DECISION_FULLY",
        Partially => "AUTOMATED_DECISION_PARTIALLY",
        NotAutomated => "AUTOMATED_DECISION_NOT_AUTOMATED",
    }
}

wire_enum! {
    /// The literal answers of `automated_detection` and
    /// `incompatible_content_illegal`.
    YesNo {
        Yes => "Yes",
        No => "No",
    }
}

wire_enum! {
    /// The 16 categories of the v2 schema, for `category` and
    /// `category_addition`.
    Category {
        AnimalWelfare => "STATEMENT_CATEGORY_ANIMAL_WELFARE",
        ConsumerInformation => "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
        CyberViolence => "STATEMENT_CATEGORY_CYBER_VIOLENCE",
        CyberViolenceAgainstWomen => "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
        DataProtectionAndPrivacyViolations => "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
        IllegalOrHarmfulSpeech => "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        IntellectualPropertyInfringements => "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
        NegativeEffectsOnCivicDiscourseOrElections => "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
        /// The notifier did not say what kind of illegal content it alleged.
        NotSpecifiedNotice => "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
        /// Other violation of the provider's terms and conditions.
        OtherViolationTc => "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        ProtectionOfMinors => "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        RiskForPublicSecurity => "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        ScamsAndFraud => "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        SelfHarm => "STATEMENT_CATEGORY_SELF_HARM",
        UnsafeAndProhibitedProducts => "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
        Violence => "STATEMENT_CATEGORY_VIOLENCE",
    }
}

wire_enum! {
    /// The 69 `category_specification` keywords the validator accepts, in
    /// the order of their groups ([`KEYWORD_GROUPS`]).
    Keyword {
        AnimalHarm => "KEYWORD_ANIMAL_HARM",
        UnlawfulSaleAnimals => "KEYWORD_UNLAWFUL_SALE_ANIMALS",
        HiddenAdvertisement => "KEYWORD_HIDDEN_ADVERTISEMENT",
        InsufficientInformationOnTraders => "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
        MisleadingInfoGoodsServices => "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
        MisleadingInfoConsumerRights => "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
        NoncompliancePricing => "KEYWORD_NONCOMPLIANCE_PRICING",
        CyberBullyingIntimidation => "KEYWORD_CYBER_BULLYING_INTIMIDATION",
        CyberHarassment => "KEYWORD_CYBER_HARASSMENT",
        CyberIncitement => "KEYWORD_CYBER_INCITEMENT",
        CyberStalking => "KEYWORD_CYBER_STALKING",
        NonConsensualImageSharing => "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
        NonConsensualMaterialDeepfake => "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
        BullyingAgainstGirls => "KEYWORD_BULLYING_AGAINST_GIRLS",
        CyberHarassmentAgainstWomen => "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
        CyberStalkingAgainstWomen => "KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
        FemaleGenderedDisinformation => "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
        IncitementAgainstWomen => "KEYWORD_INCITEMENT_AGAINST_WOMEN",
        NonConsensualImageSharingAgainstWomen => "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
        NonConsensualMaterialDeepfakeAgainstWomen => "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
        BiometricDataBreach => "KEYWORD_BIOMETRIC_DATA_BREACH",
        DataFalsification => "KEYWORD_DATA_FALSIFICATION",
        MissingProcessingGround => "KEYWORD_MISSING_PROCESSING_GROUND",
        RightToBeForgotten => "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
        Defamation => "KEYWORD_DEFAMATION",
        Discrimination => "KEYWORD_DISCRIMINATION",
        HateSpeech => "KEYWORD_HATE_SPEECH",
        CopyrightInfringement => "KEYWORD_COPYRIGHT_INFRINGEMENT",
        DesignInfringement => "KEYWORD_DESIGN_INFRINGEMENT",
        GeographicIndicationsInfringement => "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
        PatentInfringement => "KEYWORD_PATENT_INFRINGEMENT",
        TradeSecretInfringement => "KEYWORD_TRADE_SECRET_INFRINGEMENT",
        TrademarkInfringement => "KEYWORD_TRADEMARK_INFRINGEMENT",
        MisinformationDisinformation => "KEYWORD_MISINFORMATION_DISINFORMATION",
        ViolationEuLaw => "KEYWORD_VIOLATION_EU_LAW",
        ViolationNationalLaw => "KEYWORD_VIOLATION_NATIONAL_LAW",
        AdultSexualMaterial => "KEYWORD_ADULT_SEXUAL_MATERIAL",
        AgeSpecificRestrictions => "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
        GeographicalRequirements => "KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
        GoodsServicesNotPermitted => "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
        LanguageRequirements => "KEYWORD_LANGUAGE_REQUIREMENTS",
        Nudity => "KEYWORD_NUDITY",
        AgeSpecificRestrictionsMinors => "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
        ChildSexualAbuseMaterial => "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
        ChildSexualAbuseMaterialDeepfake => "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
        GroomingSexualEnticementMinors => "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
        UnsafeChallenges => "KEYWORD_UNSAFE_CHALLENGES",
        IllegalOrganizations => "KEYWORD_ILLEGAL_ORGANIZATIONS",
        RiskEnvironmentalDamage => "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
        RiskPublicHealth => "KEYWORD_RISK_PUBLIC_HEALTH",
        TerroristContent => "KEYWORD_TERRORIST_CONTENT",
        ImpersonationAccountHijacking => "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",
        InauthenticAccounts => "KEYWORD_INAUTHENTIC_ACCOUNTS",
        InauthenticListings => "KEYWORD_INAUTHENTIC_LISTINGS",
        InauthenticUserReviews => "KEYWORD_INAUTHENTIC_USER_REVIEWS",
        Phishing => "KEYWORD_PHISHING",
        PyramidSchemes => "KEYWORD_PYRAMID_SCHEMES",
        ContentPromotingEatingDisorders => "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
        SelfMutilation => "KEYWORD_SELF_MUTILATION",
        Suicide => "KEYWORD_SUICIDE",
        ProhibitedProducts => "KEYWORD_PROHIBITED_PRODUCTS",
        UnsafeProducts => "KEYWORD_UNSAFE_PRODUCTS",
        CoordinatedHarm => "KEYWORD_COORDINATED_HARM",
        IncitementViolenceHatred => "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
        HumanExploitation => "KEYWORD_HUMAN_EXPLOITATION",
        HumanTrafficking => "KEYWORD_HUMAN_TRAFFICKING",
        TraffickingWomenGirls => "KEYWORD_TRAFFICKING_WOMEN_GIRLS",
        /// Not captured by any other keyword; say what in
        /// `category_specification_other`.
        Other => "KEYWORD_OTHER",
        /// A v1 leftover the validator still accepts; prefer `CyberStalking`.
        Stalking => "KEYWORD_STALKING",
    }
}

/// Which keywords specify which category, as the explanatory page groups
/// them after the Implementing Regulation's taxonomy. The database does not
/// enforce the grouping; [`SorProfile::validate`] does, so a profile's
/// keywords always specify one of the categories it names.
pub const KEYWORD_GROUPS: [(Category, &[Keyword]); 16] = {
    use Category as C;
    use Keyword as K;
    [
        (C::AnimalWelfare, &[K::AnimalHarm, K::UnlawfulSaleAnimals]),
        (
            C::ConsumerInformation,
            &[
                K::HiddenAdvertisement,
                K::InsufficientInformationOnTraders,
                K::MisleadingInfoGoodsServices,
                K::MisleadingInfoConsumerRights,
                K::NoncompliancePricing,
            ],
        ),
        (
            C::CyberViolence,
            &[
                K::CyberBullyingIntimidation,
                K::CyberHarassment,
                K::CyberIncitement,
                K::CyberStalking,
                K::NonConsensualImageSharing,
                K::NonConsensualMaterialDeepfake,
            ],
        ),
        (
            C::CyberViolenceAgainstWomen,
            &[
                K::BullyingAgainstGirls,
                K::CyberHarassmentAgainstWomen,
                K::CyberStalkingAgainstWomen,
                K::FemaleGenderedDisinformation,
                K::IncitementAgainstWomen,
                K::NonConsensualImageSharingAgainstWomen,
                K::NonConsensualMaterialDeepfakeAgainstWomen,
            ],
        ),
        (
            C::DataProtectionAndPrivacyViolations,
            &[
                K::BiometricDataBreach,
                K::DataFalsification,
                K::MissingProcessingGround,
                K::RightToBeForgotten,
            ],
        ),
        (
            C::IllegalOrHarmfulSpeech,
            &[K::Defamation, K::Discrimination, K::HateSpeech],
        ),
        (
            C::IntellectualPropertyInfringements,
            &[
                K::CopyrightInfringement,
                K::DesignInfringement,
                K::GeographicIndicationsInfringement,
                K::PatentInfringement,
                K::TradeSecretInfringement,
                K::TrademarkInfringement,
            ],
        ),
        (
            C::NegativeEffectsOnCivicDiscourseOrElections,
            &[
                K::MisinformationDisinformation,
                K::ViolationEuLaw,
                K::ViolationNationalLaw,
            ],
        ),
        (
            C::OtherViolationTc,
            &[
                K::AdultSexualMaterial,
                K::AgeSpecificRestrictions,
                K::GeographicalRequirements,
                K::GoodsServicesNotPermitted,
                K::LanguageRequirements,
                K::Nudity,
            ],
        ),
        (
            C::ProtectionOfMinors,
            &[
                K::AgeSpecificRestrictionsMinors,
                K::ChildSexualAbuseMaterial,
                K::ChildSexualAbuseMaterialDeepfake,
                K::GroomingSexualEnticementMinors,
                K::UnsafeChallenges,
            ],
        ),
        (
            C::RiskForPublicSecurity,
            &[
                K::IllegalOrganizations,
                K::RiskEnvironmentalDamage,
                K::RiskPublicHealth,
                K::TerroristContent,
            ],
        ),
        (
            C::ScamsAndFraud,
            &[
                K::ImpersonationAccountHijacking,
                K::InauthenticAccounts,
                K::InauthenticListings,
                K::InauthenticUserReviews,
                K::Phishing,
                K::PyramidSchemes,
            ],
        ),
        (
            C::SelfHarm,
            &[
                K::ContentPromotingEatingDisorders,
                K::SelfMutilation,
                K::Suicide,
            ],
        ),
        (C::NotSpecifiedNotice, &[]),
        (
            C::UnsafeAndProhibitedProducts,
            &[K::ProhibitedProducts, K::UnsafeProducts],
        ),
        (
            C::Violence,
            &[
                K::CoordinatedHarm,
                K::IncitementViolenceHatred,
                K::HumanExploitation,
                K::HumanTrafficking,
                K::TraffickingWomenGirls,
            ],
        ),
    ]
};

impl Keyword {
    /// The category whose group lists this keyword; `None` for
    /// `KEYWORD_OTHER` and `KEYWORD_STALKING`, which belong to none.
    pub fn category(self) -> Option<Category> {
        KEYWORD_GROUPS
            .iter()
            .find(|(_, keywords)| keywords.contains(&self))
            .map(|(category, _)| *category)
    }
}

/// A calendar day written `YYYY-MM-DD` and nothing else, as the database
/// requires: a stray time or another layout is refused when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Day(pub Date);

impl Day {
    pub fn parse(value: &str) -> Option<Day> {
        let bytes = value.as_bytes();
        let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
        if bytes.len() != 10
            || bytes[4] != b'-'
            || bytes[7] != b'-'
            || !digits(0..4)
            || !digits(5..7)
            || !digits(8..10)
        {
            return None;
        }
        let year = value[0..4].parse().ok()?;
        let month = value[5..7].parse().ok()?;
        let day = value[8..10].parse().ok()?;
        Date::new(year, month, day).ok().map(Day)
    }

    /// The day `at` falls on in UTC.
    pub fn of(at: Timestamp) -> Day {
        Day(TimeZone::UTC.to_datetime(at).date())
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(f, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
    }
}

impl TryFrom<String> for Day {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Day::parse(&value).ok_or_else(|| format!("{value:?} is not a date written YYYY-MM-DD"))
    }
}

impl From<Day> for String {
    fn from(value: Day) -> String {
        value.to_string()
    }
}

/// A product identifier; `EAN-13` is the only key the database accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentId {
    #[serde(rename = "EAN-13")]
    pub ean_13: String,
}

/// One statement of reasons as `POST /api/v1/statement` takes it. Field
/// names are the database's; absent optional fields are left out of the
/// JSON. Enumerations are typed, so an unknown value is refused when read;
/// [`Statement::validate`] checks everything else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decision_visibility: Vec<DecisionVisibility>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_visibility_other: Option<String>,
    /// Absent means indefinite; likewise the other end dates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_visibility_restriction: Option<Day>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_monetary: Option<DecisionMonetary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_monetary_other: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_monetary_restriction: Option<Day>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_provision: Option<DecisionProvision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_service_restriction: Option<Day>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_account: Option<DecisionAccount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_account_restriction: Option<Day>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<AccountType>,
    pub decision_ground: DecisionGround,
    /// A link to the law or the terms-and-conditions clause relied on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_ground_reference_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illegal_content_legal_ground: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illegal_content_explanation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_ground: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_explanation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_illegal: Option<YesNo>,
    pub content_type: Vec<ContentType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type_other: Option<String>,
    pub category: Category,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category_addition: Vec<Category>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category_specification: Vec<Keyword>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_specification_other: Option<String>,
    /// EU/EEA countries where the decision applies.
    pub territorial_scope: Vec<Country>,
    /// ISO 639-1, upper case (`EN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// When the platform began hosting the item (posted or created).
    pub content_date: Day,
    /// When the restriction starts.
    pub application_date: Day,
    /// Facts and circumstances; published, so never personal data.
    pub decision_facts: String,
    pub source_type: SourceType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    pub automated_detection: YesNo,
    pub automated_decision: AutomatedDecision,
    /// Platform Unique Identifier: unique per platform, never reused.
    pub puid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<ContentId>,
}

impl Statement {
    /// Checks every rule of the schema and reports all faults at once, each
    /// named by its field. Stricter than the database's validator where a
    /// slip would otherwise pass silently: `territorial_scope` is required
    /// (as the API documentation says), `KEYWORD_OTHER` needs its free
    /// text, a free-text companion the database would drop is refused,
    /// lists hold no repeats, end dates need their restriction and follow
    /// `application_date`, and `content_date` is not after it.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        errors.check(Restriction::of(self).check());
        self.check_end_dates(&mut errors);
        errors.check(Basis::of(self).check());
        errors.check(Item::of(self).check());
        errors.check(Source::of(self).check());
        if self.territorial_scope.is_empty() {
            errors.push(
                "territorial_scope",
                "name the EU/EEA countries where the decision applies: the API documentation requires it",
            );
        }
        for (i, country) in self.territorial_scope.iter().enumerate() {
            if !is_eea(country) {
                errors.push(
                    format!("territorial_scope[{i}]"),
                    format!("{country} is not an EU/EEA country code (Greece is GR)"),
                );
            }
        }
        unique(&mut errors, "territorial_scope", &self.territorial_scope);
        if let Some(language) = &self.content_language
            && !(language.len() == 2 && language.bytes().all(|b| b.is_ascii_uppercase()))
        {
            errors.push(
                "content_language",
                format!("{language:?} is not an ISO 639-1 code in upper case, such as EN"),
            );
        }
        within(
            &mut errors,
            "content_date",
            self.content_date,
            FIRST_CONTENT_DATE,
        );
        within(
            &mut errors,
            "application_date",
            self.application_date,
            FIRST_APPLICATION_DATE,
        );
        if self.content_date > self.application_date {
            errors.push(
                "content_date",
                format!(
                    "must not be after application_date ({}): an item is restricted only once hosted",
                    self.application_date
                ),
            );
        }
        if let Some(puid) = errors.check(validation::text("puid", &self.puid, 1, MAX_PUID))
            && !is_puid(&puid)
        {
            errors.push("puid", "may hold only letters, digits, '-' and '_'");
        }
        if let Some(id) = &self.content_id
            && !(id.ean_13.len() == 13 && id.ean_13.bytes().all(|b| b.is_ascii_digit()))
        {
            errors.push("content_id.EAN-13", "must be 13 digits");
        }
        errors.finish()
    }

    fn check_end_dates(&self, errors: &mut Collector) {
        for (field, end, restriction, restricted) in [
            (
                "end_date_visibility_restriction",
                self.end_date_visibility_restriction,
                "decision_visibility",
                !self.decision_visibility.is_empty(),
            ),
            (
                "end_date_monetary_restriction",
                self.end_date_monetary_restriction,
                "decision_monetary",
                self.decision_monetary.is_some(),
            ),
            (
                "end_date_service_restriction",
                self.end_date_service_restriction,
                "decision_provision",
                self.decision_provision.is_some(),
            ),
            (
                "end_date_account_restriction",
                self.end_date_account_restriction,
                "decision_account",
                self.decision_account.is_some(),
            ),
        ] {
            let Some(end) = end else { continue };
            if !restricted {
                errors.push(
                    field,
                    format!(
                        "ends a restriction that is not there: give {restriction} or no end date"
                    ),
                );
            }
            if end < self.application_date {
                errors.push(
                    field,
                    format!(
                        "must not be before application_date ({})",
                        self.application_date
                    ),
                );
            }
            if end.0 > LAST_DATE {
                errors.push(field, format!("must be on or before {}", Day(LAST_DATE)));
            }
        }
    }
}

/// Checks that a free-text field is there exactly when `when` holds: the
/// database requires it then and silently drops it otherwise, losing what
/// it says.
fn conditional(
    errors: &mut Collector,
    field: &str,
    value: Option<&str>,
    applies: bool,
    when: &str,
    max: usize,
) {
    match (value, applies) {
        (Some(value), true) => {
            errors.check(validation::text(field, value, 1, max));
        }
        (None, true) => errors.push(field, format!("is required when {when}")),
        (Some(_), false) => errors.push(
            field,
            format!("is only used when {when}; the database would drop it"),
        ),
        (None, false) => {}
    }
}

/// Refuses repeats in a list: the database would store them, but a repeat
/// says nothing more and betrays a slip upstream.
fn unique<T: PartialEq + fmt::Display>(errors: &mut Collector, field: &str, items: &[T]) {
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            errors.push(format!("{field}[{i}]"), format!("{item} is listed twice"));
        }
    }
}

fn within(errors: &mut Collector, field: &str, day: Day, first: Date) {
    if day.0 < first || day.0 > LAST_DATE {
        errors.push(
            field,
            format!(
                "must be between {} and {} (got {day})",
                Day(first),
                Day(LAST_DATE)
            ),
        );
    }
}

fn is_puid(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// What was restricted: the four `decision_*` fields and their free text.
/// A profile names one per outcome; field names are the statement's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restriction {
    #[serde(default)]
    pub decision_visibility: Vec<DecisionVisibility>,
    #[serde(default)]
    pub decision_visibility_other: Option<String>,
    #[serde(default)]
    pub decision_monetary: Option<DecisionMonetary>,
    #[serde(default)]
    pub decision_monetary_other: Option<String>,
    #[serde(default)]
    pub decision_provision: Option<DecisionProvision>,
    #[serde(default)]
    pub decision_account: Option<DecisionAccount>,
}

impl Restriction {
    fn of(s: &Statement) -> Restriction {
        Restriction {
            decision_visibility: s.decision_visibility.clone(),
            decision_visibility_other: s.decision_visibility_other.clone(),
            decision_monetary: s.decision_monetary,
            decision_monetary_other: s.decision_monetary_other.clone(),
            decision_provision: s.decision_provision,
            decision_account: s.decision_account,
        }
    }

    fn check(&self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        if self.decision_visibility.is_empty()
            && self.decision_monetary.is_none()
            && self.decision_provision.is_none()
            && self.decision_account.is_none()
        {
            errors.push(
                "decision_visibility",
                "give at least one restriction: decision_visibility, decision_monetary, decision_provision or decision_account",
            );
        }
        unique(
            &mut errors,
            "decision_visibility",
            &self.decision_visibility,
        );
        conditional(
            &mut errors,
            "decision_visibility_other",
            self.decision_visibility_other.as_deref(),
            self.decision_visibility
                .contains(&DecisionVisibility::Other),
            "decision_visibility includes DECISION_VISIBILITY_OTHER",
            MAX_SHORT,
        );
        conditional(
            &mut errors,
            "decision_monetary_other",
            self.decision_monetary_other.as_deref(),
            self.decision_monetary == Some(DecisionMonetary::Other),
            "decision_monetary is DECISION_MONETARY_OTHER",
            MAX_SHORT,
        );
        errors.finish()
    }
}

/// Why: the ground, its explanation, the category and keywords, and the
/// facts. A profile names one per escalation type or policy; field names
/// are the statement's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Basis {
    pub decision_ground: DecisionGround,
    #[serde(default)]
    pub decision_ground_reference_url: Option<String>,
    #[serde(default)]
    pub illegal_content_legal_ground: Option<String>,
    #[serde(default)]
    pub illegal_content_explanation: Option<String>,
    /// The clause of the terms relied on; the decision's policy version is
    /// appended when it names one.
    #[serde(default)]
    pub incompatible_content_ground: Option<String>,
    #[serde(default)]
    pub incompatible_content_explanation: Option<String>,
    #[serde(default)]
    pub incompatible_content_illegal: Option<YesNo>,
    pub category: Category,
    #[serde(default)]
    pub category_addition: Vec<Category>,
    #[serde(default)]
    pub category_specification: Vec<Keyword>,
    #[serde(default)]
    pub category_specification_other: Option<String>,
    /// Published as written: keep personal data out.
    pub decision_facts: String,
}

impl Basis {
    fn of(s: &Statement) -> Basis {
        Basis {
            decision_ground: s.decision_ground,
            decision_ground_reference_url: s.decision_ground_reference_url.clone(),
            illegal_content_legal_ground: s.illegal_content_legal_ground.clone(),
            illegal_content_explanation: s.illegal_content_explanation.clone(),
            incompatible_content_ground: s.incompatible_content_ground.clone(),
            incompatible_content_explanation: s.incompatible_content_explanation.clone(),
            incompatible_content_illegal: s.incompatible_content_illegal,
            category: s.category,
            category_addition: s.category_addition.clone(),
            category_specification: s.category_specification.clone(),
            category_specification_other: s.category_specification_other.clone(),
            decision_facts: s.decision_facts.clone(),
        }
    }

    fn check(&self) -> Result<(), Invalid> {
        const ILLEGAL: &str = "decision_ground is DECISION_GROUND_ILLEGAL_CONTENT";
        const INCOMPATIBLE: &str = "decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT";
        let mut errors = Collector::default();
        let field = "decision_ground_reference_url";
        if let Some(url) = &self.decision_ground_reference_url
            && let Some(url) = errors.check(validation::text(field, url, 1, MAX_SHORT))
            && !url::Url::parse(&url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            errors.push(field, format!("{url:?} is not an http(s) link"));
        }
        let illegal = self.decision_ground == DecisionGround::IllegalContent;
        for (field, value, applies, when, max) in [
            (
                "illegal_content_legal_ground",
                &self.illegal_content_legal_ground,
                illegal,
                ILLEGAL,
                MAX_SHORT,
            ),
            (
                "illegal_content_explanation",
                &self.illegal_content_explanation,
                illegal,
                ILLEGAL,
                MAX_EXPLANATION,
            ),
            (
                "incompatible_content_ground",
                &self.incompatible_content_ground,
                !illegal,
                INCOMPATIBLE,
                MAX_SHORT,
            ),
            (
                "incompatible_content_explanation",
                &self.incompatible_content_explanation,
                !illegal,
                INCOMPATIBLE,
                MAX_EXPLANATION,
            ),
        ] {
            conditional(&mut errors, field, value.as_deref(), applies, when, max);
        }
        if illegal && self.incompatible_content_illegal.is_some() {
            errors.push(
                "incompatible_content_illegal",
                format!("is only kept when {INCOMPATIBLE}; the database would drop it"),
            );
        }
        unique(&mut errors, "category_addition", &self.category_addition);
        unique(
            &mut errors,
            "category_specification",
            &self.category_specification,
        );
        conditional(
            &mut errors,
            "category_specification_other",
            self.category_specification_other.as_deref(),
            self.category_specification.contains(&Keyword::Other),
            "category_specification includes KEYWORD_OTHER",
            MAX_SHORT,
        );
        errors.check(validation::text(
            "decision_facts",
            &self.decision_facts,
            1,
            MAX_FACTS,
        ));
        errors.finish()
    }

    /// The schema's rules, and that each keyword specifies a category the
    /// basis names: the database does not ask it, but a keyword outside its
    /// category misfiles the statement in the public statistics.
    fn check_in_profile(&self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        errors.check(self.check());
        for (i, keyword) in self.category_specification.iter().enumerate() {
            let field = format!("category_specification[{i}]");
            match keyword.category() {
                None if *keyword == Keyword::Stalking => errors.push(
                    field,
                    "KEYWORD_STALKING is a v1 leftover: use KEYWORD_CYBER_STALKING",
                ),
                Some(category)
                    if category != self.category && !self.category_addition.contains(&category) =>
                {
                    errors.push(
                        field,
                        format!(
                            "{keyword} specifies {category}: make that the category or add it to category_addition"
                        ),
                    );
                }
                _ => {}
            }
        }
        errors.finish()
    }
}

/// What the item is. A profile names one per subject kind or surface;
/// field names are the statement's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub content_type: Vec<ContentType>,
    #[serde(default)]
    pub content_type_other: Option<String>,
    #[serde(default)]
    pub account_type: Option<AccountType>,
}

impl Item {
    fn of(s: &Statement) -> Item {
        Item {
            content_type: s.content_type.clone(),
            content_type_other: s.content_type_other.clone(),
            account_type: s.account_type,
        }
    }

    fn check(&self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        if self.content_type.is_empty() {
            errors.push("content_type", "give at least one content type");
        }
        unique(&mut errors, "content_type", &self.content_type);
        conditional(
            &mut errors,
            "content_type_other",
            self.content_type_other.as_deref(),
            self.content_type.contains(&ContentType::Other),
            "content_type includes CONTENT_TYPE_OTHER",
            MAX_SHORT,
        );
        errors.finish()
    }
}

/// What set the decision off. A profile names one per partner kind or
/// partner; field names are the statement's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub source_type: SourceType,
    /// Only if strictly necessary, e.g. an IP rightsholder.
    #[serde(default)]
    pub source_identity: Option<String>,
    /// Whether the item was found by automated means.
    pub automated_detection: YesNo,
}

impl Source {
    fn of(s: &Statement) -> Source {
        Source {
            source_type: s.source_type,
            source_identity: s.source_identity.clone(),
            automated_detection: s.automated_detection,
        }
    }

    fn check(&self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        if let Some(identity) = &self.source_identity {
            if self.source_type == SourceType::Voluntary {
                errors.push(
                    "source_identity",
                    "is ignored when source_type is SOURCE_VOLUNTARY; the database would drop it",
                );
            } else {
                errors.check(validation::text("source_identity", identity, 1, MAX_SHORT));
            }
        }
        errors.finish()
    }
}

/// The body of `POST /api/v1/statements`: `{"statements": [...]}`, 1 to
/// [`MAX_BATCH`] statements.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Batch<'a> {
    pub statements: &'a [Statement],
}

/// Cuts `statements` into batch bodies of at most [`MAX_BATCH`]; none when
/// there is nothing to send, since the database refuses an empty batch.
pub fn batches(statements: &[Statement]) -> impl Iterator<Item = Batch<'_>> {
    statements
        .chunks(MAX_BATCH)
        .map(|statements| Batch { statements })
}

/// When a profile rule applies. Each list left empty allows anything; a
/// listed one must hold (any of its values), and all listed ones together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct When {
    /// Escalation type codes.
    pub escalation_types: Vec<String>,
    /// Policy codes of the decision; a decision without one matches none.
    pub policies: Vec<String>,
    /// Outcome codes of what was done to the item.
    pub outcomes: Vec<String>,
    pub subject_kinds: Vec<SubjectKind>,
    /// Product surface codes of the item.
    pub surfaces: Vec<String>,
    pub partner_kinds: Vec<PartnerKind>,
    /// Partner slugs.
    pub partners: Vec<Slug>,
}

impl When {
    fn check(&self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        for (field, codes) in [
            ("escalation_types", &self.escalation_types),
            ("policies", &self.policies),
            ("outcomes", &self.outcomes),
            ("surfaces", &self.surfaces),
        ] {
            for (i, code) in codes.iter().enumerate() {
                errors.check(validation::code(&format!("{field}[{i}]"), code));
            }
        }
        errors.finish()
    }

    fn holds(&self, case: &Case<'_>) -> bool {
        let allows =
            |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
        allows(&self.escalation_types, &case.escalation.escalation_type)
            && (self.policies.is_empty()
                || case
                    .decision
                    .policy
                    .as_deref()
                    .is_some_and(|p| allows(&self.policies, p)))
            && allows(&self.outcomes, case.outcome)
            && allows(&self.surfaces, &case.subject.surface)
            && (self.subject_kinds.is_empty() || self.subject_kinds.contains(&case.subject.kind))
            && (self.partner_kinds.is_empty() || self.partner_kinds.contains(&case.partner_kind))
            && (self.partners.is_empty()
                || self
                    .partners
                    .iter()
                    .any(|p| p.as_str() == case.escalation.partner))
    }
}

/// A profile rule: `then` applies to an item when `when` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule<T> {
    #[serde(default)]
    pub when: When,
    pub then: T,
}

/// The first rule that applies to `case`: rule lists read top-down, most
/// specific first, a catch-all last.
fn first<'p, T>(rules: &'p [Rule<T>], case: &Case<'_>) -> Option<&'p T> {
    rules
        .iter()
        .find(|rule| rule.when.holds(case))
        .map(|rule| &rule.then)
}

/// What a platform must tell Ombud for its decisions to become statements
/// of reasons: which outcomes restrict and how, on what basis, what the
/// items are, and where the reports come from. Kept as settings, checked by
/// [`SorProfile::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SorProfile {
    /// Starts every PUID (e.g. `ombud-`), so that Ombud's never collide
    /// with those of other systems submitting for the same platform.
    #[serde(default)]
    pub puid_prefix: String,
    /// Escalation types whose decisions owe no statement, such as orders
    /// under Art. 9 DSA (Art. 17(5)).
    #[serde(default)]
    pub exempt_types: Vec<String>,
    /// Outcome codes that restrict nothing (`no_violation`, `reinstated`…).
    /// Every other outcome must match a rule of `restrictions`, so that a
    /// new outcome code is never silently left without a statement.
    #[serde(default)]
    pub unrestricting_outcomes: Vec<String>,
    pub restrictions: Vec<Rule<Restriction>>,
    pub bases: Vec<Rule<Basis>>,
    pub items: Vec<Rule<Item>>,
    pub sources: Vec<Rule<Source>>,
    /// Staff decide in Ombud, so by default nothing is automated.
    #[serde(default = "not_automated")]
    pub automated_decision: AutomatedDecision,
    /// Takes `content_language` from the escalation's language. Ombud
    /// knows the language of the report, not of the item, so this suits
    /// only platforms where the two agree; off, the field is left out.
    #[serde(default)]
    pub content_language_from_report: bool,
    /// When the caller does not know the day the platform began hosting an
    /// item, uses the day the report arrived (it was hosted by then). Off
    /// by default: the database reads the time from hosting to decision.
    #[serde(default)]
    pub content_date_from_report: bool,
}

fn not_automated() -> AutomatedDecision {
    AutomatedDecision::NotAutomated
}

impl SorProfile {
    /// Checks every rule as the statements it makes will be checked, that
    /// no outcome is both restricting and not, and that keywords specify
    /// the categories beside them.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        let prefix = &self.puid_prefix;
        if !prefix.is_empty() && (prefix.len() > MAX_PUID_PREFIX || !is_puid(prefix)) {
            errors.push(
                "puid_prefix",
                format!("use at most {MAX_PUID_PREFIX} letters, digits, '-' or '_'"),
            );
        }
        for (field, codes) in [
            ("exempt_types", &self.exempt_types),
            ("unrestricting_outcomes", &self.unrestricting_outcomes),
        ] {
            for (i, code) in codes.iter().enumerate() {
                errors.check(validation::code(&format!("{field}[{i}]"), code));
            }
        }
        check_rules(
            &mut errors,
            "restrictions",
            &self.restrictions,
            Restriction::check,
        );
        check_rules(&mut errors, "bases", &self.bases, Basis::check_in_profile);
        check_rules(&mut errors, "items", &self.items, Item::check);
        check_rules(&mut errors, "sources", &self.sources, Source::check);
        for (i, rule) in self.restrictions.iter().enumerate() {
            for (j, outcome) in rule.when.outcomes.iter().enumerate() {
                if self.unrestricting_outcomes.contains(outcome) {
                    errors.push(
                        format!("restrictions[{i}].when.outcomes[{j}]"),
                        format!("{outcome:?} is also listed in unrestricting_outcomes"),
                    );
                }
            }
        }
        errors.finish()
    }
}

fn check_rules<T>(
    errors: &mut Collector,
    field: &str,
    rules: &[Rule<T>],
    check: impl Fn(&T) -> Result<(), Invalid>,
) {
    if rules.is_empty() {
        errors.push(
            field,
            "give at least one rule: without one no statement can be made",
        );
    }
    for (i, rule) in rules.iter().enumerate() {
        errors.check_nested(&format!("{field}[{i}].when"), rule.when.check());
        errors.check_nested(&format!("{field}[{i}].then"), check(&rule.then));
    }
}

/// Why [`statements_for`] made no statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    /// None is owed: the decision restricts nothing in the EU/EEA, or the
    /// profile exempts its type. Not a fault; nothing to submit.
    #[error("no statement of reasons is owed: {0}")]
    NotApplicable(String),
    /// One is owed but cannot be made: what is missing or wrong, by field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

/// One item a decision acted on, as profile rules see it.
struct Case<'a> {
    escalation: &'a Escalation,
    decision: &'a Decision,
    partner_kind: PartnerKind,
    subject: &'a Subject,
    /// What was done to the item: its action's outcome, or the decision's.
    outcome: &'a str,
}

/// The statements of reasons a decided escalation owes: one per item
/// restricted in the EU/EEA, each checked by [`Statement::validate`].
///
/// An item is restricted by its action in the decision, or, when the
/// decision names no actions, by the decision's outcome. An action's
/// countries become `territorial_scope` (those outside the EU/EEA are
/// dropped, as the DSA does not reach them); no countries means everywhere,
/// so every EU/EEA country. `partner_kind` is the reporting partner's;
/// `content_dates` gives, by subject `normalized_key`, the day the platform
/// began hosting each item, which only the platform knows.
/// `application_date` is the UTC day of the decision. The PUID is the
/// profile's prefix, the escalation key, the subject's position and the
/// decision time (`ESC-12-1-20261125T100000Z`): the same decision always
/// makes the same PUIDs, so a retried submission cannot be stored twice,
/// while a later decision on the same item gets new ones.
pub fn statements_for(
    escalation: &Escalation,
    partner_kind: PartnerKind,
    content_dates: &BTreeMap<String, Date>,
    profile: &SorProfile,
) -> Result<Vec<Statement>, StatementError> {
    if profile.exempt_types.contains(&escalation.escalation_type) {
        return Err(StatementError::NotApplicable(format!(
            "the profile exempts escalation type {:?}",
            escalation.escalation_type
        )));
    }
    let Some(decision) = &escalation.decision else {
        return Err(Invalid::one(
            "decision",
            "the escalation is not decided: a statement gives the reasons for a decision",
        )
        .into());
    };
    let restricts = |outcome: &str| !profile.unrestricting_outcomes.iter().any(|o| o == outcome);
    let mut errors = Collector::default();
    // (subject position, field naming the outcome, outcome, countries)
    let mut targets: Vec<(usize, String, &str, &[Country])> = Vec::new();
    if decision.actions.is_empty() {
        if escalation.subjects.is_empty() && restricts(&decision.outcome) {
            errors.push(
                "subjects",
                format!(
                    "the decision restricts ({:?}) but names no item: a statement is made per item",
                    decision.outcome
                ),
            );
        }
        for i in 0..escalation.subjects.len() {
            targets.push((i, "decision.outcome".into(), &decision.outcome, &[]));
        }
    }
    for (j, action) in decision.actions.iter().enumerate() {
        match escalation
            .subjects
            .iter()
            .position(|s| s.normalized_key == action.subject)
        {
            Some(i) => targets.push((
                i,
                format!("decision.actions[{j}].action"),
                &action.action,
                &action.countries,
            )),
            None => errors.push(
                format!("decision.actions[{j}].subject"),
                format!("{:?} is not a subject of this escalation", action.subject),
            ),
        }
    }

    let mut statements = Vec::new();
    let mut outside_eea = false;
    for (i, outcome_field, outcome, countries) in targets {
        if !restricts(outcome) {
            continue;
        }
        let subject = &escalation.subjects[i];
        let case = Case {
            escalation,
            decision,
            partner_kind,
            subject,
            outcome,
        };
        let Some(restriction) = first(&profile.restrictions, &case) else {
            errors.push(
                outcome_field,
                format!(
                    "{outcome:?} (on {}) is neither in the profile's unrestricting_outcomes nor matched by one of its restrictions",
                    subject.normalized_key
                ),
            );
            continue;
        };
        let territorial_scope = eea_scope(countries);
        if territorial_scope.is_empty() {
            outside_eea = true;
            continue;
        }
        let at = format!("subjects[{i}]");
        let basis = first(&profile.bases, &case);
        if basis.is_none() {
            errors.push(
                format!("{at}.category"),
                format!(
                    "no basis in the profile applies to type {:?} and policy {:?}",
                    escalation.escalation_type,
                    decision.policy.as_deref().unwrap_or("(none)")
                ),
            );
        }
        let item = first(&profile.items, &case);
        if item.is_none() {
            errors.push(
                format!("{at}.content_type"),
                format!(
                    "no item rule in the profile applies to a {} on {:?}",
                    subject.kind.as_str(),
                    subject.surface
                ),
            );
        }
        let source = first(&profile.sources, &case);
        if source.is_none() {
            errors.push(
                format!("{at}.source_type"),
                format!(
                    "no source in the profile applies to partner {:?} ({})",
                    escalation.partner,
                    partner_kind.as_str()
                ),
            );
        }
        let content_date = match content_dates.get(&subject.normalized_key) {
            Some(day) => Some(Day(*day)),
            None if profile.content_date_from_report => Some(Day::of(escalation.received_at)),
            None => {
                errors.push(
                    format!("{at}.content_date"),
                    format!(
                        "the day the platform began hosting {} is not known: give it, or set content_date_from_report",
                        subject.normalized_key
                    ),
                );
                None
            }
        };
        let (Some(basis), Some(item), Some(source), Some(content_date)) =
            (basis, item, source, content_date)
        else {
            continue;
        };
        let statement = Statement {
            decision_visibility: restriction.decision_visibility.clone(),
            decision_visibility_other: restriction.decision_visibility_other.clone(),
            end_date_visibility_restriction: None,
            decision_monetary: restriction.decision_monetary,
            decision_monetary_other: restriction.decision_monetary_other.clone(),
            end_date_monetary_restriction: None,
            decision_provision: restriction.decision_provision,
            end_date_service_restriction: None,
            decision_account: restriction.decision_account,
            end_date_account_restriction: None,
            account_type: item.account_type,
            decision_ground: basis.decision_ground,
            decision_ground_reference_url: basis.decision_ground_reference_url.clone(),
            illegal_content_legal_ground: basis.illegal_content_legal_ground.clone(),
            illegal_content_explanation: basis.illegal_content_explanation.clone(),
            incompatible_content_ground: basis.incompatible_content_ground.as_ref().map(|g| {
                match decision.policy_version.as_deref() {
                    Some(version) => format!("{g} (version {version})"),
                    None => g.clone(),
                }
            }),
            incompatible_content_explanation: basis.incompatible_content_explanation.clone(),
            incompatible_content_illegal: basis.incompatible_content_illegal,
            content_type: item.content_type.clone(),
            content_type_other: item.content_type_other.clone(),
            category: basis.category,
            category_addition: basis.category_addition.clone(),
            category_specification: basis.category_specification.clone(),
            category_specification_other: basis.category_specification_other.clone(),
            territorial_scope,
            content_language: if profile.content_language_from_report {
                iso_639_1(&escalation.language)
            } else {
                None
            },
            content_date,
            application_date: Day::of(decision.decided_at),
            decision_facts: basis.decision_facts.clone(),
            source_type: source.source_type,
            source_identity: source.source_identity.clone(),
            automated_detection: source.automated_detection,
            automated_decision: profile.automated_decision,
            puid: format!(
                "{}{}-{}-{}",
                profile.puid_prefix,
                escalation.key,
                i + 1,
                decision.decided_at.strftime("%Y%m%dT%H%M%SZ")
            ),
            // Ombud does not know products' EANs.
            content_id: None,
        };
        if errors.check_nested(&at, statement.validate()).is_some() {
            statements.push(statement);
        }
    }
    errors.finish()?;
    if statements.is_empty() {
        return Err(StatementError::NotApplicable(
            if outside_eea {
                "the decision restricts its items only outside the EU/EEA"
            } else {
                "the decision restricts nothing"
            }
            .into(),
        ));
    }
    Ok(statements)
}

/// The category the profile's bases give a decided escalation: that of the
/// first item, in subject order, some basis applies to, with what was done
/// to it (its action's outcome, or the decision's). Unlike
/// [`statements_for`] it answers for decisions that restrict nothing too,
/// so that a report can count every decision by category. `None` when the
/// escalation is undecided, names no item, or no basis applies.
pub fn category_for(
    escalation: &Escalation,
    partner_kind: PartnerKind,
    profile: &SorProfile,
) -> Option<Category> {
    let decision = escalation.decision.as_ref()?;
    escalation.subjects.iter().find_map(|subject| {
        let outcome = decision
            .actions
            .iter()
            .find(|a| a.subject == subject.normalized_key)
            .map_or(decision.outcome.as_str(), |a| a.action.as_str());
        let case = Case {
            escalation,
            decision,
            partner_kind,
            subject,
            outcome,
        };
        first(&profile.bases, &case).map(|basis| basis.category)
    })
}

/// The EU/EEA part of where an action applies; everywhere when it names no
/// countries.
fn eea_scope(countries: &[Country]) -> Vec<Country> {
    if countries.is_empty() {
        return EEA
            .iter()
            .map(|code| {
                Country::parse("territorial_scope", code).expect("EEA codes are ISO 3166-1")
            })
            .collect();
    }
    let mut scope: Vec<Country> = countries.iter().filter(|c| is_eea(c)).cloned().collect();
    scope.sort();
    scope.dedup();
    scope
}

/// The ISO 639-1 code of a language tag, upper case; `None` for languages
/// that have only a three-letter code (`fil`).
fn iso_639_1(language: &Language) -> Option<String> {
    let primary = language.as_str().split('-').next()?;
    (primary.len() == 2).then(|| primary.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Actor;
    use crate::decision::SubjectAction;
    use crate::escalation::{EscalationKey, NewEscalation};
    use crate::subject::NewSubject;
    use proptest::prelude::*;

    fn day(y: i16, m: i8, d: i8) -> Day {
        Day(date(y, m, d))
    }

    fn countries(codes: &[&str]) -> Vec<Country> {
        codes
            .iter()
            .map(|c| Country::parse("c", c).unwrap())
            .collect()
    }

    /// A copyright takedown, complete and valid.
    fn valid() -> Statement {
        Statement {
            decision_visibility: vec![DecisionVisibility::ContentRemoved],
            decision_visibility_other: None,
            end_date_visibility_restriction: None,
            decision_monetary: None,
            decision_monetary_other: None,
            end_date_monetary_restriction: None,
            decision_provision: None,
            end_date_service_restriction: None,
            decision_account: None,
            end_date_account_restriction: None,
            account_type: Some(AccountType::Private),
            decision_ground: DecisionGround::IllegalContent,
            decision_ground_reference_url: Some(
                "https://eur-lex.europa.eu/eli/dir/2019/790/oj".into(),
            ),
            illegal_content_legal_ground: Some("Directive (EU) 2019/790, Art. 17".into()),
            illegal_content_explanation: Some(
                "The video reproduces a protected film without licence.".into(),
            ),
            incompatible_content_ground: None,
            incompatible_content_explanation: None,
            incompatible_content_illegal: None,
            content_type: vec![ContentType::Video],
            content_type_other: None,
            category: Category::IntellectualPropertyInfringements,
            category_addition: vec![],
            category_specification: vec![Keyword::CopyrightInfringement],
            category_specification_other: None,
            territorial_scope: countries(&["DE", "FR"]),
            content_language: Some("DE".into()),
            content_date: day(2026, 3, 1),
            application_date: day(2026, 11, 25),
            decision_facts: "A rightsholder's notice identified the video; staff confirmed it."
                .into(),
            source_type: SourceType::Article16,
            source_identity: None,
            automated_detection: YesNo::No,
            automated_decision: AutomatedDecision::NotAutomated,
            puid: "ESC-12-1-20261125T100000Z".into(),
            content_id: None,
        }
    }

    /// The fields at fault once `change` is made to a valid statement.
    fn faults(change: impl FnOnce(&mut Statement)) -> Vec<String> {
        let mut statement = valid();
        change(&mut statement);
        match statement.validate() {
            Ok(()) => vec![],
            Err(Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn a_complete_statement_is_valid() {
        assert_eq!(valid().validate(), Ok(()));
        assert_eq!(
            faults(|s| {
                s.decision_visibility = vec![];
                s.decision_account = Some(DecisionAccount::Suspended);
                s.end_date_account_restriction = Some(day(2026, 12, 25));
                s.decision_ground = DecisionGround::IncompatibleContent;
                s.illegal_content_legal_ground = None;
                s.illegal_content_explanation = None;
                s.incompatible_content_ground = Some("Community standards, 4.2".into());
                s.incompatible_content_explanation = Some("Spam".into());
                s.incompatible_content_illegal = Some(YesNo::No);
                s.content_id = Some(ContentId {
                    ean_13: "4006381333931".into(),
                });
            }),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_statement_must_restrict_something() {
        assert_eq!(
            faults(|s| s.decision_visibility.clear()),
            ["decision_visibility"]
        );
        for restrict in [
            |s: &mut Statement| s.decision_monetary = Some(DecisionMonetary::Suspension),
            |s: &mut Statement| s.decision_provision = Some(DecisionProvision::PartialSuspension),
            |s: &mut Statement| s.decision_account = Some(DecisionAccount::Terminated),
        ] {
            assert!(
                faults(|s| {
                    s.decision_visibility.clear();
                    restrict(s);
                })
                .is_empty()
            );
        }
        assert_eq!(
            faults(|s| s
                .decision_visibility
                .push(DecisionVisibility::ContentRemoved)),
            ["decision_visibility[1]"]
        );
    }

    #[test]
    fn other_restrictions_need_their_free_text_and_only_then() {
        assert_eq!(
            faults(|s| s.decision_visibility.push(DecisionVisibility::Other)),
            ["decision_visibility_other"]
        );
        assert_eq!(
            faults(|s| s.decision_visibility_other = Some("Shadow limited".into())),
            ["decision_visibility_other"]
        );
        assert_eq!(
            faults(|s| {
                s.decision_visibility.push(DecisionVisibility::Other);
                s.decision_visibility_other = Some("x".repeat(501));
            }),
            ["decision_visibility_other"]
        );
        assert_eq!(
            faults(|s| s.decision_monetary = Some(DecisionMonetary::Other)),
            ["decision_monetary_other"]
        );
        assert_eq!(
            faults(|s| s.decision_monetary_other = Some("Held".into())),
            ["decision_monetary_other"]
        );
        assert!(
            faults(|s| {
                s.decision_monetary = Some(DecisionMonetary::Other);
                s.decision_monetary_other = Some("Payouts held".into());
            })
            .is_empty()
        );
    }

    #[test]
    fn end_dates_belong_to_their_restriction_and_follow_its_start() {
        assert!(faults(|s| s.end_date_visibility_restriction = Some(day(2027, 1, 1))).is_empty());
        assert_eq!(
            faults(|s| s.end_date_visibility_restriction = Some(day(2026, 11, 24))),
            ["end_date_visibility_restriction"]
        );
        assert_eq!(
            faults(|s| s.end_date_visibility_restriction = Some(day(2038, 1, 2))),
            ["end_date_visibility_restriction"]
        );
        assert_eq!(
            faults(|s| s.end_date_monetary_restriction = Some(day(2027, 1, 1))),
            ["end_date_monetary_restriction"]
        );
        assert_eq!(
            faults(|s| s.end_date_service_restriction = Some(day(2027, 1, 1))),
            ["end_date_service_restriction"]
        );
        assert_eq!(
            faults(|s| s.end_date_account_restriction = Some(day(2027, 1, 1))),
            ["end_date_account_restriction"]
        );
    }

    #[test]
    fn each_ground_needs_its_own_explanation_and_refuses_the_other() {
        assert_eq!(
            faults(|s| {
                s.illegal_content_legal_ground = None;
                s.illegal_content_explanation = Some("  ".into());
            }),
            [
                "illegal_content_legal_ground",
                "illegal_content_explanation"
            ]
        );
        assert_eq!(
            faults(|s| {
                s.illegal_content_legal_ground = Some("x".repeat(501));
                s.illegal_content_explanation = Some("x".repeat(2001));
            }),
            [
                "illegal_content_legal_ground",
                "illegal_content_explanation"
            ]
        );
        assert_eq!(
            faults(|s| {
                s.incompatible_content_ground = Some("Terms 4.2".into());
                s.incompatible_content_explanation = Some("Spam".into());
                s.incompatible_content_illegal = Some(YesNo::Yes);
            }),
            [
                "incompatible_content_ground",
                "incompatible_content_explanation",
                "incompatible_content_illegal"
            ]
        );
        assert_eq!(
            faults(|s| s.decision_ground = DecisionGround::IncompatibleContent),
            [
                "illegal_content_legal_ground",
                "illegal_content_explanation",
                "incompatible_content_ground",
                "incompatible_content_explanation"
            ]
        );
    }

    #[test]
    fn the_reference_url_is_a_short_http_link() {
        assert_eq!(
            faults(|s| s.decision_ground_reference_url = Some("eur-lex/790".into())),
            ["decision_ground_reference_url"]
        );
        assert_eq!(
            faults(|s| {
                s.decision_ground_reference_url =
                    Some(format!("https://example.com/{}", "a".repeat(490)))
            }),
            ["decision_ground_reference_url"]
        );
    }

    #[test]
    fn content_types_are_required_unique_and_other_is_explained() {
        assert_eq!(faults(|s| s.content_type.clear()), ["content_type"]);
        assert_eq!(
            faults(|s| s.content_type.push(ContentType::Video)),
            ["content_type[1]"]
        );
        assert_eq!(
            faults(|s| s.content_type.push(ContentType::Other)),
            ["content_type_other"]
        );
        assert_eq!(
            faults(|s| s.content_type_other = Some("Livestream".into())),
            ["content_type_other"]
        );
    }

    #[test]
    fn categories_and_keywords_are_unique_and_keyword_other_is_explained() {
        assert_eq!(
            faults(|s| s.category_addition = vec![Category::ScamsAndFraud; 2]),
            ["category_addition[1]"]
        );
        assert_eq!(
            faults(|s| s
                .category_specification
                .push(Keyword::CopyrightInfringement)),
            ["category_specification[1]"]
        );
        assert_eq!(
            faults(|s| s.category_specification.push(Keyword::Other)),
            ["category_specification_other"]
        );
        assert_eq!(
            faults(|s| s.category_specification_other = Some("Bootleg".into())),
            ["category_specification_other"]
        );
        // The database does not tie keywords to the category; neither do we here.
        assert!(faults(|s| s.category_specification = vec![Keyword::Phishing]).is_empty());
    }

    #[test]
    fn territorial_scope_is_required_unique_and_within_the_eea() {
        assert_eq!(
            faults(|s| s.territorial_scope.clear()),
            ["territorial_scope"]
        );
        assert_eq!(
            faults(|s| s.territorial_scope = countries(&["DE", "US", "GB", "DE"])),
            [
                "territorial_scope[1]",
                "territorial_scope[2]",
                "territorial_scope[3]"
            ]
        );
        assert!(faults(|s| s.territorial_scope = countries(&EEA)).is_empty());
        assert!(Country::parse("c", "EL").is_err(), "Greece is GR");
    }

    #[test]
    fn content_language_is_two_upper_case_letters() {
        assert!(faults(|s| s.content_language = None).is_empty());
        for bad in ["de", "DEU", "D", "de-DE"] {
            assert_eq!(
                faults(|s| s.content_language = Some(bad.into())),
                ["content_language"],
                "{bad}"
            );
        }
    }

    #[test]
    fn dates_are_within_the_databases_range_and_in_order() {
        assert!(
            faults(|s| {
                s.content_date = day(2000, 1, 1);
                s.application_date = day(2020, 1, 1);
            })
            .is_empty()
        );
        assert_eq!(
            faults(|s| s.content_date = day(1999, 12, 31)),
            ["content_date"]
        );
        assert_eq!(
            faults(|s| {
                s.content_date = day(2019, 1, 1);
                s.application_date = day(2019, 12, 31);
            }),
            ["application_date"]
        );
        assert_eq!(
            faults(|s| {
                s.content_date = day(2038, 1, 2);
                s.application_date = day(2038, 1, 2);
            }),
            ["content_date", "application_date"]
        );
        assert_eq!(
            faults(|s| s.content_date = day(2026, 11, 26)),
            ["content_date"]
        );
    }

    #[test]
    fn dates_are_written_exactly_yyyy_mm_dd() {
        assert_eq!(Day::parse("2026-02-28"), Some(day(2026, 2, 28)));
        for bad in [
            "2026-02-30",
            "2026-2-28",
            "2026/02/28",
            "2026-02-28T10:00",
            "26-02-28",
            "+2026-02-28",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
        let mut json = serde_json::to_value(valid()).unwrap();
        assert_eq!(json["content_date"], "2026-03-01");
        json["content_date"] = "2026-03-01T00:00:00Z".into();
        assert!(serde_json::from_value::<Statement>(json).is_err());
        assert_eq!(
            Day::of("2026-11-25T23:30:00-05:00".parse().unwrap()),
            day(2026, 11, 26)
        );
    }

    #[test]
    fn decision_facts_are_required_and_bounded() {
        assert_eq!(
            faults(|s| s.decision_facts = " ".into()),
            ["decision_facts"]
        );
        assert!(faults(|s| s.decision_facts = "é".repeat(5000)).is_empty());
        assert_eq!(
            faults(|s| s.decision_facts = "é".repeat(5001)),
            ["decision_facts"]
        );
    }

    #[test]
    fn source_identity_is_bounded_and_not_for_voluntary_action() {
        assert!(faults(|s| s.source_identity = Some("Studio Ltd".into())).is_empty());
        assert_eq!(
            faults(|s| s.source_identity = Some("x".repeat(501))),
            ["source_identity"]
        );
        assert_eq!(
            faults(|s| {
                s.source_type = SourceType::Voluntary;
                s.source_identity = Some("Studio Ltd".into());
            }),
            ["source_identity"]
        );
    }

    #[test]
    fn puid_is_required_bounded_and_url_safe() {
        assert_eq!(faults(|s| s.puid = String::new()), ["puid"]);
        assert_eq!(faults(|s| s.puid = "ESC 12".into()), ["puid"]);
        assert_eq!(faults(|s| s.puid = "ESC-12/1".into()), ["puid"]);
        assert!(faults(|s| s.puid = "a".repeat(500)).is_empty());
        assert_eq!(faults(|s| s.puid = "a".repeat(501)), ["puid"]);
        assert!(faults(|s| s.puid = "Az09-_".into()).is_empty());
    }

    #[test]
    fn content_id_is_an_ean_13() {
        for bad in ["400638133393", "40063813339310", "400638133393X"] {
            assert_eq!(
                faults(|s| s.content_id = Some(ContentId { ean_13: bad.into() })),
                ["content_id.EAN-13"]
            );
        }
        let json = serde_json::to_value(ContentId {
            ean_13: "4006381333931".into(),
        })
        .unwrap();
        assert_eq!(json, serde_json::json!({"EAN-13": "4006381333931"}));
        assert!(
            serde_json::from_value::<ContentId>(serde_json::json!({"GTIN": "4006381333931"}))
                .is_err()
        );
    }

    #[test]
    fn the_json_uses_the_databases_names_and_leaves_out_what_is_absent() {
        let json = serde_json::to_value(valid()).unwrap();
        assert_eq!(
            json["decision_visibility"],
            serde_json::json!(["DECISION_VISIBILITY_CONTENT_REMOVED"])
        );
        assert_eq!(json["territorial_scope"], serde_json::json!(["DE", "FR"]));
        assert_eq!(json["automated_detection"], "No");
        assert_eq!(json["source_type"], "SOURCE_ARTICLE_16");
        let object = json.as_object().unwrap();
        for absent in [
            "decision_monetary",
            "category_addition",
            "content_id",
            "source_identity",
        ] {
            assert!(!object.contains_key(absent), "{absent}");
        }
        let back: Statement = serde_json::from_value(json).unwrap();
        assert_eq!(back, valid());
    }

    #[test]
    fn unknown_enumeration_values_are_refused_when_read() {
        let mut json = serde_json::to_value(valid()).unwrap();
        json["category"] = "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT".into();
        let err = serde_json::from_value::<Statement>(json).unwrap_err();
        assert!(err.to_string().contains("unknown variant"), "{err}");
    }

    #[test]
    fn enumerations_carry_the_specs_exact_spellings() {
        fn spelled<T: Serialize + fmt::Display>(all: &[T]) {
            for value in all {
                assert_eq!(serde_json::to_value(value).unwrap(), value.to_string());
            }
        }
        spelled(DecisionVisibility::ALL);
        spelled(DecisionMonetary::ALL);
        spelled(DecisionProvision::ALL);
        spelled(DecisionAccount::ALL);
        spelled(AccountType::ALL);
        spelled(DecisionGround::ALL);
        spelled(ContentType::ALL);
        spelled(SourceType::ALL);
        spelled(AutomatedDecision::ALL);
        spelled(YesNo::ALL);
        spelled(Category::ALL);
        spelled(Keyword::ALL);
        let counts = [
            DecisionVisibility::ALL.len(),
            DecisionMonetary::ALL.len(),
            DecisionProvision::ALL.len(),
            DecisionAccount::ALL.len(),
            AccountType::ALL.len(),
            DecisionGround::ALL.len(),
            ContentType::ALL.len(),
            SourceType::ALL.len(),
            AutomatedDecision::ALL.len(),
            Category::ALL.len(),
            Keyword::ALL.len(),
        ];
        assert_eq!(counts, [7, 3, 4, 2, 2, 2, 8, 4, 3, 16, 69]);
        assert!(
            Category::ALL
                .iter()
                .all(|c| c.as_str().starts_with("STATEMENT_CATEGORY_"))
        );
        assert!(
            Keyword::ALL
                .iter()
                .all(|k| k.as_str().starts_with("KEYWORD_"))
        );
    }

    #[test]
    fn every_category_has_one_group_and_every_keyword_but_two_one_category() {
        let grouped: Vec<Category> = KEYWORD_GROUPS.iter().map(|(c, _)| *c).collect();
        for category in Category::ALL {
            assert_eq!(grouped.iter().filter(|c| *c == category).count(), 1);
        }
        let ungrouped: Vec<Keyword> = Keyword::ALL
            .iter()
            .copied()
            .filter(|k| k.category().is_none())
            .collect();
        assert_eq!(ungrouped, [Keyword::Other, Keyword::Stalking]);
        let listed: usize = KEYWORD_GROUPS.iter().map(|(_, k)| k.len()).sum();
        assert_eq!(listed, 67, "each grouped keyword is listed once");
        assert_eq!(
            Keyword::NonConsensualImageSharingAgainstWomen.category(),
            Some(Category::CyberViolenceAgainstWomen)
        );
    }

    #[test]
    fn eea_has_thirty_sorted_iso_codes() {
        assert!(EEA.windows(2).all(|w| w[0] < w[1]));
        assert!(EEA.iter().all(|c| Country::parse("c", c).is_ok()));
        assert!(is_eea(&Country::parse("c", "NO").unwrap()));
        assert!(!is_eea(&Country::parse("c", "CH").unwrap()));
    }

    fn many(n: usize) -> Vec<Statement> {
        (0..n)
            .map(|i| Statement {
                puid: format!("p-{i}"),
                ..valid()
            })
            .collect()
    }

    #[test]
    fn batches_hold_at_most_one_hundred_and_never_none() {
        for (n, sizes) in [
            (0, vec![]),
            (1, vec![1]),
            (100, vec![100]),
            (101, vec![100, 1]),
            (250, vec![100, 100, 50]),
        ] {
            let statements = many(n);
            let got: Vec<usize> = batches(&statements).map(|b| b.statements.len()).collect();
            assert_eq!(got, sizes, "{n} statements");
            let order: Vec<&str> = batches(&statements)
                .flat_map(|b| b.statements.iter().map(|s| s.puid.as_str()))
                .collect();
            assert_eq!(order.len(), n);
            assert!(order.iter().zip(&statements).all(|(p, s)| *p == s.puid));
        }
    }

    #[test]
    fn a_batch_is_sent_as_a_statements_object() {
        let statements = many(2);
        let body = serde_json::to_value(batches(&statements).next().unwrap()).unwrap();
        assert_eq!(body.as_object().unwrap().len(), 1);
        assert_eq!(body["statements"].as_array().unwrap().len(), 2);
        assert_eq!(body["statements"][1]["puid"], "p-1");
    }

    /// A platform's profile, as it would be stored in the settings.
    const PROFILE: &str = r#"{
        "puid_prefix": "ombud-",
        "exempt_types": ["court_order"],
        "unrestricting_outcomes": [
            "reinstated", "upheld", "no_violation", "information_disclosed",
            "referred", "out_of_scope"
        ],
        "restrictions": [
            {"when": {"outcomes": ["removed"], "subject_kinds": ["account", "ad_account"]},
             "then": {"decision_account": "DECISION_ACCOUNT_TERMINATED"}},
            {"when": {"outcomes": ["removed"]},
             "then": {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"]}},
            {"when": {"outcomes": ["geo_withheld"]},
             "then": {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"]}},
            {"when": {"outcomes": ["restricted"]},
             "then": {"decision_visibility": ["DECISION_VISIBILITY_OTHER"],
                      "decision_visibility_other": "Reach or features limited"}}
        ],
        "bases": [
            {"when": {"escalation_types": ["ip_notice"]},
             "then": {
                "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
                "illegal_content_legal_ground": "Directive (EU) 2019/790",
                "illegal_content_explanation": "A rightsholder showed the item infringes its rights.",
                "category": "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
                "category_specification": ["KEYWORD_COPYRIGHT_INFRINGEMENT", "KEYWORD_TRADEMARK_INFRINGEMENT"],
                "decision_facts": "Reported in a notice and confirmed by staff review."}},
            {"when": {"policies": ["hate_speech"]},
             "then": {
                "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
                "decision_ground_reference_url": "https://example.com/terms#hate",
                "incompatible_content_ground": "Community standards: hate speech",
                "incompatible_content_explanation": "The item attacks people for a protected characteristic.",
                "incompatible_content_illegal": "Yes",
                "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
                "category_specification": ["KEYWORD_HATE_SPEECH"],
                "decision_facts": "Reported and found to break the hate speech policy."}},
            {"then": {
                "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
                "incompatible_content_ground": "Terms of service",
                "incompatible_content_explanation": "The item breaks the terms of service.",
                "category": "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
                "decision_facts": "Reviewed by staff after a report."}}
        ],
        "items": [
            {"when": {"subject_kinds": ["account", "page", "group", "ad_account"]},
             "then": {"content_type": ["CONTENT_TYPE_OTHER"], "content_type_other": "Account"}},
            {"when": {"subject_kinds": ["listing"]},
             "then": {"content_type": ["CONTENT_TYPE_PRODUCT"], "account_type": "ACCOUNT_TYPE_BUSINESS"}},
            {"when": {"surfaces": ["video", "live"]}, "then": {"content_type": ["CONTENT_TYPE_VIDEO"]}},
            {"then": {"content_type": ["CONTENT_TYPE_TEXT"]}}
        ],
        "sources": [
            {"when": {"partner_kinds": ["trusted_flagger"]},
             "then": {"source_type": "SOURCE_TRUSTED_FLAGGER", "automated_detection": "No"}},
            {"when": {"partner_kinds": ["government", "regulator", "law_enforcement"]},
             "then": {"source_type": "SOURCE_TYPE_OTHER_NOTIFICATION", "automated_detection": "No"}},
            {"when": {"partner_kinds": ["internal_team"]},
             "then": {"source_type": "SOURCE_VOLUNTARY", "automated_detection": "No"}},
            {"when": {"partners": ["studio-rights"]},
             "then": {"source_type": "SOURCE_ARTICLE_16", "source_identity": "Studio Rights Ltd",
                      "automated_detection": "No"}},
            {"then": {"source_type": "SOURCE_ARTICLE_16", "automated_detection": "No"}}
        ]
    }"#;

    fn profile() -> SorProfile {
        serde_json::from_str(PROFILE).unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn subject(kind: SubjectKind, surface: &str, id: &str) -> Subject {
        NewSubject {
            kind,
            surface: surface.into(),
            external_id: Some(id.into()),
            url: None,
        }
        .validate()
        .unwrap()
    }

    /// ESC-12, an IP notice about two videos, received 1 Nov 2026.
    fn escalation(decision: Option<Decision>) -> Escalation {
        let received = at("2026-11-01T08:00:00Z");
        let (mut escalation, _) = NewEscalation {
            escalation_type: "ip_notice".into(),
            title: "Film uploaded without licence".into(),
            country: "de".into(),
            language: "de-AT".into(),
            ..Default::default()
        }
        .validate("studio-rights", "api", received)
        .unwrap()
        .into_escalation(EscalationKey(12), &Actor::system(), received);
        escalation.subjects = vec![
            subject(SubjectKind::Post, "video", "111"),
            subject(SubjectKind::Post, "video", "222"),
        ];
        escalation.decision = decision;
        escalation
    }

    fn decision(outcome: &str, actions: Vec<SubjectAction>) -> Decision {
        Decision {
            outcome: outcome.into(),
            policy: None,
            policy_version: None,
            actions,
            root_cause: None,
            root_cause_note: String::new(),
            owning_team: None,
            upstream_fix: None,
            decided_by: "aiko@example.com".into(),
            decided_at: at("2026-11-25T10:00:00Z"),
        }
    }

    fn action(subject: &str, outcome: &str, codes: &[&str]) -> SubjectAction {
        SubjectAction {
            subject: subject.into(),
            action: outcome.into(),
            countries: countries(codes),
        }
    }

    fn hosted() -> BTreeMap<String, Date> {
        BTreeMap::from([
            ("video:post:111".to_string(), date(2026, 3, 1)),
            ("video:post:222".to_string(), date(2026, 4, 1)),
        ])
    }

    fn not_applicable(result: Result<Vec<Statement>, StatementError>) -> String {
        match result {
            Err(StatementError::NotApplicable(why)) => why,
            other => panic!("expected not applicable, got {other:?}"),
        }
    }

    fn fault_fields(result: Result<Vec<Statement>, StatementError>) -> Vec<String> {
        match result {
            Err(StatementError::Invalid(Invalid(errors))) => {
                errors.into_iter().map(|e| e.field).collect()
            }
            other => panic!("expected faults, got {other:?}"),
        }
    }

    #[test]
    fn the_sample_profile_is_valid() {
        assert_eq!(profile().validate(), Ok(()));
    }

    #[test]
    fn a_removal_on_an_ip_notice_owes_one_statement_per_item_everywhere_in_the_eea() {
        let escalation = escalation(Some(decision("removed", vec![])));
        let statements =
            statements_for(&escalation, PartnerKind::Advertiser, &hosted(), &profile()).unwrap();
        assert_eq!(statements.len(), 2);
        let first = &statements[0];
        assert_eq!(first.puid, "ombud-ESC-12-1-20261125T100000Z");
        assert_eq!(statements[1].puid, "ombud-ESC-12-2-20261125T100000Z");
        assert_eq!(
            first.decision_visibility,
            [DecisionVisibility::ContentRemoved]
        );
        assert_eq!(first.category, Category::IntellectualPropertyInfringements);
        assert_eq!(first.decision_ground, DecisionGround::IllegalContent);
        assert_eq!(first.content_type, [ContentType::Video]);
        assert_eq!(first.source_type, SourceType::Article16);
        assert_eq!(first.source_identity.as_deref(), Some("Studio Rights Ltd"));
        assert_eq!(first.territorial_scope, countries(&EEA));
        assert_eq!(first.content_date, day(2026, 3, 1));
        assert_eq!(statements[1].content_date, day(2026, 4, 1));
        assert_eq!(first.application_date, day(2026, 11, 25));
        assert_eq!(first.content_language, None);
        assert_eq!(first.automated_decision, AutomatedDecision::NotAutomated);
    }

    #[test]
    fn country_scoped_actions_keep_their_eea_countries_only() {
        let escalation = escalation(Some(decision(
            "geo_withheld",
            vec![
                action("video:post:111", "geo_withheld", &["US", "FR", "DE"]),
                action("video:post:222", "geo_withheld", &["US", "JP"]),
            ],
        )));
        let statements =
            statements_for(&escalation, PartnerKind::Ngo, &hosted(), &profile()).unwrap();
        assert_eq!(statements.len(), 1);
        assert_eq!(statements[0].territorial_scope, countries(&["DE", "FR"]));
        assert_eq!(
            statements[0].decision_visibility,
            [DecisionVisibility::ContentDisabled]
        );
        assert!(statements[0].puid.contains("ESC-12-1-"));
    }

    #[test]
    fn a_restriction_outside_the_eea_owes_no_statement() {
        let escalation = escalation(Some(decision(
            "geo_withheld",
            vec![action("video:post:111", "geo_withheld", &["US"])],
        )));
        let why = not_applicable(statements_for(
            &escalation,
            PartnerKind::Ngo,
            &hosted(),
            &profile(),
        ));
        assert!(why.contains("outside the EU/EEA"), "{why}");
    }

    #[test]
    fn outcomes_that_restrict_nothing_owe_no_statement() {
        for outcome in ["no_violation", "reinstated", "upheld"] {
            let escalation = escalation(Some(decision(outcome, vec![])));
            let why = not_applicable(statements_for(
                &escalation,
                PartnerKind::Ngo,
                &hosted(),
                &profile(),
            ));
            assert!(why.contains("restricts nothing"), "{why}");
        }
    }

    #[test]
    fn an_exempt_escalation_type_owes_no_statement() {
        let mut escalation = escalation(Some(decision("removed", vec![])));
        escalation.escalation_type = "court_order".into();
        let why = not_applicable(statements_for(
            &escalation,
            PartnerKind::Court,
            &hosted(),
            &profile(),
        ));
        assert!(why.contains("court_order"), "{why}");
    }

    #[test]
    fn an_undecided_escalation_is_a_fault() {
        assert_eq!(
            fault_fields(statements_for(
                &escalation(None),
                PartnerKind::Ngo,
                &hosted(),
                &profile()
            )),
            ["decision"]
        );
    }

    #[test]
    fn an_outcome_the_profile_does_not_know_is_a_fault_not_a_silence() {
        let escalation = escalation(Some(decision(
            "removed",
            vec![action("video:post:222", "demonetised", &[])],
        )));
        assert_eq!(
            fault_fields(statements_for(
                &escalation,
                PartnerKind::Ngo,
                &hosted(),
                &profile()
            )),
            ["decision.actions[0].action"]
        );
    }

    #[test]
    fn a_restricting_decision_without_items_is_a_fault() {
        let mut escalation = escalation(Some(decision("removed", vec![])));
        escalation.subjects.clear();
        assert_eq!(
            fault_fields(statements_for(
                &escalation,
                PartnerKind::Ngo,
                &hosted(),
                &profile()
            )),
            ["subjects"]
        );
    }

    #[test]
    fn an_unknown_hosting_date_is_a_fault_unless_the_report_date_may_stand_in() {
        let escalation = escalation(Some(decision(
            "removed",
            vec![action("video:post:222", "removed", &[])],
        )));
        let none = BTreeMap::new();
        assert_eq!(
            fault_fields(statements_for(
                &escalation,
                PartnerKind::Ngo,
                &none,
                &profile()
            )),
            ["subjects[1].content_date"]
        );
        let lenient = SorProfile {
            content_date_from_report: true,
            ..profile()
        };
        let statements = statements_for(&escalation, PartnerKind::Ngo, &none, &lenient).unwrap();
        assert_eq!(statements[0].content_date, day(2026, 11, 1));
    }

    #[test]
    fn missing_rules_name_the_statement_field_they_would_fill() {
        let empty = SorProfile {
            bases: vec![],
            items: vec![],
            sources: vec![],
            ..profile()
        };
        let escalation = escalation(Some(decision(
            "removed",
            vec![action("video:post:111", "removed", &[])],
        )));
        assert_eq!(
            fault_fields(statements_for(
                &escalation,
                PartnerKind::Ngo,
                &hosted(),
                &empty
            )),
            [
                "subjects[0].category",
                "subjects[0].content_type",
                "subjects[0].source_type"
            ]
        );
    }

    #[test]
    fn a_statement_that_breaks_the_schema_is_reported_under_its_subject() {
        let mut escalation = escalation(Some(decision("removed", vec![])));
        escalation.decision.as_mut().unwrap().decided_at = at("2019-06-01T00:00:00Z");
        let mut early = hosted();
        early.insert("video:post:111".into(), date(2019, 1, 1));
        early.insert("video:post:222".into(), date(2019, 1, 1));
        assert_eq!(
            fault_fields(statements_for(
                &escalation,
                PartnerKind::Ngo,
                &early,
                &profile()
            )),
            [
                "subjects[0].application_date",
                "subjects[1].application_date"
            ]
        );
    }

    #[test]
    fn rules_choose_by_policy_kind_and_partner_and_terms_carry_the_policy_version() {
        let mut escalation = escalation(Some(Decision {
            policy: Some("hate_speech".into()),
            policy_version: Some("2026-07".into()),
            ..decision("removed", vec![])
        }));
        escalation.escalation_type = "hate_harassment".into();
        escalation.subjects = vec![subject(SubjectKind::Account, "social", "@troll")];
        let profile = SorProfile {
            content_language_from_report: true,
            ..profile()
        };
        let dates = BTreeMap::from([("social:account:@troll".to_string(), date(2025, 1, 1))]);
        let statements =
            statements_for(&escalation, PartnerKind::TrustedFlagger, &dates, &profile).unwrap();
        let statement = &statements[0];
        assert_eq!(
            statement.decision_account,
            Some(DecisionAccount::Terminated)
        );
        assert!(statement.decision_visibility.is_empty());
        assert_eq!(statement.category, Category::IllegalOrHarmfulSpeech);
        assert_eq!(
            statement.incompatible_content_ground.as_deref(),
            Some("Community standards: hate speech (version 2026-07)")
        );
        assert_eq!(statement.content_type, [ContentType::Other]);
        assert_eq!(statement.content_type_other.as_deref(), Some("Account"));
        assert_eq!(statement.source_type, SourceType::TrustedFlagger);
        assert_eq!(statement.source_identity, None);
        assert_eq!(statement.content_language.as_deref(), Some("DE"));
    }

    #[test]
    fn puids_are_stable_for_a_decision_and_new_for_the_next() {
        let first = escalation(Some(decision("removed", vec![])));
        let make = |e: &Escalation| {
            statements_for(e, PartnerKind::Ngo, &hosted(), &profile())
                .unwrap()
                .into_iter()
                .map(|s| s.puid)
                .collect::<Vec<_>>()
        };
        assert_eq!(make(&first), make(&first));
        let mut amended = first.clone();
        amended.decision.as_mut().unwrap().decided_at = at("2026-11-26T09:00:00Z");
        assert!(make(&amended).iter().all(|p| !make(&first).contains(p)));
    }

    #[test]
    fn a_decision_that_restricts_nothing_still_has_a_category() {
        let undecided = escalation(None);
        let mut cleared = escalation(Some(decision("no_violation", vec![])));
        assert_eq!(
            category_for(&cleared, PartnerKind::Ngo, &profile()),
            Some(Category::IntellectualPropertyInfringements)
        );
        cleared.subjects.clear();
        assert_eq!(category_for(&cleared, PartnerKind::Ngo, &profile()), None);
        assert_eq!(category_for(&undecided, PartnerKind::Ngo, &profile()), None);
    }

    #[test]
    fn only_two_letter_languages_have_an_iso_639_1_code() {
        let code = |tag: &str| iso_639_1(&Language::parse("l", tag).unwrap());
        assert_eq!(code("en-GB").as_deref(), Some("EN"));
        assert_eq!(code("zh-Hant-TW").as_deref(), Some("ZH"));
        assert_eq!(code("fil"), None);
    }

    #[test]
    fn profile_faults_name_the_rule_and_field() {
        let mut bad = profile();
        bad.puid_prefix = "ombud/".into();
        bad.unrestricting_outcomes.push("Removed!".into());
        bad.restrictions[1].when.outcomes.push("upheld".into());
        bad.restrictions[3].then.decision_visibility_other = None;
        bad.bases[0]
            .then
            .category_specification
            .push(Keyword::Phishing);
        bad.bases[1].then.category_specification = vec![Keyword::Stalking];
        bad.items[0].then.content_type.clear();
        bad.sources[2].then.source_identity = Some("Trust team".into());
        bad.sources[3].when.surfaces = vec!["Video".into()];
        let err = bad.validate().unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "puid_prefix",
                "unrestricting_outcomes[6]",
                "restrictions[3].then.decision_visibility_other",
                "bases[0].then.category_specification[2]",
                "bases[1].then.category_specification[0]",
                "items[0].then.content_type",
                "items[0].then.content_type_other",
                "sources[2].then.source_identity",
                "sources[3].when.surfaces[0]",
                "restrictions[1].when.outcomes[1]",
            ]
        );
        let empty = SorProfile {
            restrictions: vec![],
            ..profile()
        };
        assert_eq!(empty.validate().unwrap_err().0[0].field, "restrictions");
    }

    #[test]
    fn a_profile_refuses_unknown_fields() {
        let typo = PROFILE.replace(
            "\"decision_visibility_other\"",
            "\"decision_visibilty_other\"",
        );
        assert!(serde_json::from_str::<SorProfile>(&typo).is_err());
    }

    fn subject_strategy() -> impl Strategy<Value = Subject> {
        (
            proptest::sample::select(SubjectKind::ALL.to_vec()),
            proptest::sample::select(vec!["social", "video", "marketplace"]),
            "[a-z0-9]{1,6}",
        )
            .prop_map(|(kind, surface, id)| subject(kind, surface, &id))
    }

    /// Mostly restricting outcomes, sometimes any, including one the
    /// profile does not know.
    fn outcome_strategy() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            3 => proptest::sample::select(vec!["removed", "restricted", "geo_withheld"]),
            1 => proptest::sample::select(vec![
                "reinstated", "upheld", "no_violation", "information_disclosed", "referred",
                "out_of_scope", "demonetised",
            ]),
        ]
    }

    fn countries_strategy() -> impl Strategy<Value = Vec<Country>> {
        proptest::sample::subsequence(vec!["DE", "FR", "GR", "NO", "US", "JP", "CH"], 0..4)
            .prop_map(|codes| countries(&codes))
    }

    proptest! {
        #[test]
        fn made_statements_validate_and_survive_json(
            escalation_type in proptest::sample::select(vec![
                "ip_notice", "hate_harassment", "scams_fraud", "child_safety", "court_order",
            ]),
            language in proptest::sample::select(vec!["de", "en-GB", "fil", "zh-Hant-TW"]),
            subjects in proptest::collection::vec(subject_strategy(), 0..5),
            outcome in outcome_strategy(),
            actions in proptest::collection::vec(
                proptest::option::of((outcome_strategy(), countries_strategy())),
                0..4,
            ),
            policy in proptest::option::of(proptest::sample::select(vec!["hate_speech", "harassment"])),
            // Now and then too long for the terms' ground once appended.
            policy_version in proptest::option::of(prop_oneof![9 => "[a-z0-9-]{1,20}", 1 => "[a-z]{480,520}"]),
            // Mostly within the database's dates, sometimes either side.
            decided in prop_oneof![
                9 => 1_577_836_800i64..2_145_916_800,
                1 => 1_420_070_400i64..2_240_524_800,
            ],
            received_before in 0i64..400_000_000,
            hosted_before in proptest::collection::vec(
                proptest::option::weighted(0.9, prop_oneof![9 => 0i64..5000, 1 => -100i64..20_000]),
                4,
            ),
            partner_kind in proptest::sample::select(PartnerKind::ALL.to_vec()),
            decided_yet in proptest::bool::weighted(0.9),
            from_report in any::<bool>(),
            language_from_report in any::<bool>(),
        ) {
            let mut escalation = escalation(None);
            escalation.escalation_type = escalation_type.into();
            escalation.language = Language::parse("language", language).unwrap();
            escalation.subjects = subjects.clone();
            escalation.subjects.dedup_by(|a, b| a.normalized_key == b.normalized_key);
            let decided_at = Timestamp::from_second(decided).unwrap();
            escalation.received_at = Timestamp::from_second(decided - received_before).unwrap();
            let actions = escalation
                .subjects
                .iter()
                .zip(&actions)
                .filter_map(|(s, a)| a.clone().map(|(outcome, countries)| SubjectAction {
                    subject: s.normalized_key.clone(),
                    action: outcome.into(),
                    countries,
                }))
                .collect();
            escalation.decision = decided_yet.then(|| Decision {
                policy: policy.map(Into::into),
                policy_version: policy_version.clone(),
                decided_at,
                ..decision(outcome, actions)
            });
            let dates: BTreeMap<String, Date> = escalation
                .subjects
                .iter()
                .zip(&hosted_before)
                .filter_map(|(s, days)| days.map(|d| {
                    (s.normalized_key.clone(), Day::of(decided_at).0.saturating_sub(jiff::Span::new().days(d)))
                }))
                .collect();
            let profile = SorProfile {
                content_date_from_report: from_report,
                content_language_from_report: language_from_report,
                ..profile()
            };
            match statements_for(&escalation, partner_kind, &dates, &profile) {
                Ok(statements) => {
                    prop_assert!(!statements.is_empty());
                    for statement in &statements {
                        prop_assert_eq!(statement.validate(), Ok(()));
                        let json = serde_json::to_string(statement).unwrap();
                        let back: Statement = serde_json::from_str(&json).unwrap();
                        prop_assert_eq!(&back, statement);
                    }
                    let mut puids: Vec<&str> = statements.iter().map(|s| s.puid.as_str()).collect();
                    puids.sort();
                    puids.dedup();
                    prop_assert_eq!(puids.len(), statements.len());
                }
                Err(StatementError::Invalid(Invalid(faults))) => prop_assert!(!faults.is_empty()),
                Err(StatementError::NotApplicable(why)) => prop_assert!(!why.is_empty()),
            }
        }
    }
}
