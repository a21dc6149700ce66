//! Reference data: escalation types, product surfaces, outcomes, root causes
//! and the policy taxonomy. These are data a platform edits, not Rust enums;
//! this module only names the kinds and ships the seeded defaults.

use serde::{Deserialize, Serialize};

use crate::validation::{self, Collector, Invalid};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    EscalationType,
    Surface,
    Outcome,
    RootCause,
    Policy,
    /// Cross-functional teams whose input a consult asks for.
    ConsultFunction,
}

impl RefKind {
    pub const ALL: [RefKind; 6] = [
        RefKind::EscalationType,
        RefKind::Surface,
        RefKind::Outcome,
        RefKind::RootCause,
        RefKind::Policy,
        RefKind::ConsultFunction,
    ];

    /// The plural used in URLs: `/api/v1/reference/escalation-types`.
    pub fn path(self) -> &'static str {
        match self {
            RefKind::EscalationType => "escalation-types",
            RefKind::Surface => "surfaces",
            RefKind::Outcome => "outcomes",
            RefKind::RootCause => "root-causes",
            RefKind::Policy => "policies",
            RefKind::ConsultFunction => "consult-functions",
        }
    }

    pub fn from_path(path: &str) -> Option<RefKind> {
        RefKind::ALL.into_iter().find(|k| k.path() == path)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RefKind::EscalationType => "escalation_type",
            RefKind::Surface => "surface",
            RefKind::Outcome => "outcome",
            RefKind::RootCause => "root_cause",
            RefKind::Policy => "policy",
            RefKind::ConsultFunction => "consult_function",
        }
    }

    pub fn parse(value: &str) -> Option<RefKind> {
        RefKind::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// One entry of reference data. Entries are retired (`active: false`), never
/// deleted while escalations use them, so history stays readable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefItem {
    pub code: String,
    pub label: String,
    #[serde(default)]
    pub description: String,
    /// For the policy taxonomy: the parent policy's code.
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl RefItem {
    pub fn validate(&self) -> Result<RefItem, Invalid> {
        let mut errors = Collector::default();
        let code = errors.check(validation::code("code", &self.code));
        let label = errors.check(validation::text("label", &self.label, 1, 200));
        let description = errors.check(validation::text("description", &self.description, 0, 2000));
        let parent = self
            .parent
            .as_deref()
            .and_then(|p| errors.check(validation::code("parent", p)));
        errors.finish()?;
        Ok(RefItem {
            code: code.expect("checked"),
            label: label.expect("checked"),
            description: description.expect("checked"),
            parent,
            active: self.active,
        })
    }
}

/// Escalation types: those of the product brief plus the `applies_to`
/// vocabulary of the regulatory clocks (domain/regulatory-clocks.json).
const ESCALATION_TYPES: &[(&str, &str)] = &[
    (
        "account_access",
        "Account access (disabled, locked, hacked)",
    ),
    ("impersonation", "Impersonation"),
    (
        "enforcement_dispute",
        "Enforcement dispute (content or ad removed, feature limit)",
    ),
    ("user_appeal", "User appeal"),
    (
        "ip_notice",
        "Intellectual property (copyright, trademark, counterfeit)",
    ),
    ("privacy_defamation", "Privacy or defamation"),
    ("court_order", "Court order"),
    ("government_order", "Government or regulator order"),
    ("law_enforcement_request", "Law-enforcement request"),
    ("vip_public_figure", "VIP / public-figure issue"),
    ("child_safety", "Child safety"),
    ("ncii", "Non-consensual intimate imagery"),
    ("hate_harassment", "Hate or harassment"),
    ("self_harm", "Self-harm or suicide"),
    ("graphic_violence", "Graphic violence"),
    (
        "terrorism_violent_extremism",
        "Terrorism or violent extremism",
    ),
    ("election_integrity", "Election integrity"),
    ("crisis_content", "Crisis content"),
    ("scams_fraud", "Scams and fraud"),
    ("advertiser_commerce", "Advertiser or commerce issue"),
    ("trusted_flagger", "Trusted-flagger notice"),
    ("user_report", "User report of illegal content"),
    ("transparency_reporting", "Transparency reporting"),
];

const SURFACES: &[(&str, &str)] = &[
    ("social", "Social feed"),
    ("video", "Short and long video"),
    ("live", "Live streaming"),
    ("messaging", "Messaging"),
    ("groups", "Groups and communities"),
    ("ads", "Ads"),
    ("marketplace", "Marketplace"),
    ("search", "Search"),
];

const OUTCOMES: &[(&str, &str)] = &[
    ("reinstated", "Reinstated (enforcement reversed)"),
    ("upheld", "Upheld (enforcement stands)"),
    ("removed", "Removed"),
    ("restricted", "Restricted (age, reach or feature limit)"),
    ("geo_withheld", "Withheld in some countries"),
    ("no_violation", "No violation found"),
    ("information_disclosed", "Information disclosed"),
    ("referred", "Referred elsewhere"),
    ("out_of_scope", "Out of scope"),
];

const ROOT_CAUSES: &[(&str, &str)] = &[
    ("automation_false_positive", "Automation false positive"),
    ("reviewer_error", "Reviewer error"),
    ("policy_gap", "Policy gap"),
    ("product_bug", "Product bug"),
    ("coordinated_abuse", "Coordinated abuse"),
    ("partner_error", "Partner error"),
    ("user_error", "User error"),
    ("working_as_intended", "Working as intended"),
];

/// The policy taxonomy: (code, label, parent).
const POLICIES: &[(&str, &str, Option<&str>)] = &[
    ("community_standards", "Community standards", None),
    ("hate_speech", "Hate speech", Some("community_standards")),
    (
        "harassment",
        "Bullying and harassment",
        Some("community_standards"),
    ),
    (
        "violent_extremism",
        "Dangerous organisations and violent extremism",
        Some("community_standards"),
    ),
    (
        "child_safety_policy",
        "Child sexual exploitation and endangerment",
        Some("community_standards"),
    ),
    (
        "adult_nudity",
        "Adult nudity and sexual activity",
        Some("community_standards"),
    ),
    (
        "ncii_policy",
        "Non-consensual intimate imagery",
        Some("community_standards"),
    ),
    (
        "self_harm_policy",
        "Suicide and self-injury",
        Some("community_standards"),
    ),
    (
        "graphic_violence_policy",
        "Violent and graphic content",
        Some("community_standards"),
    ),
    (
        "misinformation",
        "Misinformation",
        Some("community_standards"),
    ),
    (
        "election_policy",
        "Elections and civic integrity",
        Some("community_standards"),
    ),
    ("spam", "Spam", Some("community_standards")),
    (
        "fraud_scams",
        "Fraud and scams",
        Some("community_standards"),
    ),
    (
        "impersonation_policy",
        "Account integrity and impersonation",
        Some("community_standards"),
    ),
    ("intellectual_property", "Intellectual property", None),
    ("copyright", "Copyright", Some("intellectual_property")),
    ("trademark", "Trademark", Some("intellectual_property")),
    (
        "counterfeit",
        "Counterfeit goods",
        Some("intellectual_property"),
    ),
    ("privacy_policy", "Privacy", None),
    ("local_law", "Local law", None),
    ("advertising_policy", "Advertising standards", None),
    ("commerce_policy", "Commerce policies", None),
];

const CONSULT_FUNCTIONS: &[(&str, &str)] = &[
    ("legal", "Legal"),
    ("public_policy", "Public Policy"),
    ("sales", "Sales"),
    ("product", "Product"),
    ("global_operations", "Global Operations"),
    ("security", "Security"),
    ("communications", "Communications"),
];

/// The defaults a fresh database is seeded with.
pub fn defaults(kind: RefKind) -> Vec<RefItem> {
    let item = |code: &str, label: &str, parent: Option<&str>| RefItem {
        code: code.into(),
        label: label.into(),
        description: String::new(),
        parent: parent.map(Into::into),
        active: true,
    };
    match kind {
        RefKind::EscalationType => ESCALATION_TYPES
            .iter()
            .map(|(c, l)| item(c, l, None))
            .collect(),
        RefKind::Surface => SURFACES.iter().map(|(c, l)| item(c, l, None)).collect(),
        RefKind::Outcome => OUTCOMES.iter().map(|(c, l)| item(c, l, None)).collect(),
        RefKind::RootCause => ROOT_CAUSES.iter().map(|(c, l)| item(c, l, None)).collect(),
        RefKind::Policy => POLICIES.iter().map(|(c, l, p)| item(c, l, *p)).collect(),
        RefKind::ConsultFunction => CONSULT_FUNCTIONS
            .iter()
            .map(|(c, l)| item(c, l, None))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cover_the_regulatory_vocabulary() {
        let types: Vec<String> = defaults(RefKind::EscalationType)
            .into_iter()
            .map(|t| t.code)
            .collect();
        // The `applies_to` vocabulary of domain/regulatory-clocks.json.
        for code in [
            "government_order",
            "court_order",
            "law_enforcement_request",
            "user_appeal",
            "ip_notice",
            "privacy_defamation",
            "ncii",
            "child_safety",
            "election_integrity",
            "terrorism_violent_extremism",
            "scams_fraud",
            "trusted_flagger",
            "user_report",
            "transparency_reporting",
        ] {
            assert!(types.iter().any(|t| t == code), "missing {code}");
        }
    }

    #[test]
    fn defaults_are_valid_and_unique() {
        for kind in RefKind::ALL {
            let items = defaults(kind);
            for item in &items {
                assert_eq!(item.validate().as_ref(), Ok(item));
                assert_eq!(
                    items.iter().filter(|i| i.code == item.code).count(),
                    1,
                    "{} twice",
                    item.code
                );
            }
        }
        let policies = defaults(RefKind::Policy);
        for p in &policies {
            if let Some(parent) = &p.parent {
                assert!(
                    policies.iter().any(|q| &q.code == parent),
                    "{} has unknown parent",
                    p.code
                );
            }
        }
    }

    #[test]
    fn paths_round_trip() {
        for kind in RefKind::ALL {
            assert_eq!(RefKind::from_path(kind.path()), Some(kind));
            assert_eq!(RefKind::parse(kind.as_str()), Some(kind));
        }
    }
}
