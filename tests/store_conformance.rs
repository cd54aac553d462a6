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
    settings_are_written_over_the_version_read,
    a_member_is_added_only_as_it_was_decided,
    registering_over_an_invitation_withdraws_it,
);

async fn owner_count(store: Arc<dyn Store>, org: String) -> u32 {
    store.organization(&org).await.unwrap().unwrap().owner_count
}

/// An invited owner of `a`'s organization, as `add_member` takes it.
fn invitation(a: &NewAccount, email: &str, counts: Option<u32>) -> MemberAddition {
    let id = uuid::Uuid::new_v4().to_string();
    let user = User {
        id: id.clone(),
        email: email.into(),
        org_role: Role::Owner,
        password_hash: String::new(),
        ..a.user.clone()
    };
    let hash = format!("hash-{id}");
    let grant = MailGrant {
        token: MailToken {
            hash,
            purpose: TokenPurpose::Verify,
            user_id: id.clone(),
            email: email.into(),
            epoch: 0,
            created_at: 1,
            expires_at: 86_401,
        },
        mail: OutboxMail {
            id: uuid::Uuid::new_v4().simple().to_string(),
            kind: MailKind::Invitation,
            to: email.into(),
            recipient_name: "Grace".into(),
            org_name: Some("Acme".into()),
            token: Some("the-token".into()),
            created_at: 1,
            expires_at: 86_401,
            sent_at: None,
            claimed_until: None,
        },
    };
    let counted = |count: u32| CountedLimit {
        limit: MailLimit {
            count,
            window_start: 1,
            expires_at: 3601,
        },
        expected: counts,
    };
    let next = counts.map_or(1, |c| c + 1);
    MemberAddition {
        invitation: grant,
        user,
        caller_id: a.user.id.clone(),
        caller_version: a.user.version,
        org_limit: counted(next),
        address_limit: counted(next),
    }
}

