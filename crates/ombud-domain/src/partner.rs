//! Partners: the organisations that report escalations, with a URL-safe slug,
//! a kind, a tier and their contacts.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::geo::{Country, Language};
use crate::validation::{self, Collector, Invalid};

/// A unique, URL-safe, immutable partner name: lowercase letters, digits and
/// single hyphens, 2–64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    pub fn parse(field: &str, value: &str) -> Result<Slug, Invalid> {
        let ok = (2..=64).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !value.starts_with('-')
            && !value.ends_with('-')
            && !value.contains("--");
        if ok {
            Ok(Slug(value.to_string()))
        } else {
            Err(Invalid::one(
                field,
                format!(
                    "{value:?} is not a slug: use 2-64 lowercase letters, digits and single hyphens"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Slug::parse("slug", &value).map_err(|e| e.0[0].message.clone())
    }
}

impl From<Slug> for String {
    fn from(value: Slug) -> String {
        value.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PartnerKind {
    Government,
    Regulator,
    LawEnforcement,
    Court,
    Ngo,
    TrustedFlagger,
    Advertiser,
    PublicFigureTeam,
    InternalTeam,
}

impl PartnerKind {
    pub const ALL: [PartnerKind; 9] = [
        PartnerKind::Government,
        PartnerKind::Regulator,
        PartnerKind::LawEnforcement,
        PartnerKind::Court,
        PartnerKind::Ngo,
        PartnerKind::TrustedFlagger,
        PartnerKind::Advertiser,
        PartnerKind::PublicFigureTeam,
        PartnerKind::InternalTeam,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PartnerKind::Government => "government",
            PartnerKind::Regulator => "regulator",
            PartnerKind::LawEnforcement => "law_enforcement",
            PartnerKind::Court => "court",
            PartnerKind::Ngo => "ngo",
            PartnerKind::TrustedFlagger => "trusted_flagger",
            PartnerKind::Advertiser => "advertiser",
            PartnerKind::PublicFigureTeam => "public_figure_team",
            PartnerKind::InternalTeam => "internal_team",
        }
    }

    pub fn parse(value: &str) -> Option<PartnerKind> {
        PartnerKind::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// Partner tier: 1 is the most important relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Tier(u8);

impl Tier {
    pub fn parse(field: &str, value: i64) -> Result<Tier, Invalid> {
        match value {
            1..=3 => Ok(Tier(value as u8)),
            _ => Err(Invalid::one(
                field,
                format!("tier must be 1, 2 or 3 (got {value})"),
            )),
        }
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

impl TryFrom<i64> for Tier {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Tier::parse("tier", value).map_err(|e| e.0[0].message.clone())
    }
}

impl From<Tier> for i64 {
    fn from(value: Tier) -> i64 {
        value.get()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

impl Contact {
    fn validate(&self) -> Result<Contact, Invalid> {
        let mut errors = Collector::default();
        let name = errors.check(validation::text("name", &self.name, 1, 200));
        let email = errors.check(email("email", &self.email));
        let role = self
            .role
            .as_deref()
            .and_then(|r| errors.check(validation::text("role", r, 1, 200)));
        let phone = self
            .phone
            .as_deref()
            .and_then(|p| errors.check(validation::text("phone", p, 3, 40)));
        errors.finish()?;
        Ok(Contact {
            name: name.expect("checked"),
            email: email.expect("checked"),
            role,
            phone,
        })
    }
}

/// A practical address check: one `@`, a dotted domain, no spaces; lower-cased.
pub fn email(field: &str, value: &str) -> Result<String, Invalid> {
    let value = value.trim().to_lowercase();
    let ok = value.len() <= 320
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(value)
    } else {
        Err(Invalid::one(
            field,
            format!("{value:?} is not an email address"),
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Partner {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "npa-japan"))]
    pub slug: Slug,
    pub name: String,
    pub kind: PartnerKind,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, minimum = 1, maximum = 3))]
    pub tier: Tier,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "JP"))]
    pub country: Country,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "ja"))]
    pub language: Language,
    pub contacts: Vec<Contact>,
    /// Escalation type codes this partner may file; empty means any.
    pub allowed_types: Vec<String>,
    pub active: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    pub version: i64,
}

impl Partner {
    pub fn may_file(&self, escalation_type: &str) -> bool {
        self.allowed_types.is_empty() || self.allowed_types.iter().any(|t| t == escalation_type)
    }
}

/// A partner as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPartner {
    pub slug: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "government"))]
    pub kind: String,
    pub tier: i64,
    pub country: String,
    #[serde(default = "default_language")]
    pub language: String,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub allowed_types: Vec<String>,
}

