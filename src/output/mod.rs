//! How results look: Vault's `Key`/`Value` table, `--format json`, and `--field NAME` for scripts.
//! The engine's values become a [`Record`] (`records.rs`) or a list, and are written here to the
//! given stream (stdout); messages go elsewhere. A new output format is one arm of [`Format`].

pub mod credentials;
pub mod help;
mod records;
mod status;

pub use records::Record;
pub use status::{StatusFormat, prometheus, status, sweep_plan};

use std::io::{self, Write};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::{Error, ExpiredUser, Orphan, SealStatus, SweepReport};
use crate::model::{AuditDevice, Lease, LeaseState, Mount};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
}

/// What `read` and `write` print: a record as a table or JSON, or credentials as programs take
/// them (these only on the paths that issue credentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReadFormat {
    #[default]
    Table,
    Json,
    /// KEY=VALUE lines: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (STS),
    /// AWS_CREDENTIAL_EXPIRATION, AWS_REGION, AWS_DEFAULT_REGION, AWSCREDS_LEASE_ID
    Env,
    /// The same as `export KEY='VALUE'`, for eval in sh, bash and zsh
    Export,
    /// The AWS credential_process JSON (Version 1)
    #[value(name = "credential_process")]
    CredentialProcess,
    /// A profile section for ~/.aws/credentials (--profile-name)
    Ini,
}

