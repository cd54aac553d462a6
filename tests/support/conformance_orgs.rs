//! The store contract for organizations (tests/store_conformance.rs, which
//! runs it on both stores; included there with `#[path]`): members added
//! and removed, owner counts, invitations, the organization record and
//! settings.

use super::*;

pub(super) async fn owner_count(store: Arc<dyn Store>, org: String) -> u32 {
    store.organization(&org).await.unwrap().unwrap().owner_count
}

/// An invited owner of `a`'s organization, as `add_member` takes it.
pub(super) fn invitation(a: &NewAccount, email: &str, counts: Option<u32>) -> MemberAddition {
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

pub(super) async fn a_member_is_added_only_as_it_was_decided(store: Arc<dyn Store>) {
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

pub(super) async fn registering_over_an_invitation_withdraws_it(store: Arc<dyn Store>) {
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

pub(super) async fn status_changes_move_the_owner_count(store: Arc<dyn Store>) {
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
pub(super) async fn second_owner(store: &Arc<dyn Store>, a: &NewAccount, email: &str) -> User {
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

pub(super) async fn a_removal_releases_the_address_in_one_write(store: Arc<dyn Store>) {
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

pub(super) async fn organization_edits_are_versioned_and_keep_the_owner_count(
    store: Arc<dyn Store>,
) {
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

/// A sign-in's session is written only while its organization does not
/// enforce MFA (`MfaEnforced` otherwise, nothing written); a plain session
/// write does not look.
pub(super) async fn a_sign_in_session_waits_for_mfa_where_it_is_enforced(store: Arc<dyn Store>) {
    let a = account("ada@acme.com");
    store.create_account(&a).await.unwrap();
    let org = a.organization.id.clone();
    let before = session(&a.user.id);
    store.create_sign_in_session(&before, &org).await.unwrap();
    assert_eq!(store.session(&before.id).await.unwrap(), Some(before));
    let mut enforced = a.organization.clone();
    enforced.mfa_enforced = true;
    enforced.version = 1;
    store.update_organization(&enforced).await.unwrap();
    let refused = session(&a.user.id);
    assert!(matches!(
        store.create_sign_in_session(&refused, &org).await,
        Err(StoreError::MfaEnforced)
    ));
    assert_eq!(store.session(&refused.id).await.unwrap(), None);
    // Another organization's enforcement is not this one's.
    let b = account("bob@other.com");
    store.create_account(&b).await.unwrap();
    let elsewhere = session(&b.user.id);
    store
        .create_sign_in_session(&elsewhere, &b.organization.id)
        .await
        .unwrap();
    assert!(store.session(&elsewhere.id).await.unwrap().is_some());
}

pub(super) async fn settings_are_written_over_the_version_read(store: Arc<dyn Store>) {
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
