//! The `Store` contract, run on both implementations: what each operation
//! writes, and which of two racing writes wins.

use std::sync::Arc;

use accounts::model::mail::{
    CountedLimit, MailGrant, MailKind, MailLimit, MailToken, OutboxMail, TokenPurpose,
};
use accounts::model::*;
use accounts::role::Role;
use accounts::store::{
    MemberAddition, MemberRemoval, Settings, SettingsOwner, StatusChange, Store, StoreError,
};
use accounts_tests::race::race;

#[path = "support/conformance_orgs.rs"]
mod orgs;
use orgs::*;
#[path = "support/conformance_mfa.rs"]
mod second_factors;
use second_factors::*;

fn account(email: &str) -> NewAccount {
    let user_id = uuid::Uuid::new_v4().to_string();
    let org_id = uuid::Uuid::new_v4().to_string();
    NewAccount {
        user: User {
            id: user_id.clone(),
            email: email.into(),
            name: "Ada".into(),
            last_name: "Lovelace".into(),
            org_id: org_id.clone(),
            org_role: Role::Owner,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            status: UserStatus::Active,
            validated: false,
            mfa_required: false,
            is_business: true,
            contact: ContactDetails {
                city: Some("London".into()),
                ..Default::default()
            },
            created_at: 1,
            updated_at: 1,
            version: 1,
            session_epoch: 0,
            deleted_at: None,
            auth_method: Default::default(),
            mfa_enroll: false,
        },
        organization: Organization {
            id: org_id.clone(),
            name: "Acme".into(),
            website: None,
            is_business: true,
            owner_count: 1,
            created_at: 1,
            contact: ContactDetails::default(),
            mfa_enforced: false,
            version: 0,
        },
        subscription: Subscription {
            org_id,
            plan_id: "free-trial".into(),
            status: SubscriptionStatus::Active,
            starts_at: 1,
            ends_at: Some(100),
        },
        session: Some(session(&user_id)),
        verification: None,
        withdrawn: None,
        identity: None,
    }
}

fn session(user_id: &str) -> Session {
    Session {
        id: uuid::Uuid::new_v4().simple().to_string(),
        user_id: user_id.into(),
        epoch: 0,
        token_hash: "hash-0".into(),
        family_hash: "family".into(),
        generation: 0,
        rotated_at: None,
        token_expires_at: 50,
        expires_at: 100,
        revoked: false,
        created_at: 1,
        device_info: Some(serde_json::json!({"os": "linux"})),
        ip_address: Some("203.0.113.7".into()),
        login_method: "password".into(),
        mfa_at: None,
        mfa_amr: None,
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(accounts_tests::fresh_store(accounts_tests::Backend::Embedded).await).await })*
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(accounts_tests::fresh_store(accounts_tests::Backend::Dynamo).await).await })*
        }
    };
}

conformance!(
    create_account_writes_every_record,
    a_taken_email_writes_nothing,
    concurrent_accounts_with_one_email_have_one_winner,
    login_lookup_reads_user_and_throttle,
    throttle_writes_are_compare_and_set,
    user_updates_are_versioned,
    sessions_rotate_once_per_token,
    concurrent_rotations_have_one_winner,
    revoked_sessions_do_not_rotate,
    index_reads_return_whole_records,
    a_user_and_a_session_are_read_together,
    only_a_live_session_of_the_user_is_revoked,
    a_session_moves_to_a_new_epoch_unless_revoked,
    status_changes_move_the_owner_count,
    a_removal_releases_the_address_in_one_write,
    organization_edits_are_versioned_and_keep_the_owner_count,
    a_sign_in_session_waits_for_mfa_where_it_is_enforced,
    settings_are_written_over_the_version_read,
    a_member_is_added_only_as_it_was_decided,
    registering_over_an_invitation_withdraws_it,
    a_link_and_its_mail_are_written_together_or_not_at_all,
    a_session_is_stamped_with_the_factor_that_passed,
);

