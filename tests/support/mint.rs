//! `GET /mint/…` on the local provider: what a user's sign-in at the
//! provider would hand the client (an ID token, an authorization code), for
//! the smoke run, whose client is a script in another process. Valid from
//! now (the system clock, as the function binaries read it).
//!
//! `/mint/google-token?sub=S&email=E`, `/mint/microsoft-token?…`: an ID
//! token; `/mint/google-code?…`, `/mint/microsoft-code?…`: a code the token
//! endpoint trades for one; `/mint/github-code?id=N&email=E`: a GitHub code
//! for an account whose primary address E is verified.

use std::collections::HashMap;

use serde_json::json;

use super::github::GithubUser;
use super::oidc::{Answer, FakeProvider};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

pub(crate) fn answer(path: &str, p: &FakeProvider) -> Answer {
    let (what, query) = path.split_once('?').unwrap_or((path, ""));
    let q: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let (Some(sub), Some(email)) = (q.get("sub").or(q.get("id")), q.get("email")) else {
        return (
            400,
            "text/plain",
            "sub (or id) and email are required".into(),
        );
    };
    let minted = match what {
        "/mint/google-token" => p.google_token(now(), sub, email, json!({})),
        "/mint/microsoft-token" => p.microsoft_token(now(), sub, email, json!({})),
        "/mint/google-code" => p.code_for(&p.google_token(now(), sub, email, json!({}))),
        "/mint/microsoft-code" => p.code_for(&p.microsoft_token(now(), sub, email, json!({}))),
        "/mint/github-code" => match sub.parse::<u64>() {
            Ok(id) => p.github_code(GithubUser::verified(id, email)),
            Err(_) => return (400, "text/plain", "id must be a number".into()),
        },
        _ => return (404, "text/plain", String::new()),
    };
    (200, "text/plain", minted)
}
