//! The one paging extractor of every list route: `?limit=&cursor=`, one default, one cap.
//!
//! Before it, some routes read `cursor` and others `after`, and the wrong name silently
//! answered the first page again; now a paging parameter under another name is a 400.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;

use crate::error::ApiError;

/// Items per page when the caller does not say.
pub(crate) const DEFAULT_LIMIT: u32 = 50;
/// The most items one page holds.
pub(crate) const MAX_LIMIT: u32 = 1000;

/// Names other APIs use for paging; here each is a mistake worth saying out loud.
const OTHER_PAGING_NAMES: [&str; 10] = [
    "after",
    "offset",
    "page",
    "page_size",
    "per_page",
    "next",
    "next_cursor",
    "page_token",
    "start",
    "skip",
];

/// `limit` (1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`]) and `cursor` (the `next` value of
/// the previous page). Lists answer `{"items": [...], "next": cursor or null}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    pub limit: u32,
    pub cursor: Option<String>,
}

impl Page {
    pub(crate) fn from_query(query: &HashMap<String, String>) -> Result<Self, ApiError> {
        let mut problems = Vec::new();
        for name in OTHER_PAGING_NAMES {
            if query.contains_key(name) {
                problems.push(format!(
                    "`{name}` is not a paging parameter here: pass the previous page's `next` \
                     value as `cursor`, and the page size as `limit`"
                ));
            }
        }
        let limit = match query.get("limit").map(|l| l.trim()) {
            None | Some("") => DEFAULT_LIMIT,
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    problems.push(format!(
                        "`limit` must be a whole number from 1 to {MAX_LIMIT}, not {text:?}"
                    ));
                    DEFAULT_LIMIT
                }
            },
        };
        if !problems.is_empty() {
            // Every problem at once, so the caller fixes the request in one go.
            return Err(ApiError::BadRequest(problems.join("; ")));
        }
        let cursor = query.get("cursor").filter(|c| !c.is_empty()).cloned();
        Ok(Self { limit, cursor })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(query) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map_err(|_| ApiError::BadRequest("the query string cannot be read".into()))?;
        Self::from_query(&query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(pairs: &[(&str, &str)]) -> Result<Page, ApiError> {
        let query = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Page::from_query(&query)
    }

    #[test]
    fn defaults_and_a_cursor() {
        assert_eq!(
            page(&[]).unwrap(),
            Page {
                limit: DEFAULT_LIMIT,
                cursor: None
            }
        );
        assert_eq!(
            page(&[("limit", "7"), ("cursor", "abc")]).unwrap(),
            Page {
                limit: 7,
                cursor: Some("abc".into())
            }
        );
    }

    /// `after` used to be read by some routes and ignored by others (page 1 again).
    #[test]
    fn another_paging_name_is_refused_not_ignored() {
        let error = page(&[("after", "abc")]).unwrap_err().to_string();
        assert!(
            error.contains("`after`") && error.contains("`cursor`"),
            "{error}"
        );
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let error = page(&[("limit", "0"), ("offset", "5")])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`offset`") && error.contains("`limit`"),
            "{error}"
        );
        assert!(page(&[("limit", "1001")]).is_err());
        assert!(page(&[("limit", "ten")]).is_err());
    }
}