impl ReadFormat {
    /// The record format, for the formats that print records.
    pub fn record(self) -> Option<Format> {
        match self {
            ReadFormat::Table => Some(Format::Table),
            ReadFormat::Json => Some(Format::Json),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub enum OutputError {
    Io(io::Error),
    Field(Error),
}

impl From<io::Error> for OutputError {
    fn from(e: io::Error) -> Self {
        OutputError::Io(e)
    }
}

pub type Result<T = ()> = std::result::Result<T, OutputError>;

/// Vault's JSON shape; the lease fields are empty/0/false where there is no lease.
#[derive(Serialize)]
struct JsonSecret<'a> {
    lease_id: &'a str,
    lease_duration: u64,
    renewable: bool,
    data: &'a Map<String, Value>,
}

/// Prints a record as a table, as JSON, or one field of it.
pub fn record(
    out: &mut dyn Write,
    secret: &Record,
    format: Format,
    field: Option<&str>,
    is_tty: bool,
) -> Result {
    let mut rows: Vec<(String, Value)> = Vec::new();
    if let Some(lease) = &secret.lease {
        rows.push(("lease_id".into(), Value::String(lease.id.clone())));
        rows.push(("lease_duration".into(), Value::from(lease.duration)));
        rows.push(("lease_renewable".into(), Value::Bool(lease.renewable)));
    }
    rows.extend(secret.data.iter().map(|(k, v)| (k.clone(), v.clone())));

    if let Some(name) = field {
        let Some((_, value)) = rows.iter().find(|(k, _)| k == name) else {
            return Err(OutputError::Field(Error::input_hint(
                format!("Field \"{name}\" not present in secret"),
                format!(
                    "fields: {}",
                    rows.iter()
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )));
        };
        // Like Vault: no trailing newline when captured by a script.
        write!(out, "{}", plain(value))?;
        if is_tty {
            writeln!(out)?;
        }
        return Ok(());
    }
    match format {
        Format::Json => {
            let lease = secret.lease.as_ref();
            let json = JsonSecret {
                lease_id: lease.map(|l| l.id.as_str()).unwrap_or(""),
                lease_duration: lease.map(|l| l.duration).unwrap_or(0),
                renewable: lease.is_some_and(|l| l.renewable),
                data: &secret.data,
            };
            json_out(out, &json)
        }
        Format::Table => {
            let rows: Vec<(String, String)> = rows
                .into_iter()
                .map(|(k, v)| {
                    let text = plain(&v);
                    (k, if text.is_empty() { "n/a".into() } else { text })
                })
                .collect();
            table(out, ("Key", "Value"), &rows)
        }
    }
}

/// Prints the keys of a list.
pub fn keys(out: &mut dyn Write, keys: &[String], format: Format) -> Result {
    match format {
        Format::Json => json_out(out, &keys),
        Format::Table => {
            writeln!(out, "Keys\n----")?;
            for key in keys {
                writeln!(out, "{key}")?;
            }
            Ok(())
        }
    }
}

pub fn mounts(out: &mut dyn Write, mounts: &[Mount], format: Format) -> Result {
    match format {
        Format::Json => {
            let map: Map<String, Value> = mounts
                .iter()
                .map(|m| {
                    let info = serde_json::json!({
                        "type": m.kind,
                        "created": timestamp(m.created_at),
                    });
                    (format!("{}/", m.path), info)
                })
                .collect();
            json_out(out, &map)
        }
        Format::Table => {
            let rows: Vec<(String, String)> = mounts
                .iter()
                .map(|m| {
                    let path = format!("{}/", m.path);
                    (path, format!("{:<8}{}", m.kind, timestamp(m.created_at)))
                })
                .collect();
            table(out, ("Path", &format!("{:<8}Created", "Type")), &rows)
        }
    }
}

/// The one-line summary of a sweep.
pub fn sweep_summary(out: &mut dyn Write, report: &SweepReport) -> Result {
    write!(
        out,
        "Swept expired leases: {} revoked, {} failed",
        report.revoked,
        report.failed.len()
    )?;
    if report.waiting > 0 {
        write!(out, ", {} waiting", report.waiting)?;
    }
    if report.throttled > 0 {
        write!(
            out,
            " ({} calls throttled by IAM and sent again)",
            report.throttled
        )?;
    }
    writeln!(out)?;
    Ok(())
}

/// `sweep`: a root key rotated on schedule.
pub fn root_rotated(out: &mut dyn Write, mount: &str, access_key: &str) -> Result {
    writeln!(
        out,
        "Rotated the root key of {mount}: new access key {access_key}"
    )?;
    Ok(())
}

/// `sweep`: a root key rotation that was cut short, finished (the new key kept) or undone (the
/// old one kept).
pub fn rotation_settled(
    out: &mut dyn Write,
    mount: &str,
    access_key: &str,
    finished: bool,
) -> Result {
    let done = if finished { "finished" } else { "undone" };
    writeln!(
        out,
        "Interrupted rotation of the root key of {mount} {done}: access key {access_key}"
    )?;
    Ok(())
}

/// A lease's state as `lease list` shows it: failing leases say so.
fn state(lease: &Lease) -> String {
    match (lease.state, lease.attempts) {
        (LeaseState::Pending, 0) => "pending".into(),
        (LeaseState::Active, 0) => "active".into(),
        (state, n) => format!("{} (failed {n}x)", state.as_str()),
    }
}

pub fn leases(out: &mut dyn Write, leases: &[Lease], format: Format) -> Result {
    match format {
        Format::Json => {
            let list: Vec<Value> = leases
                .iter()
                .map(|l| {
                    serde_json::json!({
                        "lease_id": l.id,
                        "role": l.role,
                        "iam_user": l.iam_user,
                        "issue_time": timestamp(l.issued_at),
                        "expire_time": timestamp(l.expires_at),
                        "state": l.state.as_str(),
                        "attempts": l.attempts,
                        "last_error": l.last_error,
                    })
                })
                .collect();
            json_out(out, &list)
        }
        Format::Table => {
            let header = [
                "Lease ID",
                "Role",
                "IAM user",
                "Issued",
                "Expires",
                "State",
                "Last error",
            ];
            let rows: Vec<Vec<String>> = leases
                .iter()
                .map(|l| {
                    vec![
                        l.id.clone(),
                        l.role.clone(),
                        l.iam_user.clone(),
                        timestamp(l.issued_at),
                        timestamp(l.expires_at),
                        state(l),
                        l.last_error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            columns(out, &header, &rows)
        }
    }
}

pub fn orphans(out: &mut dyn Write, orphans: &[Orphan], format: Format) -> Result {
    let status = |o: &Orphan| match &o.deleted {
        None => "no lease".to_string(),
        Some(Ok(())) => "deleted".to_string(),
        Some(Err(e)) => format!("delete failed: {e}"),
    };
    match format {
        Format::Json => {
            let list: Vec<Value> = orphans
                .iter()
                .map(|o| {
                    serde_json::json!({"mount": o.mount, "iam_user": o.iam_user, "status": status(o)})
                })
                .collect();
            json_out(out, &list)
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = orphans
                .iter()
                .map(|o| vec![o.mount.clone(), o.iam_user.clone(), status(o)])
                .collect();
            columns(out, &["Mount", "IAM user", "Status"], &rows)
        }
    }
}

/// `tidy --expired`: the users past their deadline, the database that made them and when.
pub fn expired_users(out: &mut dyn Write, users: &[ExpiredUser], format: Format) -> Result {
    let status = |o: &ExpiredUser| match &o.deleted {
        None => "expired".to_string(),
        Some(Ok(())) => "deleted".to_string(),
        Some(Err(e)) => format!("delete failed: {e}"),
    };
    match format {
        Format::Json => {
            let list: Vec<Value> = users
                .iter()
                .map(|o| {
                    serde_json::json!({
                        "mount": o.mount,
                        "iam_user": o.iam_user,
                        "db": o.db,
                        "expires_at": timestamp(o.expires_at),
                        "status": status(o),
                    })
                })
                .collect();
            json_out(out, &list)
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|o| {
                    vec![
                        o.mount.clone(),
                        o.iam_user.clone(),
                        o.db.clone(),
                        timestamp(o.expires_at),
                        status(o),
                    ]
                })
                .collect();
            columns(
                out,
                &["Mount", "IAM user", "Database", "Expired at", "Status"],
                &rows,
            )
        }
    }
}

/// `audit list`: the enabled devices and their options.
pub fn audit_devices(out: &mut dyn Write, devices: &[AuditDevice], format: Format) -> Result {
    match format {
        Format::Json => {
            let map: Map<String, Value> = devices
                .iter()
                .map(|d| {
                    let info = serde_json::json!({
                        "type": d.kind,
                        "options": d.options,
                        "created": timestamp(d.created_at),
                    });
                    (format!("{}/", d.path), info)
                })
                .collect();
            json_out(out, &map)
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = devices
                .iter()
                .map(|d| {
                    let options: Vec<String> =
                        d.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    vec![format!("{}/", d.path), d.kind.clone(), options.join(" ")]
                })
                .collect();
            columns(out, &["Path", "Type", "Options"], &rows)
        }
    }
}

/// `seal status`: no secret, only how and by what the data key is wrapped.
pub fn seal_status(out: &mut dyn Write, status: &SealStatus, format: Format) -> Result {
    match format {
        Format::Json => json_out(
            out,
            &serde_json::json!({
                "wrapping": status.wrapping,
                "key": status.key,
                "secrets": status.secrets,
            }),
        ),
        Format::Table => table(
            out,
            ("Key", "Value"),
            &[
                ("wrapping".into(), status.wrapping.into()),
                ("key".into(), status.key.clone()),
                ("secrets".into(), status.secrets.to_string()),
            ],
        ),
    }
}

/// Unix seconds as RFC 3339, UTC.
pub fn timestamp(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| secs.to_string())
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

fn json_out<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> Result {
    let text = serde_json::to_string_pretty(value).expect("plain data serializes");
    writeln!(out, "{text}")?;
    Ok(())
}

fn table(out: &mut dyn Write, header: (&str, &str), rows: &[(String, String)]) -> Result {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, v)| vec![k.clone(), v.clone()])
        .collect();
    columns(out, &[header.0, header.1], &rows)
}

/// Aligned columns, four spaces apart; the last column is not padded.
fn columns(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> Result {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| -> io::Result<()> {
        let cells: Vec<&str> = cells.collect();
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count() + 4;
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(&mut header.iter().copied())?;
    for row in rows {
        line(&mut row.iter().map(String::as_str))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::LeaseInfo;

    fn creds() -> Record {
        let mut data = Map::new();
        data.insert("access_key".into(), "AKIA1".into());
        data.insert("secret_key".into(), "s3cret".into());
        Record {
            lease: Some(LeaseInfo {
                id: "aws/creds/deploy/1".into(),
                duration: 3600,
                renewable: true,
            }),
            data,
        }
    }

    fn render(s: &Record, format: Format, field: Option<&str>, tty: bool) -> String {
        let mut out = Vec::new();
        record(&mut out, s, format, field, tty).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn table_is_the_seeds() {
        assert_eq!(
            render(&creds(), Format::Table, None, false),
            "Key                Value\n\
             lease_id           aws/creds/deploy/1\n\
             lease_duration     3600\n\
             lease_renewable    true\n\
             access_key         AKIA1\n\
             secret_key         s3cret\n"
        );
    }

    #[test]
    fn json_has_lease_fields_first() {
        let got: Value =
            serde_json::from_str(&render(&creds(), Format::Json, None, false)).unwrap();
        assert_eq!(
            got,
            serde_json::json!({"lease_id": "aws/creds/deploy/1", "lease_duration": 3600,
                "renewable": true, "data": {"access_key": "AKIA1", "secret_key": "s3cret"}})
        );
    }

    #[test]
    fn field_prints_one_value() {
        assert_eq!(
            render(&creds(), Format::Table, Some("secret_key"), false),
            "s3cret"
        );
        assert_eq!(
            render(&creds(), Format::Table, Some("lease_duration"), true),
            "3600\n"
        );
        let mut out = Vec::new();
        match record(&mut out, &creds(), Format::Table, Some("nope"), false) {
            Err(OutputError::Field(e)) => {
                assert_eq!(e.to_string(), "Field \"nope\" not present in secret")
            }
            other => panic!("{other:?}"),
        }
    }
}
