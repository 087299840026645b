//! How leases and JSON columns map to SQLite rows.

use rusqlite::Row;

use crate::model::{CredentialType, Lease, LeaseState};

pub(super) const LEASE_COLUMNS: &str = "id, mount, role, iam_user, access_key_id, state, issued_at, \
     expires_at, max_expires_at, due_at, attempts, last_error, owner, attached, kind, key_wait_ms, \
     cached_secret";

pub(super) fn lease_from_row(row: &Row<'_>) -> rusqlite::Result<Lease> {
    let state: String = row.get(5)?;
    Ok(Lease {
        id: row.get(0)?,
        mount: row.get(1)?,
        role: row.get(2)?,
        iam_user: row.get(3)?,
        access_key_id: row.get(4)?,
        state: LeaseState::parse(&state).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                5,
                rusqlite::types::Type::Text,
                format!("unknown lease state {state:?}").into(),
            )
        })?,
        issued_at: row.get(6)?,
        expires_at: row.get(7)?,
        max_expires_at: row.get(8)?,
        due_at: row.get(9)?,
        attempts: row.get(10)?,
        last_error: row.get(11)?,
        owner: row.get(12)?,
        attached: match row.get::<_, Option<String>>(13)? {
            None => None,
            Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(13, rusqlite::types::Type::Text, e.into())
            })?),
        },
        kind: {
            let kind: String = row.get(14)?;
            CredentialType::parse(&kind).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    14,
                    rusqlite::types::Type::Text,
                    format!("unknown lease kind {kind:?}").into(),
                )
            })?
        },
        key_wait_ms: row.get::<_, Option<i64>>(15)?.map(|ms| ms.max(0) as u64),
        cached_secret: row.get(16)?,
    })
}

/// The smallest string above every string that starts with `prefix`, so that a prefix match is a
/// range scan of the primary key (SQLite compares text bytewise; U+10FFFF sorts last in UTF-8).
pub(super) fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serializes")
}