async fn a_member_is_added_only_as_it_was_decided(store: Arc<dyn Store>) {
    let a = account("ada@acme.com");
    store.create_account(&a).await.unwrap();
    let stale_caller = MemberAddition {
        caller_version: a.user.version + 1,
        ..invitation(&a, "grace@acme.com", None)
    };
    let stale_count = invitation(&a, "grace@acme.com", Some(4));
    for addition in [&stale_caller, &stale_count] {
        assert!(matches!(
            store.add_member(addition).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(store.user_by_email("grace@acme.com").await.unwrap(), None);
        let limits = store
            .invitation_limits(&a.organization.id, "grace@acme.com")
            .await
            .unwrap();
        assert_eq!(
            (limits.org, limits.address),
            (None, None),
            "no count written"
        );
        assert!(
            store
                .user_tokens(&addition.user.id)
                .await
                .unwrap()
                .tokens
                .is_empty()
        );
    }
    let added = invitation(&a, "grace@acme.com", None);
    store.add_member(&added).await.unwrap();
    let limits = store
        .invitation_limits(&a.organization.id, "grace@acme.com")
        .await
        .unwrap();
    assert_eq!(limits.org.map(|l| l.count), Some(1));
    assert_eq!(limits.address.map(|l| l.count), Some(1));
    let tokens = store.user_tokens(&added.user.id).await.unwrap();
    assert_eq!(tokens.user, Some(added.user.clone()));
    assert_eq!(tokens.tokens, vec![added.invitation.token.clone()]);
    assert_eq!(
        owner_count(store.clone(), a.organization.id.clone()).await,
        2
    );
    // The next one counts on from there.
    let next = invitation(&a, "alan@acme.com", Some(1));
    let limits = store
        .invitation_limits(&a.organization.id, "alan@acme.com")
        .await
        .unwrap();
    assert_eq!(limits.address, None, "counted per address");
    assert!(
        matches!(store.add_member(&next).await, Err(StoreError::Conflict)),
        "alan's address has no count yet"
    );
}

async fn registering_over_an_invitation_withdraws_it(store: Arc<dyn Store>) {
    let a = account("ada@acme.com");
    store.create_account(&a).await.unwrap();
    let pending = invitation(&a, "grace@acme.com", None);
    store.add_member(&pending).await.unwrap();
    assert_eq!(
        owner_count(store.clone(), a.organization.id.clone()).await,
        2
    );
    let plain = account("grace@acme.com");
    assert!(matches!(
        store.create_account(&plain).await,
        Err(StoreError::EmailTaken)
    ));
    // Decided on a version of the invitation that is not the stored one.
    let mut moved = pending.user.clone();
    moved.version += 1;
    let stale = NewAccount {
        withdrawn: Some(moved),
        ..account("grace@acme.com")
    };
    assert!(matches!(
        store.create_account(&stale).await,
        Err(StoreError::Conflict | StoreError::EmailTaken)
    ));
    assert_eq!(store.user(&stale.user.id).await.unwrap(), None);
    assert_eq!(
        store.user_by_email("grace@acme.com").await.unwrap(),
        Some(pending.user.clone())
    );

    let over = NewAccount {
        withdrawn: Some(pending.user.clone()),
        ..account("grace@acme.com")
    };
    store.create_account(&over).await.unwrap();
    assert_eq!(
        store.user_by_email("grace@acme.com").await.unwrap(),
        Some(over.user.clone())
    );
    assert_eq!(
        store.user(&pending.user.id).await.unwrap(),
        None,
        "the invitation is withdrawn"
    );
    assert_eq!(
        store.user_tokens(&pending.user.id).await.unwrap().user,
        None
    );
    let members = store.members(&a.organization.id).await.unwrap();
    assert_eq!(members, vec![a.user.clone()]);
    assert_eq!(
        owner_count(store.clone(), a.organization.id.clone()).await,
        1,
        "the invited owner left the count"
    );
    // Withdrawn once: a second registration over it is taken.
    let again = NewAccount {
        withdrawn: Some(pending.user.clone()),
        ..account("grace@acme.com")
    };
    assert!(matches!(
        store.create_account(&again).await,
        Err(StoreError::Conflict | StoreError::EmailTaken)
    ));
}

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

async fn status_changes_move_the_owner_count(store: Arc<dyn Store>) {
    let a = account("ada@acme.com");
    store.create_account(&a).await.unwrap();
    let org = a.organization.id.clone();
    let mut leaving = a.user.clone();
    leaving.status = UserStatus::Inactive;
    leaving.session_epoch = 1;
    leaving.version += 1;
    // The last owner, kept: refused, nothing written.
    let kept = StatusChange {
        updated: leaving.clone(),
        owner_delta: -1,
        keep_an_owner: true,
        caller: None,
    };
    assert!(matches!(
        store.change_status(&kept).await,
        Err(StoreError::LastOwner)
    ));
    assert_eq!(store.user(&a.user.id).await.unwrap(), Some(a.user.clone()));
    assert_eq!(owner_count(store.clone(), org.clone()).await, 1);
    // Allowed to leave none.
    let change = StatusChange {
        updated: leaving.clone(),
        owner_delta: -1,
        keep_an_owner: false,
        caller: None,
    };
    store.change_status(&change).await.unwrap();
    assert_eq!(store.user(&a.user.id).await.unwrap(), Some(leaving.clone()));
    assert_eq!(owner_count(store.clone(), org.clone()).await, 0);
    // A stale version writes nothing.
    assert!(matches!(
        store.change_status(&change).await,
        Err(StoreError::Conflict)
    ));
    let mut back = leaving.clone();
    back.status = UserStatus::Active;
    back.version += 1;
    store
        .change_status(&StatusChange {
            updated: back.clone(),
            owner_delta: 1,
            keep_an_owner: false,
            caller: None,
        })
        .await
        .unwrap();
    assert_eq!(store.user(&a.user.id).await.unwrap(), Some(back));
    assert_eq!(owner_count(store.clone(), org).await, 1);
}

/// A second owner added to `a`'s organization by `a`'s owner.
async fn second_owner(store: &Arc<dyn Store>, a: &NewAccount, email: &str) -> User {
    let mut user = account(email).user;
    user.org_id = a.organization.id.clone();
    // Counted like any invitation: over the counts the store has now.
    let limits = store
        .invitation_limits(&a.organization.id, email)
        .await
        .unwrap();
    let one_more = |current: Option<MailLimit>| CountedLimit {
        limit: MailLimit {
            count: current.as_ref().map_or(1, |l| l.count + 1),
            window_start: 1,
            expires_at: 3601,
        },
        expected: current.map(|l| l.count),
    };
    let addition = MemberAddition {
        user: user.clone(),
        org_limit: one_more(limits.org),
        address_limit: one_more(limits.address),
        ..invitation(a, email, None)
    };
    store.add_member(&addition).await.unwrap();
    user
}

async fn a_removal_releases_the_address_in_one_write(store: Arc<dyn Store>) {
    let a = account("ada@acme.com");
    store.create_account(&a).await.unwrap();
    let bob = second_owner(&store, &a, "bob@acme.com").await;
    let mut removed = bob.clone();
    removed.status = UserStatus::Inactive;
    removed.deleted_at = Some(5);
    removed.session_epoch += 1;
    removed.version += 1;
    let removal = |caller_version| MemberRemoval {
        updated: removed.clone(),
        owner_delta: -1,
        caller_id: a.user.id.clone(),
        caller_version,
    };
    // A caller that changed since read removes nothing.
    assert!(matches!(
        store.remove_member(&removal(a.user.version + 1)).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.user_by_email("bob@acme.com").await.unwrap(),
        Some(bob.clone())
    );
    store.remove_member(&removal(a.user.version)).await.unwrap();
    assert_eq!(store.user(&bob.id).await.unwrap(), Some(removed.clone()));
    assert_eq!(
        store.user_by_email("bob@acme.com").await.unwrap(),
        None,
        "the address is free"
    );
    assert_eq!(
        store.login_lookup("bob@acme.com").await.unwrap().user_id,
        None
    );
    assert_eq!(
        store
            .organization(&a.organization.id)
            .await
            .unwrap()
            .unwrap()
            .owner_count,
        1
    );
    // Once only; and the address registers again.
    assert!(matches!(
        store.remove_member(&removal(a.user.version)).await,
        Err(StoreError::Conflict)
    ));
    let again = account("bob@acme.com");
    store.create_account(&again).await.unwrap();
    assert_eq!(
        store
            .user_by_email("bob@acme.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        again.user.id
    );
    assert_eq!(
        store.members(&a.organization.id).await.unwrap().len(),
        2,
        "the removed member stays listed"
    );
    // The last owner is never removed, whoever asks.
    let mut last = a.user.clone();
    last.deleted_at = Some(6);
    last.status = UserStatus::Inactive;
    last.version += 1;
    // (The caller is someone else: the service never lets a member remove itself.)
    let taking_the_last = MemberRemoval {
        updated: last,
        owner_delta: -1,
        caller_id: again.user.id.clone(),
        caller_version: again.user.version,
    };
    assert!(matches!(
        store.remove_member(&taking_the_last).await,
        Err(StoreError::LastOwner)
    ));
    assert_eq!(store.user(&a.user.id).await.unwrap(), Some(a.user.clone()));
    assert!(store.user_by_email("ada@acme.com").await.unwrap().is_some());
}

async fn organization_edits_are_versioned_and_keep_the_owner_count(store: Arc<dyn Store>) {
    let a = account("ada@acme.com");
    store.create_account(&a).await.unwrap();
    let mut edit = a.organization.clone();
    edit.name = "Acme Ltd".into();
    edit.mfa_enforced = true;
    edit.version = 1;
    store.update_organization(&edit).await.unwrap();
    assert_eq!(
        store.organization(&edit.id).await.unwrap(),
        Some(edit.clone())
    );
    assert!(
        matches!(
            store.update_organization(&edit).await,
            Err(StoreError::Conflict)
        ),
        "a stale version"
    );
    // The owner count moved since read: refused, the count kept.
    second_owner(&store, &a, "bob@acme.com").await;
    let mut stale = edit.clone();
    stale.version = 2;
    assert!(matches!(
        store.update_organization(&stale).await,
        Err(StoreError::Conflict)
    ));
    let stored = store.organization(&edit.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.owner_count, stored.version, stored.name.as_str()),
        (2, 1, "Acme Ltd")
    );
    stale.owner_count = 2;
    store.update_organization(&stale).await.unwrap();
    assert_eq!(store.organization(&edit.id).await.unwrap(), Some(stale));
}

async fn settings_are_written_over_the_version_read(store: Arc<dyn Store>) {
    let owner = SettingsOwner::User("u1");
    let org = SettingsOwner::Organization("u1");
    assert_eq!(store.settings(owner).await.unwrap(), None);
    let values = |v: serde_json::Value| v.as_object().unwrap().clone();
    let first = Settings {
        values: values(serde_json::json!({"n": 1.5, "e": "", "z": null})),
        version: 1,
    };
    store.put_settings(owner, &first).await.unwrap();
    assert_eq!(
        store.settings(owner).await.unwrap(),
        Some(first.clone()),
        "kept exactly"
    );
    assert!(
        matches!(
            store.put_settings(owner, &first).await,
            Err(StoreError::Conflict)
        ),
        "version 1 only once"
    );
    let skipping = Settings {
        values: values(serde_json::json!({})),
        version: 3,
    };
    assert!(matches!(
        store.put_settings(owner, &skipping).await,
        Err(StoreError::Conflict)
    ));
    let second = Settings {
        values: values(serde_json::json!({"k": [1, 2]})),
        version: 2,
    };
    store.put_settings(owner, &second).await.unwrap();
    assert_eq!(store.settings(owner).await.unwrap(), Some(second));
    assert_eq!(
        store.settings(org).await.unwrap(),
        None,
        "an organization's are its own"
    );
}
