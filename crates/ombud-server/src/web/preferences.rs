//! A staff user's own settings page: how sensitive media first appears,
//! and the saved views. Kept as a settings document under the user's email.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ombud_domain::preferences::{Preferences, SavedView};
use ombud_store::{Expect, SettingKind, StoreError};
use serde::Deserialize;

use super::session::{StaffForm, WebUser};
use super::{WebResult, render};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::routes::documents::decode;

/// The user's preferences; the defaults when none are stored.
pub(super) async fn load_preferences(state: &AppState, email: &str) -> ApiResult<Preferences> {
    match state
        .stores
        .settings
        .get(SettingKind::Preferences, email)
        .await
    {
        Ok(setting) => decode(&setting),
        Err(StoreError::NotFound) => Ok(Preferences::default()),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn store_preferences(
    state: &AppState,
    email: &str,
    preferences: &Preferences,
) -> ApiResult<()> {
    let body = serde_json::to_value(preferences).map_err(ApiError::internal)?;
    state
        .stores
        .settings
        .put(
            SettingKind::Preferences,
            email,
            &body,
            Expect::Any,
            state.clock.now(),
        )
        .await?;
    Ok(())
}

#[derive(Template)]
#[template(path = "preferences.html")]
struct PreferencesPage {
    csrf: String,
    user_name: String,
    reveal_sensitive: bool,
    saved_views: Vec<SavedView>,
    time_zone: String,
    /// Every IANA time zone name, for the field's suggestions.
    zones: Vec<String>,
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

/// The settings page.
pub(super) async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<NoticeQuery>,
) -> WebResult<Response> {
    user.require_staff()?;
    let preferences = load_preferences(&state, &user.user.email).await?;
    Ok(render(
        StatusCode::OK,
        &PreferencesPage {
            csrf: user.csrf,
            user_name: user.user.name,
            reveal_sensitive: preferences.reveal_sensitive,
            saved_views: preferences.saved_views,
            time_zone: preferences.time_zone.unwrap_or_default(),
            zones: jiff::tz::db()
                .available()
                .map(|name| name.to_string())
                .collect(),
            notice: query.notice,
        },
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct MediaForm {
    /// `blurred` or `revealed`.
    sensitive: String,
}

/// Saves how sensitive media first appears to this user.
pub(super) async fn save_media(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<MediaForm>,
) -> WebResult<Response> {
    let mut preferences = load_preferences(&state, &user.user.email).await?;
    preferences.reveal_sensitive = match form.sensitive.as_str() {
        "blurred" => false,
        "revealed" => true,
        other => {
            return Err(ApiError::field(
                "validation_failed",
                "sensitive",
                format!("{other:?} is neither blurred nor revealed"),
            )
            .into());
        }
    };
    store_preferences(&state, &user.user.email, &preferences).await?;
    Ok(Redirect::to("/console/preferences?notice=Saved.").into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct TimeZoneForm {
    #[serde(default)]
    time_zone: String,
}

/// Saves the time zone the console shows times in (empty: UTC).
pub(super) async fn save_time_zone(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<TimeZoneForm>,
) -> WebResult<Response> {
    let mut preferences = load_preferences(&state, &user.user.email).await?;
    preferences
        .set_time_zone(&form.time_zone)
        .map_err(ApiError::from)?;
    store_preferences(&state, &user.user.email, &preferences).await?;
    Ok(Redirect::to("/console/preferences?notice=Saved.").into_response())
}
