//! Reaching the server: the URL (with libpq's `sslmode` and `sslrootcert`, which tokio-postgres
//! does not parse itself), the password from the URL or `PGPASSWORD`, TLS through rustls, a brief
//! retry while the server cannot take connections yet, and the migrations, applied under a
//! transaction-level advisory lock so that two hosts upgrading at once take turns.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Applied in order; the table `awscreds_schema` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_consumers.sql"),
    include_str!("migrations/0003_lease_counts.sql"),
    include_str!("migrations/0004_user_paths.sql"),
];

/// Serializes migrations across hosts (`pg_advisory_xact_lock`); any fixed number will do.
const MIGRATION_LOCK: i64 = 0x6177_7363_7265_6473; // "awscreds"

/// How long connecting keeps trying while the server refuses or is starting up.
const CONNECT_PATIENCE: Duration = Duration::from_secs(10);

/// libpq's name for the environment variable that holds the password.
pub const PGPASSWORD: &str = "PGPASSWORD";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    Disable,
    Prefer,
    Require,
    VerifyFull,
}

/// What a `postgres://` URL says, split into what tokio-postgres parses and what this module
/// handles itself.
struct Target {
    config: Config,
    tls: Tls,
    root_cert: Option<String>,
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse(url: &str) -> Result<Target, String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut tls = Tls::Prefer;
    let mut root_cert = None;
    let mut rest = Vec::new();
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                tls = match percent_decode(value).as_str() {
                    "disable" => Tls::Disable,
                    "prefer" => Tls::Prefer,
                    "require" => Tls::Require,
                    "verify-full" => Tls::VerifyFull,
                    other => {
                        return Err(format!(
                            "sslmode {other:?} is not one of disable, prefer, require, verify-full"
                        ));
                    }
                }
            }
            "sslrootcert" => root_cert = Some(percent_decode(value)),
            _ if pair.is_empty() => {}
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    // tokio-postgres' messages name the option, never the value or the password.
    let mut config = Config::from_str(&url).map_err(|e| format!("invalid URL: {e}"))?;
    if config.get_password().is_none()
        && let Some(password) = std::env::var_os(PGPASSWORD)
    {
        config.password(password.as_encoded_bytes());
    }
    config.ssl_mode(match tls {
        Tls::Disable => SslMode::Disable,
        Tls::Prefer => SslMode::Prefer,
        Tls::Require | Tls::VerifyFull => SslMode::Require,
    });
    config.connect_timeout(Duration::from_secs(10));
    config.application_name("awscreds");
    Ok(Target {
        config,
        tls,
        root_cert,
    })
}

/// Accepts any certificate: `sslmode=prefer` and `require` encrypt but, as in libpq, do not
/// check whom they talk to (that is `verify-full`).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_config(target: &Target) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    if target.tls != Tls::VerifyFull {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    match &target.root_cert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err(
            "sslmode=verify-full: no trusted certificate (name one with sslrootcert)".into(),
        );
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// Whether connecting again soon may succeed: the server is not listening yet, or is starting.
fn transient(e: &tokio_postgres::Error) -> bool {
    if let Some(code) = e.code() {
        return *code == SqlState::CANNOT_CONNECT_NOW || *code == SqlState::TOO_MANY_CONNECTIONS;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            // Not a reset: a server (or a pooler) that hangs up on us will not change its mind.
            return io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        source = s.source();
    }
    false
}

/// A driver error as one line, without naming the driver.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// Connects (retrying briefly while the server refuses or starts) and spawns the connection's
/// task on the current runtime. The connection lives as long as the returned client.
pub async fn connect(url: &str) -> Result<Client, String> {
    let target = parse(url)?;
    let tls = MakeRustlsConnect::new(tls_config(&target)?);
    let started = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        match target.config.connect(tls.clone()).await {
            Ok((client, connection)) => {
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                return Ok(client);
            }
            Err(e) if transient(&e) && started.elapsed() < CONNECT_PATIENCE => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            Err(e) => return Err(describe(&e)),
        }
    }
}

/// What `migrate` found wrong: the driver failed, or the schema is newer than this binary.
pub enum MigrateError {
    Driver(String),
    Newer(usize),
}

/// Brings the schema up to date, one host at a time.
pub async fn migrate(client: &mut Client) -> Result<(), MigrateError> {
    let driver = |e: tokio_postgres::Error| MigrateError::Driver(describe(&e));
    // Up to date already (nearly always): no lock, no transaction.
    if let Ok(row) = client
        .query_typed_one("SELECT max(version) FROM awscreds_schema", &[])
        .await
        && let Some(version) = row.get::<_, Option<i32>>(0)
    {
        let version = usize::try_from(version).unwrap_or(0);
        if version > MIGRATIONS.len() {
            return Err(MigrateError::Newer(version));
        }
        if version == MIGRATIONS.len() {
            return Ok(());
        }
    }
    let tx = client.transaction().await.map_err(driver)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(driver)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS awscreds_schema (version INTEGER NOT NULL); \
         INSERT INTO awscreds_schema (version) \
         SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM awscreds_schema)",
    )
    .await
    .map_err(driver)?;
    let version: i32 = tx
        .query_typed_one("SELECT max(version) FROM awscreds_schema", &[])
        .await
        .map_err(driver)?
        .get(0);
    let version = usize::try_from(version).unwrap_or(0);
    if version > MIGRATIONS.len() {
        return Err(MigrateError::Newer(version));
    }
    if version < MIGRATIONS.len() {
        for sql in &MIGRATIONS[version..] {
            tx.batch_execute(sql).await.map_err(driver)?;
        }
        tx.execute(
            "UPDATE awscreds_schema SET version = $1",
            &[&(MIGRATIONS.len() as i32)],
        )
        .await
        .map_err(driver)?;
    }
    tx.commit().await.map_err(driver)
}

pub fn known_version() -> usize {
    MIGRATIONS.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_options_are_taken_out_of_the_url() {
        let t = parse("postgres://u:p@h:5/db?sslmode=verify-full&sslrootcert=%2Fca.pem").unwrap();
        assert_eq!(t.tls, Tls::VerifyFull);
        assert_eq!(t.root_cert.as_deref(), Some("/ca.pem"));
        assert_eq!(t.config.get_dbname(), Some("db"));
        assert_eq!(t.config.get_password(), Some(&b"p"[..]));
        let t = parse("postgresql://h/db?sslmode=disable&connect_timeout=3").unwrap();
        assert_eq!(t.tls, Tls::Disable);
        assert_eq!(parse("postgres://h/db").unwrap().tls, Tls::Prefer);
        let e = parse("postgres://u:hunter2@h/db?sslmode=maybe")
            .err()
            .unwrap();
        assert!(!e.contains("hunter2"), "{e}");
        let e = parse("postgres://u:hunter2@h/db?nonsense=1").err().unwrap();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
