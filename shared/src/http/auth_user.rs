//! The authenticated caller at the edge: a handler that needs one asks for
//! an [`AuthUser`], and a request without a valid bearer token never reaches
//! the service. What the caller may do is still the store's word: services
//! read the account and its session with these claims.

use lambda_http::Request;

use super::request::bearer_token;
use crate::App;
use crate::auth::access::AccessClaims;
use crate::error::{Error, Result};

/// A caller whose access token verified: signature, algorithm, issuer,
/// audience, type and expiry.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub claims: AccessClaims,
}

impl AuthUser {
    /// A full access token's caller. A pending sign-in's token (MFA still
    /// owed, or enrollment) is 403 `MFA_REQUIRED` here, so that no handler
    /// has to remember: only the MFA routes ask for [`AuthUser::allowing`].
    pub async fn from_request(app: &App, req: &Request) -> Result<AuthUser> {
        // Not a call of `allowing`: every handler's future would nest one
        // level deeper, and the tests' futures are near rustc's layout depth.
        let claims = app
            .access_tokens
            .verify(bearer_token(req)?, app.now())
            .await?;
        AuthUser::accepting(claims, &[])
    }

    /// A caller with a full access token, or with a pending token of one
    /// of `pending_types` (`auth::access::MFA_PENDING_TYPE`, `MFA_ENROLL_TYPE`).
    pub async fn allowing(app: &App, req: &Request, pending_types: &[&str]) -> Result<AuthUser> {
        let claims = app
            .access_tokens
            .verify(bearer_token(req)?, app.now())
            .await?;
        AuthUser::accepting(claims, pending_types)
    }

    fn accepting(claims: AccessClaims, pending_types: &[&str]) -> Result<AuthUser> {
        if claims.is_pending() && !pending_types.contains(&claims.token_type.as_str()) {
            return Err(Error::MfaRequired);
        }
        Ok(AuthUser { claims })
    }
}
