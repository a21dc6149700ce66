//! Our own extractors, so every rejection has our problem shape: JSON bodies
//! with field-level errors, the authenticated principal, and `If-Match`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use ombud_domain::{Actor, Role};
use ombud_store::{Scope, Token};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

/// A JSON body: 415 for another content type, 413 over the size limit, 400
/// for malformed JSON or bad UTF-8, 422 naming the field for unknown fields
/// and wrong types.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(
                "unsupported_media_type",
                "send the body as Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    "payload_too_large",
                    "the body is larger than this server accepts",
                )
            } else {
                ApiError::new("bad_request", rejection.body_text())
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
}

/// Parses a JSON document into `T`, with errors that name the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ApiError::new(
            "bad_encoding",
            format!("the body is not valid UTF-8 (at byte {})", e.valid_up_to()),
        )
    })?;
    // Syntax first, shape second: serde_json reports some wrong types (an
    // integer where an enum belongs) as syntax errors, so checking the shape
    // on a parsed document keeps 400 for broken JSON and 422 for wrong fields.
    let document: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ApiError::new("malformed_json", format!("malformed JSON: {e}")))?;
    let value = serde_path_to_error::deserialize(document).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." {
            "body".to_string()
        } else {
            path
        };
        ApiError::field("validation_failed", &field, error.into_inner().to_string())
    })?;
    Ok(value)
}

/// The authenticated caller, put in the request by the auth middleware.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token: Token,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor {
            id: format!("token:{}", self.token.id),
            name: self.token.name.clone(),
            role: Some(self.token.role),
        }
    }

    /// The key idempotency records are kept under.
    pub fn id(&self) -> String {
        format!("token:{}", self.token.id)
    }

    pub fn scope(&self) -> Scope {
        match (&self.token.role, &self.token.partner) {
            (Role::Partner, Some(slug)) => Scope::Partner(slug.clone()),
            // A partner token without a partner sees nothing.
            (Role::Partner, None) => Scope::Partner(String::new()),
            _ => Scope::Staff,
        }
    }

    pub fn partner(&self) -> Option<&str> {
        (self.token.role == Role::Partner)
            .then_some(self.token.partner.as_deref().unwrap_or_default())
    }

    pub fn require_staff(&self) -> ApiResult<()> {
        if self.token.role.is_staff() {
            Ok(())
        } else {
            Err(ApiError::forbidden("partner tokens may not do this"))
        }
    }

    /// Admins and managers configure partners and reference data.
    pub fn require_manager(&self) -> ApiResult<()> {
        if self.token.role.configures() {
            Ok(())
        } else {
            Err(ApiError::forbidden("only admins and managers may do this"))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::new("unauthorized", "send Authorization: Bearer <token>"))
    }
}

/// The version named by an `If-Match` header, if any (`"3"` or `W/"3"`).
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<i64>);

impl IfMatch {
    pub fn required(self) -> ApiResult<i64> {
        self.0.ok_or_else(|| {
            ApiError::new(
                "precondition_required",
                "send If-Match with the ETag you read, so concurrent edits are not lost",
            )
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().unwrap_or_default().trim();
        let text = text.strip_prefix("W/").unwrap_or(text);
        text.strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .and_then(|t| t.parse().ok())
            .map(|v| IfMatch(Some(v)))
            .ok_or_else(|| ApiError::new("bad_request", "If-Match must be an ETag like \"3\""))
    }
}

/// The ETag of a versioned record.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ombud_domain::NewEscalation;

    #[test]
    fn unknown_fields_and_wrong_types_name_the_field() {
        let e = parse_json::<NewEscalation>(
            br#"{"type":"x","title":"t","country":"JP","language":"ja","colour":1}"#,
        )
        .unwrap_err();
        assert_eq!(e.code, "validation_failed");
        assert_eq!(e.errors[0].field, "colour");
        let e = parse_json::<NewEscalation>(
            br#"{"type":"x","title":7,"country":"JP","language":"ja"}"#,
        )
        .unwrap_err();
        assert_eq!(e.errors[0].field, "title");
        let e = parse_json::<NewEscalation>(br#"{"type":"x","subjects":[{"kind":"planet"}]}"#)
            .unwrap_err();
        assert_eq!(e.errors[0].field, "subjects[0].kind");
    }

    #[test]
    fn malformed_json_and_bad_utf8_are_bad_requests() {
        assert_eq!(
            parse_json::<NewEscalation>(b"{\"type\":").unwrap_err().code,
            "malformed_json"
        );
        assert_eq!(
            parse_json::<serde_json::Value>(b"{} trailing")
                .unwrap_err()
                .code,
            "malformed_json"
        );
        assert_eq!(
            parse_json::<NewEscalation>(b"\xff\xfe").unwrap_err().code,
            "bad_encoding"
        );
    }
}
