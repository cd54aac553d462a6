//! The authenticated caller at the edge: a handler that needs one asks for
//! an [`AuthUser`], and a request without a valid bearer token never reaches
//! the service. What the caller may do is still the store's word: services
//! read the account and its session with these claims.

use lambda_http::Request;

use super::request::bearer_token;
use crate::App;
use crate::auth::access::AccessClaims;
use crate::error::Result;

/// A caller whose access token verified: signature, algorithm, issuer,
/// audience, type and expiry.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub claims: AccessClaims,
}

impl AuthUser {
    pub async fn from_request(app: &App, req: &Request) -> Result<AuthUser> {
        let claims = app
            .access_tokens
            .verify(bearer_token(req)?, app.now())
            .await?;
        Ok(AuthUser { claims })
    }
}
