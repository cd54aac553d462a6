//! Signing in with an outside provider (Google, Microsoft, GitHub): the
//! provider's ID token, or the code the service trades for one (or for
//! GitHub's API), names a subject and a verified address. A subject linked to an
//! account signs that account in, whatever its address says now; an
//! address nobody has makes a new account as register does; an address an
//! account already has is never linked automatically (409
//! `ACCOUNT_EXISTS`): its owner signs in and links the provider (`link`).

use super::caller::caller;
use super::register::{Founder, founding_records};
use super::{
    SessionOrigin, SignInMethod, SignedIn, new_session, signed_in, start_session, validate,
};
use crate::App;
use crate::auth::access::AccessClaims;
use crate::auth::oidc::ProviderIdentity;
use crate::config::ProviderKind;
use crate::error::{Error, Result};
use crate::model::{AuthMethod, Identity, NewAccount, User};
use crate::store::StoreError;

/// What the client shows for the provider's word.
#[derive(Debug, Clone)]
pub enum Proof {
    /// `POST /auth/{google,microsoft}`: the provider's ID token, and the
    /// nonce the client put in its authorization request, if any.
    IdToken {
        token: String,
        nonce: Option<String>,
    },
    /// `POST /auth/github`, `/auth/{google,microsoft}/exchange`: an
    /// authorization code, traded server-side with the client secret.
    Code(String),
}

/// What `POST /auth/{provider}` carries.
#[derive(Debug, Clone)]
pub struct ProviderSignIn {
    pub provider: ProviderKind,
    pub proof: Proof,
    pub origin: SessionOrigin,
}

/// A social sign-in, and the picture the provider gave (Flashback's
/// `OAuth2ResponseDTO` shows it).
#[derive(Debug, Clone)]
pub struct SocialSignedIn {
    pub signed_in: SignedIn,
    pub picture: Option<String>,
}

fn auth_method(provider: ProviderKind) -> AuthMethod {
    match provider {
        ProviderKind::Google => AuthMethod::Google,
        ProviderKind::Microsoft => AuthMethod::Microsoft,
        ProviderKind::Github => AuthMethod::Github,
    }
}

fn method(provider: ProviderKind) -> SignInMethod {
    SignInMethod {
        event: "social_login",
        login_method: provider.name(),
    }
}

async fn verified(app: &App, provider: ProviderKind, proof: &Proof) -> Result<ProviderIdentity> {
    match proof {
        Proof::IdToken { token, nonce } => {
            if let Some(nonce) = nonce
                && (nonce.is_empty() || nonce.len() > 256)
            {
                return Err(Error::validation("nonce must be 1 to 256 characters"));
            }
            app.providers
                .verify(provider, token, nonce.as_deref(), app.now())
                .await
        }
        Proof::Code(code) => app.providers.exchange(provider, code, app.now()).await,
    }
}

/// The account a linked identity belongs to. One whose account is gone is
/// refused as login refuses an unknown address.
async fn linked_account(app: &App, identity: &Identity) -> Result<User> {
    app.store
        .user(&identity.user_id)
        .await?
        .ok_or(Error::InvalidCredentials)
}

pub async fn sign_in(app: &App, input: ProviderSignIn) -> Result<SocialSignedIn> {
    if let Some(device_info) = &input.origin.device_info {
        validate::device_info(device_info)?;
    }
    let vouched = verified(app, input.provider, &input.proof).await?;
    let picture = vouched.picture.clone();
    let signed_in = sign_in_vouched(app, input.provider, vouched, input.origin).await?;
    Ok(SocialSignedIn { signed_in, picture })
}

