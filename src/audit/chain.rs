//! The chain that makes a log tamper-evident: each entry names the HMAC of the one before it
//! (`prev`) and ends with its own (`hmac`, over the exact bytes before it).

use std::io::BufRead;

use serde_json::Value;

use super::{hex, mac};
use crate::seal::SecretKey;

const HMAC_FIELD: &str = ",\"hmac\":\"";

/// The line for `entry` (with its newline) after the entry whose HMAC is `prev`, and its HMAC.
pub(super) fn seal_entry(key: &SecretKey, mut entry: Value, prev: &str) -> (String, String) {
    if let Value::Object(map) = &mut entry {
        map.insert("prev".into(), Value::String(prev.to_string()));
    }
    let body = entry.to_string();
    let hmac = hex(&mac(key, body.as_bytes()));
    let line = format!("{}{HMAC_FIELD}{hmac}\"}}\n", &body[..body.len() - 1]);
    (line, hmac)
}

/// The body an entry's HMAC covers, and the HMAC it claims.
fn split(line: &str) -> Option<(String, &str)> {
    let at = line.rfind(HMAC_FIELD)?;
    let claimed = line[at + HMAC_FIELD.len()..].strip_suffix("\"}")?;
    Some((format!("{}}}", &line[..at]), claimed))
}

/// The HMAC an entry claims, if it is an entry at all.
pub(super) fn hmac_of_line(line: &str) -> Option<String> {
    split(line).map(|(_, claimed)| claimed.to_string())
}

/// A log that checks out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub entries: usize,
}

/// The first entry (1-based) where the log stops checking out, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("entry {entry} was changed, or inserted: its HMAC does not match")]
    Changed { entry: usize },
    #[error(
        "entry {entry} does not follow the entry before it: an entry was removed or inserted there"
    )]
    Removed { entry: usize },
    #[error("entry {entry} is not an audit entry")]
    NotAnEntry { entry: usize },
    #[error("cannot read the log: {0}")]
    Read(String),
}

/// Checks every entry of a log against `key`: each HMAC, and that each names the one before.
pub fn verify(log: impl BufRead, key: &SecretKey) -> Result<Verified, VerifyError> {
    let mut prev = String::new();
    let mut entries = 0;
    for line in log.lines() {
        let line = line.map_err(|e| VerifyError::Read(e.to_string()))?;
        let entry = entries + 1;
        let Some((body, claimed)) = split(&line) else {
            return Err(VerifyError::NotAnEntry { entry });
        };
        if hex(&mac(key, body.as_bytes())) != claimed {
            return Err(VerifyError::Changed { entry });
        }
        let named: Value =
            serde_json::from_str(&body).map_err(|_| VerifyError::NotAnEntry { entry })?;
        if named.get("prev").and_then(Value::as_str) != Some(prev.as_str()) {
            return Err(VerifyError::Removed { entry });
        }
        prev = claimed.to_string();
        entries = entry;
    }
    Ok(Verified { entries })
}
