//! The mailer's delivery on AWS: Amazon SES v2, from `MAIL_FROM`, each
//! mail with its plain-text and HTML parts. Only the mailer function (and
//! the tests) link it: the cargo feature `mailer`.

use async_trait::async_trait;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::deliver::{MailSender, SendError};
use super::render::RenderedMail;

pub struct SesSender {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl SesSender {
    pub fn new(client: aws_sdk_sesv2::Client, from: &str) -> SesSender {
        SesSender {
            client,
            from: from.to_owned(),
        }
    }
}

fn content(text: &str) -> Result<Content, SendError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|_| SendError("invalid mail content".into()))
}

#[async_trait]
impl MailSender for SesSender {
    async fn send(&self, mail: &RenderedMail) -> Result<(), SendError> {
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .body(
                Body::builder()
                    .text(content(&mail.text)?)
                    .html(content(&mail.html)?)
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            // The code only: SES's message may quote the addresses.
            .map_err(|e| {
                SendError(format!(
                    "SES SendEmail: {}",
                    e.code().unwrap_or("no error code")
                ))
            })?;
        Ok(())
    }
}
