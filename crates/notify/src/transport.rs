//! Putting a built payload on the wire: one HTTP POST or one SMTP
//! transaction per attempt. Retrying is `retry.rs`'s job.

use std::time::Duration;

use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncTransport, Message, Tokio1Executor};

use crate::error::{DeliveryError, first_chars};
use crate::target::EmailTarget;

/// How much of an error answer is quoted back.
const BODY_QUOTE_CHARS: usize = 200;
/// SMTPS: TLS from the first byte rather than STARTTLS.
const SMTPS_PORT: u16 = 465;

/// A payload ready to go: built once, sent by every attempt unchanged.
#[derive(Clone)]
pub enum Request {
    Http {
        url: String,
        body: Vec<u8>,
        timeout: Duration,
    },
    Email {
        target: EmailTarget,
        message: Box<Message>,
    },
}

// The URL may carry a token (Slack) and the body a routing key (PagerDuty).
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Http { body, timeout, .. } => f
                .debug_struct("Http")
                .field("body_bytes", &body.len())
                .field("timeout", timeout)
                .finish_non_exhaustive(),
            Request::Email { target, .. } => f
                .debug_struct("Email")
                .field("target", target)
                .finish_non_exhaustive(),
        }
    }
}

/// The shared clients. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Transport {
    http: reqwest::Client,
}

impl Transport {
    pub fn new() -> Result<Self, DeliveryError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("homeostat/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DeliveryError::Connection(format!("build http client: {e}")))?;
        Ok(Self { http })
    }

    /// One attempt; the HTTP status of a successful POST.
    pub async fn send(&self, req: &Request) -> Result<Option<u16>, DeliveryError> {
        match req {
            Request::Http { url, body, timeout } => {
                self.post(url, body.clone(), *timeout).await.map(Some)
            }
            Request::Email { target, message } => send_email(target, message).await.map(|()| None),
        }
    }

    async fn post(
        &self,
        url: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<u16, DeliveryError> {
        let resp = self
            .http
            .post(url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            // Without the URL: its path or query may be a secret.
            .map_err(|e| DeliveryError::Connection(describe_reqwest(&e.without_url())))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let retry_after_secs = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        // The body only explains the failure; not being able to read it
        // must not hide the status.
        let text = resp.text().await.unwrap_or_default();
        Err(DeliveryError::Status {
            status: status.as_u16(),
            body: first_chars(scrub_url(text.trim(), url).trim(), BODY_QUOTE_CHARS),
            retry_after_secs,
        })
    }
}

/// `body` without `url`'s path and query: a receiver that echoes the
/// request ("no hook at /hooks/KEY") must not put the key in a log line.
fn scrub_url(body: &str, url: &str) -> String {
    let secret = match reqwest::Url::parse(url) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
        Err(_) => url.to_string(),
    };
    if secret.len() <= 1 {
        return body.to_string();
    }
    body.replace(url, homeostat_model::SECRET_MASK)
        .replace(&secret, homeostat_model::SECRET_MASK)
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    // reqwest's Display omits the cause ("error sending request"); the
    // source chain says what actually happened.
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

async fn send_email(target: &EmailTarget, message: &Message) -> Result<(), DeliveryError> {
    let host = target.smarthost.host.as_str();
    let tls_err = |e: lettre::transport::smtp::Error| {
        DeliveryError::Connection(format!("smtp tls setup: {e}"))
    };
    let builder = if target.smarthost.port == SMTPS_PORT {
        AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(tls_err)?
    } else if target.require_tls {
        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(tls_err)?
    } else {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
    };
    let mut builder = builder
        .port(target.smarthost.port)
        .timeout(Some(target.timeout))
        .hello_name(ClientId::Domain(target.hello.clone()));
    if let (Some(user), Some(pass)) = (&target.auth_username, &target.auth_password) {
        builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
    }
    let transport = builder.build();
    // The whole transaction is bounded too: lettre's timeout is per read.
    let sent = tokio::time::timeout(target.timeout * 3, transport.send(message.clone())).await;
    match sent {
        Err(_) => Err(DeliveryError::Connection(format!(
            "smtp {}: timed out",
            target.smarthost
        ))),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.is_permanent() => Err(DeliveryError::Smtp {
            permanent: true,
            message: first_chars(&e.to_string(), BODY_QUOTE_CHARS),
        }),
        Ok(Err(e)) if e.is_transient() => Err(DeliveryError::Smtp {
            permanent: false,
            message: first_chars(&e.to_string(), BODY_QUOTE_CHARS),
        }),
        Ok(Err(e)) => Err(DeliveryError::Connection(format!(
            "smtp {}: {e}",
            target.smarthost
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_url_paths_are_scrubbed_from_answers() {
        let url = "http://127.0.0.1:9/hooks/KEY?t=TOKEN";
        assert_eq!(
            scrub_url("no hook at /hooks/KEY?t=TOKEN", url),
            "no hook at <secret>"
        );
        assert_eq!(
            scrub_url("bad: http://127.0.0.1:9/hooks/KEY?t=TOKEN", url),
            "bad: <secret>"
        );
        assert_eq!(scrub_url("down / for now", "http://h/"), "down / for now");
    }
}
