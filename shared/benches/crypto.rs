//! The floor under login and every authenticated request: argon2id at the
//! configured (OWASP) parameters, and JWT signing and verification with
//! each algorithm the service offers (RS256, ES256).

use accounts::auth::access::AccessTokens;
use accounts::auth::key_ring::{KeyRing, KeySource, KeyUse};
use accounts::auth::keys::{KeySet, SigningAlgorithm};
use accounts::auth::password::PasswordHasher;
use accounts::config::{Issuer, PasswordHashConfig, TokenConfig};
use accounts::model::{ContactDetails, User, UserStatus};
use accounts::role::Role;
use criterion::{Criterion, criterion_group, criterion_main};

fn token_config(algorithm: SigningAlgorithm) -> TokenConfig {
    TokenConfig {
        issuer: Issuer::Fixed("https://accounts.example.com".into()),
        audience: "flashback".into(),
        algorithm,
        keys: KeySource::Fixed(KeySet::default()),
        key_refresh_seconds: 300,
        access_ttl_seconds: 3600,
        refresh_ttl_seconds: 2_592_000,
        session_max_seconds: 7_776_000,
        reuse_grace_seconds: 10,
    }
}

fn user() -> User {
    User {
        id: "0b0a7f6e-54f3-4a43-9a55-3c1b2d6c9a10".into(),
        email: "ada@acme.com".into(),
        name: "Ada".into(),
        last_name: "Lovelace".into(),
        org_id: "5f1c8a8e-8c43-4ad5-a2c5-0f8f3c1c7e21".into(),
        org_role: Role::Owner,
        password_hash: String::new(),
        status: UserStatus::Active,
        validated: false,
        mfa_required: false,
        is_business: true,
        contact: ContactDetails::default(),
        created_at: 0,
        updated_at: 0,
        version: 1,
        session_epoch: 0,
        deleted_at: None,
        auth_method: Default::default(),
        mfa_enroll: false,
    }
}

fn argon2(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hasher = PasswordHasher::new(PasswordHashConfig::OWASP).unwrap();
    let hash = runtime.block_on(hasher.hash("Secure-pass-123")).unwrap();
    let mut group = c.benchmark_group("argon2id_owasp");
    group.sample_size(20);
    group.bench_function("hash", |b| {
        b.to_async(&runtime).iter(|| hasher.hash("Secure-pass-123"))
    });
    group.bench_function("verify", |b| {
        b.to_async(&runtime)
            .iter(|| hasher.verify("Secure-pass-123", Some(&hash)))
    });
    group.finish();
}

fn jwt(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for algorithm in [SigningAlgorithm::Rs256, SigningAlgorithm::Es256] {
        let mut set = KeySet::default();
        set.rotate(algorithm, 1_800_000_000).unwrap();
        let keys = KeyRing::fixed(set, algorithm, KeyUse::BOTH).unwrap();
        let tokens = AccessTokens::new(&token_config(algorithm), keys);
        let user = user();
        let token = tokens
            .issue_with(&user, "session", &["pwd"], 1_800_000_000, 1_800_000_000)
            .unwrap()
            .token;
        let mut group = c.benchmark_group(format!("jwt_{}", algorithm.name().to_lowercase()));
        group.bench_function("sign", |b| {
            b.iter(|| {
                tokens
                    .issue_with(&user, "session", &["pwd"], 1_800_000_000, 1_800_000_000)
                    .unwrap()
            })
        });
        group.bench_function("verify", |b| {
            b.to_async(&runtime)
                .iter(|| async { tokens.verify(&token, 1_800_000_001).await.unwrap() })
        });
        group.finish();
    }
}

criterion_group!(benches, argon2, jwt);
criterion_main!(benches);
