//! `GET /api/v1/escalations/{key}/clocks/accounting`: where each clock's
//! time went.

use axum::Json as AxumJson;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use ombud_domain::accounting::{ClockAccount, account};
use ombud_store::Scope;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::Principal;
use crate::routes::escalations::{parse_key, with_timeline};

/// Each clock's time split among the queues, consulted functions and the
/// partner that held the escalation.
#[utoipa::path(get, path = "/escalations/{key}/clocks/accounting", tag = "deadlines",
    params(("key" = String, Path)),
    responses((status = 200, body = Vec<ClockAccount>), (status = 404, body = Problem)))]
pub async fn clock_accounting(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let key = parse_key(&key)?;
    let (escalation, timeline) = with_timeline(&state, key, &Scope::Staff).await?;
    Ok(AxumJson(account(&escalation.clocks, &timeline, state.clock.now())).into_response())
}
