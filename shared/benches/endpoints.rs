//! Each endpoint's handler end to end (routing, parsing, service, store,
//! envelope) on the in-memory embedded store, per request.

use std::collections::HashMap;
use std::sync::Arc;

use accounts::App;
use accounts::auth::key_ring::KeySource;
use accounts::auth::keys::KeySet;
use accounts::clock::SystemClock;
use accounts::config::{Config, Settings, StoreConfig};
use accounts::http::serve_any;
use accounts::store::embedded::EmbeddedStore;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lambda_http::{Body, Request};
use serde_json::{Value, json};

fn app() -> App {
    let mut settings = HashMap::new();
    settings.insert(
        "JWT_ISSUER".to_string(),
        "https://accounts.example.com".to_string(),
    );
    let mut config =
        Config::load_with_store(&Settings::from_map(&settings), StoreConfig::Memory).unwrap();
    let mut keys = KeySet::default();
    keys.rotate(config.tokens.algorithm, 1_800_000_000).unwrap();
    config.tokens.keys = KeySource::Fixed(keys);
    App::new(
        config,
        Arc::new(EmbeddedStore::in_memory().unwrap()),
        Arc::new(SystemClock),
    )
    .unwrap()
}

fn request(method: &str, path: &str, body: Option<&Value>, token: Option<&str>) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(path);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let body = match body {
        Some(b) => {
            builder = builder.header("content-type", "application/json");
            Body::Text(b.to_string())
        }
        None => Body::Empty,
    };
    builder.body(body).unwrap()
}

async fn call(app: &App, req: Request) -> Value {
    let response = serve_any(app, req).await;
    assert!(response.status().is_success(), "{:?}", response.body());
    match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        _ => Value::Null,
    }
}

fn endpoints(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = app();
    let register = |email: &str| {
        json!({"email": email, "password": "Secure-pass-123", "firstName": "Ada",
               "lastName": "Lovelace", "companyName": "Acme", "isBusiness": true})
    };
    let owner = runtime.block_on(call(
        &app,
        request(
            "POST",
            "/user/register",
            Some(&register("ada@acme.com")),
            None,
        ),
    ));
    let token = owner["accessToken"].as_str().unwrap().to_owned();
    let user_id = owner["user"]["id"].as_str().unwrap().to_owned();
    let login = json!({"email": "ada@acme.com", "password": "Secure-pass-123"});

    let mut group = c.benchmark_group("endpoint");
    group.bench_function("GET /user/profile", |b| {
        b.to_async(&runtime)
            .iter(|| call(&app, request("GET", "/user/profile", None, Some(&token))))
    });
    group.bench_function("GET /user/{userId}", |b| {
        let path = format!("/user/{user_id}");
        b.to_async(&runtime)
            .iter(|| call(&app, request("GET", &path, None, Some(&token))))
    });
    group.bench_function("GET /user/quota", |b| {
        b.to_async(&runtime)
            .iter(|| call(&app, request("GET", "/user/quota", None, Some(&token))))
    });
    group.bench_function("GET /organization/users", |b| {
        b.to_async(&runtime).iter(|| {
            call(
                &app,
                request("GET", "/organization/users", None, Some(&token)),
            )
        })
    });
    group.bench_function("PUT /user/{userId}", |b| {
        let path = format!("/user/{user_id}");
        let body = json!({"name": "Augusta"});
        b.to_async(&runtime)
            .iter(|| call(&app, request("PUT", &path, Some(&body), Some(&token))))
    });
    group.bench_function("POST /user/refresh", |b| {
        // Each refresh token works once: every iteration spends the last one's successor.
        let first = runtime.block_on(call(
            &app,
            request("POST", "/user/login", Some(&login), None),
        ));
        let next = std::cell::RefCell::new(first["refreshToken"].as_str().unwrap().to_owned());
        b.to_async(&runtime).iter(|| async {
            let body = json!({"refresh_token": next.borrow().clone()});
            let reply = call(&app, request("POST", "/user/refresh", Some(&body), None)).await;
            *next.borrow_mut() = reply["refreshToken"].as_str().unwrap().to_owned();
        })
    });
    group.sample_size(20);
    group.bench_function("POST /user/login", |b| {
        b.to_async(&runtime)
            .iter(|| call(&app, request("POST", "/user/login", Some(&login), None)))
    });
    let mut n = 0u64;
    group.bench_function("POST /user/register", |b| {
        b.to_async(&runtime).iter_batched(
            || {
                n += 1;
                register(&format!("bench{n}-{}@acme.com", std::process::id()))
            },
            |body| {
                let app = &app;
                async move { call(app, request("POST", "/user/register", Some(&body), None)).await }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, endpoints);
criterion_main!(benches);