async fn create_account_writes_every_record(store: Arc<dyn Store>) {
    let a = account("ada@acme.com");
    store.create_account(&a).await.unwrap();
    assert_eq!(store.user(&a.user.id).await.unwrap(), Some(a.user.clone()));
    assert_eq!(
        store.user_by_email("ada@acme.com").await.unwrap(),
        Some(a.user.clone())
    );
    assert_eq!(
        store.organization(&a.organization.id).await.unwrap(),
        Some(a.organization.clone())
    );
    assert_eq!(
        store.subscription(&a.organization.id).await.unwrap(),
        Some(a.subscription.clone())
    );
    assert_eq!(
        store
            .session(&a.session.as_ref().unwrap().id)
            .await
            .unwrap(),
        a.session.clone()
    );
    assert_eq!(store.user("no-such-user").await.unwrap(), None);
    assert_eq!(store.user_by_email("nobody@acme.com").await.unwrap(), None);
    assert_eq!(store.session("no-such-session").await.unwrap(), None);
    // How an account signs in is kept with it.
    let mut b = account("octo@github.test");
    b.user.auth_method = accounts::model::AuthMethod::Github;
    store.create_account(&b).await.unwrap();
    let stored = store.user(&b.user.id).await.unwrap().unwrap();
    assert_eq!(stored.auth_method, accounts::model::AuthMethod::Github);
}

