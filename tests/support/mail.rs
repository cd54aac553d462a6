//! Mail in tests: the service's own delivery loop, sending into a list the
//! test reads (or failing, on demand), and the token read back from a
//! mail's plain-text link, as a person would click it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use accounts::mail::deliver::{MailSender, Mailer, SendError};
use accounts::mail::render::{RenderedMail, Renderer};
use accounts::store::Store;
use async_trait::async_trait;

use crate::TestApp;

/// Every mail "sent", in order.
#[derive(Default)]
pub struct Inbox {
    sent: Mutex<Vec<RenderedMail>>,
    /// While set, every send fails (a provider outage).
    pub down: AtomicBool,
}

impl Inbox {
    pub fn mails(&self) -> Vec<RenderedMail> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait]
impl MailSender for Inbox {
    async fn send(&self, mail: &RenderedMail) -> Result<(), SendError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(SendError("provider down".into()));
        }
        self.sent.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

pub struct TestMailer {
    pub inbox: Arc<Inbox>,
    pub mailer: Mailer,
}

impl TestMailer {
    /// Delivers every unsent outbox record; returns the mails sent now.
    pub async fn deliver(&self) -> Vec<RenderedMail> {
        let before = self.inbox.mails().len();
        self.mailer
            .deliver_pending()
            .await
            .expect("outbox readable");
        self.inbox.mails()[before..].to_vec()
    }
}

/// The mailer as it runs on AWS: its own store client, handed the new
/// outbox records one by one as the table's stream hands them over (it
/// never lists the outbox: the app's store does that here, for it).
pub struct StreamMailer {
    listing: Arc<dyn Store>,
    mailer: TestMailer,
}

impl StreamMailer {
    /// Delivers every unsent outbox record; returns the mails sent now.
    pub async fn deliver(&self) -> Vec<RenderedMail> {
        let before = self.mailer.inbox.mails().len();
        let outbox = self.listing.outbox().await.expect("outbox readable");
        for mail in outbox.iter().filter(|m| m.sent_at.is_none()) {
            self.mailer
                .mailer
                .deliver(&mail.id)
                .await
                .expect("delivered");
        }
        self.mailer.inbox.mails()[before..].to_vec()
    }
}

impl TestApp {
    /// A mailer like [`TestApp::mailer`] whose store requests go through
    /// `store` (the same table, another client).
    pub fn stream_mailer(&self, store: Arc<dyn Store>) -> StreamMailer {
        let inbox = Arc::new(Inbox::default());
        let renderer = Renderer::new(&self.app.config.mail.app_url).expect("templates");
        let mailer = Mailer::new(store, inbox.clone(), renderer, self.clock.clone());
        StreamMailer {
            listing: Arc::clone(&self.store),
            mailer: TestMailer { inbox, mailer },
        }
    }

    /// A mailer over this app's store, clock and `APP_URL`.
    pub fn mailer(&self) -> TestMailer {
        let inbox = Arc::new(Inbox::default());
        let renderer = Renderer::new(&self.app.config.mail.app_url).expect("templates");
        let mailer = Mailer::new(
            Arc::clone(&self.store),
            inbox.clone(),
            renderer,
            self.clock.clone(),
        );
        TestMailer { inbox, mailer }
    }
}

/// The token of the link to `{app_url}/{page}?token=` in the mail's plain
/// text part; panics without one.
pub fn link_token(mail: &RenderedMail, app_url: &str, page: &str) -> String {
    let prefix = format!("{app_url}/{page}?token=");
    let start = mail
        .text
        .find(&prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {}", mail.text))
        + prefix.len();
    mail.text[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}
