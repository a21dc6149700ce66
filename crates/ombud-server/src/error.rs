//! One error type for every handler: RFC 9457 problem details with a stable
//! `code`, reached with `?` from domain and store errors.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ombud_domain::{FieldError, Invalid, TransitionError, TransitionRefused};
use ombud_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The stable codes clients may rely on, with their status and title.
const CODES: &[(&str, u16, &str)] = &[
    ("bad_request", 400, "Bad request"),
    ("malformed_json", 400, "Malformed JSON"),
    ("bad_encoding", 400, "Body is not valid UTF-8"),
    ("bad_query", 400, "Bad query parameter"),
    ("bad_idempotency_key", 400, "Bad Idempotency-Key header"),
    ("unauthorized", 401, "Authentication required"),
    ("forbidden", 403, "Not allowed"),
    ("not_found", 404, "Not found"),
    ("method_not_allowed", 405, "Method not allowed"),
    ("conflict", 409, "Conflict"),
    ("invalid_transition", 409, "Transition not allowed"),
    ("consults_open", 409, "Required consults are still open"),
    ("closed", 409, "The escalation is closed"),
    (
        "mail_not_configured",
        409,
        "Outbound email is not configured",
    ),
    (
        "idempotency_in_progress",
        409,
        "A request with this Idempotency-Key is still running",
    ),
    ("version_mismatch", 412, "Version mismatch"),
    ("payload_too_large", 413, "Payload too large"),
    ("unsupported_media_type", 415, "Unsupported media type"),
    ("validation_failed", 422, "Validation failed"),
    ("query_failed", 422, "The query was refused or failed"),
    ("decision_required", 422, "Resolving records a decision"),
    ("unknown_sender", 422, "The sender is not a partner contact"),
    (
        "mail_failed",
        502,
        "The mail relay did not accept the message",
    ),
    (
        "media_type_mismatch",
        422,
        "Content does not match its declared media type",
    ),
    (
        "idempotency_key_reused",
        422,
        "Idempotency-Key reused with a different request",
    ),
    ("precondition_required", 428, "If-Match required"),
    ("internal", 500, "Internal error"),
    ("unavailable", 503, "Service unavailable"),
];

/// An RFC 9457 problem details body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code.
    pub code: String,
    /// The fields at fault, for validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldError>,
    /// For `invalid_transition`: the statuses that are allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub allowed: Option<Vec<String>>,
    /// Logged once when the response is built; never shown to the client.
    pub cause: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        debug_assert!(
            CODES.iter().any(|(c, _, _)| *c == code),
            "unknown problem code {code}"
        );
        ApiError {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            allowed: None,
            cause: None,
        }
    }

    pub fn field(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut error = ApiError::new(code, format!("{field}: {message}"));
        error.errors.push(FieldError {
            field: field.into(),
            message,
        });
        error
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        ApiError::new("not_found", format!("{what} not found"))
    }

    pub fn forbidden(why: impl Into<String>) -> Self {
        ApiError::new("forbidden", why)
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut error = ApiError::new("internal", "internal error");
        error.cause = Some(cause.to_string());
        error
    }

    pub fn status(&self) -> StatusCode {
        let (_, status, _) = lookup(self.code);
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn problem(&self) -> Problem {
        let (code, status, title) = lookup(self.code);
        Problem {
            problem_type: format!("urn:ombud:problem:{code}"),
            title: title.into(),
            status,
            detail: self.detail.clone(),
            code: code.into(),
            errors: self.errors.clone(),
            allowed: self.allowed.clone(),
            request_id: None,
        }
    }
}

fn lookup(code: &str) -> (&'static str, u16, &'static str) {
    CODES
        .iter()
        .copied()
        .find(|(c, _, _)| *c == code)
        .unwrap_or(("internal", 500, "Internal error"))
}

/// Renders a problem as `application/problem+json`.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).expect("problems serialise");
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(code = self.code, %cause, "request failed");
        }
        let mut response = problem_response(&self.problem());
        if self.code == "unauthorized" {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<Invalid> for ApiError {
    fn from(Invalid(errors): Invalid) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        ApiError {
            errors,
            ..ApiError::new("validation_failed", detail)
        }
    }
}

impl From<TransitionError> for ApiError {
    fn from(error: TransitionError) -> Self {
        ApiError {
            allowed: Some(
                error
                    .allowed()
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect(),
            ),
            ..ApiError::new("invalid_transition", error.to_string())
        }
    }
}

impl From<TransitionRefused> for ApiError {
    fn from(refusal: TransitionRefused) -> Self {
        match refusal {
            TransitionRefused::Illegal(error) => error.into(),
            TransitionRefused::ConsultsOpen(_) => {
                ApiError::new("consults_open", refusal.to_string())
            }
            TransitionRefused::Closed(_) => ApiError::new("closed", refusal.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::new("not_found", "not found"),
            StoreError::VersionConflict { expected, current } => ApiError::new(
                "version_mismatch",
                format!(
                    "the record is at version {current}, not {expected}; read it again and retry"
                ),
            ),
            StoreError::Conflict(message) => ApiError::new("conflict", message),
            StoreError::Query(message) => ApiError::new("query_failed", message),
            StoreError::Backend(cause) => ApiError::internal(cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_name_and_a_client_or_server_status() {
        for (i, (code, status, _)) in CODES.iter().enumerate() {
            assert!((400..600).contains(status), "{code}");
            assert!(
                CODES[i + 1..].iter().all(|(c, _, _)| c != code),
                "{code} twice"
            );
        }
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let problem = ApiError::internal("database file is corrupt at page 7").problem();
        assert_eq!(problem.detail, "internal error");
        assert_eq!(problem.status, 500);
    }
}
