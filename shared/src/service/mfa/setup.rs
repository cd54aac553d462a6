//! `mfa/setup` and `mfa/verify-setup`: a TOTP secret and backup codes that
//! stay pending (replacing nothing) until a code from the app proves them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::magic_link::{self, LinkSent};
use super::manage::{fresh_backup_codes, proven_record, turn_on};
use super::{SetUpVerified, caller_state, enroll, method_of, proven_setup};
use crate::App;
use crate::auth::access::{AccessClaims, MFA_ENROLL_TYPE};
use crate::auth::totp;
use crate::error::{Error, Result};
use crate::model::AMR_OTP;
use crate::model::mfa::{GOOGLE_AUTH, MAGIC_LINK, PendingTotp};
use crate::store::StoreError;

/// The name authenticator apps show the account under.
const ISSUER: &str = "Flashback";
/// A QR code's side, in pixels at least (an `<img>` scales it).
const QR_MIN_PIXELS: u32 = 200;

/// What `mfa/setup` answers: a TOTP setup, or where an activation link
/// went.
#[derive(Debug, Clone)]
pub enum SetUp {
    Totp(TotpSetUp),
    LinkSent(LinkSent),
}

/// What a TOTP setup shows once: the secret (also in the QR code) and the
/// backup codes.
#[derive(Debug, Clone)]
pub struct TotpSetUp {
    pub secret: String,
    pub qr_code: String,
    pub backup_codes: Vec<String>,
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The key URI authenticator apps read (Google Authenticator's format).
pub fn otpauth_uri(email: &str, secret: &str) -> String {
    let issuer = percent_encode(ISSUER);
    format!(
        "otpauth://totp/{issuer}:{}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={}&period={}",
        percent_encode(email),
        totp::DIGITS,
        totp::STEP_SECONDS
    )
}

/// `uri` as a QR code an `<img>` shows: an SVG `data:` URL.
fn qr_data_url(uri: &str) -> Result<String> {
    let code = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| Error::Internal(format!("QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(QR_MIN_PIXELS, QR_MIN_PIXELS)
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        STANDARD.encode(svg.as_bytes())
    ))
}

/// `POST /mfa/setup` `{"mfaType", "code"?}`. `GOOGLE_AUTH`: a new secret
/// and backup codes, pending; an active secret stays as it is, a pending
/// one is replaced. `MAGIC_LINK`: an activation link mailed
/// (`magic_link::setup`).
pub async fn setup(
    app: &App,
    claims: AccessClaims,
    mfa_type: &str,
    code: Option<&str>,
) -> Result<SetUp> {
    if method_of(mfa_type)? == MAGIC_LINK {
        return Ok(SetUp::LinkSent(magic_link::setup(app, claims, code).await?));
    }
    let key = app.mfa_key()?;
    let (user, mut record) = if claims.token_type == MFA_ENROLL_TYPE {
        enroll::enrolling(app, &claims).await?
    } else {
        let (caller, record) = proven_record(app, claims, code).await?;
        (caller.user, record)
    };
    let secret = totp::new_secret()?;
    let (backup_codes, hashes) = fresh_backup_codes(key, &user.id)?;
    record.pending_totp = Some(PendingTotp {
        sealed_secret: key.seal(&user.id, &secret)?,
        backup_codes: hashes,
        created_at: app.now(),
    });
    record.version += 1;
    record.updated_at = app.now();
    match app.store.put_mfa(&record).await {
        Ok(()) => {}
        // Another MFA change got there first: decided again by the client.
        Err(StoreError::Conflict) => return Err(Error::Conflict),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(event = "mfa_setup", outcome = "pending", user_id = %user.id, org_id = %user.org_id, mfa_type = GOOGLE_AUTH, "MFA setup started");
    let secret = totp::encode_secret(&secret);
    Ok(SetUp::Totp(TotpSetUp {
        qr_code: qr_data_url(&otpauth_uri(&user.email, &secret))?,
        secret,
        backup_codes,
    }))
}

/// `POST /mfa/verify-setup` `{"mfaType", "code"}` (`MAGIC_LINK`: the
/// activation link's token as `code`, as `magic_link::activate`): a code of the pending
/// secret turns it on (primary if it is the first), its backup codes become
/// the live ones, every other session of the user ends, and the caller's
/// session counts as having passed MFA now. With an enrollment's token,
/// that session starts here (`enroll::verify`).
pub async fn verify_setup(
    app: &App,
    claims: AccessClaims,
    mfa_type: &str,
    code: &str,
    ip_address: Option<String>,
) -> Result<SetUpVerified> {
    if method_of(mfa_type)? == MAGIC_LINK {
        return magic_link::activate(app, claims, code, ip_address).await;
    }
    if claims.token_type == MFA_ENROLL_TYPE {
        return enroll::verify(app, claims, code, ip_address).await;
    }
    let session_id = claims.sid.clone();
    let (caller, state) = caller_state(app, claims).await?;
    let user_id = caller.user.id.clone();
    let record = proven_setup(app, &user_id, state.record, state.throttle, code).await?;
    turn_on(app, caller.user, &record, &session_id, AMR_OTP).await?;
    tracing::info!(event = "mfa_setup", outcome = "success", user_id = %user_id, mfa_type = GOOGLE_AUTH, "MFA turned on; other sessions ended");
    Ok(SetUpVerified {
        record,
        signed_in: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_uri_names_issuer_and_account_encoded() {
        let uri = otpauth_uri("ada+mfa@acme.com", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/Flashback:ada%2Bmfa%40acme.com?secret=JBSWY3DPEHPK3PXP\
             &issuer=Flashback&algorithm=SHA1&digits=6&period=30"
        );
        let url = qr_data_url(&uri).unwrap();
        let svg = STANDARD
            .decode(url.strip_prefix("data:image/svg+xml;base64,").unwrap())
            .unwrap();
        assert!(String::from_utf8(svg).unwrap().contains("<svg"));
    }
}
