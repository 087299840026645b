//! TLS to the team store. The test server's build has no TLS, so the test puts a TLS front
//! before it, as a TLS-enabled PostgreSQL would answer: it takes the client's SSLRequest, says
//! yes, completes the handshake with a certificate for `localhost` from a CA the test makes
//! (rcgen), and forwards the decrypted stream to the server. `sslmode=verify-full` with that CA
//! as `sslrootcert` connects; another CA, a host name the certificate does not name, or the
//! system's roots are refused; `require` and `prefer` encrypt without checking; `disable`
//! speaks in the clear, which the front refuses.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Starts a TLS front for `upstream` (HOST:PORT) with a certificate for `localhost` signed by
/// `ca`; returns its port. It serves until the test process ends.
fn tls_front(upstream: String, ca: &CertifiedIssuer<'static, KeyPair>) -> u16 {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, ca)
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
                tokio::spawn(async move {
                    let mut request = [0u8; 8];
                    if client.read_exact(&mut request).await.is_err() || request != SSL_REQUEST {
                        return; // in the clear: hung up on
                    }
                    if client.write_all(b"S").await.is_err() {
                        return;
                    }
                    let Ok(mut tls) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
                });
            }
        });
    });
    port
}

/// The test database's URL through the front at `port`, as `host`, with `query` for options.
fn url_with(env: &Env, host: &str, port: u16, query: &str) -> String {
    let url = env.db.display().to_string();
    let base = url.split('?').next().unwrap();
    let (userinfo, rest) = base.rsplit_once('@').unwrap();
    let (_, path) = rest.split_once('/').unwrap();
    format!("{userinfo}@{host}:{port}/{path}?{query}")
}

/// The test server's HOST:PORT, from the test database's URL.
fn server_of(env: &Env) -> String {
    let url = env.db.display().to_string();
    let (_, rest) = url.rsplit_once('@').unwrap();
    rest.split('/').next().unwrap().to_string()
}

#[test]
fn verify_full_connects_only_to_the_server_its_root_certificate_vouches_for() {
    if !postgres() {
        return eprintln!("PostgreSQL only: TLS to the team store");
    }
    let ca_ok = ca("awscreds test CA");
    let env = Env::new();
    let port = tls_front(server_of(&env), &ca_ok);
    let root = env.file("ca.pem", &ca_ok.pem());
    let other = env.file("other-ca.pem", &ca("another CA").pem());
    let url = |host: &str, query: &str| url_with(&env, host, port, query);

    let good = url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={root}"),
    );
    env.run(["--db", &good, "mount", "aws"]).ok();
    env.run(["--db", &good, "mounts"]).ok().stdout_has("aws/");

    for (what, url) in [
        (
            "another CA",
            url(
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={other}"),
            ),
        ),
        (
            "a name the certificate lacks",
            url(
                "127.0.0.1",
                &format!("sslmode=verify-full&sslrootcert={root}"),
            ),
        ),
        // No sslrootcert: the system's roots, which do not know the test CA.
        (
            "the system's roots",
            url("localhost", "sslmode=verify-full"),
        ),
    ] {
        let run = env.run(["--db", &url, "mounts"]).fails(1).stderr_any();
        assert_eq!(run.stderr.lines().count(), 1, "{what}: {run:#?}");
        assert!(run.stderr.contains("certificate"), "{what}: {run:#?}");
        assert!(
            !run.stderr.contains("awscreds-test"),
            "{what}: the password: {run:#?}"
        );
    }
    // require and prefer: encrypted, not checked; disable: in the clear, which the front refuses.
    for mode in ["require", "prefer"] {
        env.run([
            "--db",
            &url("127.0.0.1", &format!("sslmode={mode}")),
            "mounts",
        ])
        .ok()
        .stdout_has("aws/");
    }
    env.run(["--db", &url("127.0.0.1", "sslmode=disable"), "mounts"])
        .fails(1)
        .stderr_any();
    env.run(["--db", &url("127.0.0.1", "sslmode=sometimes"), "mounts"])
        .fails(1)
        .stderr_has("sslmode \"sometimes\" is not one of");
}
