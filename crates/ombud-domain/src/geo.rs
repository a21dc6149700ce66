//! Countries (ISO 3166-1 alpha-2) and languages (BCP 47 tags), validated and
//! kept in canonical case.

use serde::{Deserialize, Serialize};

use crate::validation::Invalid;

/// The 249 officially assigned ISO 3166-1 alpha-2 codes (ISO 3166 Maintenance
/// Agency), sorted for binary search.
const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country(String);

impl Country {
    pub fn parse(field: &str, value: &str) -> Result<Country, Invalid> {
        let upper = value.trim().to_ascii_uppercase();
        let known = upper.len() == 2
            && ISO_3166_ALPHA2
                .split(' ')
                .collect::<Vec<_>>()
                .binary_search(&upper.as_str())
                .is_ok();
        if known {
            Ok(Country(upper))
        } else {
            Err(Invalid::one(
                field,
                format!("{value:?} is not an ISO 3166-1 alpha-2 country code (e.g. JP, IN, GB)"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Country {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Country::parse("country", &value).map_err(|e| e.0[0].message.clone())
    }
}

impl From<Country> for String {
    fn from(value: Country) -> String {
        value.0
    }
}

impl std::fmt::Display for Country {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A BCP 47 language tag in canonical case (`ja`, `zh-Hant-TW`, `id`, `th`).
/// Checked for RFC 5646 well-formedness of the common subtags (language,
/// script, region, variants); registry membership is not checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Language(String);

impl Language {
    pub fn parse(field: &str, value: &str) -> Result<Language, Invalid> {
        canonical_language_tag(value.trim())
            .map(Language)
            .ok_or_else(|| {
                Invalid::one(
                    field,
                    format!("{value:?} is not a BCP 47 language tag (e.g. en, ja, zh-Hant, pt-BR)"),
                )
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn canonical_language_tag(tag: &str) -> Option<String> {
    if tag.is_empty() || tag.len() > 35 {
        return None;
    }
    let mut parts = tag.split('-');
    let language = parts.next()?;
    if !(2..=3).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut out = vec![language.to_ascii_lowercase()];
    // 0 = expect script, 1 = expect region, 2 = variants only.
    let mut stage = 0;
    for part in parts {
        let alpha = part.chars().all(|c| c.is_ascii_alphabetic());
        let alnum = part.chars().all(|c| c.is_ascii_alphanumeric());
        if stage == 0 && part.len() == 4 && alpha {
            let mut script = part.to_ascii_lowercase();
            script[..1].make_ascii_uppercase();
            out.push(script);
            stage = 1;
        } else if stage <= 1
            && ((part.len() == 2 && alpha)
                || (part.len() == 3 && part.chars().all(|c| c.is_ascii_digit())))
        {
            out.push(part.to_ascii_uppercase());
            stage = 2;
        } else if alnum
            && ((5..=8).contains(&part.len())
                || (part.len() == 4 && part.starts_with(|c: char| c.is_ascii_digit())))
        {
            out.push(part.to_ascii_lowercase());
            stage = 2;
        } else {
            return None;
        }
    }
    Some(out.join("-"))
}

impl TryFrom<String> for Language {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Language::parse("language", &value).map_err(|e| e.0[0].message.clone())
    }
}

impl From<Language> for String {
    fn from(value: Language) -> String {
        value.0
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn countries_are_canonical_upper_case() {
        assert_eq!(Country::parse("country", "jp").unwrap().as_str(), "JP");
        assert!(
            Country::parse("country", "UK").is_err(),
            "UK is not ISO 3166-1; GB is"
        );
        assert!(Country::parse("country", "XX").is_err());
        assert!(Country::parse("country", "JPN").is_err());
    }

    #[test]
    fn language_tags_are_canonicalised() {
        for (input, canonical) in [
            ("ja", "ja"),
            ("EN-gb", "en-GB"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("es-419", "es-419"),
            ("id", "id"),
            ("sl-rozaj-biske", "sl-rozaj-biske"),
        ] {
            assert_eq!(
                Language::parse("language", input).unwrap().as_str(),
                canonical
            );
        }
        for bad in ["", "japanese", "e", "en_US", "en--US", "zh-Hant-Hans"] {
            assert!(
                Language::parse("language", bad).is_err(),
                "{bad} should be refused"
            );
        }
    }

    proptest! {
        #[test]
        fn language_parse_is_idempotent(tag in "[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-[a-zA-Z]{2})?") {
            let once = Language::parse("language", &tag).unwrap();
            let twice = Language::parse("language", once.as_str()).unwrap();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn language_parse_never_panics(tag in "\\PC{0,40}") {
            let _ = Language::parse("language", &tag);
        }
    }
}
