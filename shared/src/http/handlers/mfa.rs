//! Multi-factor authentication, in the shapes of Flashback's `mfa.ts`.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::auth::access::{MFA_ENROLL_TYPE, MFA_PENDING_TYPE};
use crate::error::{Error, Result};
use crate::http::AuthUser;
use crate::http::request::{json_body, source_ip};
use crate::http::response::{success, with_cache_control};
use crate::http::shapes::{Data, Message};
use crate::model::mfa::{MAGIC_LINK, MfaRecord};
use crate::service::mfa;

/// No honest code is longer (a backup code with spaces is 11 or so; a
/// link's token, given as verify-setup's `code`, 64).
const MAX_CODE_CHARS: usize = 64;

/// The pending tokens the status and method list accept.
const ANY_PENDING: [&str; 2] = [MFA_PENDING_TYPE, MFA_ENROLL_TYPE];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MfaRequest {
    mfa_type: String,
    #[serde(default)]
    code: Option<String>,
    /// A mailed link's token (`MAGIC_LINK`); `code` is taken as well.
    #[serde(default)]
    token: Option<String>,
}

impl MfaRequest {
    fn code(&self) -> Result<Option<&str>> {
        match self.code.as_deref() {
            Some(code) if code.chars().count() > MAX_CODE_CHARS => {
                Err(Error::validation("code is too long"))
            }
            other => Ok(other),
        }
    }

    fn required_code(&self) -> Result<&str> {
        self.code()?
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| Error::validation("code is required"))
    }

    /// verify-login's proof: a link's `token` (or `code`) for `MAGIC_LINK`,
    /// whose bounds the link check holds; a `code` otherwise.
    fn proof(&self) -> Result<&str> {
        if self.mfa_type != MAGIC_LINK {
            return self.required_code();
        }
        self.token
            .as_deref()
            .or(self.code.as_deref())
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| Error::validation("token is required"))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusData<'a> {
    is_enabled: bool,
    is_required: bool,
    is_enforced: bool,
    enabled_methods: &'a [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_method: Option<&'a str>,
    session_verified: bool,
}

pub(crate) async fn get_status(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::allowing(app, req, &ANY_PENDING).await?.claims;
    let status = mfa::status(app, claims).await?;
    let data = StatusData {
        is_enabled: status.is_enabled,
        is_required: status.is_required,
        is_enforced: status.is_enforced,
        enabled_methods: &status.enabled_methods,
        primary_method: status.primary_method.as_deref(),
        session_verified: status.session_verified,
    };
    Ok(success(200, &Data { data }))
}

pub(crate) async fn get_methods(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::allowing(app, req, &ANY_PENDING).await?.claims;
    mfa::check_caller(app, claims).await?;
    Ok(success(200, &Data { data: mfa::METHODS }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SetUpData<'a> {
    secret: &'a str,
    qr_code: &'a str,
    backup_codes: &'a [String],
}

pub(crate) async fn post_setup(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::allowing(app, req, &[MFA_ENROLL_TYPE])
        .await?
        .claims;
    let body: MfaRequest = json_body(req, app.config.max_body_bytes)?;
    match mfa::setup(app, claims, &body.mfa_type, body.code()?).await? {
        mfa::SetUp::Totp(set_up) => {
            let data = SetUpData {
                secret: &set_up.secret,
                qr_code: &set_up.qr_code,
                backup_codes: &set_up.backup_codes,
            };
            Ok(with_cache_control(success(200, &Data { data }), "no-store"))
        }
        mfa::SetUp::LinkSent(sent) => {
            let data = LinkSentData {
                email: &sent.email,
                verification_required: true,
            };
            let message = "Activation link sent";
            Ok(success(200, &DataWithMessage { data, message }))
        }
    }
}

/// Where a link went; the setup goes on once it is opened.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LinkSentData<'a> {
    email: &'a str,
    verification_required: bool,
}

/// A mailed link's token, as `mfa/magic-link/activate` takes it.
#[derive(Deserialize)]
struct LinkToken {
    token: String,
}

/// `POST /mfa/magic-link/send` with a pending sign-in's token.
pub(crate) async fn post_magic_link_send(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::allowing(app, req, &[MFA_PENDING_TYPE])
        .await?
        .claims;
    let sent = mfa::magic_link::send(app, claims).await?;
    let data = LinkSentData {
        email: &sent.email,
        verification_required: true,
    };
    let message = "Magic link sent";
    Ok(success(200, &DataWithMessage { data, message }))
}

/// `POST /mfa/magic-link/activate` `{"token"}`: verify-setup's answer.
pub(crate) async fn post_magic_link_activate(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::allowing(app, req, &[MFA_ENROLL_TYPE])
        .await?
        .claims;
    let body: LinkToken = json_body(req, app.config.max_body_bytes)?;
    let verified = mfa::magic_link::activate(app, claims, &body.token, source_ip(req)).await?;
    verified_setup_response(&verified)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnabledData<'a> {
    is_enabled: bool,
    enabled_methods: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_method: Option<&'a str>,
}

#[derive(Serialize)]
struct DataWithMessage<T> {
    data: T,
    message: &'static str,
}

/// An enrollment's session, beside what verify-setup always answers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnrolledData<'a> {
    #[serde(flatten)]
    enabled: EnabledData<'a>,
    full_access_token: &'a str,
    access_token: &'a str,
    refresh_token: &'a str,
    token_id: &'a str,
    expires_at: i64,
}

