//! The store contract for second factors (tests/store_conformance.rs, which
//! runs it on both stores; included there with `#[path]`): a mailed link's
//! record written with its mail or not at all, and a session stamped with
//! the factor that passed.

use accounts::model::mfa::{LinkPurpose, MfaRecord, PendingLink};

use super::*;

fn link_mail(to: &str) -> OutboxMail {
    OutboxMail {
        id: uuid::Uuid::new_v4().simple().to_string(),
        kind: MailKind::MagicLink,
        to: to.into(),
        recipient_name: "Ada".into(),
        org_name: None,
        token: Some("the-link-token".into()),
        created_at: 1,
        expires_at: 1_000,
        sent_at: None,
        claimed_until: None,
    }
}

pub(super) async fn a_link_and_its_mail_are_written_together_or_not_at_all(store: Arc<dyn Store>) {
    let a = account("ada@acme.com");
    store.create_account(&a).await.unwrap();
    let mut record = MfaRecord::new(&a.user.id);
    record.pending_link = Some(PendingLink {
        hash: "hash-of-the-link".into(),
        purpose: LinkPurpose::SignIn,
        session_id: "pending-sid".into(),
        created_at: 1,
        expires_at: 300,
    });
    record.version = 1;
    let mail = link_mail("ada@acme.com");
    store.put_mfa_with_mail(&record, &mail).await.unwrap();
    let state = store.mfa_state(&a.user.id, "-").await.unwrap();
    assert_eq!(state.record.as_ref(), Some(&record));
    let outbox = store.outbox().await.unwrap();
    assert_eq!(outbox.iter().filter(|m| m.id == mail.id).count(), 1);
    assert_eq!(outbox.iter().find(|m| m.id == mail.id), Some(&mail));

    // Written at a version already taken: neither the record nor its mail.
    let mut stale = record.clone();
    stale.pending_link.as_mut().unwrap().hash = "another-link".into();
    let second = link_mail("ada@acme.com");
    assert!(matches!(
        store.put_mfa_with_mail(&stale, &second).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.mfa_state(&a.user.id, "-").await.unwrap().record,
        Some(record)
    );
    assert!(
        store
            .outbox()
            .await
            .unwrap()
            .iter()
            .all(|m| m.id != second.id),
        "no mail without its record"
    );
}

pub(super) async fn a_session_is_stamped_with_the_factor_that_passed(store: Arc<dyn Store>) {
    let s = session("u1");
    store.create_session(&s).await.unwrap();
    store.verify_session(&s.id, 2, 40, "mca").await.unwrap();
    let stamped = store.session(&s.id).await.unwrap().unwrap();
    assert_eq!(
        (stamped.epoch, stamped.mfa_at, stamped.mfa_amr.as_deref()),
        (2, Some(40), Some("mca"))
    );
    assert_eq!(stamped.amr().last(), Some(&"mca"));
    store.revoke_session(&s.id).await.unwrap();
    assert!(matches!(
        store.verify_session(&s.id, 3, 41, "otp").await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store
            .session(&s.id)
            .await
            .unwrap()
            .unwrap()
            .mfa_amr
            .as_deref(),
        Some("mca")
    );
}
