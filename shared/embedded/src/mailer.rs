//! The `Mailer` port as an outbox folder: each email becomes one `.eml` file a person can open.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use base64::Engine;
use chrono::Utc;
use trickle_app::ports::{Email, MailError, Mailer};

#[derive(Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
}

impl OutboxMailer {
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        let dir = data_dir.join("outbox");
        crate::private_files::create_dir(&dir)?;
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The emails in the outbox of `data_dir`, oldest first (file names start with the time).
    pub fn sent(data_dir: &Path) -> std::io::Result<Vec<String>> {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(data_dir.join("outbox")) {
            Ok(dir) => dir.filter_map(Result::ok).map(|e| e.path()).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        files.retain(|f| f.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files.iter().map(std::fs::read_to_string).collect()
    }
}

/// RFC 2047 encoding for a header that is not plain ASCII.
fn header_text(text: &str) -> String {
    if text.is_ascii() {
        text.to_string()
    } else {
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(text)
        )
    }
}

pub(crate) fn render(email: &Email, id: &str, at: chrono::DateTime<Utc>) -> String {
    let body = email.text.replace("\r\n", "\n").replace('\n', "\r\n");
    format!(
        "Message-ID: <{id}@trickle.local>\r\nDate: {}\r\nFrom: {}\r\nTo: {}\r\nSubject: {}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        at.to_rfc2822(),
        email.from,
        email.to.join(", "),
        header_text(&email.subject),
    )
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        email.check()?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = Utc::now();
        let name = format!("{}-{id}.eml", now.format("%Y%m%dT%H%M%S%.3fZ"));
        let temp = self.dir.join(format!(".{name}.partial"));
        let text = render(email, &id, now);
        let unavailable = |e: std::io::Error| MailError::Unavailable(e.to_string());
        tokio::fs::write(&temp, text).await.map_err(unavailable)?;
        tokio::fs::rename(&temp, self.dir.join(name))
            .await
            .map_err(unavailable)?;
        Ok(id)
    }
}