fn default_language() -> String {
    "en".into()
}

fn parse_kind(value: &str) -> Result<PartnerKind, Invalid> {
    PartnerKind::parse(value).ok_or_else(|| {
        let known: Vec<_> = PartnerKind::ALL.iter().map(|k| k.as_str()).collect();
        Invalid::one(
            "kind",
            format!(
                "unknown partner kind {value:?}; known: {}",
                known.join(", ")
            ),
        )
    })
}

fn validate_contacts(contacts: &[Contact], errors: &mut Collector) -> Vec<Contact> {
    contacts
        .iter()
        .enumerate()
        .filter_map(|(i, c)| errors.check_nested(&format!("contacts[{i}]"), c.validate()))
        .collect()
}

fn validate_types(types: &[String], errors: &mut Collector) -> Vec<String> {
    let mut out: Vec<String> = types
        .iter()
        .enumerate()
        .filter_map(|(i, t)| errors.check(validation::code(&format!("allowed_types[{i}]"), t)))
        .collect();
    out.sort();
    out.dedup();
    out
}

impl NewPartner {
    pub fn validate(&self, at: Timestamp) -> Result<Partner, Invalid> {
        let mut errors = Collector::default();
        let slug = errors.check(Slug::parse("slug", &self.slug));
        let name = errors.check(validation::text("name", &self.name, 1, 200));
        let kind = errors.check(parse_kind(&self.kind));
        let tier = errors.check(Tier::parse("tier", self.tier));
        let country = errors.check(Country::parse("country", &self.country));
        let language = errors.check(Language::parse("language", &self.language));
        let contacts = validate_contacts(&self.contacts, &mut errors);
        let allowed_types = validate_types(&self.allowed_types, &mut errors);
        errors.finish()?;
        Ok(Partner {
            slug: slug.expect("checked"),
            name: name.expect("checked"),
            kind: kind.expect("checked"),
            tier: tier.expect("checked"),
            country: country.expect("checked"),
            language: language.expect("checked"),
            contacts,
            allowed_types,
            active: true,
            created_at: at,
            updated_at: at,
            version: 1,
        })
    }
}

/// A partial update of a partner; the slug never changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PartnerPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub tier: Option<i64>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub contacts: Option<Vec<Contact>>,
    #[serde(default)]
    pub allowed_types: Option<Vec<String>>,
    #[serde(default)]
    pub active: Option<bool>,
}

impl PartnerPatch {
    pub fn apply(&self, partner: &Partner, at: Timestamp) -> Result<Partner, Invalid> {
        let mut errors = Collector::default();
        let mut next = partner.clone();
        if let Some(v) = self
            .name
            .as_deref()
            .and_then(|v| errors.check(validation::text("name", v, 1, 200)))
        {
            next.name = v;
        }
        if let Some(v) = self
            .kind
            .as_deref()
            .and_then(|v| errors.check(parse_kind(v)))
        {
            next.kind = v;
        }
        if let Some(v) = self.tier.and_then(|v| errors.check(Tier::parse("tier", v))) {
            next.tier = v;
        }
        if let Some(v) = self
            .country
            .as_deref()
            .and_then(|v| errors.check(Country::parse("country", v)))
        {
            next.country = v;
        }
        if let Some(v) = self
            .language
            .as_deref()
            .and_then(|v| errors.check(Language::parse("language", v)))
        {
            next.language = v;
        }
        if let Some(v) = &self.contacts {
            next.contacts = validate_contacts(v, &mut errors);
        }
        if let Some(v) = &self.allowed_types {
            next.allowed_types = validate_types(v, &mut errors);
        }
        if let Some(v) = self.active {
            next.active = v;
        }
        errors.finish()?;
        if next != *partner {
            next.updated_at = at;
            next.version += 1;
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_safe() {
        assert!(Slug::parse("slug", "npa-japan").is_ok());
        for bad in ["NPA", "a", "-x", "x-", "a--b", "a_b", "日本"] {
            assert!(Slug::parse("slug", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_partner_names_every_faulty_field() {
        let new = NewPartner {
            slug: "Bad Slug".into(),
            name: "".into(),
            kind: "alien".into(),
            tier: 4,
            country: "ZZ".into(),
            language: "en".into(),
            contacts: vec![Contact {
                name: "A".into(),
                email: "nope".into(),
                role: None,
                phone: None,
            }],
            allowed_types: vec![],
        };
        let Invalid(errors) = new.validate(Timestamp::UNIX_EPOCH).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "slug",
                "name",
                "kind",
                "tier",
                "country",
                "contacts[0].email"
            ]
        );
    }
}
