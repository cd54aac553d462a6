//! Local mail delivery: the mailer's own code (`accounts::mail::deliver`)
//! run in-process, every mail written as an `.eml` file (open it in any
//! mail client) under `<data dir>/outbox/`, with one log line naming the
//! recipient and the kind of link. The token is in the file, never in the log.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use accounts::App;
use accounts::mail::deliver::{MailSender, Mailer, SendError};
use accounts::mail::render::{RenderedMail, Renderer};
use async_trait::async_trait;
use lettre::Message;
use lettre::message::MultiPart;

/// How often the outbox is looked at.
const POLL: Duration = Duration::from_millis(200);

pub struct EmlWriter {
    dir: PathBuf,
    from: String,
}

impl EmlWriter {
    pub fn new(dir: PathBuf, from: &str) -> EmlWriter {
        EmlWriter {
            dir,
            from: from.to_owned(),
        }
    }

    fn message(&self, mail: &RenderedMail) -> Result<Vec<u8>, SendError> {
        let invalid = |what: &str| SendError(format!("invalid {what} address"));
        let message = Message::builder()
            .from(self.from.parse().map_err(|_| invalid("sender"))?)
            .to(mail.to.parse().map_err(|_| invalid("recipient"))?)
            .subject(&mail.subject)
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| SendError(format!("cannot build the message: {e}")))?;
        Ok(message.formatted())
    }
}

#[async_trait]
impl MailSender for EmlWriter {
    async fn send(&self, mail: &RenderedMail) -> Result<(), SendError> {
        let bytes = self.message(mail)?;
        let name = format!(
            "{}-{}.eml",
            accounts::clock::Clock::now(&accounts::clock::SystemClock),
            uuid::Uuid::new_v4().simple()
        );
        let failed = |e: std::io::Error| SendError(format!("cannot write the mail: {e}"));
        tokio::fs::create_dir_all(&self.dir).await.map_err(failed)?;
        // Written aside and renamed: a reader never sees half a mail.
        let partial = self.dir.join(format!(".{name}.partial"));
        tokio::fs::write(&partial, bytes).await.map_err(failed)?;
        let path = self.dir.join(&name);
        tokio::fs::rename(&partial, &path).await.map_err(failed)?;
        tracing::info!(event = "mail", to = %mail.to, subject = %mail.subject, file = %path.display(), "mail written");
        Ok(())
    }
}

/// Delivers the outbox of `app`'s store into `dir`, in the background,
/// for as long as the process runs.
pub fn spawn_mailer(app: &App, dir: PathBuf) -> Result<(), String> {
    let renderer = Renderer::new(&app.config.mail.app_url).map_err(|e| e.to_string())?;
    let sender = Arc::new(EmlWriter::new(dir, &app.config.mail.from));
    let mailer = Mailer::new(
        Arc::clone(&app.store),
        sender,
        renderer,
        Arc::clone(&app.clock),
    );
    tokio::spawn(async move {
        loop {
            if let Err(error) = mailer.deliver_pending().await {
                tracing::warn!(%error, "outbox not readable; trying again");
            }
            tokio::time::sleep(POLL).await;
        }
    });
    Ok(())
}
