//! The one error type of HTTP handlers: each case maps to a status and a stable
//! snake_case code that clients and the portal translate. A 5xx body never
//! carries internal text; the cause goes to the log inside the request's span.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use portico_tenants::StoreError;
use portico_tenants::migrate::error_chain;

use crate::i18n::Locale;

/// What went wrong while handling a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Nothing here (or nothing the caller may know about).
    #[error("not found")]
    NotFound,
    /// No valid credentials.
    #[error("unauthorized")]
    Unauthorized,
    /// Valid credentials, insufficient rights.
    #[error("forbidden")]
    Forbidden,
    /// The input was rejected.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field at fault.
        field: String,
        /// Why.
        reason: String,
    },
    /// The value already exists.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// Valid, but the present state forbids it; the code says why.
    #[error("{code}: {reason}")]
    Refused {
        /// Stable snake_case code.
        code: &'static str,
        /// Why, in words a person can act on.
        reason: String,
    },
    /// The tenant or a dependency is unavailable.
    #[error("unavailable")]
    Unavailable,
    /// Anything else; logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) | ApiError::Refused { .. } => StatusCode::CONFLICT,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound => "not_found",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::Invalid { .. } => "invalid_input",
            ApiError::Conflict(_) => "conflict",
            ApiError::Refused { code, .. } => code,
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(_) => ApiError::NotFound,
            StoreError::Conflict(what) => ApiError::Conflict(what),
            StoreError::Invalid { field, reason } => ApiError::Invalid {
                field: field.to_owned(),
                reason,
            },
            StoreError::Refused { code, reason } => ApiError::Refused { code, reason },
            StoreError::TenantUnavailable(_) => ApiError::Unavailable,
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<crate::permissions::PermissionError> for ApiError {
    fn from(error: crate::permissions::PermissionError) -> Self {
        ApiError::Internal(anyhow::Error::new(error))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let message = match &self {
            ApiError::Invalid { reason, .. } | ApiError::Refused { reason, .. } => reason.clone(),
            other => Locale::En.text(&format!("error-{}", other.code().replace('_', "-"))),
        };
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = %error_chain(cause.as_ref()), "request failed");
        }
        let mut body = serde_json::json!({ "error": { "code": code, "message": message } });
        if let ApiError::Invalid { field, .. } = &self {
            body["error"]["field"] = serde_json::Value::from(field.clone());
        }
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_a_translation() {
        let cases = [
            ApiError::NotFound,
            ApiError::Unauthorized,
            ApiError::Forbidden,
            ApiError::Invalid {
                field: "x".into(),
                reason: "y".into(),
            },
            ApiError::Conflict("x"),
            ApiError::Unavailable,
            ApiError::Internal(anyhow::anyhow!("secret detail")),
        ];
        for error in cases {
            let key = format!("error-{}", error.code().replace('_', "-"));
            for locale in Locale::ALL {
                assert_ne!(locale.text(&key), key, "{key} in {}", locale.tag());
            }
        }
    }
}
