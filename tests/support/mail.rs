//! Mail in tests: the service's own delivery loop, sending into a list the
//! test reads (or failing, on demand), and the token read back from a
//! mail's plain-text link, as a person would click it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use accounts::mail::deliver::{MailSender, Mailer, SendError};
use accounts::mail::render::{RenderedMail, Renderer};
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

impl TestApp {
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
