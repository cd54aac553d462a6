//! GitHub sign-in: OAuth 2.0 without OpenID Connect. The client's code is
//! exchanged server-side (`GITHUB_URL/login/oauth/access_token`, with the
//! client secret), then GitHub's API names the user (`/user`: its numeric
//! id is the subject, stable across renames) and its addresses
//! (`/user/emails`: only the primary one, and only if GitHub verified it).

use serde::Deserialize;
use serde_json::Value;

use super::oidc::{ProviderIdentity, check_code, client_secret, code_refused, unavailable};
use crate::config::{GithubConfig, ProviderKind};
use crate::error::{Error, Result};
use crate::outbound::{Outbound, OutboundError};

const KIND: ProviderKind = ProviderKind::Github;

pub struct GithubProvider {
    pub config: GithubConfig,
}

#[derive(Deserialize)]
struct GithubUser {
    id: u64,
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

fn refuse(why: &'static str) -> Error {
    tracing::info!(
        event = "provider_token",
        provider = KIND.name(),
        outcome = why,
        "provider sign-in refused"
    );
    Error::InvalidToken
}

/// A call with GitHub's access token: 401/403 means the token is no good
/// (revoked, or without the scopes asked for); 5xx or no answer is 503.
async fn api(http: &Outbound, url: &str, token: &str) -> Result<Value> {
    http.get_json_bearer(url, token)
        .await
        .map_err(|e| code_refused(e, KIND))
}

impl GithubProvider {
    pub fn new(config: GithubConfig) -> GithubProvider {
        GithubProvider { config }
    }

    /// The code's access token. GitHub answers a bad code with 200 and an
    /// `error` field (`bad_verification_code`), not with a 4xx.
    async fn access_token(&self, http: &Outbound, code: &str) -> Result<String> {
        let secret = client_secret(&self.config.client_secret, KIND)?;
        let url = format!("{}/login/oauth/access_token", self.config.url);
        let mut fields = vec![
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", secret),
            ("code", code),
        ];
        if let Some(redirect_uri) = &self.config.redirect_uri {
            fields.push(("redirect_uri", redirect_uri));
        }
        let answer = http
            .post_form(&url, &fields)
            .await
            .map_err(|e| code_refused(e, KIND))?;
        if let Some(error) = answer.get("error").and_then(Value::as_str) {
            // The client's fault (a bad or used code) or ours (a wrong
            // secret, a redirect mismatch): the log says which.
            tracing::info!(event = "provider_code", provider = KIND.name(), outcome = "refused", reason = %error, "GitHub refused the code");
            return Err(Error::InvalidToken);
        }
        answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty() && t.len() <= 1024)
            .map(str::to_owned)
            .ok_or_else(|| refuse("no_access_token"))
    }

    pub async fn identity(&self, http: &Outbound, code: &str) -> Result<ProviderIdentity> {
        check_code(code)?;
        let token = self.access_token(http, code).await?;
        let api_url = &self.config.api_url;
        let malformed = |what: &str, e: serde_json::Error| {
            unavailable(OutboundError::Refused(format!("{what}: {e}")), KIND)
        };
        let user: GithubUser =
            serde_json::from_value(api(http, &format!("{api_url}/user"), &token).await?)
                .map_err(|e| malformed("/user", e))?;
        let emails: Vec<GithubEmail> =
            serde_json::from_value(api(http, &format!("{api_url}/user/emails"), &token).await?)
                .map_err(|e| malformed("/user/emails", e))?;
        let email = emails
            .into_iter()
            .find(|e| e.primary && e.verified)
            .map(|e| e.email)
            .ok_or_else(|| refuse("unverified_email"))?;
        Ok(ProviderIdentity {
            subject: user.id.to_string(),
            email,
            given_name: None,
            family_name: None,
            name: user.name.filter(|n| !n.trim().is_empty()).or(user.login),
            picture: user.avatar_url,
        })
    }
}
