//! Who is calling: the bearer token says who, the store says what they may do.

use crate::App;
use crate::auth::access::AccessClaims;
use crate::error::{Error, Result};
use crate::model::User;

/// An authenticated caller, as the store has it now.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub claims: AccessClaims,
}

/// Checks the token and its account: a gone or deactivated account is 401
/// like a bad token, so that roles and deactivation apply on the next request.
pub async fn verify_token(app: &App, token: &str) -> Result<AccessClaims> {
    app.access_tokens.verify(token, app.now()).await
}

pub fn caller_from(claims: AccessClaims, user: Option<User>) -> Result<Caller> {
    match user {
        Some(user) if user.is_active() && user.org_id == claims.org_id => {
            Ok(Caller { user, claims })
        }
        _ => Err(Error::InvalidToken),
    }
}

/// The caller named by verified claims, read from the store.
pub async fn caller(app: &App, claims: AccessClaims) -> Result<Caller> {
    let user = app.store.user(&claims.sub).await?;
    caller_from(claims, user)
}

impl Caller {
    pub fn id(&self) -> &str {
        &self.user.id
    }

    /// Users always belong to one; this guards data written otherwise.
    pub fn org_id(&self) -> Result<&str> {
        if self.user.org_id.is_empty() {
            Err(Error::NoOrganization)
        } else {
            Ok(&self.user.org_id)
        }
    }
}
