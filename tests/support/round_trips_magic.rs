//! `MAGIC_LINK`'s part of tests/round_trips.rs (included there with
//! `#[path]`): an activation mailed and opened, a sign-in link mailed and
//! spent, and an enrollment by link.

use accounts::model::mail::MailKind;
use accounts_tests::mfa::{
    activate_link, enrolling_by_link, mailed_link, send_link, setup_link, verify_login_with_link,
};
use accounts_tests::round_trips::{RoundTrips, Tally};
use accounts_tests::*;

use super::measure;

pub(super) async fn magic_link(
    t: &TestApp,
    counter: &RoundTrips,
    rows: &mut Vec<(&str, Tally, usize)>,
) {
    let lia = t.owner("lia@acme.com").await;
    let token = lia.access_token.as_str();
    let setup = measure(counter, 200, setup_link(t, token)).await;
    // The caller with its MFA state (one read); the record (the link's
    // hash) and the mail in one transaction.
    rows.push(("POST /mfa/setup (MAGIC_LINK)", setup, 2));
    let link = mailed_link(t, "lia@acme.com", MailKind::MfaActivation).await;
    let activated = measure(counter, 200, activate_link(t, token, &link)).await;
    // verify-setup's: the read, the token counted, the record and user's
    // transaction, the session stamped alongside the count's clearing.
    rows.push(("POST /mfa/magic-link/activate", activated, 4));
    let pending = t.login("lia@acme.com", PASSWORD).await.str("accessToken");
    let sent = measure(counter, 200, send_link(t, &pending)).await;
    rows.push(("POST /mfa/magic-link/send", sent, 2));
    let link = mailed_link(t, "lia@acme.com", MailKind::MagicLink).await;
    let signed_in = measure(counter, 200, verify_login_with_link(t, &pending, &link)).await;
    // As with a code: the read, the token counted, the link spent in the
    // session's own transaction.
    rows.push(("POST /mfa/verify-login (MAGIC_LINK)", signed_in, 3));

    // The owner's session passed MFA at activation: it manages on.
    let (enrolling, link) = enrolling_by_link(t, &lia, "zoe@acme.com").await;
    let enrolled = measure(counter, 200, activate_link(t, &enrolling, &link)).await;
    // The read, the token counted, the record, user and new session in one
    // transaction (the count cleared and the session cap's query alongside).
    rows.push(("POST /mfa/magic-link/activate (an enrollment)", enrolled, 3));
}
