//! Delivery: one outbox record into one sent mail, the same code on AWS
//! (the mailer function, for each record the table's stream carries) and
//! locally (`accounts-local`, for each unsent record).
//!
//! A record delivered twice (a stream retry, two mailers) sends one mail: a
//! delivery first claims the record (a conditional write), and marks it
//! sent (erasing its token) once the provider took the mail. A failed send
//! gives the claim back and reports the failure, so that the record is
//! tried again; a mailer that died mid-send leaves a claim that lapses.

use std::sync::Arc;

use async_trait::async_trait;

use super::render::{RenderError, RenderedMail, Renderer};
use crate::clock::SharedClock;
use crate::store::{Store, StoreError};

/// How long a claim holds off other mailers.
const CLAIM_SECONDS: i64 = 60;

/// Where mail goes: SES on AWS, `.eml` files locally, a list in tests.
#[async_trait]
pub trait MailSender: Send + Sync {
    /// Sends one mail. An error means it was not sent (and may be retried).
    async fn send(&self, mail: &RenderedMail) -> Result<(), SendError>;
}

#[derive(Debug, thiserror::Error)]
#[error("mail not sent: {0}")]
pub struct SendError(pub String);

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Send(#[from] SendError),
}

/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Sent already, gone, or being sent by another mailer: nothing to do.
    Skipped,
}

pub struct Mailer {
    store: Arc<dyn Store>,
    sender: Arc<dyn MailSender>,
    renderer: Renderer,
    clock: SharedClock,
}

impl Mailer {
    pub fn new(
        store: Arc<dyn Store>,
        sender: Arc<dyn MailSender>,
        renderer: Renderer,
        clock: SharedClock,
    ) -> Mailer {
        Mailer {
            store,
            sender,
            renderer,
            clock,
        }
    }

    /// Delivers outbox record `id`, at most once.
    pub async fn deliver(&self, id: &str) -> Result<Delivery, DeliveryError> {
        let now = self.clock.now();
        let Some(mail) = self.store.claim_mail(id, now, now + CLAIM_SECONDS).await? else {
            return Ok(Delivery::Skipped);
        };
        let sent = match self.renderer.render(&mail) {
            Ok(rendered) => self.sender.send(&rendered).await.map_err(Into::into),
            Err(e) => Err(DeliveryError::from(e)),
        };
        if let Err(error) = sent {
            tracing::warn!(event = "mail", outcome = "failed", mail_id = %id, kind = mail.kind.name(), %error, "mail not sent; will retry");
            self.store.release_mail(id).await?;
            return Err(error);
        }
        self.store.mark_mail_sent(id, self.clock.now()).await?;
        tracing::info!(event = "mail", outcome = "sent", mail_id = %id, kind = mail.kind.name(), "mail sent");
        Ok(Delivery::Sent)
    }

    /// Delivers every unsent record (the local server's loop); returns how
    /// many went out. A failure is logged and left for the next round.
    pub async fn deliver_pending(&self) -> Result<usize, StoreError> {
        let mut sent = 0;
        for mail in self.store.outbox().await? {
            if mail.sent_at.is_some() {
                continue;
            }
            match self.deliver(&mail.id).await {
                Ok(Delivery::Sent) => sent += 1,
                Ok(Delivery::Skipped) => {}
                Err(DeliveryError::Store(e)) => return Err(e),
                Err(_) => {}
            }
        }
        Ok(sent)
    }
}
