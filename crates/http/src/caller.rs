//! The authenticated caller of a request, as handlers see it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use homeostat_model::Principal;

/// The request's [`Principal`], put into the request's extensions by the
/// authentication middleware. Without one (authentication off, in-process
/// tests) the caller is [`Principal::anonymous`]. Handlers record
/// `caller.0.actor(by)` wherever a change names who made it.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller(
            parts
                .extensions
                .get::<Principal>()
                .cloned()
                .unwrap_or_else(Principal::anonymous),
        ))
    }
}
