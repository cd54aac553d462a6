//! The GitHub half of the local provider (tests/support/oidc.rs): GitHub's
//! own protocol over loopback HTTP. `POST /github/login/oauth/access_token`
//! takes a form (client id, secret, code) and answers JSON only when asked
//! with `Accept: application/json` (otherwise form-encoded, as GitHub does);
//! a bad code is a 200 with `error`, as GitHub answers it.
//! `GET /github-api/user` and `/github-api/user/emails` want the bearer
//! token the exchange gave.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::json;

use super::oidc::{Answer, CLIENT_ID, CLIENT_SECRET, FakeProvider, Received, json_answer};

/// A GitHub account as the fake's API shows it.
#[derive(Debug, Clone)]
pub struct GithubUser {
    pub id: u64,
    pub login: String,
    pub name: Option<String>,
    /// (address, primary, verified)
    pub emails: Vec<(String, bool, bool)>,
}

impl GithubUser {
    /// An account whose primary address GitHub verified (and a second,
    /// unverified one that must never be used).
    pub fn verified(id: u64, email: &str) -> GithubUser {
        GithubUser {
            id,
            login: format!("octo{id}"),
            name: Some("Mona Lisa".into()),
            emails: vec![
                (email.to_owned(), true, true),
                (format!("other{id}@unverified.test"), false, false),
            ],
        }
    }
}

#[derive(Default)]
pub(crate) struct GithubState {
    codes: Mutex<HashMap<String, GithubUser>>,
    tokens: Mutex<HashMap<String, GithubUser>>,
}

impl FakeProvider {
    /// A single-use code for `user`, as GitHub's authorize step hands one out.
    pub fn github_code(&self, user: GithubUser) -> String {
        let code = uuid::Uuid::new_v4().simple().to_string()[..20].to_owned();
        self.state()
            .github
            .codes
            .lock()
            .unwrap()
            .insert(code.clone(), user);
        code
    }
}

fn exchange(req: &Received, state: &GithubState) -> Answer {
    let Some(form) = req.form().filter(|_| req.method == "POST") else {
        return json_answer(404, json!({"message": "Not Found"}));
    };
    let field = |name: &str| form.get(name).map(String::as_str);
    let answer = if field("client_id") != Some(CLIENT_ID)
        || field("client_secret") != Some(CLIENT_SECRET)
    {
        json!({"error": "incorrect_client_credentials"})
    } else {
        match field("code").and_then(|c| state.codes.lock().unwrap().remove(c)) {
            None => json!({"error": "bad_verification_code",
                           "error_description": "The code passed is incorrect or expired."}),
            Some(user) => {
                let token = format!("gho_{}", uuid::Uuid::new_v4().simple());
                state.tokens.lock().unwrap().insert(token.clone(), user);
                json!({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"})
            }
        }
    };
    if req
        .header("accept")
        .is_some_and(|a| a.contains("application/json"))
    {
        return json_answer(200, answer);
    }
    let form = answer
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("&");
    (200, "application/x-www-form-urlencoded", form)
}

/// GitHub's paths, or None for a path that is not one.
pub(crate) fn answer(path: &str, req: &Received, state: &GithubState) -> Option<Answer> {
    if path == "/github/login/oauth/access_token" {
        return Some(exchange(req, state));
    }
    let api = path.strip_prefix("/github-api")?;
    let token = req
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "));
    let user = token.and_then(|t| state.tokens.lock().unwrap().get(t).cloned());
    let Some(user) = user.filter(|_| req.method == "GET") else {
        return Some(json_answer(401, json!({"message": "Bad credentials"})));
    };
    Some(match api {
        "/user" => json_answer(
            200,
            json!({"id": user.id, "login": user.login, "name": user.name,
                   "avatar_url": format!("https://avatars.example/u/{}", user.id)}),
        ),
        "/user/emails" => json_answer(
            200,
            user.emails
                .iter()
                .map(|(email, primary, verified)| {
                    json!({"email": email, "primary": primary, "verified": verified,
                           "visibility": if *primary { "public" } else { "private" }})
                })
                .collect(),
        ),
        _ => json_answer(404, json!({"message": "Not Found"})),
    })
}