fn enabled_data(record: &MfaRecord) -> EnabledData<'_> {
    EnabledData {
        is_enabled: record.is_enabled(),
        enabled_methods: record.enabled_methods(),
        primary_method: record.primary.as_deref(),
    }
}

pub(crate) async fn post_verify_setup(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::allowing(app, req, &[MFA_ENROLL_TYPE])
        .await?
        .claims;
    let body: MfaRequest = json_body(req, app.config.max_body_bytes)?;
    let code = body.required_code()?;
    let verified = mfa::verify_setup(app, claims, &body.mfa_type, code, source_ip(req)).await?;
    verified_setup_response(&verified)
}

/// verify-setup's answer (and activate's): the method on and, for an
/// enrollment, the session it started.
fn verified_setup_response(verified: &mfa::SetUpVerified) -> Result<Response<Body>> {
    let message = "MFA enabled";
    let Some(signed_in) = &verified.signed_in else {
        let data = enabled_data(&verified.record);
        return Ok(success(200, &DataWithMessage { data, message }));
    };
    let (Some(refresh_token), Some(token_id)) = (&signed_in.refresh_token, &signed_in.session_id)
    else {
        return Err(Error::Internal("an enrollment started no session".into()));
    };
    let data = EnrolledData {
        enabled: enabled_data(&verified.record),
        full_access_token: &signed_in.access_token,
        access_token: &signed_in.access_token,
        refresh_token,
        token_id,
        expires_at: signed_in.expires_at,
    };
    let body = DataWithMessage { data, message };
    Ok(with_cache_control(success(200, &body), "no-store"))
}

/// Flashback's `MFAVerificationLoginResponse`, unwrapped, plus login's
/// `accessToken`, `tokenId` and `expiresAt`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifiedLogin<'a> {
    message: &'static str,
    full_access_token: &'a str,
    access_token: &'a str,
    refresh_token: &'a str,
    token_id: &'a str,
    expires_at: i64,
}

pub(crate) async fn post_verify_login(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::allowing(app, req, &[MFA_PENDING_TYPE])
        .await?
        .claims;
    let body: MfaRequest = json_body(req, app.config.max_body_bytes)?;
    let input = mfa::CodeSignIn {
        code: body.proof()?.to_owned(),
        mfa_type: body.mfa_type,
        ip_address: source_ip(req),
    };
    let signed_in = mfa::verify_login(app, claims, input).await?;
    let (Some(refresh_token), Some(token_id)) = (&signed_in.refresh_token, &signed_in.session_id)
    else {
        return Err(Error::Internal("verify-login started no session".into()));
    };
    let body = VerifiedLogin {
        message: "MFA verified",
        full_access_token: &signed_in.access_token,
        access_token: &signed_in.access_token,
        refresh_token,
        token_id,
        expires_at: signed_in.expires_at,
    };
    Ok(with_cache_control(success(200, &body), "no-store"))
}

async fn post_change(app: &App, req: &Request, change: mfa::Change) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    let body: MfaRequest = json_body(req, app.config.max_body_bytes)?;
    let record = mfa::change(app, claims, change, &body.mfa_type, body.code()?).await?;
    let data = enabled_data(&record);
    let message = match change {
        mfa::Change::Disable => "MFA method disabled",
        mfa::Change::Enable => "MFA method enabled",
        mfa::Change::Primary => "Primary MFA method set",
    };
    Ok(success(200, &DataWithMessage { data, message }))
}

pub(crate) async fn post_disable(app: &App, req: &Request) -> Result<Response<Body>> {
    post_change(app, req, mfa::Change::Disable).await
}

pub(crate) async fn post_enable(app: &App, req: &Request) -> Result<Response<Body>> {
    post_change(app, req, mfa::Change::Enable).await
}

pub(crate) async fn post_primary(app: &App, req: &Request) -> Result<Response<Body>> {
    post_change(app, req, mfa::Change::Primary).await
}

#[derive(Deserialize)]
struct CodeOnly {
    #[serde(default)]
    code: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackupCodes<'a> {
    backup_codes: &'a [String],
}

pub(crate) async fn post_backup_codes(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    let body: CodeOnly = json_body(req, app.config.max_body_bytes)?;
    let code = MfaRequest {
        mfa_type: String::new(),
        code: body.code,
        token: None,
    };
    let codes = mfa::new_codes(app, claims, code.code()?).await?;
    let data = BackupCodes {
        backup_codes: &codes,
    };
    Ok(with_cache_control(success(200, &Data { data }), "no-store"))
}

#[derive(Deserialize)]
struct EnforceRequest {
    enforced: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Enforcement<'a> {
    org_id: &'a str,
    mfa_enforced: bool,
}

pub(crate) async fn post_enforce(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    let body: EnforceRequest = json_body(req, app.config.max_body_bytes)?;
    let org = mfa::admin::enforce(app, claims, body.enforced).await?;
    let data = Enforcement {
        org_id: &org.id,
        mfa_enforced: org.mfa_enforced,
    };
    let message = if org.mfa_enforced {
        "MFA enforced for the organization"
    } else {
        "MFA no longer enforced for the organization"
    };
    Ok(success(200, &DataWithMessage { data, message }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetRequest {
    reset_user_id: String,
    #[serde(default)]
    enable: bool,
}

pub(crate) async fn post_reset(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    let body: ResetRequest = json_body(req, app.config.max_body_bytes)?;
    mfa::admin::reset(app, claims, &body.reset_user_id, body.enable).await?;
    Ok(success(
        200,
        &Message {
            message: "MFA reset",
        },
    ))
}
