//! The admin bearer token, compared in constant time.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use crate::{ApiError, AppState};

pub(crate) async fn require_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?;
    if !token_matches(given.trim(), &state.admin_token) {
        return Err(ApiError::Unauthorized("wrong bearer token".into()));
    }
    Ok(next.run(request).await)
}

pub(crate) fn token_matches(given: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::token_matches;

    #[test]
    fn tokens_must_match_exactly() {
        let cases = [
            ("secret", "secret", true),
            ("secret", "Secret", false),
            ("secre", "secret", false),
            ("secret ", "secret", false),
            ("", "", false),
            ("anything", "", false),
        ];
        for (given, expected, ok) in cases {
            assert_eq!(
                token_matches(given, expected),
                ok,
                "{given:?} vs {expected:?}"
            );
        }
    }
}
