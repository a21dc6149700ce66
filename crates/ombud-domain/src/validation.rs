//! Validation errors that name the field at fault, so the API can answer with
//! RFC 9457 problem details a caller can act on.

use serde::Serialize;

/// One field that failed validation, with a message written for the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// A JSON-pointer-like path: `title`, `subjects[2].url`.
    pub field: String,
    pub message: String,
}

/// Every field error found in one input; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", summary(.0))]
pub struct Invalid(pub Vec<FieldError>);

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Invalid {
    pub fn one(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }
}

/// Collects field errors while an input is checked, then yields all at once.
#[derive(Debug, Default)]
pub struct Collector(Vec<FieldError>);

impl Collector {
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Keeps the value of a successful check, records the error of a failed one.
    pub fn check<T>(&mut self, result: Result<T, Invalid>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(Invalid(errors)) => {
                self.0.extend(errors);
                None
            }
        }
    }

    /// Records the error of a failed check made under `prefix` (e.g. `subjects[1]`).
    pub fn check_nested<T>(&mut self, prefix: &str, result: Result<T, Invalid>) -> Option<T> {
        self.check(result.map_err(|Invalid(errors)| {
            Invalid(
                errors
                    .into_iter()
                    .map(|e| FieldError {
                        field: format!("{prefix}.{}", e.field),
                        message: e.message,
                    })
                    .collect(),
            )
        }))
    }

    pub fn finish(self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Invalid(self.0))
        }
    }
}

/// Trims `value` and checks its length in characters (not bytes: titles are in
/// every script).
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, Invalid> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len < min {
        return Err(Invalid::one(
            field,
            if min == 1 {
                "must not be empty".to_string()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if len > max {
        return Err(Invalid::one(
            field,
            format!("must be at most {max} characters (got {len})"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(Invalid::one(field, "must not contain control characters"));
    }
    Ok(trimmed.to_string())
}

/// A machine code such as an escalation type or tag: lowercase ASCII letters,
/// digits, `_` and `-`, starting with a letter.
pub fn code(field: &str, value: &str) -> Result<String, Invalid> {
    let ok = (1..=64).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(value.to_string())
    } else {
        Err(Invalid::one(
            field,
            format!(
                "{value:?} is not a valid code: use 1-64 lowercase letters, digits, '_' or '-', starting with a letter"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_counts_characters_not_bytes() {
        assert_eq!(text("title", " 日本語 ", 1, 3).unwrap(), "日本語");
        assert!(text("title", "日本語x", 1, 3).is_err());
    }

    #[test]
    fn code_rejects_uppercase_and_spaces() {
        assert!(code("type", "ip_notice").is_ok());
        assert!(code("type", "IP notice").is_err());
        assert!(code("type", "").is_err());
    }
}
