//! A staff user's own console settings: how sensitive media first appears,
//! and the work lists they saved under a name.

use serde::{Deserialize, Serialize};

use crate::validation::{self, Collector, Invalid};

/// Saved views one user may keep.
pub const MAX_SAVED_VIEWS: usize = 30;
/// Longest query string a saved view keeps.
const MAX_QUERY: usize = 1000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// Show sensitive media unblurred from the start; every such view is
    /// still logged, as a reveal is.
    #[serde(default)]
    pub reveal_sensitive: bool,
    #[serde(default)]
    pub saved_views: Vec<SavedView>,
    /// The IANA time zone the console shows times in; UTC when unset.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// A work list kept under a name: the console's query string for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedView {
    pub name: String,
    /// `view=unassigned&priority=P0,P1&country=JP`: what the list page reads.
    pub query: String,
}

impl Preferences {
    /// Adds `view`, replacing one of the same name; the caller has checked
    /// that its query is one the work list reads.
    pub fn save_view(&mut self, view: SavedView) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        let name = errors.check(validation::text("name", &view.name, 1, 60));
        let query = errors.check(validation::text("query", &view.query, 0, MAX_QUERY));
        let replaces = self
            .saved_views
            .iter()
            .position(|v| Some(&v.name) == name.as_ref());
        if replaces.is_none() && self.saved_views.len() >= MAX_SAVED_VIEWS {
            errors.push(
                "name",
                format!("at most {MAX_SAVED_VIEWS} saved views; delete one first"),
            );
        }
        errors.finish()?;
        let view = SavedView {
            name: name.expect("checked"),
            query: query.expect("checked"),
        };
        match replaces {
            Some(i) => self.saved_views[i] = view,
            None => self.saved_views.push(view),
        }
        Ok(())
    }

    /// Sets the time zone times are shown in (an IANA name such as
    /// `Asia/Tokyo`), or UTC when `name` is empty.
    pub fn set_time_zone(&mut self, name: &str) -> Result<(), Invalid> {
        let name = name.trim();
        if name.is_empty() {
            self.time_zone = None;
            return Ok(());
        }
        jiff::tz::TimeZone::get(name).map_err(|_| {
            Invalid::one(
                "time_zone",
                format!(
                    "{name:?} is not a time zone; use a name such as Asia/Tokyo or Europe/Dublin"
                ),
            )
        })?;
        self.time_zone = Some(name.to_string());
        Ok(())
    }

    /// The time zone to show times in.
    pub fn zone(&self) -> jiff::tz::TimeZone {
        self.time_zone
            .as_deref()
            .and_then(|name| jiff::tz::TimeZone::get(name).ok())
            .unwrap_or(jiff::tz::TimeZone::UTC)
    }

    /// Removes the view named `name`; `false` if there was none.
    pub fn delete_view(&mut self, name: &str) -> bool {
        let before = self.saved_views.len();
        self.saved_views.retain(|v| v.name != name);
        self.saved_views.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(name: &str, query: &str) -> SavedView {
        SavedView {
            name: name.into(),
            query: query.into(),
        }
    }

    #[test]
    fn a_view_of_the_same_name_is_replaced_and_names_are_checked() {
        let mut prefs = Preferences::default();
        prefs
            .save_view(view(" Japan P1 ", "view=all&country=JP"))
            .unwrap();
        prefs
            .save_view(view("Japan P1", "view=all&country=JP&priority=P1"))
            .unwrap();
        assert_eq!(
            prefs.saved_views,
            [view("Japan P1", "view=all&country=JP&priority=P1")]
        );
        let err = prefs.save_view(view(" ", "view=all")).unwrap_err();
        assert_eq!(err.0[0].field, "name");
        assert!(prefs.delete_view("Japan P1"));
        assert!(!prefs.delete_view("Japan P1"));
    }

    #[test]
    fn time_zones_are_known_names_or_utc() {
        let mut prefs = Preferences::default();
        prefs.set_time_zone(" Asia/Tokyo ").unwrap();
        assert_eq!(prefs.time_zone.as_deref(), Some("Asia/Tokyo"));
        assert_eq!(prefs.zone().iana_name(), Some("Asia/Tokyo"));
        assert_eq!(
            prefs.set_time_zone("Mars/Olympus").unwrap_err().0[0].field,
            "time_zone"
        );
        assert_eq!(prefs.time_zone.as_deref(), Some("Asia/Tokyo"), "unchanged");
        prefs.set_time_zone("").unwrap();
        assert_eq!(prefs.zone(), jiff::tz::TimeZone::UTC);
    }

    #[test]
    fn there_is_a_limit_but_replacing_is_always_allowed() {
        let mut prefs = Preferences::default();
        for i in 0..MAX_SAVED_VIEWS {
            prefs.save_view(view(&format!("v{i}"), "view=all")).unwrap();
        }
        assert!(prefs.save_view(view("one more", "view=all")).is_err());
        prefs.save_view(view("v3", "view=mine")).unwrap();
        assert_eq!(prefs.saved_views[3].query, "view=mine");
    }
}
