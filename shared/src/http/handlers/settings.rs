//! Handlers of `/settings/user` and `/settings/organization`.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::App;
use crate::error::Result;
use crate::http::AuthUser;
use crate::http::request::json_body;
use crate::http::response::success;
use crate::http::shapes::Message;
use crate::service::settings::{self, Change, Scope};

#[derive(Serialize)]
struct SettingsBody {
    settings: Map<String, Value>,
}

#[derive(Deserialize)]
struct SettingsRequest {
    settings: Map<String, Value>,
}

#[derive(Deserialize)]
struct DeleteKeysRequest {
    keys: Vec<String>,
}

async fn get_settings(app: &App, req: &Request, scope: Scope) -> Result<Response<Body>> {
    let settings =
        settings::get(app, AuthUser::from_request(app, req).await?.claims, scope).await?;
    Ok(success(200, &SettingsBody { settings }))
}

async fn write(app: &App, req: &Request, scope: Scope, change: Change) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    settings::write(app, claims, scope, change).await?;
    Ok(success(
        200,
        &Message {
            message: "Settings saved",
        },
    ))
}

/// POST: the body's object replaces the stored one.
async fn post_settings(app: &App, req: &Request, scope: Scope) -> Result<Response<Body>> {
    let body: SettingsRequest = json_body(req, app.config.max_body_bytes)?;
    write(app, req, scope, Change::Replace(body.settings)).await
}

/// PUT: the body's top-level keys replace those stored; the others stay.
async fn put_settings(app: &App, req: &Request, scope: Scope) -> Result<Response<Body>> {
    let body: SettingsRequest = json_body(req, app.config.max_body_bytes)?;
    write(app, req, scope, Change::Merge(body.settings)).await
}

/// DELETE: the named keys go; naming one that is not there is fine.
async fn delete_settings(app: &App, req: &Request, scope: Scope) -> Result<Response<Body>> {
    let body: DeleteKeysRequest = json_body(req, app.config.max_body_bytes)?;
    write(app, req, scope, Change::DeleteKeys(body.keys)).await
}

/// The routes' handlers, one per method and scope (a route names a handler
/// of the request alone).
macro_rules! scoped {
    ($($name:ident => $handler:ident, $scope:ident;)*) => {$(
        pub(crate) async fn $name(app: &App, req: &Request) -> Result<Response<Body>> {
            $handler(app, req, Scope::$scope).await
        }
    )*};
}

scoped! {
    get_user_settings => get_settings, User;
    post_user_settings => post_settings, User;
    put_user_settings => put_settings, User;
    delete_user_settings => delete_settings, User;
    get_org_settings => get_settings, Organization;
    post_org_settings => post_settings, Organization;
    put_org_settings => put_settings, Organization;
    delete_org_settings => delete_settings, Organization;
}
