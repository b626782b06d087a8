//! A real SMTP exchange with a tiny in-test server: EHLO, optional AUTH,
//! MAIL FROM, RCPT TO, DATA, QUIT.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use homeostat_notify::{DeliveryError, Notifier, Smarthost, Target};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::fixtures::{firing, retrier};
use crate::golden::email_target;

/// One accepted message, as the server saw it.
#[derive(Debug, Clone, Default)]
struct Received {
    helo: String,
    auth: Option<String>,
    from: String,
    rcpt: Vec<String>,
    data: String,
}

#[derive(Clone, Default)]
struct Server {
    received: Arc<Mutex<Vec<Received>>>,
    /// Replies to MAIL FROM, one per connection, before the server accepts.
    mail_replies: Arc<Mutex<Vec<&'static str>>>,
}

async fn start(mail_replies: Vec<&'static str>) -> (Smarthost, Server) {
    let server = Server::default();
    *server.mail_replies.lock().unwrap() = mail_replies;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let s = server.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let s = s.clone();
            tokio::spawn(async move { session(sock, s).await });
        }
    });
    let host = Smarthost {
        host: "127.0.0.1".into(),
        port,
    };
    (host, server)
}

async fn session(sock: TcpStream, server: Server) -> std::io::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut lines = BufReader::new(r).lines();
    let mut msg = Received::default();
    w.write_all(b"220 test.local ESMTP ready\r\n").await?;
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            msg.helo = line[5..].to_string();
            w.write_all(b"250-test.local\r\n250-8BITMIME\r\n250 AUTH PLAIN\r\n")
                .await?;
        } else if upper.starts_with("AUTH") {
            msg.auth = Some(line[5..].to_string());
            w.write_all(b"235 2.7.0 accepted\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            let reply = {
                let mut replies = server.mail_replies.lock().unwrap();
                (!replies.is_empty()).then(|| replies.remove(0))
            };
            if let Some(reply) = reply {
                w.write_all(format!("{reply}\r\n").as_bytes()).await?;
                continue;
            }
            msg.from = line[10..].to_string();
            w.write_all(b"250 ok\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            msg.rcpt.push(line[8..].to_string());
            w.write_all(b"250 ok\r\n").await?;
        } else if upper == "DATA" {
            w.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            while let Some(l) = lines.next_line().await? {
                if l == "." {
                    break;
                }
                // Undo dot-stuffing.
                let l = l
                    .strip_prefix('.')
                    .filter(|_| l.starts_with(".."))
                    .unwrap_or(&l);
                msg.data.push_str(l);
                msg.data.push_str("\r\n");
            }
            server.received.lock().unwrap().push(msg.clone());
            w.write_all(b"250 queued\r\n").await?;
        } else if upper == "QUIT" {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            w.write_all(b"250 ok\r\n").await?;
        } else {
            w.write_all(b"502 command not implemented\r\n").await?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn delivers_a_multipart_message_over_plain_smtp() {
    let (host, server) = start(vec![]).await;
    let (retrier, _sleeper) = retrier(Duration::from_secs(30));
    let notifier = Notifier::new(retrier).unwrap();
    let out = notifier
        .deliver(&Target::Email(email_target(host)), &firing())
        .await;
    assert!(out.delivered, "{out:?}");
    assert_eq!(out.attempts, 1);
    let received = server.received.lock().unwrap();
    assert_eq!(received.len(), 1);
    let m = &received[0];
    assert_eq!(m.helo, "homeostat.test");
    assert_eq!(m.auth, None);
    assert_eq!(m.from, "<homeostat@example.org>");
    assert_eq!(m.rcpt, ["<oncall@example.org>", "<api@example.org>"]);
    assert!(
        m.data
            .contains("Subject: [FIRING:2] HighLatency api (prod warning)\r\n")
    );
    assert!(m.data.contains("Content-Type: multipart/alternative;"));
    assert!(m.data.contains("Content-Type: text/plain; charset=utf-8"));
    assert!(m.data.contains("Content-Type: text/html; charset=utf-8"));
    // The date comes from the injected clock, not the wall clock.
    assert!(m.data.contains("Date: Sat, 14 Mar 2026 10:05:00 +0000\r\n"));
}

#[tokio::test]
async fn authenticates_when_configured() {
    let (host, server) = start(vec![]).await;
    let mut target = email_target(host);
    target.auth_username = Some("alice".into());
    target.auth_password = Some("s3cret".into());
    assert!(!format!("{target:?}").contains("s3cret"));
    let (retrier, _sleeper) = retrier(Duration::from_secs(30));
    let out = Notifier::new(retrier)
        .unwrap()
        .deliver(&Target::Email(target), &firing())
        .await;
    assert!(out.delivered, "{out:?}");
    // AUTH PLAIN base64("\0alice\0s3cret")
    assert_eq!(
        server.received.lock().unwrap()[0].auth.as_deref(),
        Some("PLAIN AGFsaWNlAHMzY3JldA==")
    );
}

#[tokio::test]
async fn transient_refusal_is_retried_permanent_is_not() {
    let (host, server) = start(vec!["451 4.3.0 try again later"]).await;
    let (retrier, sleeper) = retrier(Duration::from_secs(30));
    let notifier = Notifier::new(retrier).unwrap();
    let out = notifier
        .deliver(&Target::Email(email_target(host)), &firing())
        .await;
    assert!(out.delivered, "{out:?}");
    assert_eq!(out.attempts, 2);
    assert_eq!(sleeper.slept.lock().unwrap().len(), 1);
    assert_eq!(server.received.lock().unwrap().len(), 1);

    let (host, server) = start(vec!["550 5.7.1 relaying denied"]).await;
    let out = notifier
        .deliver(&Target::Email(email_target(host)), &firing())
        .await;
    assert!(!out.delivered);
    assert_eq!(out.attempts, 1);
    assert!(
        matches!(&out.last_error, Some(DeliveryError::Smtp { permanent: true, message }) if message.contains("relaying denied")),
        "{out:?}"
    );
    assert!(server.received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn require_tls_fails_against_a_server_without_starttls() {
    let (host, server) = start(vec![]).await;
    let mut target = email_target(host);
    target.require_tls = true;
    let (retrier, _sleeper) = retrier(Duration::from_secs(1));
    let out = Notifier::new(retrier)
        .unwrap()
        .deliver(&Target::Email(target), &firing())
        .await;
    assert!(!out.delivered, "{out:?}");
    assert!(
        matches!(&out.last_error, Some(DeliveryError::Connection(m)) if m.contains("STARTTLS")),
        "{out:?}"
    );
    assert!(server.received.lock().unwrap().is_empty());
}
