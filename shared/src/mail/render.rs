//! Mails rendered from the templates in `shared/templates/mail/`: a
//! subject, a plain-text part that holds the link as is, and an HTML part
//! in which every value (names above all: anyone chooses their own) is
//! escaped.

use minijinja::{AutoEscape, Environment, Value, context};

use crate::model::mail::{MailKind, OutboxMail};

/// A mail ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    pub kind: MailKind,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A record sent already: its token is erased.
    #[error("the mail has no token to link")]
    NoToken,
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
}

const TEMPLATES: &[(&str, &str)] = &[
    (
        "verification.subject.txt",
        include_str!("../../templates/mail/verification.subject.txt"),
    ),
    (
        "verification.txt",
        include_str!("../../templates/mail/verification.txt"),
    ),
    (
        "verification.html",
        include_str!("../../templates/mail/verification.html"),
    ),
    (
        "invitation.subject.txt",
        include_str!("../../templates/mail/invitation.subject.txt"),
    ),
    (
        "invitation.txt",
        include_str!("../../templates/mail/invitation.txt"),
    ),
    (
        "invitation.html",
        include_str!("../../templates/mail/invitation.html"),
    ),
    (
        "reset.subject.txt",
        include_str!("../../templates/mail/reset.subject.txt"),
    ),
    ("reset.txt", include_str!("../../templates/mail/reset.txt")),
    (
        "reset.html",
        include_str!("../../templates/mail/reset.html"),
    ),
    (
        "mfa-activation.subject.txt",
        include_str!("../../templates/mail/mfa-activation.subject.txt"),
    ),
    (
        "mfa-activation.txt",
        include_str!("../../templates/mail/mfa-activation.txt"),
    ),
    (
        "mfa-activation.html",
        include_str!("../../templates/mail/mfa-activation.html"),
    ),
    (
        "magic-link.subject.txt",
        include_str!("../../templates/mail/magic-link.subject.txt"),
    ),
    (
        "magic-link.txt",
        include_str!("../../templates/mail/magic-link.txt"),
    ),
    (
        "magic-link.html",
        include_str!("../../templates/mail/magic-link.html"),
    ),
];

/// A name as plain text that no mail client turns into a link: anyone
/// chooses their own name (and their organization's), and a mail from the
/// service's own address must not carry someone's `evil.example`. Dots
/// become ONE DOT LEADER (U+2024), which looks the same and ends no host.
fn plain(name: &str) -> String {
    name.replace('.', "\u{2024}")
}

pub struct Renderer {
    env: Environment<'static>,
    app_url: String,
}

impl Renderer {
    /// `app_url`: the web app the links open, without a trailing slash.
    pub fn new(app_url: &str) -> Result<Renderer, RenderError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Renderer {
            env,
            app_url: app_url.trim_end_matches('/').to_owned(),
        })
    }

    /// The link a mail carries: `{APP_URL}/verify-email?token=T` or
    /// `{APP_URL}/reset-password?token=T`.
    pub fn link(&self, kind: MailKind, token: &str) -> String {
        format!("{}/{}?token={token}", self.app_url, kind.page())
    }

    pub fn render(&self, mail: &OutboxMail) -> Result<RenderedMail, RenderError> {
        let token = mail.token.as_deref().ok_or(RenderError::NoToken)?;
        let values = context! {
            name => plain(&mail.recipient_name),
            org_name => plain(mail.org_name.as_deref().unwrap_or_default()),
            // Not escaped: `/` would become `&#x2f;` and the plain link
            // in the HTML part would differ from the text part's. It holds
            // nothing to escape: APP_URL is checked at start (no quotes,
            // angle brackets or ampersands) and the token is base64url.
            link => Value::from_safe_string(self.link(mail.kind, token)),
        };
        let part = |suffix: &str| {
            self.env
                .get_template(&format!("{}.{suffix}", mail.kind.name()))
                .and_then(|t| t.render(&values))
        };
        Ok(RenderedMail {
            kind: mail.kind,
            to: mail.to.clone(),
            // A subject is one line, whatever a name holds.
            subject: part("subject.txt")?.replace(['\r', '\n'], " "),
            text: part("txt")?,
            html: part("html")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(kind: MailKind, name: &str, org: Option<&str>) -> OutboxMail {
        OutboxMail {
            id: "m1".into(),
            kind,
            to: "ada@acme.com".into(),
            recipient_name: name.into(),
            org_name: org.map(str::to_owned),
            token: Some("TOKEN_abc-123".into()),
            created_at: 0,
            expires_at: 1,
            sent_at: None,
            claimed_until: None,
        }
    }

    #[test]
    fn every_part_carries_the_link_and_html_escapes_names() {
        let r = Renderer::new("https://app.example.com/").unwrap();
        let evil = "<script>alert(1)</script> & \"Co\"";
        let m = r
            .render(&mail(MailKind::Invitation, evil, Some(evil)))
            .unwrap();
        let link = "https://app.example.com/verify-email?token=TOKEN_abc-123";
        assert!(m.text.contains(link), "{}", m.text);
        assert!(m.html.contains(link), "{}", m.html);
        assert!(m.text.contains(evil), "plain text is not HTML");
        assert!(!m.html.contains("<script>"), "{}", m.html);
        assert!(m.html.contains("&lt;script&gt;"), "{}", m.html);
        assert_eq!(m.subject, "You have been invited to join an organization");
        assert_eq!(m.to, "ada@acme.com");
    }

    #[test]
    fn names_never_become_links() {
        let r = Renderer::new("https://app.example.com").unwrap();
        let org = "Locked! Go to https://evil.example/login";
        let m = r
            .render(&mail(MailKind::Invitation, "www.evil.example", Some(org)))
            .unwrap();
        for part in [&m.subject, &m.text, &m.html] {
            assert!(!part.contains("evil.example"), "{part}");
        }
        assert!(m.text.contains("evil\u{2024}example"), "{}", m.text);
    }

    #[test]
    fn reset_links_open_the_reset_page() {
        let r = Renderer::new("http://localhost:5173").unwrap();
        let m = r.render(&mail(MailKind::Reset, "", None)).unwrap();
        assert!(
            m.text
                .contains("http://localhost:5173/reset-password?token=TOKEN_abc-123")
        );
        assert_eq!(m.subject, "Reset your password");
    }

    #[test]
    fn a_sent_mail_has_nothing_to_render() {
        let r = Renderer::new("http://x").unwrap();
        let mut m = mail(MailKind::Verification, "Ada", None);
        m.token = None;
        assert!(matches!(r.render(&m), Err(RenderError::NoToken)));
    }
}
