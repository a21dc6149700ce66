//! Regulatory clocks: which laws start a deadline for an escalation, from
//! the research catalogue shipped in `data/regulatory-clocks.json` (a copy of
//! the project's domain notes; not legal advice).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::deadlines::{ClockBasis, ClockKind, Target};
use crate::partner::PartnerKind;

const CATALOGUE: &str = include_str!("../data/regulatory-clocks.json");

/// The 27 member states of the European Union (ISO 3166-1 alpha-2).
const EU_MEMBER_STATES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// `applies_to` categories that name who sent the escalation rather than
/// what it is about: a rule listing one applies only to escalations from
/// such a source.
const AUTHORITY_CATEGORIES: [&str; 3] =
    ["government_order", "court_order", "law_enforcement_request"];

/// How far a catalogue entry can be trusted, as its research notes grade it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Unverified or from one garbled summary: needs counsel before it drives an SLA.
    Low,
    Medium,
    /// Read in the statute or its verbatim quotation.
    High,
}

/// One catalogue entry, as shipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegulatoryRule {
    pub id: String,
    /// ISO 3166-1 alpha-2 code, or `EU` for all member states, `UK` for GB.
    pub jurisdiction: String,
    pub regime: String,
    pub trigger: String,
    /// Escalation types and source categories the rule applies to.
    pub applies_to: Vec<String>,
    /// ISO 8601 duration to acknowledge, when the law sets a number.
    pub acknowledge_within: Option<String>,
    /// ISO 8601 duration to act, when the law sets a number.
    pub act_within: Option<String>,
    pub clock: ClockBasis,
    pub issuer: String,
    #[serde(default)]
    pub record_keeping: String,
    pub source: String,
    pub confidence: Confidence,
    /// `in force`, or why it may no longer bind.
    pub status: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub other_durations: BTreeMap<String, String>,
}

/// What a regulatory rule asks of one escalation: a deadline of `kind`, with
/// a numeric target, or `None` when the law says only "without undue delay"
/// (the matching SLA policy then sets the number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegulatoryDeadline<'a> {
    pub rule: &'a RegulatoryRule,
    pub kind: ClockKind,
    pub target: Option<Target>,
}

/// The facts about an escalation that decide which rules apply.
#[derive(Debug, Clone, Copy)]
pub struct Applicability<'a> {
    /// ISO 3166-1 alpha-2.
    pub country: &'a str,
    pub escalation_type: &'a str,
    pub partner_kind: PartnerKind,
}

impl RegulatoryRule {
    /// The shipped catalogue, parsed once. Checked by tests: it parses and
    /// every duration is a valid target.
    pub fn catalogue() -> &'static [RegulatoryRule] {
        static RULES: LazyLock<Vec<RegulatoryRule>> = LazyLock::new(|| {
            serde_json::from_str(CATALOGUE).expect("the shipped catalogue parses (tested)")
        });
        &RULES
    }

    /// A rule of the shipped catalogue by id.
    pub fn find(id: &str) -> Option<&'static RegulatoryRule> {
        Self::catalogue().iter().find(|r| r.id == id)
    }

    /// Whether a rule should start clocks before an administrator has looked
    /// at it: only entries in force and not graded `low`.
    pub fn enabled_by_default(&self) -> bool {
        self.confidence > Confidence::Low && self.status == "in force"
    }

    /// The time zone its day deadlines are counted in: the seat of the
    /// jurisdiction's government (Brussels for the EU, Washington for the
    /// US, Canberra for Australia); UTC for a jurisdiction not listed.
    pub fn governing_time_zone(&self) -> TimeZone {
        let name = match self.jurisdiction.as_str() {
            "EU" => "Europe/Brussels",
            "UK" => "Europe/London",
            "DE" => "Europe/Berlin",
            "IN" => "Asia/Kolkata",
            "AU" => "Australia/Sydney",
            "SG" => "Asia/Singapore",
            "MY" => "Asia/Kuala_Lumpur",
            "VN" => "Asia/Ho_Chi_Minh",
            "US" => "America/New_York",
            "ID" => "Asia/Jakarta",
            "JP" => "Asia/Tokyo",
            "KR" => "Asia/Seoul",
            "TH" => "Asia/Bangkok",
            "PH" => "Asia/Manila",
            _ => "UTC",
        };
        TimeZone::get(name).unwrap_or(TimeZone::UTC)
    }

    /// Whether this rule governs an escalation from `country`.
    pub fn covers_country(&self, country: &str) -> bool {
        match self.jurisdiction.as_str() {
            "EU" => EU_MEMBER_STATES.contains(&country),
            "UK" => country == "GB",
            code => code == country,
        }
    }

    /// Whether the rule applies: the country is in its jurisdiction, and the
    /// escalation's type (or, for authorities and trusted flaggers, the kind
    /// of partner that sent it) is in `applies_to`. A rule that names an
    /// authority category applies only to escalations from an authority; if
    /// it also names content categories, the type must be one of them.
    pub fn applies(&self, facts: Applicability<'_>) -> bool {
        if !self.covers_country(facts.country) {
            return false;
        }
        let listed = |category: &str| self.applies_to.iter().any(|c| c == category);
        let source = source_category(facts.partner_kind);
        let (authorities, contents): (Vec<&String>, Vec<&String>) = self
            .applies_to
            .iter()
            .partition(|c| AUTHORITY_CATEGORIES.contains(&c.as_str()));
        if authorities.is_empty() {
            return listed(facts.escalation_type) || source.is_some_and(listed);
        }
        let from_authority = authorities
            .iter()
            .any(|a| *a == facts.escalation_type || Some(a.as_str()) == source);
        from_authority
            && (contents.is_empty()
                || listed(facts.escalation_type)
                || AUTHORITY_CATEGORIES.contains(&facts.escalation_type))
    }

    /// The deadlines this rule asks for: acknowledgement and resolution
    /// ("act"), each with its target where the law gives a number.
    pub fn deadlines(&self) -> Result<Vec<RegulatoryDeadline<'_>>, String> {
        let target = |text: &Option<String>| {
            text.as_deref()
                .map(|t| Target::parse(t, self.clock).map_err(|e| format!("{}: {e}", self.id)))
                .transpose()
        };
        Ok(vec![
            RegulatoryDeadline {
                rule: self,
                kind: ClockKind::Acknowledgement,
                target: target(&self.acknowledge_within)?,
            },
            RegulatoryDeadline {
                rule: self,
                kind: ClockKind::Resolution,
                target: target(&self.act_within)?,
            },
        ])
    }
}