async fn a_taken_email_writes_nothing(store: Arc<dyn Store>) {
    let first = account("ada@acme.com");
    store.create_account(&first).await.unwrap();
    let second = account("ada@acme.com");
    assert!(matches!(
        store.create_account(&second).await,
        Err(StoreError::EmailTaken)
    ));
    assert_eq!(store.user(&second.user.id).await.unwrap(), None);
    assert_eq!(
        store.organization(&second.organization.id).await.unwrap(),
        None
    );
    assert_eq!(
        store.subscription(&second.organization.id).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .session(&second.session.as_ref().unwrap().id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .user_by_email("ada@acme.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        first.user.id
    );
}

async fn concurrent_accounts_with_one_email_have_one_winner(store: Arc<dyn Store>) {
    let accounts: Vec<NewAccount> = (0..20).map(|_| account("race@acme.com")).collect();
    let raced = race(accounts.iter().cloned().map(|a| {
        let store = Arc::clone(&store);
        async move { store.create_account(&a).await }
    }))
    .await;
    // Both stores wait on each call (moto's answer, SQLite on a blocking
    // thread): many are in flight at once, if not all of twenty.
    raced.assert_in_flight_at_once(10);
    let mut winners = Vec::new();
    for (i, answer) in raced.answers.into_iter().enumerate() {
        match answer {
            Ok(()) => winners.push(i),
            Err(StoreError::EmailTaken) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let winner = &accounts[winners[0]];
    assert_eq!(
        store
            .user_by_email("race@acme.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        winner.user.id
    );
    for (i, a) in accounts.iter().enumerate() {
        let expected = i == winners[0];
        assert_eq!(store.user(&a.user.id).await.unwrap().is_some(), expected);
        assert_eq!(
            store
                .organization(&a.organization.id)
                .await
                .unwrap()
                .is_some(),
            expected
        );
        assert_eq!(
            store
                .session(&a.session.as_ref().unwrap().id)
                .await
                .unwrap()
                .is_some(),
            expected
        );
    }
}

async fn login_lookup_reads_user_and_throttle(store: Arc<dyn Store>) {
    let a = account("ada@acme.com");
    store.create_account(&a).await.unwrap();
    let found = store.login_lookup("ada@acme.com").await.unwrap();
    assert_eq!(found.user_id, Some(a.user.id.clone()));
    assert_eq!(found.throttle, None);
    let throttle = LoginThrottle {
        failures: 1,
        last_failure_at: 5,
        locked_until: 0,
        expires_at: 905,
    };
    store
        .put_login_throttle("ada@acme.com", &throttle, None)
        .await
        .unwrap();
    let found = store.login_lookup("ada@acme.com").await.unwrap();
    assert_eq!(found.throttle, Some(throttle.clone()));
    let ghost = store.login_lookup("ghost@acme.com").await.unwrap();
    assert!(ghost.user_id.is_none() && ghost.throttle.is_none());
}

async fn throttle_writes_are_compare_and_set(store: Arc<dyn Store>) {
    let email = "ada@acme.com";
    let one = LoginThrottle {
        failures: 1,
        last_failure_at: 5,
        locked_until: 0,
        expires_at: 905,
    };
    let two = LoginThrottle {
        failures: 2,
        ..one.clone()
    };
    store.put_login_throttle(email, &one, None).await.unwrap();
    assert!(matches!(
        store.put_login_throttle(email, &one, None).await,
        Err(StoreError::Conflict)
    ));
    store
        .put_login_throttle(email, &two, Some(1))
        .await
        .unwrap();
    assert!(matches!(
        store.put_login_throttle(email, &two, Some(1)).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.login_throttle(email).await.unwrap(), Some(two));
    store.clear_login_throttle(email).await.unwrap();
    assert_eq!(store.login_throttle(email).await.unwrap(), None);
    store.clear_login_throttle(email).await.unwrap();
}

async fn user_updates_are_versioned(store: Arc<dyn Store>) {
    let a = account("ada@acme.com");
    store.create_account(&a).await.unwrap();
    let mut renamed = a.user.clone();
    renamed.name = "Augusta".into();
    renamed.version = 2;
    store.update_user(&renamed).await.unwrap();
    let mut stale = a.user.clone();
    stale.name = "Stale".into();
    stale.version = 2;
    assert!(matches!(
        store.update_user(&stale).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.user(&a.user.id).await.unwrap(), Some(renamed.clone()));
    assert_eq!(
        store.user_by_email("ada@acme.com").await.unwrap(),
        Some(renamed)
    );
}

async fn sessions_rotate_once_per_token(store: Arc<dyn Store>) {
    let s = session("u1");
    store.create_session(&s).await.unwrap();
    let mut next = s.clone();
    next.generation = 1;
    next.token_hash = "hash-1".into();
    next.rotated_at = Some(10);
    store.rotate_session(&next, "hash-0").await.unwrap();
    assert!(matches!(
        store.rotate_session(&next, "hash-0").await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.session(&s.id).await.unwrap(), Some(next));
}

async fn concurrent_rotations_have_one_winner(store: Arc<dyn Store>) {
    let s = session("u1");
    store.create_session(&s).await.unwrap();
    let raced = race((0..10).map(|i| {
        let store = Arc::clone(&store);
        let mut next = s.clone();
        next.token_hash = format!("hash-from-{i}");
        next.generation = 1;
        async move { store.rotate_session(&next, "hash-0").await }
    }))
    .await;
    raced.assert_in_flight_at_once(3);
    let mut winners = Vec::new();
    for (i, result) in raced.answers.into_iter().enumerate() {
        match result {
            Ok(()) => winners.push(i),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let stored = store.session(&s.id).await.unwrap().unwrap();
    assert_eq!(stored.token_hash, format!("hash-from-{}", winners[0]));
}

async fn revoked_sessions_do_not_rotate(store: Arc<dyn Store>) {
    let s = session("u1");
    store.create_session(&s).await.unwrap();
    store.revoke_session(&s.id).await.unwrap();
    assert!(store.session(&s.id).await.unwrap().unwrap().revoked);
    let mut next = s.clone();
    next.token_hash = "hash-1".into();
    assert!(matches!(
        store.rotate_session(&next, "hash-0").await,
        Err(StoreError::Conflict)
    ));
    store.revoke_session("no-such-session").await.unwrap();
    assert_eq!(store.session("no-such-session").await.unwrap(), None);
}

/// What is listed through the index (DynamoDB's projects keys and
/// `revoked` only) comes back whole: plans, members, a user's sessions.
async fn index_reads_return_whole_records(store: Arc<dyn Store>) {
    let plan = accounts::service::plans::default_plans().remove(0);
    store.put_plan(&plan).await.unwrap();
    assert_eq!(store.plans().await.unwrap(), vec![plan]);

    let a = account("ada@acme.com");
    store.create_account(&a).await.unwrap();
    assert_eq!(
        store.members(&a.organization.id).await.unwrap(),
        vec![a.user.clone()]
    );

    let user_id = &a.user.id;
    let (kept, other, revoked) = (session(user_id), session(user_id), session(user_id));
    for s in [&kept, &other, &revoked] {
        store.create_session(s).await.unwrap();
    }
    store.revoke_session(&revoked.id).await.unwrap();
    let mut listed = store.user_sessions(user_id).await.unwrap();
    listed.sort_by(|a, b| a.id.cmp(&b.id));
    let mut expected = vec![
        a.session.clone().unwrap(),
        kept.clone(),
        other.clone(),
        revoked.clone(),
    ];
    expected[3].revoked = true;
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(listed, expected);
    let mut unrevoked = store.unrevoked_session_ids(user_id).await.unwrap();
    unrevoked.sort();
    let mut expected_ids = vec![
        a.session.as_ref().unwrap().id.clone(),
        kept.id.clone(),
        other.id.clone(),
    ];
    expected_ids.sort();
    assert_eq!(unrevoked, expected_ids);
    assert!(store.user_sessions("nobody").await.unwrap().is_empty());
}

async fn a_user_and_a_session_are_read_together(store: Arc<dyn Store>) {
    let a = account("ada@acme.com");
    store.create_account(&a).await.unwrap();
    assert_eq!(
        store
            .user_and_session(&a.user.id, &a.session.as_ref().unwrap().id)
            .await
            .unwrap(),
        (Some(a.user.clone()), a.session.clone())
    );
    assert_eq!(
        store
            .user_and_session(&a.user.id, "no-such-session")
            .await
            .unwrap(),
        (Some(a.user.clone()), None)
    );
    assert_eq!(
        store
            .user_and_session("no-such-user", &a.session.as_ref().unwrap().id)
            .await
            .unwrap(),
        (None, a.session.clone())
    );
}

async fn only_a_live_session_of_the_user_is_revoked(store: Arc<dyn Store>) {
    let mine = session("u1");
    store.create_session(&mine).await.unwrap();
    // Someone else's, another epoch, past its end at 100: not revoked.
    assert!(
        !store
            .revoke_live_session("u2", &mine.id, 0, 10)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_live_session("u1", &mine.id, 1, 10)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_live_session("u1", &mine.id, 0, 100)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_live_session("u1", "no-such-session", 0, 10)
            .await
            .unwrap()
    );
    assert!(!store.session(&mine.id).await.unwrap().unwrap().revoked);
    assert!(
        store
            .revoke_live_session("u1", &mine.id, 0, 10)
            .await
            .unwrap()
    );
    assert!(store.session(&mine.id).await.unwrap().unwrap().revoked);
    // Once: it is no longer live.
    assert!(
        !store
            .revoke_live_session("u1", &mine.id, 0, 10)
            .await
            .unwrap()
    );
}

async fn a_session_moves_to_a_new_epoch_unless_revoked(store: Arc<dyn Store>) {
    let s = session("u1");
    store.create_session(&s).await.unwrap();
    store.move_session_to_epoch(&s.id, 3).await.unwrap();
    let moved = store.session(&s.id).await.unwrap().unwrap();
    assert_eq!(moved.epoch, 3);
    assert_eq!(Session { epoch: 0, ..moved }, s, "nothing else changed");
    store.revoke_session(&s.id).await.unwrap();
    assert!(matches!(
        store.move_session_to_epoch(&s.id, 4).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        store.move_session_to_epoch("no-such-session", 4).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.session(&s.id).await.unwrap().unwrap().epoch, 3);
}
