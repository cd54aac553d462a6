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
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, MultiPart, SinglePart};

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
            // 8bit, not quoted-printable: the plain text holds the link as
            // is, with no soft line break inside it.
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, &mail.text)?)
                    .singlepart(part(ContentType::TEXT_HTML, &mail.html)?),
            )
            .map_err(|e| SendError(format!("cannot build the message: {e}")))?;
        Ok(message.formatted())
    }
}

/// RFC 5322's limit on a line, CRLF excluded.
const MAX_LINE: usize = 998;

/// One 8bit part, CRLF line ends. lettre would choose quoted-printable for
/// lines over 76 characters (the link's), and that breaks the link with soft
/// line breaks; 8bit allows lines up to 998, checked here.
fn part(content_type: ContentType, text: &str) -> Result<SinglePart, SendError> {
    let normalized = text.replace("\r\n", "\n");
    if normalized.contains('\0') || normalized.lines().any(|l| l.len() > MAX_LINE) {
        return Err(SendError(
            "a line too long (or a NUL) for an 8bit part".into(),
        ));
    }
    let body = Body::dangerous_pre_encoded(
        normalized.replace('\n', "\r\n").into_bytes(),
        ContentTransferEncoding::EightBit,
    );
    Ok(SinglePart::builder().header(content_type).body(body))
}

#[async_trait]
impl MailSender for EmlWriter {
    async fn send(&self, mail: &RenderedMail) -> Result<(), SendError> {
        let bytes = self.message(mail)?;
        // Names sort in the order the mails were written.
        let written = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let name = format!("{written:020}-{}.eml", uuid::Uuid::new_v4().simple());
        let failed = |e: std::io::Error| SendError(format!("cannot write the mail: {e}"));
        tokio::fs::create_dir_all(&self.dir).await.map_err(failed)?;
        // Written aside and renamed: a reader never sees half a mail.
        let partial = self.dir.join(format!(".{name}.partial"));
        tokio::fs::write(&partial, bytes).await.map_err(failed)?;
        let path = self.dir.join(&name);
        tokio::fs::rename(&partial, &path).await.map_err(failed)?;
        // The recipient and the kind of link, never the link: the token is
        // in the file only.
        tracing::info!(event = "mail", to = %mail.to, kind = mail.kind.name(), file = %path.display(), "mail written");
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