/// The `applies_to` category a kind of partner stands for, if any.
fn source_category(kind: PartnerKind) -> Option<&'static str> {
    match kind {
        PartnerKind::Government | PartnerKind::Regulator => Some("government_order"),
        PartnerKind::Court => Some("court_order"),
        PartnerKind::LawEnforcement => Some("law_enforcement_request"),
        PartnerKind::TrustedFlagger => Some("trusted_flagger"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadlines::Target;
    use jiff::SignedDuration;

    fn rule(id: &str) -> RegulatoryRule {
        RegulatoryRule::find(id)
            .unwrap_or_else(|| panic!("{id} is in the catalogue"))
            .clone()
    }

    fn facts<'a>(country: &'a str, kind: &'a str, partner: PartnerKind) -> Applicability<'a> {
        Applicability {
            country,
            escalation_type: kind,
            partner_kind: partner,
        }
    }

    #[test]
    fn the_shipped_catalogue_parses_with_unique_ids_and_valid_durations() {
        let rules = RegulatoryRule::catalogue();
        assert!(rules.len() >= 50, "{} rules", rules.len());
        let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), rules.len(), "ids are unique");
        for rule in rules {
            rule.deadlines().expect("durations parse");
            for (name, duration) in &rule.other_durations {
                Target::parse(duration, rule.clock)
                    .unwrap_or_else(|e| panic!("{}.{name}: {e}", rule.id));
            }
        }
    }

    #[test]
    fn low_confidence_and_superseded_rules_start_disabled() {
        assert!(!rule("in-itr-3-1-j-info").enabled_by_default()); // low
        assert!(!rule("de-netzdg-24h").enabled_by_default()); // superseded
        assert!(rule("eu-tco-removal-order").enabled_by_default());
    }

    #[test]
    fn jurisdictions_cover_their_countries() {
        let dsa = rule("eu-dsa-16-notice");
        assert!(dsa.covers_country("DE") && dsa.covers_country("IE"));
        assert!(!dsa.covers_country("GB") && !dsa.covers_country("CH"));
        assert!(rule("uk-osa-ncii-48h").covers_country("GB"));
        assert!(rule("in-itr-ncii-3-2-b").covers_country("IN"));
    }

    #[test]
    fn order_rules_apply_only_to_orders_from_authorities() {
        let order = rule("in-itr-3-1-d-order");
        use PartnerKind::*;
        // A court order, or a government's notice about listed content: 3 hours.
        assert!(order.applies(facts("IN", "court_order", Court)));
        assert!(order.applies(facts("IN", "ncii", Government)));
        assert!(order.applies(facts("IN", "government_order", Regulator)));
        // The same content from an NGO is not an order.
        assert!(!order.applies(facts("IN", "ncii", Ngo)));
        assert!(!order.applies(facts("IN", "user_report", TrustedFlagger)));
        // A government's escalation about something the rule does not list.
        assert!(!order.applies(facts("IN", "account_access", Government)));
        // Another country.
        assert!(!order.applies(facts("ID", "court_order", Court)));
        let tco = rule("eu-tco-removal-order");
        assert!(tco.applies(facts("FR", "terrorism_violent_extremism", Government)));
        assert!(!tco.applies(facts("FR", "terrorism_violent_extremism", Ngo)));
    }

    #[test]
    fn content_rules_apply_by_type_or_trusted_flagger_source() {
        use PartnerKind::*;
        let ncii = rule("in-itr-ncii-3-2-b");
        assert!(ncii.applies(facts("IN", "ncii", Ngo)));
        assert!(!ncii.applies(facts("IN", "scams_fraud", Ngo)));
        let flagger = rule("eu-dsa-22-trusted-flagger");
        assert!(flagger.applies(facts("NL", "hate_harassment", TrustedFlagger)));
        assert!(!flagger.applies(facts("NL", "hate_harassment", Ngo)));
    }

    #[test]
    fn deadlines_carry_their_numbers_or_none() {
        let ncii = rule("in-itr-ncii-3-2-b");
        let ncii = ncii.deadlines().unwrap();
        assert_eq!(ncii[0].kind, ClockKind::Acknowledgement);
        assert_eq!(ncii[0].target, None);
        assert_eq!(ncii[1].kind, ClockKind::Resolution);
        assert_eq!(
            ncii[1].target,
            Some(Target::Elapsed(SignedDuration::from_hours(2)))
        );
        let counter = rule("us-dmca-512g-counter");
        let counter = counter.deadlines().unwrap();
        assert_eq!(counter[1].target, Some(Target::BusinessDays(14)));
    }
}