/// Every social sign-in goes through [`start_session`], as login does.
async fn sign_in_vouched(
    app: &App,
    kind: ProviderKind,
    vouched: ProviderIdentity,
    origin: SessionOrigin,
) -> Result<SignedIn> {
    if let Some(identity) = app.store.identity(kind.name(), &vouched.subject).await? {
        let user = linked_account(app, &identity).await?;
        return start_session(app, user, origin, method(kind), async { Ok(()) }).await;
    }
    let email = validate::normalize_email(&vouched.email)?;
    if app.store.user_by_email(&email).await?.is_some() {
        tracing::info!(
            event = "social_login",
            outcome = "account_exists",
            provider = kind.name(),
            "social sign-in refused: the address has an account"
        );
        return Err(Error::AccountExists);
    }
    match create_account(app, kind, &vouched, email, origin.clone()).await {
        // A concurrent first sign-in of the same subject made the account:
        // sign in to it.
        Err(Error::AccountExists | Error::Conflict) => {
            match app.store.identity(kind.name(), &vouched.subject).await? {
                Some(identity) => {
                    let user = linked_account(app, &identity).await?;
                    start_session(app, user, origin, method(kind), async { Ok(()) }).await
                }
                None => Err(Error::AccountExists),
            }
        }
        other => other,
    }
}

/// A name field from what the provider gave, within register's rules.
fn name_part(raw: Option<&str>, fallback: &str) -> String {
    let raw = raw
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(fallback);
    let bounded: String = raw.chars().take(validate::MAX_NAME_CHARS).collect();
    validate::name("name", &bounded).unwrap_or_else(|_| fallback.to_owned())
}

/// User, organization, trial and session in one write, as register makes
/// them; already validated (the provider verified the address), no password.
async fn create_account(
    app: &App,
    kind: ProviderKind,
    vouched: &ProviderIdentity,
    email: String,
    origin: SessionOrigin,
) -> Result<SignedIn> {
    let local = email.split('@').next().unwrap_or("user").to_owned();
    let (full_first, full_last) = match vouched.name.as_deref().map(str::trim) {
        Some(full) => full.split_once(' ').unwrap_or((full, "")),
        None => ("", ""),
    };
    let first_name = name_part(vouched.given_name.as_deref().or(Some(full_first)), &local);
    let last_name = name_part(vouched.family_name.as_deref().or(Some(full_last)), "-");
    let company_name = name_part(vouched.name.as_deref(), &first_name);
    let (user, organization, subscription) = founding_records(
        app,
        Founder {
            email,
            first_name,
            last_name,
            company_name,
            auth_method: auth_method(kind),
        },
    );
    let (mut session, refresh_token) = new_session(app, &user, origin)?;
    session.login_method = kind.name().to_owned();
    let identity = Identity {
        provider: kind.name().to_owned(),
        subject: vouched.subject.clone(),
        user_id: user.id.clone(),
        email: user.email.clone(),
        linked_at: user.created_at,
    };
    let account = NewAccount {
        user,
        organization,
        subscription,
        session: Some(session.clone()),
        withdrawn: None,
        verification: None,
        identity: Some(identity),
    };
    match app.store.create_account(&account).await {
        Err(StoreError::EmailTaken) => return Err(Error::AccountExists),
        other => other?,
    }
    tracing::info!(
        event = "social_register",
        outcome = "success",
        provider = kind.name(),
        user_id = %account.user.id,
        org_id = %account.organization.id,
        "account created"
    );
    signed_in(app, account.user, &session, refresh_token)
}

/// Links the provider identity `proof` shows to the signed-in caller's account.
/// Linking it again to the same account is a success; an identity linked to
/// another account is 409 `ACCOUNT_EXISTS`.
pub async fn link(
    app: &App,
    claims: AccessClaims,
    kind: ProviderKind,
    proof: &Proof,
) -> Result<Identity> {
    let caller = caller(app, claims).await?;
    let vouched = verified(app, kind, proof).await?;
    let identity = Identity {
        provider: kind.name().to_owned(),
        subject: vouched.subject.clone(),
        user_id: caller.user.id.clone(),
        email: vouched.email,
        linked_at: app.now(),
    };
    match app.store.link_identity(&identity).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return match app.store.identity(kind.name(), &vouched.subject).await? {
                Some(existing) if existing.user_id == caller.user.id => Ok(existing),
                _ => Err(Error::AccountExists),
            };
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(event = "social_link", outcome = "success", provider = kind.name(), user_id = %caller.user.id, org_id = %caller.user.org_id, "provider linked");
    Ok(identity)
}
