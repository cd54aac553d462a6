//! What the mailed-token flows share: finding a presented token among its
//! user's outstanding ones.

use crate::App;
use crate::error::{Error, Result};
use crate::mail::{MailToken, TokenPurpose, token};
use crate::model::User;
use crate::store::UserTokens;

/// A token longer than any we mint is refused before anything is read.
const MAX_TOKEN_CHARS: usize = 128;

/// A presented token that is valid now: its user and its record, with the
/// user's other outstanding tokens of the same purpose.
pub(crate) struct Presented {
    pub user: User,
    pub hash: String,
    pub others: Vec<String>,
}

/// Reads the user of `token` with its tokens (one request) and checks that
/// `token` is among them, of `purpose`, unexpired, for the address the
/// account still has. `invalid` otherwise, whatever the reason, so that the
/// answer tells nothing about why.
pub(crate) async fn presented(
    app: &App,
    token: &str,
    purpose: TokenPurpose,
    invalid: fn() -> Error,
) -> Result<Presented> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(invalid());
    }
    let user_id = token::user_id_of(token).ok_or_else(invalid)?;
    let hash = token::hash(token);
    let UserTokens { user, tokens, .. } = app.store.user_tokens(&user_id).await?;
    let user = user.ok_or_else(invalid)?;
    let now = app.now();
    let usable =
        |t: &MailToken| t.purpose == purpose && now < t.expires_at && t.email == user.email;
    if !tokens.iter().any(|t| t.hash == hash && usable(t)) {
        return Err(invalid());
    }
    let others = tokens
        .iter()
        .filter(|t| t.purpose == purpose && t.hash != hash)
        .map(|t| t.hash.clone())
        .collect();
    Ok(Presented { user, hash, others })
}
